# SPDX-License-Identifier: BSD-2-Clause
# shellcheck shell=bash
#
# Sourced by the container and Kubernetes tests: podman with storage,
# state and configuration of its own under a test's directory, so that a
# test sees no other image or container and leaves nothing behind, and
# with the settings a sandbox may need (cgroupfs, the file events log,
# container resource limits no higher than ours: without CAP_SYS_RESOURCE
# podman's defaults cannot be set).
#
# podman_setup DIR: returns 1 with $podman_unusable saying why when podman
# cannot run a container here (missing, or no OCI runtime that works);
# then pm ARGS runs podman so configured.

podman_dir=
podman_unusable=

pm() {
    CONTAINERS_CONF=$podman_dir/containers.conf podman --root "$podman_dir/storage" \
        --runroot "$podman_dir/run" --tmpdir "$podman_dir/tmp" --storage-driver vfs "$@"
}

# The host's true(1) and what it loads: a root filesystem for a probe that
# depends on no image.
podman_probe_root() {
    local root=$1 lib
    mkdir -p "$root/bin"
    cp -L "$(type -P true)" "$root/bin/true"
    for lib in $(ldd "$root/bin/true" | grep -o '/[^ ]*'); do
        mkdir -p "$root$(dirname "$lib")"
        cp -L "$lib" "$root$lib"
    done
}

podman_write_conf() {
    local runtime=$1 nofile nproc
    nofile=$(ulimit -Hn)
    nproc=$(ulimit -Hu)
    # podman lowers its own process limit to 32768 before starting the runtime.
    if [ "$nproc" = unlimited ] || [ "$nproc" -gt 32768 ]; then
        nproc=32768
    fi
    cat >"$podman_dir/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
runtime = "$runtime"
EOF
}

podman_setup() {
    podman_dir=$1
    if ! command -v podman >/dev/null; then
        podman_unusable="podman is not installed (deploy/install-deps.sh installs podman, runc and catatonit)"
        return 1
    fi
    mkdir -p "$podman_dir/storage" "$podman_dir/run" "$podman_dir/tmp"
    podman_probe_root "$podman_dir/probe-root"
    # crun, podman's default, refuses hybrid cgroup hierarchies, which runc takes.
    local runtime errors=""
    for runtime in crun runc; do
        command -v "$runtime" >/dev/null || continue
        podman_write_conf "$runtime"
        if pm run --rm --network none --rootfs "$podman_dir/probe-root" /bin/true >"$podman_dir/probe.log" 2>&1; then
            return 0
        fi
        errors+=" $runtime: $(tail -n 1 "$podman_dir/probe.log")"
    done
    podman_unusable="podman cannot run a container here:${errors:- no OCI runtime (crun or runc) is installed}"
    return 1
}

# Removes every container, pod and image of the test's podman, then DIR
# (which holds the podman directory).  Podman's cleanup of an exited
# container runs on in the background for a moment and may still write
# there, hence the retries.
podman_teardown() {
    local dir=$1
    if [ -n "$podman_dir" ] && command -v podman >/dev/null; then
        pm pod rm -a -f -t 0 >/dev/null 2>&1
        pm rm -a -f -t 0 >/dev/null 2>&1
        pm rmi -a -f >/dev/null 2>&1
    fi
    for _ in $(seq 50); do
        rm -rf "$dir" 2>/dev/null && return 0
        sleep 0.1
    done
    rm -rf "$dir"
}

# A skip that cannot be missed in a log; exit status 77 is ctest's SKIP.
podman_skip() {
    printf '\n%s\n## SKIPPED: %s\n## %s\n%s\n\n' "$(printf '#%.0s' {1..78})" "$1" "$podman_unusable" \
        "$(printf '#%.0s' {1..78})" >&2
    exit 77
}

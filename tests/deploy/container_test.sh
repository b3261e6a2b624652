#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
#
# The container image, as a user builds it (deploy/container/stage.sh, then
# podman build -f deploy/container/Containerfile), run with /dev/kvm and a
# volume for the socket's directory: the host's vmctl uploads guests/hello
# through that socket and starts it, and its console shows the banner; the
# image's own vmctl lists it; `podman stop` ends the daemon cleanly, and a
# new daemon on the same state volume knows the machine.  Skips (77, loudly)
# where podman cannot run containers.
#
# usage: container_test.sh BUILD_DIR SOURCE_DIR HELLO_ELF VMCTL
set -u
build=$1 top=$2 hello=$3 vmctl=$4
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/deploy/podman.sh
. "$here/podman.sh"

tmp=$(mktemp -d /tmp/vmr-container-test.XXXXXX)
image=localhost/vmruntimed:test
name=vmruntimed-test
socket=$tmp/sock/vmruntimed.sock
trap 'podman_teardown "$tmp"' EXIT
fail() {
    echo "FAIL: $*" >&2
    [ -n "$podman_unusable" ] || pm logs "$name" 2>/dev/null | tail -n 20 | sed 's/^/  vmruntimed: /' >&2
    exit 1
}
vm() { "$vmctl" --socket "$socket" "$@"; }

# Until the daemon in the container answers (a socket left by an earlier
# daemon may already be there).
wait_for_daemon() {
    for _ in $(seq 100); do
        vm list -q >/dev/null 2>&1 && return 0
        [ "$(pm inspect "$name" --format '{{.State.Running}}')" = true ] || fail "the container exited"
        sleep 0.1
    done
    fail "the daemon in the container did not answer on $socket within 10 s"
}

podman_setup "$tmp/podman" || podman_skip "the container image test (deploy/container/Containerfile)"

bash "$top/deploy/container/stage.sh" "$build" "$tmp/root" || fail "deploy/container/stage.sh $build"
pm build -q -f "$top/deploy/container/Containerfile" -t "$image" "$tmp/root" >"$tmp/build.log" 2>&1 ||
    { cat "$tmp/build.log" >&2; fail "podman build"; }

mkdir -p "$tmp/sock" "$tmp/state"
devices=()
[ -e /dev/kvm ] && devices=(--device /dev/kvm)
pm run -d --name "$name" --network none "${devices[@]}" \
    -v "$tmp/sock:/run/vmruntime" -v "$tmp/state:/var/lib/vmruntime" "$image" >/dev/null || fail "podman run"
wait_for_daemon
pm exec "$name" /usr/bin/vmctl list | grep -q '^NAME ' || fail "the image's vmctl cannot list the daemon's machines"
if [ ! -e /dev/kvm ]; then
    echo "SKIP: /dev/kvm is absent: the image's daemon serves, but no guest can run" >&2
    exit 77
fi

vm create hello "$hello" --upload --cmdline "ticks=20 hz=100" >/dev/null || fail "vmctl create --upload"
vm start hello >/dev/null || fail "vmctl start"
out=$(timeout 60 "$vmctl" --socket "$socket" console hello --from 0 </dev/null 2>&1) || fail "vmctl console: $out"
grep -q 'vmruntime hello guest' <<<"$out" || fail "no banner on the console: $out"
grep -q 'done 20 ticks' <<<"$out" || fail "the guest did not finish its ticks: $out"
pm exec "$name" /usr/bin/vmctl list -q | grep -qx hello || fail "the image's vmctl does not list hello"
echo "guests/hello ran in the container:"
echo "$out"

pm stop -t 30 "$name" >/dev/null || fail "podman stop"
status=$(pm inspect "$name" --format '{{.State.ExitCode}}')
[ "$status" = 0 ] || fail "vmruntimed exited $status on podman stop (SIGTERM)"

pm start "$name" >/dev/null || fail "podman start"
wait_for_daemon
[ "$(vm list -q)" = hello ] || fail "the restarted daemon does not list hello from its state volume"
echo "container: all checks passed"

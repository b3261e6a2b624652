#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
#
# deploy/k8s/vmruntimed-daemonset.yaml: its structure (the documents, the
# volumes and their mounts, the selector), then its pod run by
# `podman kube play` with the image deploy/container builds, as it names
# it.  Podman 4.3 (Debian 12) plays Deployments but not DaemonSets, so the
# DaemonSet is played as a Deployment of the same pod template, its
# hostPath directories moved under a temporary directory.  Through the
# socket on that hostPath, vmctl boots guests/hello in the pod; the pod's
# liveness probe passes; `podman kube down` removes it.  Skips (77,
# loudly) where podman cannot run containers or /dev/kvm is absent.
#
# usage: k8s_test.sh BUILD_DIR SOURCE_DIR HELLO_ELF VMCTL
set -u
build=$1 top=$2 hello=$3 vmctl=$4
here=$(cd "$(dirname "$0")" && pwd)
yaml=$top/deploy/k8s/vmruntimed-daemonset.yaml
# shellcheck source=tests/deploy/podman.sh
. "$here/podman.sh"

tmp=$(mktemp -d /tmp/vmr-k8s-test.XXXXXX)
trap 'podman_teardown "$tmp"' EXIT
fail() {
    echo "FAIL: $*" >&2
    [ -n "$podman_unusable" ] || pm pod logs vmruntimed-pod-0 2>/dev/null | tail -n 20 | sed 's/^/  pod: /' >&2
    exit 1
}

python3 -c 'import yaml' 2>/dev/null || fail "python3-yaml is missing (deploy/install-deps.sh installs it)"
python3 - "$yaml" <<'EOF' || fail "$yaml is not the DaemonSet it should be"
import sys
import yaml

docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
assert [d["kind"] for d in docs] == ["Namespace", "DaemonSet"], [d["kind"] for d in docs]
ds = docs[1]
assert ds["metadata"]["namespace"] == docs[0]["metadata"]["name"]
template = ds["spec"]["template"]
assert ds["spec"]["selector"]["matchLabels"].items() <= template["metadata"]["labels"].items(), "selector"
pod = template["spec"]
host = {v["name"]: v["hostPath"]["path"] for v in pod["volumes"]}
assert host == {"kvm": "/dev/kvm", "state": "/var/lib/vmruntime", "run": "/run/vmruntime"}, host
(container,) = pod["containers"]
assert {m["name"]: m["mountPath"] for m in container["volumeMounts"]} == host, "mounts"
assert container["securityContext"]["privileged"] is False
assert "limits" not in container["resources"], "a memory limit would kill the daemon with its guests"
print("k8s: the YAML parses: a Namespace and a DaemonSet of image", container["image"])
EOF

if [ ! -e /dev/kvm ]; then
    podman_unusable="/dev/kvm is absent: the pod's kvm volume (a character device) cannot be given"
    podman_skip "running the DaemonSet's pod (deploy/k8s)"
fi
podman_setup "$tmp/podman" || podman_skip "running the DaemonSet's pod (deploy/k8s)"

image=$(sed -n 's/^ *image: *//p' "$yaml")
bash "$top/deploy/container/stage.sh" "$build" "$tmp/root" || fail "deploy/container/stage.sh $build"
pm build -q -f "$top/deploy/container/Containerfile" -t "$image" "$tmp/root" >"$tmp/build.log" 2>&1 ||
    { cat "$tmp/build.log" >&2; fail "podman build -t $image"; }

mkdir -p "$tmp/state" "$tmp/run"
sed -e 's/^kind: DaemonSet$/kind: Deployment/' \
    -e "s|^\( *\)path: /var/lib/vmruntime\$|\1path: $tmp/state|" \
    -e "s|^\( *\)path: /run/vmruntime\$|\1path: $tmp/run|" "$yaml" >"$tmp/play.yaml"
pm kube play --network none "$tmp/play.yaml" >"$tmp/play.log" 2>&1 ||
    { cat "$tmp/play.log" >&2; fail "podman kube play"; }

vm() { "$vmctl" --socket "$tmp/run/vmruntimed.sock" "$@"; }
for _ in $(seq 100); do
    vm list -q >/dev/null 2>&1 && break
    sleep 0.1
done
vm list -q >/dev/null || fail "no daemon answers on the hostPath socket $tmp/run/vmruntimed.sock"

vm create hello "$hello" --upload --cmdline "ticks=20 hz=100" >/dev/null || fail "vmctl create --upload"
vm start hello >/dev/null || fail "vmctl start"
out=$(timeout 60 "$vmctl" --socket "$tmp/run/vmruntimed.sock" console hello --from 0 </dev/null 2>&1) ||
    fail "vmctl console: $out"
grep -q 'vmruntime hello guest' <<<"$out" || fail "no banner on the console: $out"
ls "$tmp/state/machines/hello".* >/dev/null 2>&1 || fail "the machine is not kept in the state hostPath $tmp/state"
echo "guests/hello ran in the pod, through the hostPath socket"

# As the kubelet runs an exec probe: the command itself.  (Podman's own
# healthcheck wraps it in /bin/sh, which the image does not have.)
mapfile -t probe < <(python3 -c 'import sys, yaml
pod = list(yaml.safe_load_all(open(sys.argv[1])))[1]["spec"]["template"]["spec"]
print("\n".join(pod["containers"][0]["livenessProbe"]["exec"]["command"]))' "$yaml")
pm exec vmruntimed-pod-0-vmruntimed "${probe[@]}" >/dev/null || fail "the liveness probe fails: ${probe[*]}"
echo "the liveness probe passes"

pm kube down "$tmp/play.yaml" >"$tmp/down.log" 2>&1 || { cat "$tmp/down.log" >&2; fail "podman kube down"; }
[ -z "$(pm pod ps -q)" ] || fail "podman kube down left a pod"
echo "k8s: all checks passed"

#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
#
# The vmruntime demo on a fresh Debian 12 machine: installs the build
# dependencies, builds the daemon, vmctl and the bundled guest (default
# preset), starts vmruntimed on a private socket and boots guests/hello with
# `vmctl run`, its console on this terminal.  The guest prints a banner and
# the time, counts timer ticks and echoes what you type; 'q' powers it off
# (it also powers off by itself after 10 seconds).  Rerunning it only
# rebuilds what changed.
#
# `demo.sh linux` boots the project's small Linux kernel (guests/linux; the
# first run builds it, for minutes) to a busybox shell instead: type
# commands, `poweroff -f` to end, or Ctrl-] to detach.
set -euo pipefail

guest=${1:-hello}
case $guest in
  hello|linux) ;;
  *) echo "usage: demo.sh [hello|linux]" >&2; exit 2 ;;
esac

cd "$(dirname "$0")/.."
# shellcheck source=deploy/kvm-check.sh
. deploy/kvm-check.sh

bash deploy/install-deps.sh
cmake --preset default
cmake --build --preset default -j "$(nproc)" --target vmruntimed vmctl "guest_$guest"

if ! kvm_banner; then
  echo "demo: built vmruntimed, vmctl and hello.elf, but cannot run a guest without KVM" >&2
  exit 1
fi

run_dir=$(mktemp -d /tmp/vmruntime-demo.XXXXXX)
socket=$run_dir/vmruntimed.sock
build/server/vmruntimed --socket "$socket" --state-dir "$run_dir/state" 2>"$run_dir/vmruntimed.log" &
daemon=$!
cleanup() {
  kill "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null
  rm -rf "$run_dir"
}
trap cleanup EXIT
for _ in $(seq 100); do
  [ -S "$socket" ] && break
  sleep 0.1
done

status=0
if [ "$guest" = linux ]; then
  linux=build/guests/linux
  echo "demo: vmruntimed is serving $socket; booting guests/linux (a shell follows: poweroff -f or Ctrl-] ends it)"
  echo "--------------------------------------------------------------------------------"
  build/client/vmctl --socket "$socket" run --kernel "$linux/vmlinux" --initrd "$linux/initramfs.cpio" \
    --cmdline "$(cat "$linux/cmdline")" --memory 64 --name linux --rm || status=$?
else
  echo "demo: vmruntimed is serving $socket; booting guests/hello (type to echo, q to power off)"
  echo "--------------------------------------------------------------------------------"
  build/client/vmctl --socket "$socket" run build/guests/hello/hello.elf --name hello --rm \
    --cmdline "ticks=1000 hz=100" || status=$?
fi
echo "--------------------------------------------------------------------------------"
echo "demo: the guest ended with status $status"

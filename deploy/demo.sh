#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
#
# The vmruntime demo on a fresh Debian 12 machine: installs the build
# dependencies, builds the example VMM (default preset) and boots its guest,
# whose console output appears below.  Rerunning it only rebuilds what changed.
set -euo pipefail

cd "$(dirname "$0")/.."
# shellcheck source=deploy/kvm-check.sh
. deploy/kvm-check.sh

bash deploy/install-deps.sh
cmake --preset default
cmake --build --preset default -j "$(nproc)" --target hello-vmm

if ! kvm_banner; then
  echo "demo: built build/examples/hello-vmm, but cannot run it without KVM" >&2
  exit 1
fi
echo "demo: running build/examples/hello-vmm; guest console follows"
echo "--------------------------------------------------------------------------------"
build/examples/hello-vmm
echo "--------------------------------------------------------------------------------"
echo "demo: guest halted"

#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
#
# Installs vmruntime's build and test dependencies from Debian 12's archive,
# and the packages named as arguments (guests/linux/build.sh adds the kernel
# build's).  Idempotent: when every package is already installed it touches nothing
# (no apt-get update, no network), so CI reruns and offline rebuilds work.
set -euo pipefail

packages=(
  cmake g++ make
  libgtest-dev libgmock-dev libbenchmark-dev libboost1.74-dev
  strace binutils openssl util-linux e2fsprogs iproute2 iputils-ping groff-base
  clang libclang-rt-14-dev
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  # tests/deploy: pkg-config, systemd-analyze, podman (runc where crun
  # refuses the host's cgroups; catatonit for kube play's pods), YAML
  pkg-config systemd podman runc catatonit python3-yaml
  "$@"
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages already installed"
  exit 0
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  sudo=(sudo)
fi
echo "install-deps: installing ${missing[*]}"
"${sudo[@]}" apt-get update
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y --no-install-recommends "${missing[@]}"

#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
#
# Puts Debian 12's cloud kernel (the linux-image-*-cloud-amd64 that the
# linux-image-cloud-amd64 metapackage depends on: the newest of the
# release's own 6.1 series) into OUT_DIR as vmlinuz (a bzImage) and
# vmlinuz.version, for the stock-kernel test.  The 6.12 kernels that Debian
# 12 also carries are left out: their decompressor uses BMI2 instructions
# that KVM hosts without hardware virtualization (PVM) cannot emulate.
# The package is fetched with `apt-get download`, never installed, and
# cached outside the clone (VMRUNTIME_CACHE, default ~/.cache/vmruntime)
# by its version.
set -euo pipefail

out=${1:?usage: debian-kernel.sh OUT_DIR}
cache=${VMRUNTIME_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vmruntime}
mkdir -p "$out" "$cache"

newest() {
  apt-cache depends linux-image-cloud-amd64 2>/dev/null |
    sed -n 's/^ *Depends: \(linux-image-[0-9].*-cloud-amd64\)$/\1/p' | sort -V | tail -1
}

package=$(newest)
if [ -z "$package" ]; then
  sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  "${sudo[@]}" apt-get update
  package=$(newest)
fi
[ -n "$package" ] || { echo "debian-kernel: no linux-image-*-cloud-amd64 in the package lists" >&2; exit 1; }
version=$(apt-cache policy "$package" | sed -n 's/^  Candidate: //p')
dir=$cache/debian-kernel-$package-$version

exec 9>"$cache/.debian-kernel.lock"
flock 9
if [ ! -f "$dir/vmlinuz" ]; then
  echo "debian-kernel: fetching $package $version"
  work=$(mktemp -d "$cache/debian-kernel.XXXXXX")
  chmod 755 "$work"  # apt-get download runs as _apt where it can
  (cd "$work" && apt-get download "$package=$version" >/dev/null)
  dpkg-deb -x "$work"/*.deb "$work/root"
  mkdir -p "$work/result"
  cp "$work"/root/boot/vmlinuz-* "$work/result/vmlinuz"
  echo "$package $version" > "$work/result/vmlinuz.version"
  rm -rf "$dir"
  mv "$work/result" "$dir"
  rm -rf "$work"
fi
cp -f "$dir/vmlinuz" "$dir/vmlinuz.version" "$out/"
echo "debian-kernel: $(cat "$out/vmlinuz.version") in $out"

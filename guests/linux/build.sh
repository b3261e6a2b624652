#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
#
# Builds vmruntime's small Linux guest into OUT_DIR:
#   vmlinux         the kernel as an ELF with the PVH entry note
#   bzImage         the same kernel for the Linux boot protocol
#   initramfs.cpio  busybox-static, guests/linux/init and the programs of
#                   tools/ (cpio newc, uncompressed)
#   kernel.release  what `uname -r` prints in the guest
#   cmdline         the command line it boots with (guests/linux/cmdline on one line)
# from Debian's linux-source-6.1 with tiny.config merged on tinyconfig and
# the patches in patches/.  Installs what it needs with apt-get.  Results are
# cached outside the clone (VMRUNTIME_CACHE, default ~/.cache/vmruntime),
# keyed by every input: a rebuild with nothing changed costs nothing.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: build.sh OUT_DIR}
cache=${VMRUNTIME_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vmruntime}
mkdir -p "$out" "$cache"

# Always checked, even when the cache could answer: a cache must never hide
# a missing install step.
bash "$here/../../deploy/install-deps.sh" \
  linux-source-6.1 busybox-static gcc make flex bison bc libelf-dev libssl-dev \
  lz4 xz-utils cpio

source_tar=/usr/src/linux-source-6.1.tar.xz
pkg_version() { dpkg-query -W -f='${Version}' "$1"; }

hash_of() { cat "$@" | sha256sum | cut -c1-16; }


# Extracts the source tree into $1 and patches it.
extract_source() {
  echo "guests/linux: extracting $source_tar"
  tar -xJf "$source_tar" -C "$1"
  local tree=$1/linux-source-6.1 p
  for p in "$here"/patches/*.patch; do
    patch -d "$tree" -p1 --forward --quiet < "$p"
  done
}

# Every line of tiny.config must hold in .config after the merge: a switch
# the kernel's Kconfig dropped or overrode fails the build here, not at boot.
check_config() {
  local line name bad=0
  while IFS= read -r line; do
    case $line in
      CONFIG_*=*) name=${line%%=*} ;;
      "# CONFIG_"*" is not set") name=${line#\# }; name=${name%% *} ;;
      *) continue ;;
    esac
    if ! grep -qxF "$line" "$1" && ! { [[ $line == "#"* ]] && ! grep -q "^$name=" "$1"; }; then
      echo "guests/linux: tiny.config wants '$line', .config has '$(grep "^$name=\|^# $name " "$1" || echo unset)'" >&2
      bad=1
    fi
  done < "$here/tiny.config"
  return $bad
}

build_kernel() {
  local work
  work=$(mktemp -d "$cache/linux-build.XXXXXX")
  extract_source "$work"
  local tree=$work/linux-source-6.1
  echo "guests/linux: configuring and building the kernel (takes minutes the first time)"
  make -C "$tree" -s tinyconfig
  (cd "$tree" && scripts/kconfig/merge_config.sh -m .config "$here/tiny.config" >/dev/null)
  make -C "$tree" -s olddefconfig
  check_config "$tree/.config"
  make -C "$tree" -s -j "$(nproc)" vmlinux bzImage
  mkdir -p "$work/result"
  cp "$tree/vmlinux" "$tree/arch/x86/boot/bzImage" "$tree/.config" "$work/result/"
  make -C "$tree" -s kernelrelease > "$work/result/kernel.release"
  # gen_init_cpio is the kernel's own tool for initramfs lists.
  gcc -O2 -o "$work/result/gen_init_cpio" "$tree/usr/gen_init_cpio.c"
  mv "$work/result" "$kernel_dir"
  rm -rf "$work"
}

# A cpio list (gen_init_cpio's format): the directories, /dev/console (init's
# stdio, opened before devtmpfs is mounted), busybox, /bin/sh and
# /bin/mount.  Debian's static busybox runs its applets from the shell
# without links to them (FEATURE_SH_STANDALONE, through /proc/self/exe), so
# only what runs before /proc is mounted needs a link; a link per applet
# would cost the kernel seconds of emulated CPL0 work to unpack on PVM
# hosts.
initramfs_list() {
  local d t
  for d in /bin /sbin /usr /usr/bin /usr/sbin /dev /proc /sys /tmp /root /etc; do
    echo "dir $d 0755 0 0"
  done
  echo "nod /dev/console 0600 0 0 c 5 1"
  echo "file /init $here/init 0755 0 0"
  echo "file /bin/busybox /bin/busybox 0755 0 0"
  echo "slink /bin/sh /bin/busybox 0777 0 0"
  echo "slink /bin/mount /bin/busybox 0777 0 0"
  for t in "$1"/tools/*; do
    echo "file /bin/${t##*/} $t 0755 0 0"
  done
}

# The test and benchmark programs of tools/, one binary per source file,
# without a libc (tools/tool.h says why).
build_tools() {
  local c
  mkdir -p "$1/tools"
  for c in "$here"/tools/*.c; do
    gcc -static -nostdlib -ffreestanding -fno-stack-protector -fno-pie -no-pie -Os -s -Wall -Wextra -Werror \
      -o "$1/tools/$(basename "$c" .c)" "$c"
  done
}

build_initramfs() {
  local work
  work=$(mktemp -d "$cache/linux-initramfs.XXXXXX")
  build_tools "$work"
  initramfs_list "$work" > "$work/list"
  "$kernel_dir/gen_init_cpio" "$work/list" > "$work/initramfs.cpio"
  mkdir "$work/result"
  mv "$work/initramfs.cpio" "$work/result/"
  mv "$work/result" "$initramfs_dir"
  rm -rf "$work"
}

# The keys: every input of each step, the functions that build it included.
kernel_key=$( { hash_of "$here/tiny.config" "$here"/patches/*.patch
               declare -f extract_source check_config build_kernel
               pkg_version linux-source-6.1; gcc --version | head -1; } | sha256sum | cut -c1-16)
initramfs_key=$( { hash_of "$here/init" "$here"/tools/*; declare -f initramfs_list build_tools build_initramfs
                  gcc --version | head -1; echo "$kernel_key"; pkg_version busybox-static; } | sha256sum | cut -c1-16)
kernel_dir=$cache/linux-kernel-$kernel_key
initramfs_dir=$cache/linux-initramfs-$initramfs_key

# One build at a time per cache (parallel CMake targets, two checkouts).
exec 9>"$cache/.linux.lock"
flock 9
rm -rf "$cache"/linux-build.* "$cache"/linux-initramfs.*  # left by a killed build

[ -d "$kernel_dir" ] || build_kernel
[ -d "$initramfs_dir" ] || build_initramfs
# Older builds are not needed again: inputs only move forward.
for d in "$cache"/linux-kernel-* "$cache"/linux-initramfs-*; do
  [ "$d" = "$kernel_dir" ] || [ "$d" = "$initramfs_dir" ] || rm -rf "$d"
done

for f in vmlinux bzImage kernel.release; do
  cp -f "$kernel_dir/$f" "$out/$f"
done
tr -s ' \n' ' ' < "$here/cmdline" | sed 's/ $//' > "$out/cmdline"
cp -f "$initramfs_dir/initramfs.cpio" "$out/initramfs.cpio"
echo "guests/linux: $(cat "$out/kernel.release") in $out (cache $kernel_dir)"

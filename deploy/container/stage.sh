#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
#
# Stages the root filesystem of the vmruntimed image, which
# deploy/container/Containerfile copies whole: the "runtime" install
# component of BUILD_DIR under /usr (vmruntimed, vmctl, nvmmctl; stripped), every
# shared library they load, as this host's dynamic loader finds them (the
# loader included), and a /etc that knows root.  The image thus needs no
# base image and no registry, and runs the binaries of this build.
#
# usage: deploy/container/stage.sh BUILD_DIR ROOT_DIR   (ROOT_DIR: new or empty)
set -euo pipefail

if [ $# -ne 2 ]; then
  echo "usage: stage.sh BUILD_DIR ROOT_DIR" >&2
  exit 2
fi
build=$1 root=$2
if [ -e "$root" ] && [ -n "$(ls -A "$root")" ]; then
  echo "stage.sh: $root is not empty" >&2
  exit 2
fi
mkdir -p "$root"

cmake --install "$build" --prefix "$root/usr" --component runtime --strip >/dev/null
if [ ! -x "$root/usr/sbin/vmruntimed" ]; then
  echo "stage.sh: no usr/sbin/vmruntimed after installing $build (the Containerfile starts it there)" >&2
  exit 1
fi

# ldd names each library by the path it resolved, and the loader by its
# absolute path: copied to the same paths, they resolve the same way inside.
for program in "$root"/usr/bin/* "$root"/usr/sbin/*; do
  ldd "$program" | grep -o '/[^ ]*'
done | sort -u | while read -r lib; do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done

mkdir -p "$root/etc" "$root/tmp" "$root/run/vmruntime" "$root/var/lib/vmruntime"
chmod 1777 "$root/tmp"
echo 'root:x:0:0:root:/root:/usr/sbin/nologin' >"$root/etc/passwd"
echo 'root:x:0:' >"$root/etc/group"
# glibc's own files and DNS lookups, with no NSS module to load.
printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$root/etc/nsswitch.conf"
echo "stage.sh: staged $(du -sh "$root" | cut -f1) in $root"

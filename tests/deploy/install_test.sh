#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
#
# `cmake --install` of the build tree into a temporary prefix, then an
# outside C program (outside.c) built against that prefix alone: through
# pkg-config (shared, and static with Libs.private) and through
# find_package(nvmm) (outside/CMakeLists.txt), each run.  Also checks what
# was installed (no test binary among the programs) and that DESTDIR
# stages without changing the paths the installed files name.
#
# usage: install_test.sh BUILD_DIR LIBDIR BINDIR SBINDIR   (GNUInstallDirs' values)
set -u
build=$1 libdir=$2 bindir=$3 sbindir=$4
here=$(cd "$(dirname "$0")" && pwd)
cc=${CC:-cc}

fail() { echo "FAIL: $*" >&2; exit 1; }
tmp=$(mktemp -d /tmp/vmr-install-test.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix

# Runs "$@" quietly; on failure shows its output's end and fails with $what.
quiet() {
    local what=$1
    shift
    "$@" >"$tmp/cmd.log" 2>&1 || { tail -n 30 "$tmp/cmd.log" >&2; fail "$what"; }
}

quiet "cmake --install $build --prefix $prefix" cmake --install "$build" --prefix "$prefix"
for f in "$sbindir/vmruntimed" "$sbindir/nvmmctl" "$bindir/vmctl" include/nvmm.h \
         "$libdir/libnvmm.a" "$libdir/libnvmm.so.2" "$libdir/libnvmm.so" "$libdir/pkgconfig/nvmm.pc" \
         "$libdir/cmake/nvmm/nvmmConfig.cmake" "$libdir/cmake/nvmm/nvmmConfigVersion.cmake" \
         lib/systemd/system/vmruntimed.service; do
    [ -e "$prefix/$f" ] || fail "cmake --install did not install $f"
done
programs=$(find "$prefix/$bindir" "$prefix/$sbindir" -mindepth 1 -printf '%f\n' | sort | tr '\n' ' ')
[ "$programs" = "nvmmctl vmctl vmruntimed " ] || fail "installed programs are '$programs', not nvmmctl vmctl vmruntimed"
"$prefix/$sbindir/vmruntimed" --version | grep -q '^vmruntimed ' || fail "the installed vmruntimed does not run"
"$prefix/$bindir/vmctl" --version >/dev/null || fail "the installed vmctl does not run"
grep -qx "ExecStart=$prefix/$sbindir/vmruntimed .*" "$prefix/lib/systemd/system/vmruntimed.service" ||
    fail "the installed unit does not start $prefix/$sbindir/vmruntimed"

# Without /dev/kvm the programs still build and run: nvmm_init fails, as it must.
expect_run() {
    local out
    out=$("$@" 2>&1)
    local status=$?
    if [ -e /dev/kvm ]; then
        [ $status -eq 0 ] || fail "$*: exited $status: $out"
        grep -qx 'outside: nvmm API version 2' <<<"$out" || fail "$*: no API version 2 in: $out"
        grep -q 'machine with one vCPU created' <<<"$out" || fail "$*: $out"
    else
        grep -q '^outside: nvmm_init: ' <<<"$out" || fail "$*: without /dev/kvm, expected nvmm_init to fail: $out"
        echo "NOTE: /dev/kvm is absent: $* was built and ran, but could not create a machine" >&2
    fi
    echo "$*: ok"
}

export PKG_CONFIG_PATH=$prefix/$libdir/pkgconfig
pkg-config --exists nvmm || fail "pkg-config does not find nvmm in $PKG_CONFIG_PATH"
pkg-config --validate nvmm || fail "nvmm.pc does not validate"
# shellcheck disable=SC2046 # pkg-config's flags are words
quiet "cc with pkg-config --cflags --libs nvmm" \
    "$cc" -o "$tmp/outside" "$here/outside.c" $(pkg-config --cflags --libs nvmm)
LD_LIBRARY_PATH=$prefix/$libdir ldd "$tmp/outside" | grep -q "libnvmm.so.2 => $prefix/$libdir/libnvmm.so.2" ||
    fail "the pkg-config build does not load $prefix/$libdir/libnvmm.so.2"
expect_run env LD_LIBRARY_PATH="$prefix/$libdir" "$tmp/outside"
# The static library, with only what pkg-config --static adds (Libs.private).
static_libs=$(pkg-config --static --libs nvmm | sed 's/-lnvmm\b/-l:libnvmm.a/')
# shellcheck disable=SC2046,SC2086
quiet "cc with libnvmm.a and pkg-config --static --libs nvmm ($static_libs)" \
    "$cc" -o "$tmp/outside_static" "$here/outside.c" $(pkg-config --cflags nvmm) $static_libs
readelf -d "$tmp/outside_static" | grep -q 'NEEDED.*libnvmm' && fail "outside_static needs libnvmm.so"
expect_run "$tmp/outside_static"

quiet "cmake configure of outside/ with find_package(nvmm)" \
    cmake -S "$here/outside" -B "$tmp/outside-build" -DCMAKE_PREFIX_PATH="$prefix"
quiet "cmake build of outside/" cmake --build "$tmp/outside-build"
expect_run "$tmp/outside-build/outside_shared"
expect_run "$tmp/outside-build/outside_static"

# DESTDIR stages; the files still name the real prefix.
quiet "DESTDIR install" env DESTDIR="$tmp/dest" cmake --install "$build" --prefix /opt/vmruntime
grep -qx 'prefix=/opt/vmruntime' "$tmp/dest/opt/vmruntime/$libdir/pkgconfig/nvmm.pc" ||
    fail "with DESTDIR, nvmm.pc does not name prefix /opt/vmruntime"
grep -qx "ExecStart=/opt/vmruntime/$sbindir/vmruntimed .*" "$tmp/dest/opt/vmruntime/lib/systemd/system/vmruntimed.service" ||
    fail "with DESTDIR, the unit does not start /opt/vmruntime/$sbindir/vmruntimed"
echo "install: all checks passed"

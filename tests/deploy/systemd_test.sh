#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
#
# The installed systemd unit passes `systemd-analyze verify` without a
# single warning (its ExecStart names the daemon installed beside it, so it
# is installed into a temporary prefix first), and its hardening keeps
# `systemd-analyze security` at its present exposure or below.
#
# usage: systemd_test.sh BUILD_DIR
set -u
build=$1

fail() { echo "FAIL: $*" >&2; exit 1; }
command -v systemd-analyze >/dev/null || fail "systemd-analyze is missing (deploy/install-deps.sh installs systemd)"
tmp=$(mktemp -d /tmp/vmr-systemd-test.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

for component in runtime systemd; do
    cmake --install "$build" --prefix "$tmp" --component $component >"$tmp/install.log" 2>&1 ||
        { cat "$tmp/install.log" >&2; fail "cmake --install --component $component"; }
done
unit=$tmp/lib/systemd/system/vmruntimed.service
[ -f "$unit" ] || fail "no unit installed at $unit"

out=$(systemd-analyze verify "$unit" 2>&1)
status=$?
if [ $status -ne 0 ] || [ -n "$out" ]; then
    fail "systemd-analyze verify $unit (status $status): $out"
fi
echo "systemd-analyze verify: no warning"

# 10x the "Overall exposure level" (3.1 when this was written; 10 is UNSAFE).
security=$(systemd-analyze security --offline=yes --threshold=35 "$unit" 2>&1) ||
    fail "systemd-analyze security: exposure above 3.5: $(grep 'Overall exposure' <<<"$security")"
grep 'Overall exposure' <<<"$security"
echo "systemd: all checks passed"

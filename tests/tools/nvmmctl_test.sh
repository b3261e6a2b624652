#!/usr/bin/env bash
# nvmmctl prints what NetBSD's nvmmctl(8) prints, from this host's KVM.
set -u
nvmmctl=$1
if [ ! -e /dev/kvm ]; then
    echo "SKIP: /dev/kvm is absent, nvmmctl cannot be exercised" >&2
    exit 77
fi
fail() { echo "FAIL: $*" >&2; exit 1; }

out=$("$nvmmctl" identify) || fail "identify exited $?"
echo "$out"
for line in 'nvmm: Kernel API version 2' 'nvmm: State size 1008' 'nvmm: Max machines [0-9]+' \
            'nvmm: Max VCPUs per machine [0-9]+' 'nvmm: Max RAM per machine 128G' \
            'nvmm: Arch Mach conf 0x0' 'nvmm: Arch VCPU conf 0x3<CPUID,TPR>' \
            'nvmm: Guest FPU states 0x[0-9a-f]+<x87(,SSE)?.*>'; do
    grep -Eqx "$line" <<<"$out" || fail "identify: no line matching '$line'"
done

out=$("$nvmmctl" list) || fail "list exited $?"
[ "$(sed -n 1p <<<"$out")" = "Machine ID VCPUs RAM  Owner PID Creation Time           " ] ||
    fail "list: wrong header"

"$nvmmctl" 2>/dev/null && fail "no argument accepted"
err=$("$nvmmctl" frob 2>&1) && fail "unknown command accepted"
grep -q "unknown command \`\`frob''" <<<"$err" || fail "unknown command message: $err"
echo "nvmmctl: all checks passed"

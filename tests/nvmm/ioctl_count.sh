#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Runs nvmm_ioctl_loop (argument 1; argument 2, if any, is its state
# selection) under strace and checks the cost of an exit handled with
# getstate + setstate of GPRS (or of GPRS, SEGS, CRS and INTR with "all"):
# one KVM_RUN per exit
# (plus a little setup slack) and no other ioctl from the first KVM_RUN to
# the program's "exits done" line.  Exit 77 (skip) without /dev/kvm or strace.
set -u
prog=$1
what=${2:-}
exits=200
slack=3

if [ ! -e /dev/kvm ]; then
  echo "*** /dev/kvm is absent: ioctl count test SKIPPED ***" >&2
  exit 77
fi
if ! command -v strace >/dev/null; then
  echo "*** strace is not installed: ioctl count test SKIPPED ***" >&2
  exit 77
fi

# LeakSanitizer cannot stop the world under ptrace; leaks are checked by
# the other tests of a sanitizer build.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"

log=$(mktemp)
trap 'rm -f "$log"' EXIT
strace -f -e trace=ioctl,write -o "$log" "$prog" "$exits" $what
rc=$?
if [ "$rc" -eq 77 ]; then
  exit 77
fi
if [ "$rc" -ne 0 ]; then
  echo "FAIL: $prog exited with status $rc" >&2
  exit 1
fi

awk -v exits="$exits" -v slack="$slack" '
  /exits done/ { done = NR }
  /ioctl\(/ && !/resumed>/ {
    if ($0 ~ /KVM_RUN/) { runs++; if (!first) first = NR }
    else if (first && !done) { others++; print "extra ioctl: " $0 }
  }
  END {
    printf "KVM_RUN: %d (want %d..%d); other ioctls between the first KVM_RUN and the end of the loop: %d\n",
           runs, exits, exits + slack, others
    if (!done) { print "FAIL: no \"exits done\" line in the trace"; exit 1 }
    if (runs < exits || runs > exits + slack || others > 0) { print "FAIL"; exit 1 }
    print "PASS"
  }' "$log"

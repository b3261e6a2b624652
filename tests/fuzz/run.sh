#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
#
# tests/fuzz/run.sh SECONDS [BUILD_DIR]: runs every fuzzer of the fuzz preset
# (default BUILD_DIR: build-fuzz) for SECONDS each, from its seed corpus in
# tests/fuzz/corpus/<target> plus what earlier runs found (kept in
# BUILD_DIR/corpus/<target>).  A crash, leak or sanitizer report fails the
# run; its input is saved as BUILD_DIR/crashes/<target>-*.  Prints the
# executions of each target and their sum.
set -euo pipefail

seconds=${1:?usage: tests/fuzz/run.sh SECONDS [BUILD_DIR]}
here=$(cd "$(dirname "$0")" && pwd)
build=${2:-$here/../../build-fuzz}
fuzzers=(elf_fuzz flat_fuzz bzimage_fuzz pvh_fuzz x86_decode_fuzz page_walk_fuzz devices_fuzz
         set_registers_fuzz create_spec_fuzz virtio_mmio_fuzz snapshot_fuzz)

mkdir -p "$build/crashes"
total=0
failed=()
for target in "${fuzzers[@]}"; do
  corpus=$build/corpus/$target
  log=$build/crashes/$target.log
  mkdir -p "$corpus"
  status=0
  "$build/tests/fuzz/$target" -max_total_time="$seconds" -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$build/crashes/$target-" "$corpus" "$here/corpus/$target" >"$log" 2>&1 || status=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  execs=${execs:-0}
  total=$((total + execs))
  if [ "$status" -ne 0 ]; then
    failed+=("$target")
    printf '%-20s FAILED (status %d) after %s executions; its log:\n' "$target" "$status" "$execs"
    # The report's first lines and stacks, not ASan's shadow-byte map.
    if grep -q 'ERROR: ' "$log"; then
      sed -n '/ERROR: /,$p' "$log" | grep -v '^ *0x[0-9a-f]*: ' | head -n 80
    else
      tail -n 40 "$log"
    fi
  else
    printf '%-20s %12s executions in %ss, corpus %s inputs\n' "$target" "$execs" "$seconds" \
      "$(find "$corpus" -type f | wc -l)"
  fi
done
printf '%-20s %12s executions\n' "all" "$total"
if [ "${#failed[@]}" -ne 0 ]; then
  echo "fuzzers that failed: ${failed[*]}" >&2
  exit 1
fi

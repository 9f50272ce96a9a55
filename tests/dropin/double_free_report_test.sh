#!/bin/bash
# A double free's report carries the stack of the offending call, under
# LD_PRELOAD=libhakmem.so and with the static override: the report line,
# then "#N 0xADDR function+0xOFF (module+0xOFF)" lines from the allocator
# entry point (free, operator delete) down through the program's function
# that freed twice to main. With HAKMEM_ON_ERROR=report the program goes
# on; by default it dies of SIGABRT after the same report; a C handler gets
# the frames (hak_error.stack). addr2line resolves the printed
# module+offset of the program's frame to its function.
#   double_free_report_test.sh LIBHAKMEM PRELOAD_MAIN STATIC_MAIN
set -euo pipefail
source "$(dirname "$0")/preload_lib.sh"
preload_init "$1"
preload_main=$(realpath "$2")
static_main=$(realpath "$3")

readonly FRAME='^#([0-9]+) 0x[0-9a-f]+ ([^ ]+\+0x[0-9a-f]+|\?\?) \((.+)\+(0x[0-9a-f]+)\)$'

# check_report ERR ENTRY FUNCTION: ERR holds one report, of a double free,
# whose stack shows ENTRY (the allocator's entry point) at #0 or #1, unless
# it tail-called on, and FUNCTION after it, at #1 or #2. Leaves the frame lines in $lines.
check_report() {
  local err=$1 entry=$2 function=$3 n=0 entry_at=-1 function_at=-1 line
  local module offset
  grep -c '^hakmem: ' "$err" | grep -qx 1 || fail "not one hakmem line: $(cat "$err")"
  grep -qE '^hakmem: double free: ptr=0x[0-9a-f]+ tier=[a-z]+( class=[0-9]+)? thread=[0-9]+$' "$err" ||
    fail "no double free report: $(cat "$err")"
  # The stack follows the report line, one frame a line, numbered from 0.
  mapfile -t lines < <(sed -n '/^hakmem: double free/,$p' "$err" | tail -n +2)
  ((${#lines[@]} >= 3)) || fail "no stack after the report: $(cat "$err")"
  for line in "${lines[@]}"; do
    [[ "$line" =~ $FRAME ]] || fail "not a frame line: '$line' in: $(cat "$err")"
    ((BASH_REMATCH[1] == n)) || fail "frame $n numbered ${BASH_REMATCH[1]}"
    # (ReportSlabFreeError and the like, which detect and call the
    # reporter, may show at #0.)
    case "${BASH_REMATCH[2]}" in
      *ReportMemoryError* | *_GLOBAL__N_16Report* | *CaptureStack* | *_Unwind_*)
        fail "a frame of the reporter itself was printed: $line" ;;
    esac
    if ((entry_at < 0)) && [[ "${BASH_REMATCH[2]}" == "$entry"+0x* ]]; then
      entry_at=$n
    fi
    if ((function_at < 0)) && [[ "${BASH_REMATCH[2]}" == "$function"+0x* ]]; then
      function_at=$n
      module=${BASH_REMATCH[3]}
      offset=${BASH_REMATCH[4]}
    fi
    n=$((n + 1))
  done
  # An optimized entry point may tail-call its slow path: then its frame is
  # gone and the program's function follows the detecting one directly.
  ((entry_at <= 1)) ||
    fail "$entry is frame $entry_at, not #0 or #1: $(cat "$err")"
  ((function_at > entry_at && function_at <= 2)) ||
    fail "$function is frame $function_at, not below $entry at #1 or #2: $(cat "$err")"
  if command -v addr2line >/dev/null; then
    local resolved
    resolved=$(addr2line -f -e "$module" "$offset" | head -1)
    [[ "$resolved" == "$function" ]] ||
      fail "addr2line -e $module $offset: '$resolved', expected $function"
  fi
}

for variant in preload static; do
  if [[ $variant == preload ]]; then
    run=(env LD_PRELOAD="$HAKMEM_SO" "$preload_main")
  else
    run=("$static_main")
  fi
  for mode in free delete; do
    if [[ $mode == free ]]; then
      entry=free function=DoubleFreeForTheReport
    else
      entry=_ZdlPv function=DoubleDeleteForTheReport
    fi
    # HAKMEM_ON_ERROR=report: the report, then the program goes on.
    rc=0
    HAKMEM_ON_ERROR=report "${run[@]}" "$mode" >"$WORK/out" 2>"$WORK/err" || rc=$?
    ((rc == 0)) || fail "$variant $mode: exit $rc: $(cat "$WORK/err")"
    grep -qx survived "$WORK/out" || fail "$variant $mode: the program did not go on"
    check_report "$WORK/err" "$entry" "$function"
    echo "  $variant $mode (report): $(head -1 "$WORK/err"), ${#lines[@]} frames"
    # The default: the same report, then SIGABRT.
    rc=0
    ("${run[@]}" "$mode" >"$WORK/out" 2>"$WORK/err"; exit $?) 2>/dev/null || rc=$?
    ((rc == 128 + 6)) || fail "$variant $mode: exit $rc, expected 134 (SIGABRT)"
    ! grep -q survived "$WORK/out" || fail "$variant $mode: went on after the error"
    check_report "$WORK/err" "$entry" "$function"
  done
  # A C handler gets the frames instead, and nothing is printed.
  rc=0
  "${run[@]}" handler >"$WORK/out" 2>"$WORK/err" || rc=$?
  ((rc == 0)) || fail "$variant handler: exit $rc: $(cat "$WORK/err")"
  grep -qE '^handler: reports=1 depth=([3-9]|[1-9][0-9]+) found=1$' "$WORK/out" ||
    fail "$variant handler: $(cat "$WORK/out")"
  ! grep -q '^hakmem: ' "$WORK/err" || fail "$variant handler: printed $(cat "$WORK/err")"
  echo "  $variant handler: $(head -1 "$WORK/out")"
done
echo "PASS"

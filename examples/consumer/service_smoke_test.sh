#!/usr/bin/env bash
# Runs the service binary as a user would and checks its answers and its
# own report that hakmem served it.
set -euo pipefail
bin=$1
out=$(printf 'SET greeting hello world\nGET greeting\nDEL greeting\nGET greeting\nCOUNT\n' |
  "$bin" 2>"$TEST_TMPDIR/stderr.txt")
expected=$'OK\nhello world\nDELETED\nNOT_FOUND\n0'
if [[ "$out" != "$expected" ]]; then
  echo "unexpected answers:"; echo "$out"; exit 1
fi
grep -q "malloc is hakmem: yes" "$TEST_TMPDIR/stderr.txt" || { cat "$TEST_TMPDIR/stderr.txt"; exit 1; }
"$bin" --synthetic 20000 2>"$TEST_TMPDIR/stderr.txt" | grep -q '^answered 20000 requests; keys [0-9]'
grep -q "malloc is hakmem: yes" "$TEST_TMPDIR/stderr.txt"
cat "$TEST_TMPDIR/stderr.txt"
echo "service smoke test passed"

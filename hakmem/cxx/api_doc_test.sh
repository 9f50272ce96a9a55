#!/usr/bin/env bash
# docs/API.md documents the whole C ABI: every function declared in
# capi/hakmem.h and every error kind must be named there. Fails listing
# what is missing (so a new hak_* function cannot ship undocumented).
set -uo pipefail
header=capi/hakmem.h
doc=docs/API.md
[[ -f $header && -f $doc ]] || { echo "missing $header or $doc"; exit 1; }
names=$( { grep -oE '\bhak_[a-z_]+ *\(' "$header" | tr -d ' (';
           grep -oE '\bHAK_ERROR_[A-Z_]+' "$header";
           grep -oE '^#define +(HAK|HAKMEM)_[A-Z_]+' "$header" | awk '{print $2}'; } |
         grep -v '_H_$' | sort -u)
count=$(wc -l <<<"$names")
((count >= 20)) || { echo "found only $count names in $header"; exit 1; }
missing=0
for n in $names; do
  if ! grep -q "\`[^\`]*\b$n\b" "$doc"; then
    echo "not documented in $doc: $n"
    missing=$((missing + 1))
  fi
done
((missing == 0)) || exit 1
echo "all $count C ABI names are documented"

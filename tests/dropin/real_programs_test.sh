#!/bin/bash
# Real programs from Debian packages under LD_PRELOAD=libhakmem.so: python3,
# sqlite3, git, gcc/g++, perl, sort --parallel=2 and xz -T2 each run a
# workload twice, without and with hakmem. Both runs must exit 0 with the
# same stdout and stderr (hakmem's statistics aside), and every program
# marked for statistics must print a HAKMEM_STATS=1 summary in which hakmem
# served blocks.
#
#   real_programs_test.sh LIBHAKMEM [CASE...]
#
# The packages come from tools/setup.sh. Works in Bazel's test sandbox
# (HOME unset: everything lives in $TEST_TMPDIR) and by hand.
set -euo pipefail
source "$(dirname "$0")/preload_lib.sh"
preload_init "$1"
shift
cases=("$@")
((${#cases[@]})) || cases=(python3 sqlite3 git gcc perl sort xz)

# Debian's programs, never a pyenv or other shim found first on PATH.
export PATH=/usr/bin:/bin
export HOME="$WORK/home" TMPDIR="$WORK/tmp"
mkdir -p "$HOME" "$TMPDIR"
unset LD_PRELOAD HAKMEM_STATS MALLOC_CONF GLIBC_TUNABLES PYTHONPATH PYTHONHOME PYTHONSTARTUP PERL5LIB

for tool in python3 sqlite3 git gcc g++ perl sort xz awk sha256sum; do
  [[ -x /usr/bin/$tool ]] || fail "/usr/bin/$tool missing: run tools/setup.sh"
done

# A deterministic input of 300k lines (about 6 MB), shared by sort and xz.
awk 'BEGIN {
  x = 12345
  for (i = 1; i <= 300000; i++) {
    x = (x * 1103515245 + 12345) % 2147483648
    printf "%010d %s line-%d %x\n", x % 1000000007, substr("abcdefghijklmnopqrstuvwxyz", x % 26 + 1, 5), i, x
  }
}' >"$WORK/lines.txt"

# ---- The cases: bash scripts run in a fresh directory per mode. ----------
# Inside them `stats CMD...` runs CMD with HAKMEM_STATS=$STATS (1 under
# hakmem): each such command, and the programs it starts, must print a
# summary. $EXPECT_SUMMARIES gives the minimum count per case.
declare -A EXPECT_SUMMARIES

EXPECT_SUMMARIES[python3]=2
case_python3() {
  cat >work.py <<'PY'
import collections, hashlib, json, random, threading

def work(seed):
    rnd = random.Random(seed)
    table = {}
    for i in range(25000):
        key = "key-%d-%d" % (seed, rnd.randrange(1 << 30))
        table[key] = [i, str(i) * (i % 7), {"n": i, "s": key[::-1]}]
    items = sorted(table.items())
    text = json.dumps(items[:3000])
    words = collections.Counter("w%d" % rnd.randrange(5000) for _ in range(50000))
    big = "".join(str(x) for x in range(40000))
    parts = big.split("9")
    h = hashlib.sha256()
    h.update(text.encode())
    h.update(repr(sorted(words.items())[:200]).encode())
    h.update(str(len(parts)).encode())
    for key, value in items[::997]:
        h.update(key.encode() + repr(value).encode())
    return h.hexdigest()

results = [None] * 4
threads = [threading.Thread(target=lambda i=i: results.__setitem__(i, work(i)))
           for i in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join()
for i, r in enumerate(results):
    print(i, r)
print("single", work(99))
PY
  # PYTHONMALLOC=malloc: every object through malloc, not pymalloc arenas
  # (so not -I, which ignores PYTHON* variables; -s -S: no site packages).
  PYTHONMALLOC=malloc stats /usr/bin/python3 -s -S work.py
  stats /usr/bin/python3 -I -c 'import json, sys; d = {str(i): list(range(i % 50)) for i in range(50000)}; print(len(json.dumps(d)))'
}

EXPECT_SUMMARIES[sqlite3]=2
case_sqlite3() {
  cat >build.sql <<'SQL'
CREATE TABLE t(id INTEGER PRIMARY KEY, a INTEGER, b TEXT, c REAL);
WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 100000)
INSERT INTO t(a, b, c)
  SELECT x * 7919 % 100003, printf('row-%08d-%s', x, hex(x * x)), x / 3.0 FROM n;
CREATE INDEX t_a ON t(a);
CREATE INDEX t_b ON t(b);
CREATE TABLE g AS SELECT a % 1000 AS k, count(*) AS n, sum(c) AS s FROM t GROUP BY k;
SELECT count(*), sum(a), min(b), max(b) FROM t;
SELECT k, n, printf('%.3f', s) FROM g ORDER BY n DESC, k LIMIT 5;
SELECT count(*) FROM t JOIN g ON t.a % 1000 = g.k WHERE t.b LIKE '%-00%';
SELECT b FROM t WHERE a BETWEEN 500 AND 505 ORDER BY b;
UPDATE t SET b = upper(b) WHERE id % 10 = 0;
DELETE FROM t WHERE id % 3 = 0;
VACUUM;
PRAGMA integrity_check;
SQL
  stats /usr/bin/sqlite3 data.db <build.sql
  stats /usr/bin/sqlite3 data.db \
    "SELECT count(*), sum(length(b)), group_concat(id, ',') FILTER (WHERE id < 40) FROM t;" \
    "SELECT substr(b, 1, 12), count(*) FROM t GROUP BY substr(b, 1, 7) ORDER BY 2 DESC, 1 LIMIT 3;"
}

EXPECT_SUMMARIES[git]=14
case_git() {
  export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null GIT_PAGER=cat
  export GIT_AUTHOR_NAME="Hakmem Test" GIT_AUTHOR_EMAIL=test@example.com
  export GIT_COMMITTER_NAME="Hakmem Test" GIT_COMMITTER_EMAIL=test@example.com
  export GIT_AUTHOR_DATE="2024-01-01T00:00:00Z" GIT_COMMITTER_DATE="2024-01-01T00:00:00Z"
  stats /usr/bin/git init -q -b main repo
  cd repo
  stats /usr/bin/git config user.name "Hakmem Test"
  stats /usr/bin/git config user.email test@example.com
  # 400 files in 8 directories.
  mkdir -p src/d{0..7}
  awk 'BEGIN {
    for (i = 1; i <= 400; i++) {
      f = sprintf("src/d%d/file%03d.txt", i % 8, i)
      for (j = 0; j < 20 + i % 30; j++) printf "file %d line %d %x\n", i, j, i * j * 2654435761 % 4294967296 > f
      close(f)
    }
  }'
  stats /usr/bin/git add -A
  stats /usr/bin/git commit -q -m "Add 400 files"
  awk 'BEGIN { for (i = 1; i <= 400; i += 7) printf "changed %d\n", i >> sprintf("src/d%d/file%03d.txt", i % 8, i) }'
  stats /usr/bin/git rm -q src/d3/file003.txt src/d5/file005.txt
  stats /usr/bin/git add -A
  stats /usr/bin/git commit -q -m "Change every seventh file"
  stats /usr/bin/git log --stat --format='%H %an <%ae> %ad %s' --date=iso
  stats /usr/bin/git diff --shortstat HEAD~1 HEAD
  stats /usr/bin/git gc -q
  stats /usr/bin/git fsck --no-progress --no-dangling
  stats /usr/bin/git log --format='%H %T' --all
  stats /usr/bin/git grep -c "line 7 " HEAD -- src/d1 | sha256sum
}

EXPECT_SUMMARIES[gcc]=10
case_gcc() {
  cat >hello.c <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
static int compare(const void* a, const void* b) {
  return strcmp(*(char* const*)a, *(char* const*)b);
}
int main(void) {
  enum { N = 20000 };
  char** words = malloc(N * sizeof(char*));
  for (int i = 0; i < N; i++) {
    char buf[32];
    snprintf(buf, sizeof buf, "w%u", (unsigned)(i * 2654435761u));
    words[i] = strdup(buf);
  }
  qsort(words, N, sizeof(char*), compare);
  printf("first %s last %s\n", words[0], words[N - 1]);
  for (int i = 0; i < N; i++) free(words[i]);
  free(words);
  return 0;
}
C
  cat >prog.cc <<'CC'
#include <algorithm>
#include <iostream>
#include <map>
#include <memory>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

template <typename T>
struct Tree {
  T value;
  std::unique_ptr<Tree> left, right;
  void Insert(T v) {
    auto& next = v < value ? left : right;
    if (next) next->Insert(v); else next.reset(new Tree{v});
  }
  size_t Depth() const {
    return 1 + std::max(left ? left->Depth() : 0, right ? right->Depth() : 0);
  }
};

int main() {
  std::map<std::string, std::vector<int>> index;
  for (int i = 0; i < 50000; ++i) index["k" + std::to_string(i % 997)].push_back(i);
  Tree<unsigned> tree{1u << 31};
  for (unsigned i = 0; i < 20000; ++i) tree.Insert(i * 2654435761u);
  std::vector<long> sums(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&sums, t] {
      std::vector<std::string> v;
      for (int i = 0; i < 20000; ++i) v.push_back(std::to_string(i * (t + 1)));
      std::sort(v.begin(), v.end());
      sums[t] = std::accumulate(v.begin(), v.begin() + 100, 0L,
                                [](long a, const std::string& s) { return a + s.size(); });
    });
  }
  for (auto& t : threads) t.join();
  std::cout << index.size() << " " << index["k5"].size() << " " << tree.Depth();
  for (long s : sums) std::cout << " " << s;
  std::cout << "\n";
}
CC
  stats /usr/bin/gcc -O2 -Wall -c hello.c -o hello.o
  stats /usr/bin/gcc hello.o -o hello
  stats ./hello
  stats /usr/bin/g++ -O2 -std=c++17 -Wall -c prog.cc -o prog.o
  stats /usr/bin/g++ -pthread prog.o -o prog
  stats ./prog
  # The compilers' output must not depend on the allocator.
  sha256sum <hello.o
  sha256sum <prog.o
}

EXPECT_SUMMARIES[perl]=2
case_perl() {
  cat >work.pl <<'PL'
use strict;
use warnings;
use Digest::MD5 qw(md5_hex);
my %h;
for my $i (1 .. 200000) { $h{"k$i"} = [$i, "v" x ($i % 13), { n => $i }]; }
my @keys = sort keys %h;
my $joined = join(",", map { $_ . "=" . length($h{$_}[1]) } @keys[0 .. 19999]);
my @words = map { sprintf("%08x", ($_ * 2654435761) % 4294967296) } 1 .. 100000;
my %count;
$count{ substr($_, 0, 2) }++ for @words;
my $re = join("|", map { quotemeta } @words[0 .. 199]);
my $matches = grep { /^(?:$re)$/ } @words;
my @sorted = sort { $count{$b} <=> $count{$a} || $a cmp $b } keys %count;
delete @h{ @keys[0 .. 99999] };
print md5_hex($joined), " ", scalar(keys %count), " $matches $sorted[0] ", scalar(keys %h), "\n";
PL
  stats /usr/bin/perl work.pl
  stats /usr/bin/perl -e 'my @a = map { [$_, "x" x ($_ % 100)] } 1..100000; print scalar(@a), " ", length(join("", map { $_->[1] } @a)), "\n"'
}

EXPECT_SUMMARIES[sort]=3
case_sort() {
  stats /usr/bin/sort --parallel=2 -S 32M "$INPUT" -o sorted.txt
  sha256sum <sorted.txt
  stats /usr/bin/sort --parallel=2 -k2,2 -k1,1n "$INPUT" | sha256sum
  # A small buffer forces temporary files and a merge.
  stats /usr/bin/sort --parallel=2 -S 1M -u -t' ' -k2,2 "$INPUT" | sha256sum
}

EXPECT_SUMMARIES[xz]=2
case_xz() {
  # 3 MB in 512 KiB blocks: both threads compress (and decompress).
  head -c 3000000 "$INPUT" >input.txt
  stats /usr/bin/xz -T2 -2 --block-size=512KiB -c input.txt >lines.xz
  stats /usr/bin/xz -T2 -d -c lines.xz >roundtrip.txt
  cmp roundtrip.txt input.txt
  sha256sum <lines.xz
  echo "round trip ok"
}

# ---- Runner --------------------------------------------------------------

for name in "${cases[@]}"; do
  declare -F "case_$name" >/dev/null || fail "unknown case $name"
done

# `stats CMD...`: CMD with HAKMEM_STATS=$STATS.
stats() { HAKMEM_STATS=$STATS "$@"; }
export -f stats "${cases[@]/#/case_}"

# run_mode CASE MODE: runs the case in $WORK/CASE.MODE; MODE is base or hak.
# A bash of its own (preloaded as well) with -e, so any failing command
# fails the case.
run_mode() {
  local name=$1 mode=$2 dir="$WORK/$1.$2" preload stats_value
  mkdir -p "$dir"
  if [[ $mode == hak ]]; then
    preload="$HAKMEM_SO"
    stats_value=1
  else
    preload=""
    stats_value=0
  fi
  (
    cd "$dir"
    INPUT="$WORK/lines.txt" STATS=$stats_value LD_PRELOAD="$preload" \
      exec /bin/bash -euo pipefail -c "case_$name"
  ) >"$dir.out" 2>"$dir.err"
}

failures=0
for name in "${cases[@]}"; do
  start=$SECONDS
  rc=0
  run_mode "$name" base || rc=$?
  if ((rc != 0)); then
    echo "FAIL $name: exit $rc without hakmem" >&2
    cat "$WORK/$name.base.err" >&2
    failures=$((failures + 1))
    continue
  fi
  rc=0
  run_mode "$name" hak || rc=$?
  problems=()
  ((rc == 0)) || problems+=("exit $rc with hakmem")
  cmp -s "$WORK/$name.base.out" "$WORK/$name.hak.out" || problems+=("stdout differs")
  if ! cmp -s <(strip_stats "$WORK/$name.base.err") <(strip_stats "$WORK/$name.hak.err"); then
    problems+=("stderr differs")
  fi
  if grep -E '^hakmem: ' "$WORK/$name.hak.err" | grep -vqE "$STATS_PATTERN"; then
    problems+=("hakmem reported an error")
  fi
  summaries=$(grep -cE '^hakmem: slab_blocks_served +[0-9]+$' "$WORK/$name.hak.err" || true)
  idle=$(grep -cE '^hakmem: slab_blocks_served +0$' "$WORK/$name.hak.err" || true)
  ((summaries >= EXPECT_SUMMARIES[$name])) ||
    problems+=("$summaries HAKMEM_STATS summaries, expected at least ${EXPECT_SUMMARIES[$name]}")
  ((idle == 0)) || problems+=("$idle summaries with slab_blocks_served 0")
  served=$(grep -E '^hakmem: slab_blocks_served +[0-9]+$' "$WORK/$name.hak.err" |
    awk '{ s += $3 } END { print s + 0 }')
  if ((${#problems[@]})); then
    failures=$((failures + 1))
    echo "FAIL $name: ${problems[*]}" >&2
    echo "--- stdout without / with hakmem:" >&2
    diff "$WORK/$name.base.out" "$WORK/$name.hak.out" | head -20 >&2 || true
    echo "--- stderr with hakmem (statistics removed):" >&2
    strip_stats "$WORK/$name.hak.err" | head -30 >&2
  else
    printf 'ok   %-8s %3ds  %2d summaries, %s blocks served; output: %s\n' \
      "$name" $((SECONDS - start)) "$summaries" "$served" \
      "$(head -c 60 "$WORK/$name.hak.out" | head -1)"
  fi
done
((failures == 0)) || fail "$failures of ${#cases[@]} programs misbehaved under hakmem"
echo "PASS: ${cases[*]}"

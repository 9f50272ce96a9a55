#!/usr/bin/env bash
# A real fuzzing campaign for one of the fuzzers in fuzz/ that grows its
# checked-in corpus:
#
#   tools/fuzz_campaign.sh <name> [seconds] [jobs]
#   e.g. tools/fuzz_campaign.sh double_free_fuzz 1800 1
#
# Builds //fuzz:<name> with --config=fuzz (ASan + coverage of all code),
# copies the binary (so that a rebuild cannot swap it mid-campaign) into
# build/fuzz/<name>/<timestamp>/, and runs `jobs` libFuzzer jobs in
# parallel (-jobs/-workers) for `seconds` each (-max_total_time), reading
# fuzz/corpus/<name>/ and writing new inputs to new/ and crashes to
# artifacts/ there. At the end, inputs that add coverage are merged
# (-merge=1) into fuzz/corpus/<name>/, which keeps it small, and the
# executions and final coverage are printed (also to summary.txt).
#
# Environment variables reach the fuzzer (e.g. FUZZ_NO_CORRUPTION=1 for
# double_free_fuzz, see fuzz/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

name=${1:?usage: tools/fuzz_campaign.sh <name> [seconds] [jobs]}
seconds=${2:-1800}
jobs=${3:-1}
corpus="$repo/fuzz/corpus/$name"
[[ -d "$corpus" ]] || { echo "no corpus directory $corpus" >&2; exit 2; }

# No bazel-* symlinks: other builds in this tree keep theirs.
bazel build --config=fuzz --symlink_prefix=/ "//fuzz:$name"
bin="$(bazel info --config=fuzz bazel-bin 2>/dev/null)/fuzz/$name"

work="$repo/build/fuzz/$name/$(date +%Y%m%d-%H%M%S)"
mkdir -p "$work/new" "$work/artifacts"
cp "$bin" "$work/$name"
cd "$work"
echo "campaign: $name for ${seconds}s x $jobs job(s) in $work (logs: fuzz-*.log)"
before=$(ls "$corpus" | wc -l)

# Crashes end a job (and are kept in artifacts/); the campaign goes on with
# the other jobs. -jobs writes each job's output to fuzz-<job>.log.
status=0
"./$name" -max_total_time="$seconds" -jobs="$jobs" -workers="$jobs" \
  -print_final_stats=1 -max_len=4096 -artifact_prefix=artifacts/ \
  new "$corpus" > campaign.log 2>&1 || status=$?

"./$name" -merge=1 -max_len=4096 -artifact_prefix=artifacts/ \
  "$corpus" new > merge.log 2>&1 || echo "merge failed, see $work/merge.log" >&2

{
  echo "fuzzer:     $name"
  echo "duration:   ${seconds}s x $jobs job(s)"
  executions=0
  for log in fuzz-*.log; do
    last=$(grep -E '^#[0-9]+' "$log" | tail -1)
    runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" |
           grep -oE '[0-9]+$' || true)
    [[ -n "$runs" ]] || runs=$(sed -E 's/^#([0-9]+).*/\1/' <<<"$last")
    executions=$((executions + ${runs:-0}))
    echo "$log: $last"
    grep -E 'stat::(average_exec_per_sec|new_units_added|peak_rss_mb)' "$log" || true
  done
  echo "executions: $executions"
  echo "crashes:    $(ls artifacts | wc -l) (in $work/artifacts)"
  echo "corpus:     $before -> $(ls "$corpus" | wc -l) files," \
       "$(du -sb "$corpus" | cut -f1) bytes"
} | tee summary.txt
exit "$status"

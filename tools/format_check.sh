#!/usr/bin/env bash
# Fails when a tracked C/C++ file differs from what clang-format-14 makes of
# it under the repository's .clang-format (Google style). Fix with:
#   git ls-files -z '*.c' '*.cc' '*.h' | xargs -0 clang-format-14 -i
set -uo pipefail
cd "$(dirname "$0")/.."
format=clang-format-14
command -v "$format" >/dev/null || { echo "format: $format not found" >&2; exit 1; }
# Tracked files; outside a git checkout, the sources under the tree.
list_sources() {
  if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git ls-files -z '*.c' '*.cc' '*.h'
  else
    find . -path './bazel-*' -prune -o -path './examples/consumer/bazel-*' \
      -prune -o -type f \( -name '*.c' -o -name '*.cc' -o -name '*.h' \) \
      -print0
  fi
}
files=$(list_sources | tr -cd '\0' | wc -c)
((files > 0)) || { echo "format: no C/C++ files found" >&2; exit 1; }
if list_sources | xargs -0 "$format" --dry-run --Werror; then
  echo "format: ${files} files clean"
else
  echo "FAIL: files above are not clang-format-14 clean (see the fix in $0)" >&2
  exit 1
fi

// Resident set size of this process, from /proc/self/statm (and the shared
// test helpers: Stats(), kMiB, Rng).
#ifndef HAKMEM_TESTS_MEMORY_RSS_H_
#define HAKMEM_TESTS_MEMORY_RSS_H_

#include <unistd.h>

#include <cstddef>
#include <cstdio>

#include "tests/test_util.h"

namespace hakmem_test {

inline size_t RssBytes() {
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  unsigned long size = 0, resident = 0;
  int n = std::fscanf(f, "%lu %lu", &size, &resident);
  std::fclose(f);
  return n == 2 ? resident * static_cast<size_t>(sysconf(_SC_PAGESIZE)) : 0;
}

}  // namespace hakmem_test

#endif  // HAKMEM_TESTS_MEMORY_RSS_H_

// Resident set size of this process, from /proc/self/statm.
#ifndef HAKMEM_TESTS_MEMORY_RSS_H_
#define HAKMEM_TESTS_MEMORY_RSS_H_

#include <unistd.h>

#include <cstddef>
#include <cstdio>

#include "capi/hakmem.h"

namespace hakmem_test {

inline size_t RssBytes() {
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  unsigned long size = 0, resident = 0;
  int n = std::fscanf(f, "%lu %lu", &size, &resident);
  std::fclose(f);
  return n == 2 ? resident * static_cast<size_t>(sysconf(_SC_PAGESIZE)) : 0;
}

inline hak_stats Stats() {
  hak_stats s{};
  s.version = HAK_STATS_VERSION;
  s.size = sizeof(s);
  hak_stats_get(&s);
  return s;
}

constexpr size_t kMiB = size_t{1} << 20;

}  // namespace hakmem_test

#endif  // HAKMEM_TESTS_MEMORY_RSS_H_

// HAKMEM_STATS=1 prints hakmem's statistics to stderr when the program
// exits, so that anyone can confirm that hakmem really was the allocator
// (LD_PRELOAD that silently failed shows up as no output at all).
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "capi/hakmem.h"

namespace {

void PrintStatsAtExit() { hak_stats_print(stderr); }

__attribute__((constructor)) void RegisterStatsAtExit() {
  const char* value = std::getenv("HAKMEM_STATS");
  if (value != nullptr && std::strcmp(value, "1") == 0) {
    std::atexit(PrintStatsAtExit);
  }
}

}  // namespace

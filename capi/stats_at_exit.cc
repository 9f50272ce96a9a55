// HAKMEM_STATS=1 (or json) prints hakmem's statistics to stderr when the
// program exits, so that anyone can confirm that hakmem really was the
// allocator: an LD_PRELOAD that silently failed shows no output at all.
#include <cstdio>
#include <cstdlib>

#include "capi/stats_print.h"
#include "hakmem/config/config.h"

namespace {

void PrintStatsAtExit() {
  hakmem::PrintStats(stderr, hakmem::GetConfig().stats_at_exit ==
                                 hakmem::StatsOutput::kJson);
}

// Reading the configuration here also reports bad HAKMEM_* variables at
// start-up rather than at the first allocation that needs them.
__attribute__((constructor)) void RegisterStatsAtExit() {
  if (hakmem::GetConfig().stats_at_exit != hakmem::StatsOutput::kNone) {
    std::atexit(PrintStatsAtExit);
  }
}

}  // namespace

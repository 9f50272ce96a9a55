#include "capi/stats_print.h"

#include <cinttypes>
#include <cstdint>

#include "capi/hakmem.h"
#include "hakmem/core/stats.h"

namespace hakmem {

int PrintStats(FILE* out, bool json) {
  struct hak_stats s;
  s.version = HAK_STATS_VERSION;
  s.size = sizeof(s);
  hak_stats_get(&s);
  const struct {
    const char* name;
    uint64_t value;
  } rows[] = {
      {"os_mapped_bytes", s.os_mapped_bytes},
      {"os_mapped_peak_bytes", s.os_mapped_peak_bytes},
      {"os_map_calls", s.os_map_calls},
      {"os_unmap_calls", s.os_unmap_calls},
      {"superslabs_live", s.superslabs_live},
      {"superslabs_cached", s.superslabs_cached},
      {"slabs_live", s.slabs_live},
      {"slab_blocks_served", s.slab_blocks_served},
      {"large_live", s.large_live},
      {"large_live_bytes", s.large_live_bytes},
      {"large_cached", s.large_cached},
      {"threads_live", s.threads_live},
      {"os_decommit_calls", s.os_decommit_calls},
      {"os_decommitted_bytes", s.os_decommitted_bytes},
      {"free_slab_dirty_bytes", s.free_slab_dirty_bytes},
  };
  bool ok = true;
  if (json) ok &= std::fputs("{\"hakmem\":{", out) >= 0;
  for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); ++i) {
    ok &= (json ? std::fprintf(out, "%s\"%s\":%" PRIu64, i ? "," : "",
                               rows[i].name, rows[i].value)
                : std::fprintf(out, "hakmem: %-22s %" PRIu64 "\n",
                               rows[i].name, rows[i].value)) >= 0;
  }
  CounterValue counters[64];
  size_t n = GetCounters(counters, 64);
  if (json) ok &= std::fputs(n ? "},\"counters\":{" : "", out) >= 0;
  for (size_t i = 0; i < n && i < 64; ++i) {
    ok &= (json ? std::fprintf(out, "%s\"%s\":%" PRIu64, i ? "," : "",
                               counters[i].name, counters[i].value)
                : std::fprintf(out, "hakmem: counter %-22s %" PRIu64 "\n",
                               counters[i].name, counters[i].value)) >= 0;
  }
  if (json) ok &= std::fputs("}}\n", out) >= 0;
  ok &= std::fflush(out) == 0;
  return ok ? 0 : -1;
}

}  // namespace hakmem

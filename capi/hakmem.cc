// The C ABI: thin extern "C" wrappers over hakmem/core. See hakmem.h for
// the contract of each function.
#include "capi/hakmem.h"

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "hakmem/core/allocator.h"
#include "hakmem/core/stats.h"

extern "C" {

void* hak_malloc(size_t size) { return hakmem::Malloc(size); }

void hak_free(void* ptr) { hakmem::Free(ptr); }

void hak_free_sized(void* ptr, size_t size) { hakmem::FreeSized(ptr, size); }

void* hak_calloc(size_t count, size_t size) {
  return hakmem::Calloc(count, size);
}

void* hak_realloc(void* ptr, size_t size) { return hakmem::Realloc(ptr, size); }

void* hak_aligned_alloc(size_t alignment, size_t size) {
  return hakmem::AlignedAlloc(alignment, size);
}

size_t hak_usable_size(const void* ptr) { return hakmem::UsableSize(ptr); }

uint32_t hak_version(void) { return HAKMEM_VERSION; }

int hak_stats_get(struct hak_stats* out) {
  if (out == nullptr || out->version != HAK_STATS_VERSION ||
      out->size < offsetof(struct hak_stats, os_mapped_bytes)) {
    errno = EINVAL;
    return -1;
  }
  hakmem::AllocatorStats s = hakmem::GetAllocatorStats();
  struct hak_stats full;
  full.version = HAK_STATS_VERSION;
  full.size = out->size < sizeof(full) ? out->size : sizeof(full);
  full.os_mapped_bytes = s.os_mapped_bytes;
  full.os_mapped_peak_bytes = s.os_mapped_peak_bytes;
  full.os_map_calls = s.os_map_calls;
  full.os_unmap_calls = s.os_unmap_calls;
  full.superslabs_live = s.superslabs_live;
  full.superslabs_cached = s.superslabs_cached;
  full.slabs_live = s.spans_live;
  full.slab_blocks_served = s.slab_blocks_served;
  full.large_live = s.large_live;
  full.large_live_bytes = s.large_live_bytes;
  full.large_cached = s.large_cached;
  full.threads_live = s.threads_live;
  // Callers built against an older, shorter struct get its prefix.
  std::memcpy(out, &full, full.size);
  return 0;
}

int hak_stats_print(void* out) {
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
  };
  FILE* file = static_cast<FILE*>(out);
  for (const auto& row : rows) {
    if (std::fprintf(file, "hakmem: %-22s %" PRIu64 "\n", row.name,
                     row.value) < 0) {
      return -1;
    }
  }
  return std::fflush(file) == 0 ? 0 : -1;
}

}  // extern "C"

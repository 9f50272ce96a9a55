// hakmem's configuration: every HAKMEM_* environment variable, read once,
// the first time any part of hakmem asks, into an immutable Config. Nothing
// on a fast path reads it; slow paths and set-up code copy what they need.
//
// Each variable is documented in docs/CONFIG.md (a test keeps the two in
// step). A value that does not parse or is out of range, and an unknown
// HAKMEM_* name, produce one warning line on stderr and leave the default.
#ifndef HAKMEM_CONFIG_CONFIG_H_
#define HAKMEM_CONFIG_CONFIG_H_

#include <cstddef>
#include <cstdint>

namespace hakmem::internal {

enum class StatsOutput : uint8_t { kNone, kText, kJson };

struct Config {
  // HAKMEM_ON_ERROR: abort (default) or report-and-leak on memory errors.
  bool abort_on_error = true;
  // HAKMEM_STATS: print statistics at exit.
  StatsOutput stats_at_exit = StatsOutput::kNone;
  // HAKMEM_TCACHE_BYTES: bytes a thread may cache per size class.
  size_t thread_cache_bytes = 64 * 1024;
  // HAKMEM_LARGE_CACHE_BYTES: freed large mappings kept for reuse.
  size_t large_cache_bytes = size_t{64} << 20;
  // HAKMEM_SS_CACHE: empty SuperSlabs kept mapped.
  uint32_t cached_empty_superslabs = 4;
  // HAKMEM_DECOMMIT_BYTES: free slab memory kept committed for reuse;
  // beyond it, released spans are decommitted (madvise) at once.
  uint64_t decommit_bytes = uint64_t{8} << 20;
  // HAKMEM_GUARD_RATE: sample about one in this many blocks that thread
  // cache refills hand out into the guarded pool (hakmem/guard/); 0 = off.
  // The default costs within noise (bench/RESULTS.md, "Guarded sampling").
  uint32_t guard_rate = 100000;
  // HAKMEM_GUARD_ALIGN: place a guarded block at its page's start (catches
  // underflows) instead of its end (the default: catches overflows).
  bool guard_align_start = false;
};

// The configuration; reads the environment on the first call. Thread-safe
// and allocation-free, so the allocator may call it from anywhere.
const Config& GetConfig();

// For tests: parses `env` (a null-terminated array of "NAME=value") as the
// environment, writing warnings to stderr. Returns the number of warnings.
int ParseConfig(const char* const* env, Config* out);

// The names of all variables hakmem reads, null-terminated (for the
// documentation test).
const char* const* ConfigVariableNames();

}  // namespace hakmem::internal

#endif  // HAKMEM_CONFIG_CONFIG_H_

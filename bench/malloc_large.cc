// The shape of mimalloc-bench's malloc-large (Leonid Stolyarov's test from
// mimalloc issue 447, as Daan Leijen modified it), written from its
// description: 20 slots; each of --replacements replacements (2000)
// allocates a block of a uniformly random size of 5-25 MiB, zero-fills it
// (as std::make_unique<char[]> does: malloc, then every byte written) and
// puts it into a random slot, freeing the block the slot held once the new
// one is in place (so for a moment 21 may be live). At the end every block
// is freed. What it measures is whether the allocator keeps and reuses
// large blocks or maps, faults in and unmaps them every time.
//
// Reports the wall time of the replacements (`malloc_large`, seconds).
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "bench/escape.h"
#include "bench/flags.h"
#include "bench/report.h"
#include "bench/rng.h"

int main(int argc, char** argv) {
  bench::Flags flags(argc, argv,
                     "[--replacements=2000] [--slots=20] [--min-mib=5] "
                     "[--max-mib=25] [--seed=42]");
  int64_t replacements = flags.Int("replacements", 2000, 1);
  uint32_t slots = static_cast<uint32_t>(flags.Int("slots", 20, 1));
  int64_t min_mib = flags.Int("min-mib", 5, 1);
  int64_t max_mib = flags.Int("max-mib", 25, min_mib);
  uint64_t seed = flags.Int("seed", 42);
  flags.RejectUnknown();
  std::printf(
      "malloc_large replacements=%lld slots=%u size=%lld..%lld MiB "
      "seed=%llu\n",
      static_cast<long long>(replacements), slots,
      static_cast<long long>(min_mib), static_cast<long long>(max_mib),
      static_cast<unsigned long long>(seed));

  const uint64_t min_size = static_cast<uint64_t>(min_mib) << 20;
  const uint64_t range = (static_cast<uint64_t>(max_mib) << 20) - min_size;
  std::vector<char*> blocks(slots, nullptr);
  bench::Rng rng(seed);
  uint64_t bytes = 0;
  auto start = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < replacements; ++i) {
    uint32_t slot = rng.Below(slots);
    size_t size = min_size + rng.Next() % (range + 1);
    auto* block = static_cast<char*>(std::malloc(size));
    if (block == nullptr) {
      std::fprintf(stderr, "malloc_large: malloc(%zu) failed\n", size);
      return 1;
    }
    std::memset(block, 0, size);
    bench::Escape(block);
    std::free(blocks[slot]);
    blocks[slot] = block;
    bytes += size;
  }
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  for (char* block : blocks) std::free(block);
  std::printf("malloc_large_gib_written %.1f\n", bytes / double(1ull << 30));
  bench::PrintResult("malloc_large", seconds, "s");
  bench::PrintProcessReport();
  return 0;
}

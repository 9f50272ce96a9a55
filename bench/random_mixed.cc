// Random sizes over a working set: each operation picks one of --slots slots
// at random and frees its block if it holds one, else allocates a block of a
// random size in [--min, --max], writing its first byte, or with --fill=1
// every byte (as a program that uses its memory would: then peak RSS is the
// live data plus the allocator's overhead, not just the pages it touched).
// Occupancy settles near half, so operations are about half mallocs and
// half frees. Reports operations per second of CPU time.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "bench/cpu_timer.h"
#include "bench/flags.h"
#include "bench/report.h"
#include "bench/rng.h"

int main(int argc, char** argv) {
  bench::Flags flags(argc, argv,
                     "[--slots=8192] [--ops=10000000] [--min=16] "
                     "[--max=1024] [--fill=0] [--seed=1]");
  uint32_t slots = flags.Int("slots", 8192, 1);
  int64_t ops = flags.Int("ops", 10000000, 1);
  uint32_t min_size = flags.Int("min", 16, 1);
  uint32_t max_size = flags.Int("max", 1024, min_size);
  bool fill = flags.Int("fill", 0) != 0;
  uint64_t seed = flags.Int("seed", 1);
  flags.RejectUnknown();
  std::printf("random_mixed slots=%u ops=%lld size=%u..%u fill=%d seed=%llu\n",
              slots, static_cast<long long>(ops), min_size, max_size, fill,
              static_cast<unsigned long long>(seed));

  std::vector<char*> blocks(slots, nullptr);
  bench::Rng rng(seed);
  bench::ThreadCpuTimer timer;
  for (int64_t i = 0; i < ops; ++i) {
    char*& slot = blocks[rng.Below(slots)];
    if (slot != nullptr) {
      std::free(slot);
      slot = nullptr;
      continue;
    }
    size_t size = min_size + rng.Below(max_size - min_size + 1);
    slot = static_cast<char*>(std::malloc(size));
    if (slot == nullptr) {
      std::fprintf(stderr, "random_mixed: malloc(%zu) failed\n", size);
      return 1;
    }
    if (fill) {
      std::memset(slot, static_cast<int>(i), size);
    } else {
      slot[0] = static_cast<char>(i);
    }
  }
  double seconds = timer.Seconds();

  bench::PrintResult("random_mixed", ops / seconds, "ops/s");
  // The blocks and the slots' array: final_rss_kib is measured with nothing
  // held.
  for (char* block : blocks) std::free(block);
  blocks = std::vector<char*>();
  bench::PrintProcessReport();
  return 0;
}

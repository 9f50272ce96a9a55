// The shape of glibc's benchtests/bench-malloc-thread.c (mimalloc-bench's
// glibc-thread, run with one thread per CPU), written from its
// description. Each of --threads threads keeps a working set of 1024 slots.
// An iteration takes the next slot from a fixed table of 4096 random slot
// numbers, frees the block the slot holds and allocates one of the next
// size from a fixed table of 8000 sizes drawn from an inverse-square
// distribution over 4..32768 B (mean about 36 B: mostly small, a long
// tail), and writes every byte of it (as mimalloc-bench's copy does). The
// tables are drawn once and every thread walks them from the start, as in
// glibc. glibc runs for 2 seconds and counts iterations; this runs
// --iterations per thread.
//
// Reports iterations (one free plus one malloc each) per second of wall
// time (`glibc_thread`).
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#include "bench/escape.h"
#include "bench/flags.h"
#include "bench/report.h"
#include "bench/rng.h"

namespace {

constexpr int kWorkingSet = 1024;
constexpr int kSizes = 8000;
constexpr int kOffsets = 4 * kWorkingSet;
constexpr double kMinSize = 4;
constexpr double kMaxSize = 32768;

uint32_t g_sizes[kSizes];
uint32_t g_offsets[kOffsets];
std::atomic<int> g_waiting{0};

// Inverse square over [kMinSize, kMaxSize] by inversion: x^-1 is uniform
// between the bounds' inverses.
uint32_t InverseSquareSize(double r) {
  double lo = 1 / kMaxSize, hi = 1 / kMinSize;
  auto size = static_cast<uint32_t>(1 / (hi - (hi - lo) * r));
  return size < kMinSize ? static_cast<uint32_t>(kMinSize) : size;
}

void RunThread(int64_t iterations) {
  std::vector<char*> slots(kWorkingSet, nullptr);
  g_waiting.fetch_sub(1);
  while (g_waiting.load() > 0) std::this_thread::yield();
  int offset = 0, size_index = 0;
  for (int64_t i = 0; i < iterations; ++i) {
    char*& slot = slots[g_offsets[offset]];
    uint32_t size = g_sizes[size_index];
    offset = offset + 1 == kOffsets ? 0 : offset + 1;
    size_index = size_index + 1 == kSizes ? 0 : size_index + 1;
    std::free(slot);
    slot = static_cast<char*>(std::malloc(size));
    if (slot == nullptr) {
      std::fprintf(stderr, "glibc_thread: malloc(%u) failed\n", size);
      std::exit(1);
    }
    std::memset(slot, static_cast<int>(i), size);
    bench::Escape(slot);
  }
  for (char* block : slots) std::free(block);
}

}  // namespace

int main(int argc, char** argv) {
  bench::Flags flags(argc, argv,
                     "[--threads=2] [--iterations=40000000] [--seed=88]");
  int threads_count = static_cast<int>(flags.Int("threads", 2, 1));
  int64_t iterations = flags.Int("iterations", 40000000, 1);
  uint64_t seed = flags.Int("seed", 88);
  flags.RejectUnknown();

  bench::Rng rng(seed);
  double mean = 0;
  for (uint32_t& size : g_sizes) {
    size = InverseSquareSize((rng.Next() >> 11) * 0x1.0p-53);
    mean += size;
  }
  for (uint32_t& offset : g_offsets) offset = rng.Below(kWorkingSet);
  std::printf(
      "glibc_thread threads=%d iterations=%lld per thread, "
      "sizes 4..32768 (mean %.1f B) seed=%llu\n",
      threads_count, static_cast<long long>(iterations), mean / kSizes,
      static_cast<unsigned long long>(seed));

  g_waiting.store(threads_count + 1);
  std::vector<std::thread> threads;
  for (int t = 0; t < threads_count; ++t) {
    threads.emplace_back(RunThread, iterations);
  }
  while (g_waiting.load() > 1) std::this_thread::yield();
  auto start = std::chrono::steady_clock::now();
  g_waiting.fetch_sub(1);
  for (std::thread& t : threads) t.join();
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  bench::PrintResult("glibc_thread", iterations * threads_count / seconds,
                     "ops/s");
  bench::PrintProcessReport();
  return 0;
}

// The shape of glibc's benchtests/bench-malloc-simple.c (mimalloc-bench's
// glibc-simple), written from its description: for each size of --sizes
// (16, 32 and 64 B, glibc's default), and each batch of 25, 100, 400 and
// 1600 blocks, allocate the batch, writing every 4-byte word of each block
// (as mimalloc-bench's copy does), then free it in allocation order;
// repeated for --pairs pairs per batch size (2,000,000). Each size runs in
// three settings, as glibc's does: on the main thread, on a thread of its
// own, and on the main thread again once a second thread has existed (for
// glibc: the main arena with SINGLE_THREAD_P false). Each batch size is
// warmed up once first, untimed.
//
// Reports the mean time of one malloc+free pair over every setting and
// batch (`glibc_simple`, ns/pair) and the same for each size
// (`glibc_simple_16B` ...).
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "bench/escape.h"
#include "bench/flags.h"
#include "bench/report.h"

namespace {

constexpr int kBatches[] = {25, 100, 400, 1600};

// Seconds for `pairs` malloc+free pairs of `size` B in batches of `n`.
double RunBatches(int64_t pairs, size_t size, int n, int** blocks) {
  int64_t rounds = pairs / n;
  size_t words = size / sizeof(int);
  auto start = std::chrono::steady_clock::now();
  for (int64_t r = 0; r < rounds; ++r) {
    for (int i = 0; i < n; ++i) {
      int* block = static_cast<int*>(std::malloc(size));
      if (block == nullptr) {
        std::fprintf(stderr, "glibc_simple: malloc(%zu) failed\n", size);
        std::exit(1);
      }
      for (size_t w = 0; w < words; ++w) block[w] = static_cast<int>(w);
      bench::Escape(block);
      blocks[i] = block;
    }
    for (int i = 0; i < n; ++i) std::free(blocks[i]);
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
      .count();
}

// Every batch size once; adds the pairs made to `*pairs_made`.
double RunSetting(int64_t pairs, size_t size, int** blocks,
                  int64_t* pairs_made) {
  double seconds = 0;
  for (int n : kBatches) {
    seconds += RunBatches(pairs, size, n, blocks);
    *pairs_made += pairs / n * n;
  }
  return seconds;
}

}  // namespace

int main(int argc, char** argv) {
  bench::Flags flags(argc, argv, "[--sizes=16,32,64] [--pairs=2000000]");
  std::vector<int64_t> sizes = flags.IntList("sizes", {16, 32, 64}, 1);
  int64_t pairs = flags.Int("pairs", 2000000, 1600);
  flags.RejectUnknown();
  std::printf(
      "glibc_simple pairs=%lld per batch size and setting, "
      "batches of 25,100,400,1600\n",
      static_cast<long long>(pairs));

  auto** blocks = static_cast<int**>(std::malloc(1600 * sizeof(int*)));
  double total_seconds = 0;
  int64_t total_pairs = 0;
  for (int64_t size : sizes) {
    size_t bytes = static_cast<size_t>(size);
    for (int n : kBatches) RunBatches(n, bytes, n, blocks);  // warm-up
    int64_t made = 0;
    double seconds = RunSetting(pairs, bytes, blocks, &made);
    std::thread thread(
        [&] { seconds += RunSetting(pairs, bytes, blocks, &made); });
    thread.join();
    seconds += RunSetting(pairs, bytes, blocks, &made);
    bench::PrintResult("glibc_simple_" + std::to_string(size) + "B",
                       seconds * 1e9 / made, "ns/pair");
    total_seconds += seconds;
    total_pairs += made;
  }
  std::free(blocks);
  bench::PrintResult("glibc_simple", total_seconds * 1e9 / total_pairs,
                     "ns/pair");
  bench::PrintProcessReport();
  return 0;
}

// Generations of threads that come and go, as in a service whose thread
// pool churns (the shape of mimalloc's stress test, written from its
// description). Each generation runs --threads threads at once; each thread
// allocates blocks of sizes spread over powers of two (8 B to 128 B mostly,
// 1% a hundred times larger, 0.1% a thousand times, 0.01% ten thousand
// times, up to about 1 MiB), frees most of them again, keeps some until it
// ends, and swaps blocks with the other threads through a shared array of
// --transfers slots. Then it exits. Between generations the main thread
// frees half of what the slots hold, so blocks outlive the thread that made
// them by a generation or two and are freed by a thread that did not: into
// the spans of a thread that exited, while their other blocks may still sit
// in a slot or in a remote-free stack.
//
// An allocator that gives back what the program freed keeps a footprint
// that does not depend on how many generations have passed. Reports
// mallocs plus frees per second of wall time (every block allocated is
// freed, so twice the blocks), the resident set after the
// generations --checkpoints names (`rss_kib_after_generation G KIB`), and
// the process report (peak and final RSS).
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#include "bench/flags.h"
#include "bench/report.h"
#include "bench/rng.h"

namespace {

struct Params {
  int threads;
  int64_t generations;
  int64_t allocs;  // per thread and generation (times 1..8 by thread)
  uint32_t transfers;
};

// A block: its word count in word 0, and every other word derived from it
// and its address, so that a block the allocator handed out twice, or
// scribbled on, is caught when it is freed.
uint64_t Word(const uint64_t* block, size_t i) {
  return (reinterpret_cast<uintptr_t>(block) >> 4) * 0x9E3779B97F4A7C15ull + i;
}

uint64_t* NewBlock(bench::Rng& rng, size_t words_shift) {
  size_t words = size_t{1} << rng.Below(static_cast<uint32_t>(words_shift));
  if (rng.Below(100) == 0) {
    uint32_t r = rng.Below(100);
    words *= r == 0 ? 10000 : r < 10 ? 1000 : 100;
  }
  auto* b = static_cast<uint64_t*>(std::calloc(words, sizeof(uint64_t)));
  if (b == nullptr) {
    std::fprintf(stderr, "thread_generations: calloc of %zu words failed\n",
                 words);
    std::exit(1);
  }
  if (b[words - 1] != 0) {
    std::fprintf(stderr, "thread_generations: calloc gave dirty memory\n");
    std::exit(1);
  }
  b[0] = words;
  // First and last words: writing all of a large block costs page faults
  // that are not the allocator's.
  for (size_t i = 1; i < words && i < 8; ++i) b[i] = Word(b, i);
  if (words > 8) b[words - 1] = Word(b, words - 1);
  return b;
}

void FreeBlock(uint64_t* b) {
  if (b == nullptr) return;
  size_t words = b[0];
  bool intact =
      words != 0 && (words <= 8 || b[words - 1] == Word(b, words - 1));
  for (size_t i = 1; intact && i < words && i < 8; ++i) {
    intact = b[i] == Word(b, i);
  }
  if (!intact) {
    std::fprintf(stderr, "thread_generations: block %p corrupted\n",
                 static_cast<void*>(b));
    std::exit(1);
  }
  std::free(b);
}

std::vector<std::atomic<uint64_t*>>* g_transfer;
std::atomic<int64_t> g_blocks{0};

void RunThread(const Params& p, uint64_t seed, int index) {
  bench::Rng rng(seed);
  int64_t allocs = p.allocs * (index % 8 + 1);
  int64_t retain = allocs / 2;
  g_blocks.fetch_add(allocs + retain);
  std::vector<uint64_t*> data;
  std::vector<uint64_t*> retained;
  data.reserve(allocs);
  retained.reserve(retain);
  while (allocs > 0 || retain > 0) {
    if (retain == 0 || (allocs > 0 && rng.Below(2) == 0)) {
      data.push_back(NewBlock(rng, 5));  // 8 B .. 128 B
      --allocs;
    } else {
      retained.push_back(NewBlock(rng, 7));  // 8 B .. 512 B
      --retain;
    }
    if (!data.empty() && rng.Below(3) < 2) {
      uint64_t*& slot = data[rng.Below(static_cast<uint32_t>(data.size()))];
      FreeBlock(slot);
      slot = nullptr;
    }
    if (!data.empty() && rng.Below(4) == 0) {
      uint64_t*& mine = data[rng.Below(static_cast<uint32_t>(data.size()))];
      mine = (*g_transfer)[rng.Below(p.transfers)].exchange(mine);
    }
  }
  for (uint64_t* b : retained) FreeBlock(b);
  for (uint64_t* b : data) FreeBlock(b);
}

}  // namespace

int main(int argc, char** argv) {
  bench::Flags flags(argc, argv,
                     "[--threads=2] [--generations=400] [--allocs=5000] "
                     "[--transfers=1000] [--checkpoints=100,400] [--seed=1]");
  Params p;
  p.threads = static_cast<int>(flags.Int("threads", 2, 1));
  p.generations = flags.Int("generations", 400, 1);
  p.allocs = flags.Int("allocs", 5000, 1);
  p.transfers = static_cast<uint32_t>(flags.Int("transfers", 1000, 1));
  std::vector<int64_t> checkpoints =
      flags.IntList("checkpoints", {100, 400}, 1);
  uint64_t seed = flags.Int("seed", 1);
  flags.RejectUnknown();
  std::printf(
      "thread_generations threads=%d generations=%lld allocs=%lld "
      "transfers=%u seed=%llu\n",
      p.threads, static_cast<long long>(p.generations),
      static_cast<long long>(p.allocs), p.transfers,
      static_cast<unsigned long long>(seed));

  std::vector<std::atomic<uint64_t*>> transfer(p.transfers);
  for (auto& slot : transfer) slot.store(nullptr);
  g_transfer = &transfer;
  bench::Rng main_rng(seed);
  auto start = std::chrono::steady_clock::now();
  for (int64_t g = 1; g <= p.generations; ++g) {
    std::vector<std::thread> threads;
    for (int t = 0; t < p.threads; ++t) {
      threads.emplace_back(RunThread, std::cref(p),
                           seed * 1000003 + g * 131 + t, t);
    }
    for (std::thread& t : threads) t.join();
    for (auto& slot : transfer) {
      if (main_rng.Below(2) == 0) FreeBlock(slot.exchange(nullptr));
    }
    for (int64_t c : checkpoints) {
      if (c == g)
        std::printf("rss_kib_after_generation %lld %ld\n",
                    static_cast<long long>(g), bench::StatusKib("VmRSS:"));
    }
  }
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  for (auto& slot : transfer) FreeBlock(slot.exchange(nullptr));
  bench::PrintResult("thread_generations", 2.0 * g_blocks.load() / seconds,
                     "ops/s");
  g_transfer = nullptr;
  // `transfer` is the program's own (a few KiB); final_rss_kib is what the
  // allocator keeps after every block is freed.
  bench::PrintProcessReport();
  return 0;
}

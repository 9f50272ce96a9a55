// The shape of MicroQuill's SmartHeap benchmark sh6bench (mimalloc-bench's
// sh6benchN), written from its description. Each of --threads threads owns
// --slots slots (10,000) and makes --passes passes. A pass allocates a
// block into every slot that the live window (below) does not hold, writing
// its first and last byte; then it frees the oldest 80% of the pass's
// blocks in allocation order, frees the window the previous pass kept in
// reverse order (newest first), and keeps the newest 20% of this pass live
// as the new window while the next pass allocates. So blocks die in FIFO
// and LIFO order, and the window (about 1,700 blocks) outlives a pass.
//
// Sizes come from a fixed schedule over 1..--max B (1,000) in which small
// sizes come far more often, as in sh6bench: for each base size b (1, 2, 4,
// 7, 11, ..., growing by half plus one while below --max), the sizes b,
// b/2, b/4, ..., 1, each 250 times if below 100 B, 50 times if below
// 1000 B, else 10 times. Every thread walks the same schedule, cyclically.
//
// Reports the wall time of all passes of all threads (`sh6bench`, seconds,
// lower is better), as mimalloc-bench times the program.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

#include "bench/escape.h"
#include "bench/flags.h"
#include "bench/report.h"

namespace {

struct Params {
  int threads;
  uint32_t slots;
  int64_t passes;
};

std::vector<uint32_t> SizeSchedule(uint32_t max_size) {
  std::vector<uint32_t> schedule;
  for (uint32_t base = 1; base < max_size; base = base * 3 / 2 + 1) {
    for (uint32_t size = base; size > 0; size /= 2) {
      int repeats = size < 100 ? 250 : size < 1000 ? 50 : 10;
      schedule.insert(schedule.end(), repeats, size);
    }
  }
  return schedule;
}

std::atomic<int> g_waiting{0};

void RunThread(const Params& p, const std::vector<uint32_t>& schedule) {
  // The slots' arrays, reserved up front: what the passes allocate is
  // blocks only.
  std::vector<char*> pass;
  std::vector<char*> window;
  std::vector<char*> next_window;
  pass.reserve(p.slots);
  window.reserve(p.slots);
  next_window.reserve(p.slots);
  size_t cursor = 0;
  g_waiting.fetch_sub(1);
  while (g_waiting.load() > 0) std::this_thread::yield();
  for (int64_t k = 0; k < p.passes; ++k) {
    pass.clear();
    size_t fill = p.slots - window.size();
    for (size_t i = 0; i < fill; ++i) {
      uint32_t size = schedule[cursor];
      cursor = cursor + 1 == schedule.size() ? 0 : cursor + 1;
      auto* block = static_cast<char*>(std::malloc(size));
      if (block == nullptr) {
        std::fprintf(stderr, "sh6bench: malloc(%u) failed\n", size);
        std::exit(1);
      }
      block[0] = 0;
      block[size - 1] = 0;
      bench::Escape(block);
      pass.push_back(block);
    }
    size_t oldest = pass.size() * 4 / 5;
    for (size_t i = 0; i < oldest; ++i) std::free(pass[i]);
    for (size_t i = window.size(); i > 0; --i) std::free(window[i - 1]);
    window.assign(pass.begin() + oldest, pass.end());
  }
  for (size_t i = window.size(); i > 0; --i) std::free(window[i - 1]);
}

}  // namespace

int main(int argc, char** argv) {
  bench::Flags flags(argc, argv,
                     "[--threads=2] [--slots=10000] [--passes=5000] "
                     "[--max=1000]");
  Params p;
  p.threads = static_cast<int>(flags.Int("threads", 2, 1));
  p.slots = static_cast<uint32_t>(flags.Int("slots", 10000, 1));
  p.passes = flags.Int("passes", 5000, 1);
  uint32_t max_size = static_cast<uint32_t>(flags.Int("max", 1000, 2));
  flags.RejectUnknown();
  std::vector<uint32_t> schedule = SizeSchedule(max_size);
  double mean = 0;
  for (uint32_t s : schedule) mean += s;
  mean /= schedule.size();
  std::printf(
      "sh6bench threads=%d slots=%u passes=%lld max=%u "
      "schedule=%zu sizes, mean %.1f B\n",
      p.threads, p.slots, static_cast<long long>(p.passes), max_size,
      schedule.size(), mean);

  g_waiting.store(p.threads + 1);
  std::vector<std::thread> threads;
  for (int t = 0; t < p.threads; ++t) {
    threads.emplace_back(RunThread, std::cref(p), std::cref(schedule));
  }
  while (g_waiting.load() > 1) std::this_thread::yield();
  auto start = std::chrono::steady_clock::now();
  g_waiting.fetch_sub(1);
  for (std::thread& t : threads) t.join();
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  bench::PrintResult("sh6bench", seconds, "s");
  bench::PrintProcessReport();
  return 0;
}

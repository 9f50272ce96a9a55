// Larson & Krishnan's server benchmark ("Memory allocation for long-running
// server applications", ISMM 1998), our own implementation.
//
// Each of --threads slots owns an array of --chunks blocks of random sizes in
// [--min, --max], first allocated by the main thread. A round on a slot is
// one thread that makes --replacements replacements (free a random block,
// allocate a new one of a random size, write its first and last byte) and
// then exits; the next round on that slot runs on a new thread. So most
// blocks are freed by a thread that did not allocate them, and every thread
// exits with blocks still live: the allocator's remote frees and its
// hand-over of an exited thread's memory are what this measures.
//
// Slots run independently (no barrier between rounds). Reports replacements
// (one free plus one malloc each) per second over all rounds, twice:
//   larson              per second of wall time: the throughput;
//   larson_by_cpu_time  per second of CPU time of the process, times the
//                       threads: the throughput the threads would reach
//                       with a CPU each, much less disturbed by other work
//                       on the machine (but blind to time spent asleep,
//                       e.g. waiting for a lock that sleeps).
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

#include "bench/cpu_timer.h"
#include "bench/flags.h"
#include "bench/report.h"
#include "bench/rng.h"

namespace {

struct Params {
  int threads;
  uint32_t min_size;
  uint32_t max_size;
  uint32_t chunks;
  int rounds;
  int64_t replacements;
  uint64_t seed;
};

char* NewBlock(bench::Rng& rng, const Params& p) {
  size_t size = p.min_size + rng.Below(p.max_size - p.min_size + 1);
  auto* block = static_cast<char*>(std::malloc(size));
  if (block == nullptr) {
    std::fprintf(stderr, "larson: malloc(%zu) failed\n", size);
    std::exit(1);
  }
  block[0] = 'a';
  block[size - 1] = 'z';
  return block;
}

void RunRound(std::vector<char*>& blocks, const Params& p, uint64_t seed) {
  bench::Rng rng(seed);
  for (int64_t i = 0; i < p.replacements; ++i) {
    uint32_t victim = rng.Below(p.chunks);
    std::free(blocks[victim]);
    blocks[victim] = NewBlock(rng, p);
  }
}

// Starts each slot's next round on a new thread as soon as its previous
// round's thread has finished, until every slot has run all its rounds.
class RoundScheduler {
 public:
  RoundScheduler(std::vector<std::vector<char*>>& slots, const Params& p)
      : slots_(slots), p_(p), threads_(slots.size()), rounds_(slots.size()) {
    finished_.reserve(slots.size());
  }

  void Run() {
    for (size_t s = 0; s < slots_.size(); ++s) Start(s);
    size_t done = 0;
    while (done < slots_.size()) {
      size_t s = NextFinished();
      threads_[s].join();
      if (++rounds_[s] < p_.rounds) {
        Start(s);
      } else {
        ++done;
      }
    }
  }

 private:
  void Start(size_t s) {
    uint64_t seed = p_.seed + 1000003 * (s + 1) + rounds_[s];
    threads_[s] = std::thread([this, s, seed] {
      RunRound(slots_[s], p_, seed);
      std::lock_guard<std::mutex> lock(mu_);
      finished_.push_back(s);
      cv_.notify_one();
    });
  }

  size_t NextFinished() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return !finished_.empty(); });
    size_t s = finished_.back();
    finished_.pop_back();
    return s;
  }

  std::vector<std::vector<char*>>& slots_;
  const Params& p_;
  std::vector<std::thread> threads_;
  std::vector<int> rounds_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<size_t> finished_;
};

}  // namespace

int main(int argc, char** argv) {
  bench::Flags flags(argc, argv,
                     "[--threads=2] [--min=8] [--max=1000] [--chunks=1000] "
                     "[--rounds=20] [--replacements=50000] [--seed=1]");
  Params p;
  p.threads = flags.Int("threads", 2, 1);
  p.min_size = flags.Int("min", 8, 1);
  p.max_size = flags.Int("max", 1000, p.min_size);
  p.chunks = flags.Int("chunks", 1000, 1);
  p.rounds = flags.Int("rounds", 20, 1);
  p.replacements = flags.Int("replacements", 50000, 1);
  p.seed = flags.Int("seed", 1);
  flags.RejectUnknown();
  std::printf(
      "larson threads=%d size=%u..%u chunks=%u rounds=%d replacements=%lld "
      "seed=%llu\n",
      p.threads, p.min_size, p.max_size, p.chunks, p.rounds,
      static_cast<long long>(p.replacements),
      static_cast<unsigned long long>(p.seed));

  std::vector<std::vector<char*>> slots(p.threads);
  bench::Rng rng(p.seed);
  for (auto& blocks : slots) {
    blocks.resize(p.chunks);
    for (char*& block : blocks) block = NewBlock(rng, p);
  }

  auto start = std::chrono::steady_clock::now();
  bench::ProcessCpuTimer cpu_timer;
  RoundScheduler(slots, p).Run();
  double cpu_seconds = cpu_timer.Seconds();
  std::chrono::duration<double> elapsed =
      std::chrono::steady_clock::now() - start;

  double ops = static_cast<double>(p.threads) * p.rounds * p.replacements;
  bench::PrintResult("larson", ops / elapsed.count(), "ops/s");
  bench::PrintResult("larson_by_cpu_time", ops / cpu_seconds * p.threads,
                     "ops/s");
  // Every thread has been joined; free the blocks and the slots' arrays too,
  // so that final_rss_kib is what the allocator keeps of its own accord.
  for (auto& blocks : slots) {
    for (char* block : blocks) std::free(block);
  }
  slots = std::vector<std::vector<char*>>();
  bench::PrintProcessReport();
  return 0;
}

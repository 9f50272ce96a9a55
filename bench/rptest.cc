// The shape of rpmalloc's benchmark (Mattias Jansson's rpmalloc-benchmark;
// mimalloc-bench's rptestN runs it as `rptest N 0 1 2 500 1000 100 8
// 16000`: random sizes of 8-16000 B with a linear drop-off, a
// cross-thread batch every 2 loops, 1000 slots, about 100 operations a
// loop), written from its description.
//
// Each of --threads threads keeps a working set of --slots slots and runs
// --loops loops. A loop frees the blocks of 24-80% of --ops slots, walking
// the slots with one stride; frees every batch that other threads handed
// it; then allocates into 30-100% of --ops slots, walking with another
// stride (both strides primes that do not divide --slots, so that
// consecutive operations touch scattered slots), freeing the block a slot
// still holds first. Every --cross loops it also allocates a batch of as
// many blocks as that loop allocated and hands it to another thread (in
// turn), which frees it in its next loop: a share of all blocks is freed by
// a thread that did not allocate them. Sizes come from a table of 2000,
// drawn once from rptest's linear drop-off over [--min, --max] (min +
// range * u * |v + w - 1| for uniform u, v, w: small sizes most often, mean
// about a sixth of the range); each thread walks it from its own start.
// Each block is written at its first bytes (its size), once in every page,
// and at its last byte, committing its pages as rptest does.
//
// Once one thread has run its loops, the others hand out no more batches
// (as in rptest); once all have, each frees what others handed it and its
// working set. Reports memory operations (mallocs plus frees) per
// second of the threads' CPU time (`rptest`), as rptest does (operations
// over its threads' ticks).
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

#include "bench/cpu_timer.h"
#include "bench/escape.h"
#include "bench/flags.h"
#include "bench/report.h"
#include "bench/rng.h"

namespace {

struct Params {
  int threads;
  uint32_t slots;
  int64_t loops;
  uint32_t ops;
  int64_t cross;
  uint32_t min_size;
  uint32_t max_size;
  uint64_t seed;
};

// A batch of blocks handed to another thread: one allocation.
struct Batch {
  Batch* next;
  uint32_t count;
  char* blocks[1];
};

struct Worker {
  alignas(64) std::atomic<Batch*> inbox{nullptr};
  int64_t ops = 0;
  double cpu_seconds = 0;
};

Params g_params;
std::vector<uint32_t> g_sizes;
std::vector<Worker>* g_workers;

// Blocks until every worker has called it (a sleeping wait: the threads'
// CPU time does not grow meanwhile).
class Barrier {
 public:
  explicit Barrier(int count) : count_(count) {}
  void Wait() {
    std::unique_lock<std::mutex> lock(mutex_);
    int generation = generation_;
    if (--count_ == 0) {
      ++generation_;
      cv_.notify_all();
      return;
    }
    cv_.wait(lock, [&] { return generation != generation_; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  int count_;
  int generation_ = 0;
};

Barrier* g_start;
Barrier* g_done;
// Set once a thread has run all its loops: then nobody hands out batches
// any more (as in rptest), since that thread would take them only at the
// end.
std::atomic<bool> g_one_finished{false};

char* NewBlock(uint32_t size) {
  auto* block = static_cast<char*>(std::malloc(size));
  if (block == nullptr) {
    std::fprintf(stderr, "rptest: malloc(%u) failed\n", size);
    std::exit(1);
  }
  std::memcpy(block, &size, sizeof(size));
  for (uint32_t page = 4096; page < size; page += 4096) block[page] = 1;
  block[size - 1] = 1;
  bench::Escape(block);
  return block;
}

void FreeBlock(char* block) {
  uint32_t size;
  std::memcpy(&size, block, sizeof(size));
  if (size < g_params.min_size || size > g_params.max_size) {
    std::fprintf(stderr, "rptest: block %p corrupted\n",
                 static_cast<void*>(block));
    std::exit(1);
  }
  std::free(block);
}

// Frees every batch in `batch`'s list; returns the operations.
int64_t FreeBatches(Batch* batch) {
  int64_t ops = 0;
  while (batch != nullptr) {
    Batch* next = batch->next;
    for (uint32_t i = 0; i < batch->count; ++i) FreeBlock(batch->blocks[i]);
    ops += batch->count + 1;
    std::free(batch);
    batch = next;
  }
  return ops;
}

uint32_t Stride(uint32_t slots, uint32_t after) {
  for (uint32_t n = after + 1;; ++n) {
    bool prime = n > 1;
    for (uint32_t d = 2; d * d <= n && prime; ++d) prime = n % d != 0;
    if (prime && slots % n != 0) return n;
  }
}

void RunThread(int index) {
  const Params& p = g_params;
  Worker& me = (*g_workers)[index];
  bench::Rng rng(p.seed * 7919 + index);
  std::vector<char*> slots(p.slots, nullptr);
  const uint32_t alloc_stride = Stride(p.slots, p.slots / 8) % p.slots;
  const uint32_t free_stride = Stride(p.slots, p.slots / 8 + 10) % p.slots;
  size_t size_index = (index + 1) * 37 % g_sizes.size();
  uint32_t alloc_index = 0;
  uint32_t free_index = 0;
  int next_peer = index;
  int64_t ops = 0;
  g_start->Wait();
  bench::ThreadCpuTimer timer;
  for (int64_t loop = 0; loop < p.loops; ++loop) {
    Batch* received = me.inbox.exchange(nullptr, std::memory_order_acquire);
    uint32_t free_count = p.ops * 8 * (30 + rng.Below(71)) / 1000;
    for (uint32_t i = 0; i < free_count; ++i) {
      if (slots[free_index] != nullptr) {
        FreeBlock(slots[free_index]);
        slots[free_index] = nullptr;
        ++ops;
      }
      free_index = (free_index + free_stride) % p.slots;
    }
    ops += FreeBatches(received);
    uint32_t alloc_count = p.ops * (30 + rng.Below(71)) / 100;
    for (uint32_t i = 0; i < alloc_count; ++i) {
      if (slots[alloc_index] != nullptr) {
        FreeBlock(slots[alloc_index]);
        ++ops;
      }
      slots[alloc_index] = NewBlock(g_sizes[size_index]);
      ++ops;
      size_index = size_index + 1 == g_sizes.size() ? 0 : size_index + 1;
      alloc_index = (alloc_index + alloc_stride) % p.slots;
    }
    if (p.threads > 1 && p.cross > 0 && loop % p.cross == 0 &&
        alloc_count > 0 && !g_one_finished.load(std::memory_order_relaxed)) {
      auto* batch = static_cast<Batch*>(
          std::malloc(sizeof(Batch) + (alloc_count - 1) * sizeof(char*)));
      if (batch == nullptr) {
        std::fprintf(stderr, "rptest: malloc of a batch failed\n");
        std::exit(1);
      }
      batch->count = alloc_count;
      for (uint32_t i = 0; i < alloc_count; ++i) {
        batch->blocks[i] = NewBlock(g_sizes[size_index]);
        size_index = size_index + 1 == g_sizes.size() ? 0 : size_index + 1;
      }
      ops += alloc_count + 1;
      next_peer = (next_peer + 1) % p.threads;
      if (next_peer == index) next_peer = (next_peer + 1) % p.threads;
      std::atomic<Batch*>& inbox = (*g_workers)[next_peer].inbox;
      batch->next = inbox.load(std::memory_order_relaxed);
      while (!inbox.compare_exchange_weak(batch->next, batch,
                                          std::memory_order_release,
                                          std::memory_order_relaxed)) {
      }
    }
  }
  double seconds = timer.Seconds();
  g_one_finished.store(true, std::memory_order_relaxed);
  g_done->Wait();  // nobody hands out batches any more
  bench::ThreadCpuTimer drain;
  ops += FreeBatches(me.inbox.exchange(nullptr, std::memory_order_acquire));
  for (char* block : slots) {
    if (block != nullptr) {
      FreeBlock(block);
      ++ops;
    }
  }
  me.cpu_seconds = seconds + drain.Seconds();
  me.ops = ops;
}

}  // namespace

int main(int argc, char** argv) {
  bench::Flags flags(argc, argv,
                     "[--threads=2] [--slots=1000] [--loops=40000] "
                     "[--ops=100] [--cross=2] [--min=8] [--max=16000] "
                     "[--seed=1]");
  Params& p = g_params;
  p.threads = static_cast<int>(flags.Int("threads", 2, 1));
  p.slots = static_cast<uint32_t>(flags.Int("slots", 1000, 2));
  p.loops = flags.Int("loops", 40000, 1);
  p.ops = static_cast<uint32_t>(flags.Int("ops", 100, 1));
  p.cross = flags.Int("cross", 2);
  p.min_size = static_cast<uint32_t>(flags.Int("min", 8, 4));
  p.max_size = static_cast<uint32_t>(flags.Int("max", 16000, p.min_size));
  p.seed = flags.Int("seed", 1);
  flags.RejectUnknown();

  bench::Rng rng(p.seed);
  auto uniform = [&rng] { return (rng.Next() >> 11) * 0x1.0p-53; };
  double mean = 0;
  for (int i = 0; i < 2000; ++i) {
    double u = uniform(), v = uniform(), w = uniform();
    double drop = v + w - 1;
    g_sizes.push_back(p.min_size +
                      static_cast<uint32_t>((p.max_size - p.min_size) * u *
                                            (drop < 0 ? -drop : drop)));
    mean += g_sizes.back();
  }
  std::printf(
      "rptest threads=%d slots=%u loops=%lld ops=%u cross=%lld "
      "size=%u..%u (mean %.0f B) seed=%llu\n",
      p.threads, p.slots, static_cast<long long>(p.loops), p.ops,
      static_cast<long long>(p.cross), p.min_size, p.max_size, mean / 2000,
      static_cast<unsigned long long>(p.seed));

  std::vector<Worker> workers(p.threads);
  g_workers = &workers;
  Barrier start(p.threads), done(p.threads);
  g_start = &start;
  g_done = &done;
  std::vector<std::thread> threads;
  for (int t = 0; t < p.threads; ++t) threads.emplace_back(RunThread, t);
  for (std::thread& t : threads) t.join();
  int64_t ops = 0;
  double cpu_seconds = 0;
  for (const Worker& w : workers) {
    ops += w.ops;
    cpu_seconds += w.cpu_seconds;
  }
  std::printf("rptest_ops %lld cpu_seconds %.3f\n", static_cast<long long>(ops),
              cpu_seconds);
  bench::PrintResult("rptest", ops / cpu_seconds, "ops/s");
  g_workers = nullptr;
  bench::PrintProcessReport();
  return 0;
}

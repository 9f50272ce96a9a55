// Google Benchmark micro benchmarks of hakmem's tiers through its prefixed C
// API (hak_malloc, ...), each beside the same benchmark on the program's own
// malloc (glibc, or whatever LD_PRELOAD loads):
//
//   Tiny          batches of 64 blocks of 16..1024 B, freed LIFO
//   Pool          batches of 16 blocks of 4..200 KiB
//   Large         batches of 4 blocks of 1 and 8 MiB
//   Aligned       aligned_alloc with 64 B..64 KiB alignment
//   Realloc       one block grown by doubling, 16 B..64 KiB and 1..16 MiB
//   CrossThread   batches of 256 32-byte blocks allocated here and freed by
//                 another thread (two batches in flight)
//
// items/s counts allocations (each with its free).
// Run: bazel run -c opt //bench:tiers_benchmark -- --benchmark_min_time=0.1
#include <atomic>
#include <cstdlib>
#include <thread>
#include <vector>

#include "benchmark/benchmark.h"
#include "capi/hakmem.h"

namespace {

struct Hakmem {
  static void* Malloc(size_t size) { return hak_malloc(size); }
  static void Free(void* p) { hak_free(p); }
  static void* Realloc(void* p, size_t size) { return hak_realloc(p, size); }
  static void* AlignedAlloc(size_t alignment, size_t size) {
    return hak_aligned_alloc(alignment, size);
  }
};

struct StdMalloc {
  static void* Malloc(size_t size) { return std::malloc(size); }
  static void Free(void* p) { std::free(p); }
  static void* Realloc(void* p, size_t size) { return std::realloc(p, size); }
  static void* AlignedAlloc(size_t alignment, size_t size) {
    void* p = nullptr;
    return posix_memalign(&p, alignment, size) == 0 ? p : nullptr;
  }
};

// Allocates `batch` blocks of `size` (first byte written), frees them LIFO.
template <typename Api>
void BatchesOf(benchmark::State& state, size_t size, int batch) {
  std::vector<char*> blocks(batch);
  for (auto _ : state) {
    for (char*& block : blocks) {
      block = static_cast<char*>(Api::Malloc(size));
      block[0] = 1;
    }
    for (int i = batch - 1; i >= 0; --i) Api::Free(blocks[i]);
  }
  state.SetItemsProcessed(state.iterations() * batch);
}

template <typename Api>
void BM_Tiny(benchmark::State& state) {
  BatchesOf<Api>(state, state.range(0), 64);
}

template <typename Api>
void BM_Pool(benchmark::State& state) {
  BatchesOf<Api>(state, state.range(0), 16);
}

template <typename Api>
void BM_Large(benchmark::State& state) {
  BatchesOf<Api>(state, state.range(0), 4);
}

template <typename Api>
void BM_Aligned(benchmark::State& state) {
  size_t alignment = state.range(0);
  size_t size = state.range(1);
  for (auto _ : state) {
    void* p = Api::AlignedAlloc(alignment, size);
    benchmark::DoNotOptimize(p);
    Api::Free(p);
  }
  state.SetItemsProcessed(state.iterations());
}

// Grows one block from range(0) to range(1) bytes by doubling.
template <typename Api>
void BM_Realloc(benchmark::State& state) {
  size_t from = state.range(0);
  size_t to = state.range(1);
  int64_t steps = 0;
  for (auto _ : state) {
    auto* p = static_cast<char*>(Api::Malloc(from));
    for (size_t size = from * 2; size <= to; size *= 2, ++steps) {
      p = static_cast<char*>(Api::Realloc(p, size));
      p[size - 1] = 1;
    }
    Api::Free(p);
  }
  state.SetItemsProcessed(steps);
}

// Batches allocated on this thread go through two slots to a second thread
// that frees them, so every free is a free from another thread.
template <typename Api>
class CrossThreadFreer {
 public:
  static constexpr int kBatch = 256;

  CrossThreadFreer() : worker_([this] { FreeBatches(); }) {}

  ~CrossThreadFreer() {
    for (Slot& slot : slots_) WaitUntilEmpty(slot);
    stop_.store(true, std::memory_order_release);
    worker_.join();
  }

  void AllocateBatch(size_t size) {
    Slot& slot = slots_[next_++ % 2];
    WaitUntilEmpty(slot);
    for (void*& block : slot.blocks) block = Api::Malloc(size);
    slot.full.store(true, std::memory_order_release);
  }

 private:
  struct Slot {
    void* blocks[kBatch];
    std::atomic<bool> full{false};
  };

  static void WaitUntilEmpty(Slot& slot) {
    while (slot.full.load(std::memory_order_acquire)) std::this_thread::yield();
  }

  void FreeBatches() {
    for (unsigned k = 0;; ++k) {
      Slot& slot = slots_[k % 2];
      while (!slot.full.load(std::memory_order_acquire)) {
        if (stop_.load(std::memory_order_acquire)) return;
        std::this_thread::yield();
      }
      for (void* block : slot.blocks) Api::Free(block);
      slot.full.store(false, std::memory_order_release);
    }
  }

  Slot slots_[2];
  unsigned next_ = 0;
  std::atomic<bool> stop_{false};
  std::thread worker_;
};

template <typename Api>
void BM_CrossThread(benchmark::State& state) {
  CrossThreadFreer<Api> freer;
  for (auto _ : state) freer.AllocateBatch(state.range(0));
  state.SetItemsProcessed(state.iterations() * CrossThreadFreer<Api>::kBatch);
}

void TinySizes(benchmark::internal::Benchmark* b) {
  b->Arg(16)->Arg(64)->Arg(256)->Arg(1024);
}
void PoolSizes(benchmark::internal::Benchmark* b) {
  b->Arg(4 << 10)->Arg(32 << 10)->Arg(200 << 10);
}
void LargeSizes(benchmark::internal::Benchmark* b) {
  b->Arg(1 << 20)->Arg(8 << 20);
}
void Alignments(benchmark::internal::Benchmark* b) {
  b->Args({64, 64})->Args({4096, 4096})->Args({65536, 1000});
}
void ReallocRanges(benchmark::internal::Benchmark* b) {
  b->Args({16, 64 << 10})->Args({1 << 20, 16 << 20});
}

BENCHMARK_TEMPLATE(BM_Tiny, Hakmem)->Apply(TinySizes);
BENCHMARK_TEMPLATE(BM_Tiny, StdMalloc)->Apply(TinySizes);
BENCHMARK_TEMPLATE(BM_Pool, Hakmem)->Apply(PoolSizes);
BENCHMARK_TEMPLATE(BM_Pool, StdMalloc)->Apply(PoolSizes);
BENCHMARK_TEMPLATE(BM_Large, Hakmem)->Apply(LargeSizes);
BENCHMARK_TEMPLATE(BM_Large, StdMalloc)->Apply(LargeSizes);
BENCHMARK_TEMPLATE(BM_Aligned, Hakmem)->Apply(Alignments);
BENCHMARK_TEMPLATE(BM_Aligned, StdMalloc)->Apply(Alignments);
BENCHMARK_TEMPLATE(BM_Realloc, Hakmem)->Apply(ReallocRanges);
BENCHMARK_TEMPLATE(BM_Realloc, StdMalloc)->Apply(ReallocRanges);
BENCHMARK_TEMPLATE(BM_CrossThread, Hakmem)->Arg(32)->UseRealTime();
BENCHMARK_TEMPLATE(BM_CrossThread, StdMalloc)->Arg(32)->UseRealTime();

}  // namespace

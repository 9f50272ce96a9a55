// The shape of xmalloc-test (Lever and Boreham's producer-consumer test,
// "malloc() Performance in a Multithreaded Linux Environment", USENIX 2000;
// mimalloc-bench's xmalloc-testN runs it as `xmalloc-test -w N -t 5 -s
// 64`), written from its description. --workers producer threads allocate
// batches of 4096 blocks of --size B (64), writing each block's first 128
// bytes (all of a smaller one), and push each batch onto a shared stack
// that holds at most 100 batches (a producer waits while it is full); as
// many consumer threads pop batches and free every block in them (and the
// batch). So every free is a remote free: of a block another thread
// allocated. Instead of running for a fixed time, the producers make
// --batches batches in all.
//
// Reports the blocks freed per second of wall time (`xmalloc_test`), as
// xmalloc-test does.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

#include "bench/escape.h"
#include "bench/flags.h"
#include "bench/report.h"

namespace {

constexpr int kBlocksPerBatch = 4096;
constexpr int kStackLimit = 100;

struct Batch {
  Batch* next;
  void* blocks[kBlocksPerBatch];
};

std::mutex g_lock;
std::condition_variable g_not_empty;
std::condition_variable g_not_full;
Batch* g_stack = nullptr;
int g_depth = 0;
int64_t g_to_pop = 0;  // batches the consumers have yet to take

void Push(Batch* batch) {
  std::unique_lock<std::mutex> lock(g_lock);
  g_not_full.wait(lock, [] { return g_depth < kStackLimit; });
  batch->next = g_stack;
  g_stack = batch;
  ++g_depth;
  g_not_empty.notify_one();
}

// A batch, or nullptr once every batch has been taken.
Batch* Pop() {
  std::unique_lock<std::mutex> lock(g_lock);
  if (g_to_pop == 0) return nullptr;
  --g_to_pop;
  g_not_empty.wait(lock, [] { return g_stack != nullptr; });
  Batch* batch = g_stack;
  g_stack = batch->next;
  --g_depth;
  g_not_full.notify_one();
  return batch;
}

void Produce(int64_t batches, size_t size) {
  size_t written = size < 128 ? size : 128;
  for (int64_t b = 0; b < batches; ++b) {
    auto* batch = static_cast<Batch*>(std::malloc(sizeof(Batch)));
    if (batch == nullptr) {
      std::fprintf(stderr, "xmalloc_test: malloc of a batch failed\n");
      std::exit(1);
    }
    for (int i = 0; i < kBlocksPerBatch; ++i) {
      void* block = std::malloc(size);
      if (block == nullptr) {
        std::fprintf(stderr, "xmalloc_test: malloc(%zu) failed\n", size);
        std::exit(1);
      }
      std::memset(block, i % 256, written);
      bench::Escape(block);
      batch->blocks[i] = block;
    }
    Push(batch);
  }
}

void Consume(int64_t* freed) {
  int64_t count = 0;
  while (Batch* batch = Pop()) {
    for (void* block : batch->blocks) std::free(block);
    std::free(batch);
    count += kBlocksPerBatch;
  }
  *freed = count;
}

}  // namespace

int main(int argc, char** argv) {
  bench::Flags flags(argc, argv, "[--workers=1] [--batches=5000] [--size=64]");
  int workers = static_cast<int>(flags.Int("workers", 1, 1));
  int64_t batches = flags.Int("batches", 5000, 1);
  size_t size = static_cast<size_t>(flags.Int("size", 64, 1));
  flags.RejectUnknown();
  std::printf(
      "xmalloc_test workers=%d (producers and as many consumers) "
      "batches=%lld of %d blocks, size=%zu\n",
      workers, static_cast<long long>(batches), kBlocksPerBatch, size);

  g_to_pop = batches;
  std::vector<int64_t> freed(workers, 0);
  std::vector<std::thread> threads;
  auto start = std::chrono::steady_clock::now();
  for (int w = 0; w < workers; ++w) {
    threads.emplace_back(Consume, &freed[w]);
    threads.emplace_back(Produce, batches / workers + (w < batches % workers),
                         size);
  }
  for (std::thread& t : threads) t.join();
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  int64_t total = 0;
  for (int64_t f : freed) total += f;
  bench::PrintResult("xmalloc_test", total / seconds, "ops/s");
  bench::PrintProcessReport();
  return 0;
}

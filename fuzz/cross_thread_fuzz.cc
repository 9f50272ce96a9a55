// cross_thread_fuzz: 2 to 4 threads on a deterministic step schedule
// (step_scheduler.h) share blocks: the input says which thread allocates,
// which hands a block to which (the receiver checks its contents and
// writes new ones), who frees it (often not the thread that allocated it:
// remote frees), when a thread exits (its cache is torn down, its spans
// abandoned and adopted) and a new one takes its slot, and injects errors
// from any thread, cross-thread double frees above all. Valid operations
// include arena ones (arena_ops.h): each thread uses the arenas it created;
// other threads free their blocks remotely (hak_free); a thread destroys
// its arenas before it exits. Every block's
// contents are checked, every injected error must be reported exactly once
// naming the erring thread, no valid operation may be reported, and each
// thread's cache passes CheckThreadCache() after each of its steps.
//
// Encoding: a thread-count byte (2 + b % 3), then steps: an opcode byte
// (% 8) and a slot byte (% threads), then the step's arguments:
//   0-2 valid operation of the slot's thread (valid_ops.h)
//   3   hand-over: block byte (any holder) to the slot
//   4   free by the slot: block byte (any holder), api byte, variant u16
//   5   producer/consumer: consumer byte, count byte (1..64), size: the
//       slot allocates, the consumer frees them all
//   6   the slot's thread destroys its arenas and exits; a new thread
//       takes the slot
//   7   injected error by the slot's thread (error_injection.h; no
//       corruption: where a block freed by another thread sits is not
//       visible; no arena injections)
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "fuzz/byte_reader.h"
#include "fuzz/error_injection.h"
#include "fuzz/error_log.h"
#include "fuzz/fuzz_support.h"
#include "fuzz/heap_model.h"
#include "fuzz/size_model.h"
#include "fuzz/step_scheduler.h"
#include "fuzz/valid_ops.h"

namespace {

constexpr int kMaxSteps = 256;

using fuzz::ByteReader;
using fuzz::CheckHeap;
using fuzz::HeapModel;

void HandOver(ByteReader& in, HeapModel& heap, fuzz::StepScheduler& threads,
              int slot) {
  long i = heap.Pick(in.Byte(), -1);
  if (i < 0) return;
  threads.Run(slot, [&] {
    heap.Rewrite(static_cast<size_t>(i));
    heap.at(static_cast<size_t>(i)).holder = slot;
    CheckHeap("hand-over");
  });
}

void FreeBy(ByteReader& in, HeapModel& heap, fuzz::StepScheduler& threads,
            int slot) {
  long i = heap.Pick(in.Byte(), -1);
  auto api = static_cast<fuzz::FreeApi>(in.Byte() % 4);
  uint16_t variant = in.U16();
  if (i < 0) return;
  threads.Run(slot, [&] {
    heap.Free(static_cast<size_t>(i), api, variant, slot);
    CheckHeap("free by another thread");
  });
}

void ProducerConsumer(ByteReader& in, HeapModel& heap,
                      fuzz::StepScheduler& threads, int producer) {
  int consumer = in.Byte() % threads.slots();
  int count = 1 + in.Byte() % 64;
  size_t size = fuzz::DecodeSize(in);
  std::vector<void*> made;
  threads.Run(producer, [&] {
    for (int k = 0; k < count; ++k) {
      long i = heap.Malloc(size, consumer);
      if (i == HeapModel::kSkipped) break;
      made.push_back(heap.at(static_cast<size_t>(i)).p);
    }
    CheckHeap("producing");
  });
  threads.Run(consumer, [&] {
    for (void* p : made) {
      heap.Free(static_cast<size_t>(heap.Find(p)), fuzz::FreeApi::kFree, 0,
                consumer);
    }
    CheckHeap("consuming");
  });
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  setenv("HAKMEM_TCACHE_BYTES", "4K", /*overwrite=*/0);
  fuzz::InstallErrorLog();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ByteReader in(data, size);
  int num_threads = 2 + in.Byte() % 3;
  HeapModel heap;
  fuzz::ErrorInjector inject(heap, /*corruption=*/false);
  fuzz::StepScheduler threads(num_threads);
  for (int step = 0; step < kMaxSteps && !in.empty(); ++step) {
    uint8_t opcode = in.Byte() % 8;
    int slot = in.Byte() % num_threads;
    switch (opcode) {
      case 0:
      case 1:
      case 2:
        threads.Run(slot, [&] {
          fuzz::RunValidOp(in.Byte(), in, heap, slot);
          CheckHeap("a valid operation");
        });
        break;
      case 3:
        HandOver(in, heap, threads, slot);
        break;
      case 4:
        FreeBy(in, heap, threads, slot);
        break;
      case 5:
        ProducerConsumer(in, heap, threads, slot);
        break;
      case 6:
        threads.Run(slot, [&] {
          // Only the creating thread may destroy an arena.
          heap.DestroyArenas(slot);
          CheckHeap("before thread exit");
        });
        threads.Restart(slot);
        break;
      case 7:
        threads.Run(slot, [&] {
          inject.Run(in.Byte(), in, slot);
          CheckHeap("an injected error");
        });
        break;
    }
  }
  for (int slot = 0; slot < num_threads; ++slot) {
    threads.Run(slot, [&] {
      heap.FreeAll(slot);
      heap.DestroyArenas(slot);
      CheckHeap("freeing the thread's blocks and arenas");
    });
  }
  return 0;
}

#include "fuzz/arena_ops.h"

#include <cerrno>
#include <cstddef>
#include <cstdint>

#include "capi/hakmem.h"
#include "fuzz/fuzz_support.h"
#include "fuzz/size_model.h"

namespace fuzz {
namespace {

constexpr size_t kHuge = PTRDIFF_MAX + size_t{1};

// The arena slot the next byte names, if `holder` may use it (creating an
// arena in an empty slot); -1 if another thread owns it.
int Slot(ByteReader& in, HeapModel& heap, int holder) {
  int slot = in.Byte() % HeapModel::kMaxArenas;
  return heap.ArenaFor(slot, holder) != nullptr ? slot : -1;
}

void Recreate(ByteReader& in, HeapModel& heap, int holder) {
  int slot = in.Byte() % HeapModel::kMaxArenas;
  const ArenaSlot& a = heap.arena(slot);
  if (a.heap != nullptr && a.owner != holder) return;
  heap.DestroyArena(slot, holder);  // nothing if empty
  heap.ArenaFor(slot, holder);
}

void AllocBurst(ByteReader& in, HeapModel& heap, int holder) {
  int slot = Slot(in, heap, holder);
  int count = 1 + in.Byte() % 64;
  size_t size = DecodeSize(in);
  if (slot < 0) return;
  for (int k = 0; k < count; ++k) {
    if (heap.HeapMalloc(slot, size, holder) == HeapModel::kSkipped) break;
  }
}

void FreeBurst(ByteReader& in, HeapModel& heap, int holder) {
  int slot = Slot(in, heap, holder);
  int count = 1 + in.Byte() % 64;
  uint8_t mode = in.Byte();
  if (slot < 0) return;
  bool remote = mode & 1;
  bool oldest = mode & 2;
  for (int k = 0; k < count; ++k) {
    // The model appends new blocks (and moves the last into a freed one's
    // place): the highest index is a recent block, the lowest an old one.
    long i = -1;
    for (size_t j = 0; j < heap.size(); ++j) {
      size_t at = oldest ? j : heap.size() - 1 - j;
      if (heap.at(at).arena == slot) {
        i = static_cast<long>(at);
        break;
      }
    }
    if (i < 0) break;
    if (remote) {
      heap.Free(static_cast<size_t>(i), FreeApi::kFree, 0, holder);
    } else {
      heap.HeapFree(static_cast<size_t>(i), holder);
    }
  }
}

void FailureContract(ByteReader& in, HeapModel& heap, int holder) {
  int slot = Slot(in, heap, holder);
  uint8_t which = in.Byte() % 5;
  if (slot < 0) return;
  hak_heap* h = heap.arena(slot).heap;
  errno = 0;
  void* p = nullptr;
  int want_errno = ENOMEM;
  switch (which) {
    case 0:
      p = hak_heap_malloc(h, kHuge);
      break;
    case 1:
      p = hak_heap_aligned_alloc(h, 64, kHuge);
      break;
    case 2:
      p = hak_heap_aligned_alloc(h, 48, 16);  // not a power of two
      want_errno = EINVAL;
      break;
    case 3:
      p = hak_heap_aligned_alloc(h, 0, 16);  // nor is 0
      want_errno = EINVAL;
      break;
    case 4:
      hak_heap_free(h, nullptr);
      return;
  }
  if (p != nullptr || errno != want_errno) {
    Fail(
        "arena failure contract %d: got %p with errno %d, want NULL with "
        "errno %d",
        which, p, errno, want_errno);
  }
}

}  // namespace

void RunArenaOp(uint8_t opcode, ByteReader& in, HeapModel& heap, int holder) {
  switch (opcode % kNumArenaOps) {
    case 0:
      Recreate(in, heap, holder);
      break;
    case 1: {
      int slot = Slot(in, heap, holder);
      size_t size = DecodeSize(in);
      if (slot >= 0) heap.HeapMalloc(slot, size, holder);
      break;
    }
    case 2: {
      int slot = Slot(in, heap, holder);
      size_t alignment = DecodeAlignment(in);
      size_t size = DecodeSize(in);
      if (slot >= 0) heap.HeapAlignedAlloc(slot, alignment, size, holder);
      break;
    }
    case 3: {
      // Only the arena's owner may call hak_heap_free on it.
      long i = heap.PickWhere(in.Byte(), [&](const Block& b) {
        return b.arena >= 0 && heap.arena(b.arena).owner == holder;
      });
      if (i >= 0) heap.HeapFree(static_cast<size_t>(i), holder);
      break;
    }
    case 4: {
      int slot = in.Byte() % HeapModel::kMaxArenas;
      if (heap.arena(slot).owner == holder) heap.DestroyArena(slot, holder);
      break;
    }
    case 5:
      AllocBurst(in, heap, holder);
      break;
    case 6:
      FreeBurst(in, heap, holder);
      break;
    case 7:
      FailureContract(in, heap, holder);
      break;
    case 8: {
      long i = heap.PickWhere(in.Byte(), [&](const Block& b) {
        return b.arena >= 0 && (holder < 0 || b.holder == holder);
      });
      auto api = static_cast<FreeApi>(in.Byte() % 4);
      uint16_t variant = in.U16();
      if (i >= 0) heap.Free(static_cast<size_t>(i), api, variant, holder);
      break;
    }
  }
}

}  // namespace fuzz

#include "fuzz/valid_ops.h"

#include <cerrno>
#include <cstddef>
#include <cstdint>

#include "capi/hakmem.h"
#include "fuzz/arena_ops.h"
#include "fuzz/fuzz_support.h"
#include "fuzz/size_model.h"

namespace fuzz {
namespace {

constexpr size_t kHuge = PTRDIFF_MAX + size_t{1};

void Calloc(ByteReader& in, HeapModel& heap, int holder) {
  uint8_t count = in.Byte();
  size_t total = DecodeSize(in);
  if (count == 255) {
    errno = 0;
    void* p = hak_calloc(SIZE_MAX / 2 + 1, 2 + total % 7);
    if (p != nullptr || errno != ENOMEM) {
      Fail("hak_calloc with an overflowing product: %p, errno %d", p, errno);
    }
    return;
  }
  size_t n = 1 + count % 16;
  heap.Calloc(n, total / n, holder);
}

void Realloc(ByteReader& in, HeapModel& heap, int holder) {
  uint8_t sel = in.Byte();
  size_t size = DecodeSize(in);
  long i = heap.Pick(sel, holder);
  // Not an arena block: see valid_ops.h.
  if (sel == 255 || i < 0 || heap.at(static_cast<size_t>(i)).arena >= 0) {
    heap.ReallocNull(size, holder);
    return;
  }
  heap.Realloc(static_cast<size_t>(i), size);
}

void Free(ByteReader& in, HeapModel& heap, int holder) {
  long i = heap.Pick(in.Byte(), holder);
  auto api = static_cast<FreeApi>(in.Byte() % 4);
  uint16_t variant = in.U16();
  if (i >= 0) heap.Free(static_cast<size_t>(i), api, variant, holder);
}

void AllocBurst(ByteReader& in, HeapModel& heap, int holder) {
  int count = 1 + in.Byte() % 64;
  size_t size = DecodeSize(in);
  for (int k = 0; k < count; ++k) {
    if (heap.Malloc(size, holder) == HeapModel::kSkipped) break;
  }
}

void FreeBurst(ByteReader& in, HeapModel& heap, int holder) {
  int count = 1 + in.Byte() % 64;
  uint8_t order = in.Byte() % 3;
  for (int k = 0; k < count; ++k) {
    // Newest (the model appends), oldest, or every other one.
    uint32_t sel = order == 0 ? UINT32_MAX : order == 1 ? 0 : 2 * k;
    long i = order == 0 ? -1 : heap.Pick(sel, holder);
    if (order == 0) {
      for (size_t j = heap.size(); j-- > 0;) {
        if (holder < 0 || heap.at(j).holder == holder) {
          i = static_cast<long>(j);
          break;
        }
      }
    }
    if (i < 0) break;
    heap.Free(static_cast<size_t>(i), FreeApi::kFree, 0, holder);
  }
}

void FailureContract(ByteReader& in) {
  uint8_t which = in.Byte() % 6;
  errno = 0;
  void* p = nullptr;
  int want_errno = ENOMEM;
  switch (which) {
    case 0:
      p = hak_malloc(kHuge);
      break;
    case 1:
      p = hak_aligned_alloc(64, kHuge);
      break;
    case 2:
      p = hak_aligned_alloc(48, 16);  // not a power of two
      want_errno = EINVAL;
      break;
    case 3:
      p = hak_realloc(nullptr, kHuge);
      break;
    case 4:
      hak_free(nullptr);
      hak_free_sized(nullptr, 16);
      hak_free_aligned_sized(nullptr, 64, 16);
      if (hak_usable_size(nullptr) != 0) Fail("hak_usable_size(NULL) != 0");
      return;
    case 5:
      p = hak_calloc(2, kHuge);
      break;
  }
  if (p != nullptr || errno != want_errno) {
    Fail("failure contract %d: got %p with errno %d, want NULL with errno %d",
         which, p, errno, want_errno);
  }
}

}  // namespace

void RunValidOp(uint8_t opcode, ByteReader& in, HeapModel& heap, int holder) {
  if (opcode >= kFirstArenaOpcode &&
      opcode < kFirstArenaOpcode + kNumArenaOpcodes) {
    RunArenaOp(opcode - kFirstArenaOpcode, in, heap, holder);
    return;
  }
  switch (opcode % kNumValidOps) {
    case 0:
      heap.Malloc(DecodeSize(in), holder);
      break;
    case 1:
      Calloc(in, heap, holder);
      break;
    case 2:
      Realloc(in, heap, holder);
      break;
    case 3: {
      size_t alignment = DecodeAlignment(in);
      heap.AlignedAlloc(alignment, DecodeSize(in), holder);
      break;
    }
    case 4:
      Free(in, heap, holder);
      break;
    case 5:
      if (long i = heap.Pick(in.Byte(), holder); i >= 0) {
        heap.Rewrite(static_cast<size_t>(i));
      }
      break;
    case 6:
      AllocBurst(in, heap, holder);
      break;
    case 7:
      FreeBurst(in, heap, holder);
      break;
    case 8:
      FailureContract(in);
      break;
    case 9:
      if (int rc = hak_collect(in.Byte() % 2); rc != 0) {
        Fail("hak_collect returned %d", rc);
      }
      break;
  }
}

}  // namespace fuzz

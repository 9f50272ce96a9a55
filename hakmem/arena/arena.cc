#include "hakmem/arena/arena.h"

#include <cerrno>
#include <new>

#include "hakmem/error/memory_error.h"
#include "hakmem/heap/thread_heap.h"
#include "hakmem/large/large_alloc.h"
#include "hakmem/platform/asan.h"
#include "hakmem/platform/os_memory.h"
#include "hakmem/superslab/chunk_map.h"
#include "hakmem/superslab/remote_free_stack.h"
#include "hakmem/superslab/span_allocator.h"

namespace hakmem::internal {
namespace {

static_assert(sizeof(Arena) <= kPageSize, "an arena takes one page");

// Spans examined per refill, in rotation, for blocks freed since.
constexpr int kSpansScanned = 8;

// One block from span `m` (free list, then remote frees, then fresh space),
// or nullptr when it has none.
FreeBlock* TakeOne(SlabMeta* m) {
  if (m->free_list == nullptr) DrainRemoteFrees(m);
  FreeBlock* b = m->free_list;
  if (b != nullptr) {
    FreeBlock* next;
    if (!DecodeIntactLink(b, &next) || !IsSpanLink(m, next)) {
      ReportMemoryError(BrokenLinkError(b), b, "arena", m->size_class);
      m->free_list = nullptr;  // leak the rest of the list
      m->free_count = 0;
      return nullptr;
    }
    m->free_list = next;
    --m->free_count;
  } else {
    uint32_t carved =
        static_cast<uint32_t>(m->carved.load(std::memory_order_relaxed));
    if (carved == m->capacity) return nullptr;
    b = reinterpret_cast<FreeBlock*>(m->start +
                                     uintptr_t{carved} * m->block_size);
    SetCarved(m, carved + 1);
  }
  ++m->used;
  return b;
}

}  // namespace

Arena* Arena::Create() {
  void* page = OsMapAligned(kPageSize, kPageSize);
  if (page == nullptr) {
    errno = ENOMEM;
    return nullptr;
  }
  Arena* arena = new (page) Arena();
  arena->token_ = NewOwnerToken();
  return arena;
}

void Arena::Destroy() {
  for (unsigned cls = 0; cls < kNumClasses; ++cls) {
    if (current_[cls] != nullptr) others_[cls].PushBack(current_[cls]);
    while (SlabMeta* m = others_[cls].PopFront()) {
      RemoteFreeTakeAll(m);  // blocks freed by other threads: all released
      m->used = 0;
      m->free_list = nullptr;
      m->free_count = 0;
      ReleaseSpan(m);
    }
  }
  LargeFreeAllOwnedBy(token_);
  OsUnmap(this, kPageSize);
}

SlabMeta* Arena::NextSpan(unsigned cls) {
  for (int i = 0; i < kSpansScanned; ++i) {
    SlabMeta* m = others_[cls].PopFront();
    if (m == nullptr) break;
    if (m->free_list != nullptr ||
        m->remote_head.load(std::memory_order_relaxed) != nullptr) {
      return m;
    }
    others_[cls].PushBack(m);
  }
  return AcquireSpan(cls, token_);
}

void* Arena::AllocFromSpans(unsigned cls) {
  for (;;) {
    if (SlabMeta* m = current_[cls]) {
      if (FreeBlock* b = TakeOne(m)) {
        AsanUnpoison(b, m->block_size);
        MarkLive(b);
        return b;
      }
      others_[cls].PushBack(m);
      current_[cls] = nullptr;
    }
    current_[cls] = NextSpan(cls);
    if (current_[cls] == nullptr) {
      errno = ENOMEM;
      return nullptr;
    }
  }
}

void* Arena::Alloc(size_t size, size_t alignment) {
  if (alignment != 0 && (alignment & (alignment - 1)) != 0) {
    errno = EINVAL;
    return nullptr;
  }
  if (size > PTRDIFF_MAX) {
    errno = ENOMEM;
    return nullptr;
  }
  unsigned cls = AlignedClassOf(alignment, size);
  if (cls < kNumClasses) return AllocFromSpans(cls);
  return LargeAlloc(size, alignment, /*zeroed=*/false, token_);
}

void Arena::Free(void* p) {
  if (p == nullptr) return;
  if (InSuperSlab(p)) {
    SlabMeta* m = SpanMetaOf(p);
    if (m->owner.load(std::memory_order_relaxed) != token_) {
      ReportMemoryError(MemoryError::kWrongHeap, p, "arena", -1);
      return;
    }
    if (!IsCarvedBlockStart(m, p)) {
      ReportMemoryError(MemoryError::kInteriorFree, p, "arena", m->size_class);
      return;
    }
    auto* b = static_cast<FreeBlock*>(p);
    uint64_t key = FreeKey(b);
    if (HoldsFreeKeyWord(b, key, g_link_multiplier)) {
      ReportMemoryError(MemoryError::kDoubleFree, p, "arena", m->size_class);
      return;
    }
    AsanPoison(b + 1, m->block_size - sizeof(FreeBlock));
    PushOnSpanFreeList(m, b, key);
    return;
  }
  if (LargeOwner(p) != token_) {
    ReportMemoryError(MemoryError::kWrongHeap, p, "arena", -1);
    return;
  }
  LargeFree(p);
}

}  // namespace hakmem::internal

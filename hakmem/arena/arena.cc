#include "hakmem/arena/arena.h"

#include <cerrno>
#include <new>

#include "hakmem/error/memory_error.h"
#include "hakmem/large/large_alloc.h"
#include "hakmem/platform/asan.h"
#include "hakmem/platform/os_memory.h"
#include "hakmem/superslab/chunk_map.h"
#include "hakmem/superslab/span.h"
#include "hakmem/superslab/span_allocator.h"
#include "hakmem/thread_cache/thread_cache.h"

namespace hakmem::internal {

static_assert(sizeof(Arena) <= kPageSize, "an arena takes one page");

Arena* Arena::Create() {
  void* page = OsMapAligned(kPageSize, kPageSize);
  if (page == nullptr) {
    errno = ENOMEM;
    return nullptr;
  }
  Arena* arena = new (page) Arena();
  arena->token_ = NewOwnerToken(OwnerKind::kArena);
  return arena;
}

void Arena::Destroy() {
  for (unsigned cls = 0; cls < kNumClasses; ++cls) {
    if (current_[cls] != nullptr) others_[cls].PushBack(current_[cls]);
    while (SpanMeta* m = others_[cls].PopFront()) {
      SpanDiscardBlocks(m);  // every block goes, with the arena
      ReleaseSpan(m);
    }
  }
  LargeFreeAllOwnedBy(token_);
  OsUnmap(this, kPageSize);
}

SpanMeta* Arena::NextSpan(unsigned cls) {
  for (int i = 0; i < kSpansScannedPerRefill; ++i) {
    SpanMeta* m = others_[cls].PopFront();
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
    if (SpanMeta* m = current_[cls]) {
      if (FreeBlock* b = SpanTakeOne(m, "arena")) {
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
    SpanMeta* m = SpanMetaOf(p);
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
    if (kDetection && HoldsFreeKeyWord(b, key, g_link_multiplier)) {
      ReportMemoryError(MemoryError::kDoubleFree, p, "arena", m->size_class);
      return;
    }
    AsanPoison(b + 1, m->block_size - sizeof(FreeBlock));
    SpanPushFree(m, b, key);
    return;
  }
  if (LargeOwner(p) != token_) {
    ReportMemoryError(MemoryError::kWrongHeap, p, "arena", -1);
    return;
  }
  LargeFree(p);
}

}  // namespace hakmem::internal

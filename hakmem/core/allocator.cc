#include "hakmem/core/allocator.h"

#include <pthread.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "hakmem/error/memory_error.h"
#include "hakmem/guard/guarded_pool.h"
#include "hakmem/large/large_alloc.h"
#include "hakmem/platform/os_memory.h"
#include "hakmem/pool/pool_alloc.h"
#include "hakmem/superslab/span_allocator.h"
#include "hakmem/thread_cache/remote_free.h"

namespace hakmem::internal {
namespace {

// Requests above PTRDIFF_MAX fail, as in glibc: pointer differences within
// a block must be representable.
constexpr size_t kMaxRequest = PTRDIFF_MAX;

void* NoMemory() {
  errno = ENOMEM;
  return nullptr;
}

// The usable size of `p` (not nullptr), or 0 after reporting that it is not
// a live block.
size_t LiveBlockSize(const void* p) {
  if (InSuperSlab(p)) {
    const SpanMeta* span = SpanMetaOf(p);
    if (ABSL_PREDICT_FALSE(!IsLiveSlabBlock(span, p))) {
      ReportSlabFreeError(MemoryError::kInvalidPointer, span, p);
      return 0;
    }
    return span->block_size;
  }
  if (InGuardedPool(p)) {
    size_t size = GuardedUsableSize(p);
    if (ABSL_PREDICT_FALSE(size == 0)) {
      ReportMemoryError(MemoryError::kInvalidPointer, p, "guarded",
                        GuardedSlotClass(p));
    }
    return size;
  }
  size_t size = LargeUsableSize(p);
  if (ABSL_PREDICT_FALSE(size == 0)) {
    ReportMemoryError(MemoryError::kInvalidPointer, p, "unknown", -1);
  }
  return size;
}

// Locks are taken in one order (thread caches, spans, large) before fork and
// released in both processes after it, so a fork while another thread holds
// one cannot leave the child deadlocked.
void ForkPrepare() {
  ThreadCacheForkPrepare();
  SpanAllocatorForkPrepare();
  LargeForkPrepare();
  GuardForkPrepare();
}
void ForkParent() {
  GuardForkParent();
  LargeForkParent();
  SpanAllocatorForkParent();
  ThreadCacheForkParent();
}
void ForkChild() {
  GuardForkChild();
  LargeForkChild();
  SpanAllocatorForkChild();
  ThreadCacheForkChild();
}

// Runs when the library is loaded. Registration may allocate (glibc keeps
// fork handlers in a growable array), which is fine: the allocator needs no
// initialisation before its first use.
__attribute__((constructor)) void RegisterForkHandlers() {
  pthread_atfork(ForkPrepare, ForkParent, ForkChild);
}

}  // namespace

void* MallocAboveTiny(size_t size) noexcept {
  if (size <= kPoolMaxSize) return PoolAlloc(size);
  if (ABSL_PREDICT_FALSE(size > kMaxRequest)) return NoMemory();
  return LargeAlloc(size, kPageSize, /*zeroed=*/false);
}

void FreeOutsideSuperSlabs(void* p) noexcept {
  if (p == nullptr) return;
  if (InGuardedPool(p)) {
    GuardedFree(p);  // reports what is not a live guarded block
    return;
  }
  if (ABSL_PREDICT_FALSE(!LargeFree(p))) {
    ReportMemoryError(MemoryError::kInvalidFree, p, "unknown", -1);
  }
}

// The size must be one the block can have been asked for: for a slab
// block, one of its class (realloc keeps a block only within its class);
// for a large block, one between the size it was last allocated or
// reallocated with and its usable size (in pages).
void FreeAlignedSized(void* p, size_t alignment, size_t size) noexcept {
  if (ABSL_PREDICT_TRUE(InSuperSlab(p))) {
    SpanMeta* span = SpanMetaOf(p);
    if (ABSL_PREDICT_FALSE(span->size_class !=
                           AlignedClassOf(alignment, size)) &&
        IsLiveSlabBlock(span, p)) {
      ReportMemoryError(MemoryError::kSizeMismatch, p,
                        ClassTierName(span->size_class), span->size_class);
      return;
    }
    CacheFree(p);  // reports a block that is not live
    return;
  }
  if (p == nullptr) return;
  if (InGuardedPool(p)) {
    int cls = GuardedSizeClass(p);
    if (ABSL_PREDICT_FALSE(cls >= 0 && static_cast<unsigned>(cls) !=
                                           AlignedClassOf(alignment, size))) {
      ReportMemoryError(MemoryError::kSizeMismatch, p, "guarded", cls);
      return;
    }
    GuardedFree(p);
    return;
  }
  LargeSizes sizes = LargeSizesOf(p);
  size_t pages = PageRound(size == 0 ? 1 : size);
  if (sizes.usable != 0 &&
      ABSL_PREDICT_FALSE(pages < sizes.requested || pages > sizes.usable)) {
    ReportMemoryError(MemoryError::kSizeMismatch, p, "large", -1);
    return;
  }
  FreeOutsideSuperSlabs(p);
}

void* Calloc(size_t count, size_t size) noexcept {
  size_t total;
  if (ABSL_PREDICT_FALSE(__builtin_mul_overflow(count, size, &total))) {
    return NoMemory();
  }
  if (total > kPoolMaxSize) {
    if (total > kMaxRequest) return NoMemory();
    return LargeAlloc(total, kPageSize, /*zeroed=*/true);
  }
  void* p = Malloc(total);
  if (p != nullptr) std::memset(p, 0, total);
  return p;
}

void* Realloc(void* p, size_t size) noexcept {
  if (p == nullptr) return Malloc(size);
  if (size == 0) {
    Free(p);
    return nullptr;
  }
  if (ABSL_PREDICT_FALSE(size > kMaxRequest)) {
    if (LiveBlockSize(p) == 0) return nullptr;  // reported
    return NoMemory();
  }
  if (!InSuperSlab(p) && !InGuardedPool(p) && size > kPoolMaxSize) {
    void* out;
    switch (LargeRealloc(p, size, &out)) {
      case LargeReallocResult::kDone:
        return out;
      case LargeReallocResult::kNoMemory:
        return nullptr;
      case LargeReallocResult::kNotLarge:
        ReportMemoryError(MemoryError::kInvalidPointer, p, "unknown", -1);
        return nullptr;
    }
  }
  size_t old_size = LiveBlockSize(p);
  if (ABSL_PREDICT_FALSE(old_size == 0)) return nullptr;  // reported
  // Keep a slab block whose class the new size maps to (so that sized
  // frees stay exact). A large block shrunk to a pool size moves to the
  // pool (larger sizes were handled above).
  if (InSuperSlab(p) && size <= kPoolMaxSize &&
      SlabClassOf(size) == SpanMetaOf(p)->size_class) {
    return p;
  }
  void* q = Malloc(size);
  if (q == nullptr) return nullptr;  // `p` stays valid
  std::memcpy(q, p, size < old_size ? size : old_size);
  Free(p);
  return q;
}

void* AlignedAlloc(size_t alignment, size_t size) noexcept {
  if (ABSL_PREDICT_FALSE(alignment == 0 ||
                         (alignment & (alignment - 1)) != 0)) {
    errno = EINVAL;
    return nullptr;
  }
  if (alignment <= 16) return Malloc(size);
  if (ABSL_PREDICT_FALSE(size > kMaxRequest)) return NoMemory();
  unsigned cls = AlignedClassOf(alignment, size);
  if (cls < kNumClasses) {
    // A guarded sample ends at its page's end: the rounded size keeps its
    // start aligned (and is above a page, so never sampled, for alignments
    // above one).
    return CacheAlloc(
        cls, size == 0 ? alignment : (size + alignment - 1) & ~(alignment - 1));
  }
  return LargeAlloc(size, alignment, /*zeroed=*/false);
}

void Collect(bool force) noexcept {
  PushPendingRemoteFrees(tls_cache);
  if (force) CollectThreadCache(true);
  CollectSpans(force);
  LargeFlushCache();
}

size_t UsableSize(const void* p) noexcept {
  return p == nullptr ? 0 : LiveBlockSize(p);
}

}  // namespace hakmem::internal

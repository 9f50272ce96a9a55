#include "hakmem/core/allocator.h"

#include <pthread.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "hakmem/large/large_alloc.h"
#include "hakmem/superslab/span_allocator.h"
#include "hakmem/error/memory_error.h"
#include "hakmem/platform/os_memory.h"
#include "hakmem/pool/pool_alloc.h"

namespace hakmem::internal {
namespace {

// Requests above PTRDIFF_MAX fail, as in glibc: pointer differences within
// a block must be representable.
constexpr size_t kMaxRequest = PTRDIFF_MAX;

void* NoMemory() {
  errno = ENOMEM;
  return nullptr;
}

const char* SlabTier(const SlabMeta* span) {
  return span->size_class < kNumTinyClasses ? "tiny" : "pool";
}

// The usable size of `p` (not nullptr), or 0 after reporting that it is not
// a live block.
size_t LiveBlockSize(const void* p) {
  if (InSuperSlab(p)) {
    const SlabMeta* span = SpanMetaOf(p);
    if (ABSL_PREDICT_FALSE(!IsLiveSlabBlock(span, p))) {
      ReportSlabFreeError(MemoryError::kInvalidPointer, span, p);
      return 0;
    }
    return span->block_size;
  }
  size_t size = LargeUsableSize(p);
  if (ABSL_PREDICT_FALSE(size == 0)) {
    ReportMemoryError(MemoryError::kInvalidPointer, p, "unknown", -1);
  }
  return size;
}

size_t PageRound(size_t size) {
  return (size + kPageSize - 1) & ~(kPageSize - 1);
}

// Locks are taken in one order (heap, spans, large) before fork and
// released in both processes after it, so a fork while another thread holds
// one cannot leave the child deadlocked.
void ForkPrepare() {
  HeapForkPrepare();
  SpanAllocatorForkPrepare();
  LargeForkPrepare();
}
void ForkParent() {
  LargeForkParent();
  SpanAllocatorForkParent();
  HeapForkParent();
}
void ForkChild() {
  LargeForkChild();
  SpanAllocatorForkChild();
  HeapForkChild();
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
  if (ABSL_PREDICT_FALSE(!LargeFree(p))) {
    ReportMemoryError(MemoryError::kInvalidFree, p, "unknown", -1);
  }
}

void FreeSized(void* p, size_t size) noexcept { FreeAlignedSized(p, 0, size); }

// Slab blocks must be of exactly the class the request maps to (realloc
// keeps a block only within its class); large blocks keep their mapping on
// realloc while the size stays above half of it.
void FreeAlignedSized(void* p, size_t alignment, size_t size) noexcept {
  if (ABSL_PREDICT_TRUE(InSuperSlab(p))) {
    SlabMeta* span = SpanMetaOf(p);
    if (ABSL_PREDICT_FALSE(span->size_class !=
                           AlignedClassOf(alignment, size)) &&
        IsLiveSlabBlock(span, p)) {
      ReportMemoryError(MemoryError::kSizeMismatch, p, SlabTier(span),
                        span->size_class);
      return;
    }
    HeapFree(p);  // reports a block that is not live
    return;
  }
  if (p == nullptr) return;
  size_t mapped = LargeUsableSize(p);
  size_t need = PageRound(size == 0 ? 1 : size);
  if (mapped != 0 && ABSL_PREDICT_FALSE(need > mapped || need * 2 < mapped)) {
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
  if (!InSuperSlab(p) && size > kPoolMaxSize) {
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
  // frees stay exact), and a large block that stays over half used.
  if (InSuperSlab(p)) {
    if (size <= kPoolMaxSize && SlabClassOf(size) == SpanMetaOf(p)->size_class) {
      return p;
    }
  } else if (size <= old_size && size > old_size / 2) {
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
  if (cls < kNumClasses) return HeapAlloc(cls);
  return LargeAlloc(size, alignment, /*zeroed=*/false);
}

void Collect(bool force) noexcept {
  if (force) CollectThreadHeap(true);
  CollectSpans(force);
  LargeFlushCache();
}

size_t UsableSize(const void* p) noexcept {
  return p == nullptr ? 0 : LiveBlockSize(p);
}

}  // namespace hakmem::internal

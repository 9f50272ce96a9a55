#include "hakmem/core/allocator.h"

#include <pthread.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "hakmem/large/large_alloc.h"
#include "hakmem/superslab/span_allocator.h"
#include "hakmem/platform/memory_error.h"
#include "hakmem/platform/os_memory.h"
#include "hakmem/pool/pool_alloc.h"

namespace hakmem {
namespace {

// Requests above PTRDIFF_MAX fail, as in glibc: pointer differences within
// a block must be representable.
constexpr size_t kMaxRequest = PTRDIFF_MAX;

void* NoMemory() {
  errno = ENOMEM;
  return nullptr;
}

// The usable size of `p` (not nullptr), or a report if it is not live.
size_t LiveBlockSize(const void* p) {
  if (InSuperSlab(p)) {
    const SlabMeta* span = SpanMetaOf(p);
    if (ABSL_PREDICT_FALSE(!IsLiveSlabBlock(span, p))) {
      ReportMemoryError(MemoryError::kInvalidPointer, p,
                        span->size_class < kNumTinyClasses ? "tiny" : "pool",
                        span->size_class);
    }
    return span->block_size;
  }
  size_t size = LargeUsableSize(p);
  if (ABSL_PREDICT_FALSE(size == 0)) {
    ReportMemoryError(MemoryError::kInvalidPointer, p, "unknown", -1);
  }
  return size;
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

void* MallocAboveTiny(size_t size) {
  if (size <= kPoolMaxSize) return PoolAlloc(size);
  if (ABSL_PREDICT_FALSE(size > kMaxRequest)) return NoMemory();
  return LargeAlloc(size, kPageSize, /*zeroed=*/false);
}

void FreeOutsideSuperSlabs(void* p) {
  if (p == nullptr) return;
  if (ABSL_PREDICT_FALSE(!LargeFree(p))) {
    ReportMemoryError(MemoryError::kInvalidFree, p, "unknown", -1);
  }
}

void FreeSized(void* p, size_t size) {
  if (p != nullptr && ABSL_PREDICT_FALSE(size > LiveBlockSize(p))) {
    ReportMemoryError(MemoryError::kSizeMismatch, p,
                      InSuperSlab(p) ? "slab" : "large", -1);
  }
  Free(p);
}

void* Calloc(size_t count, size_t size) {
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

void* Realloc(void* p, size_t size) {
  if (p == nullptr) return Malloc(size);
  if (size == 0) {
    Free(p);
    return nullptr;
  }
  if (ABSL_PREDICT_FALSE(size > kMaxRequest)) {
    LiveBlockSize(p);  // still report an invalid pointer
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
    }
  }
  size_t old_size = LiveBlockSize(p);
  // Keep the block when the new size fits and wastes at most half of it.
  if (size <= old_size && size > old_size / 2) return p;
  void* q = Malloc(size);
  if (q == nullptr) return nullptr;  // `p` stays valid
  std::memcpy(q, p, size < old_size ? size : old_size);
  Free(p);
  return q;
}

void* AlignedAlloc(size_t alignment, size_t size) {
  if (ABSL_PREDICT_FALSE(alignment == 0 ||
                         (alignment & (alignment - 1)) != 0)) {
    errno = EINVAL;
    return nullptr;
  }
  if (alignment <= 16) return Malloc(size);
  if (ABSL_PREDICT_FALSE(size > kMaxRequest)) return NoMemory();
  // Spans start page-aligned, so a block size that is a multiple of the
  // alignment gives aligned blocks; every power of two up to the pool limit
  // is a class, so the search ends by the next power of two.
  if (alignment <= kPageSize) {
    size_t need = size < alignment ? alignment : size;
    if (need <= kPoolMaxSize) {
      unsigned cls = SlabClassOf(need);
      while (ClassBlockSize(cls) % alignment != 0) ++cls;
      return HeapAlloc(cls);
    }
  }
  return LargeAlloc(size, alignment, /*zeroed=*/false);
}

size_t UsableSize(const void* p) {
  return p == nullptr ? 0 : LiveBlockSize(p);
}

}  // namespace hakmem

// The large tier: requests above the pool limit (and slab-tier requests with
// an alignment above a page), each its own page-granular mapping. Freed
// mappings are kept in a small bounded cache for reuse; the rest go back to
// the OS at once.
//
// Live blocks are recorded in a hash table keyed by address, so that a free
// can tell a live large block from any other pointer exactly, without
// reading memory around the pointer. All operations take one lock: each of
// them is dominated by a system call or page faults anyway.
#ifndef HAKMEM_LARGE_LARGE_ALLOC_H_
#define HAKMEM_LARGE_LARGE_ALLOC_H_

#include <cstddef>
#include <cstdint>

namespace hakmem::internal {

// Freed regions kept for reuse: at most this many, and at most
// HAKMEM_LARGE_CACHE_BYTES bytes (each region at most a quarter of that).
inline constexpr unsigned kLargeCacheEntries = 8;

// `size` bytes aligned to `alignment` (a power of two; at least a page is
// always given). Zero-filled when `zeroed`. `owner` is the token of the
// arena the block belongs to, or 0. nullptr with errno = ENOMEM.
void* LargeAlloc(size_t size, size_t alignment, bool zeroed,
                 uint64_t owner = 0);

// The owner token of live large block `p` (0 when it has none), or
// kNotLargeOwner when `p` is not a live large block.
inline constexpr uint64_t kNotLargeOwner = ~uint64_t{0};
uint64_t LargeOwner(const void* p);

// Unmaps every cached region.
void LargeFlushCache();

// Frees every live large block of arena `owner`.
void LargeFreeAllOwnedBy(uint64_t owner);

// Frees `p` and returns true if it is a live large block; otherwise
// changes nothing and returns false.
bool LargeFree(void* p);

// The usable size of live large block `p`, or 0 if `p` is not one.
size_t LargeUsableSize(const void* p);

enum class LargeReallocResult { kDone, kNoMemory, kNotLarge };
// Resizes live large block `p` to `new_size` (> the pool limit) in place or
// with mremap, setting *out. On kNoMemory `p` is unchanged and errno is
// ENOMEM; on kNotLarge nothing happened.
LargeReallocResult LargeRealloc(void* p, size_t new_size, void** out);

// fork() support (see SpanAllocatorForkPrepare).
void LargeForkPrepare();
void LargeForkParent();
void LargeForkChild();

struct LargeStats {
  uint64_t live;
  uint64_t live_bytes;
  uint64_t cached;
  uint64_t cached_bytes;
};
LargeStats GetLargeStats();

}  // namespace hakmem::internal

#endif  // HAKMEM_LARGE_LARGE_ALLOC_H_

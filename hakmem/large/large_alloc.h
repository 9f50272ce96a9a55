// The large tier: requests above the pool limit (and aligned requests no
// slab class can serve: alignment above 64 KiB, or a size above the pool
// limit), in page-granular regions mapped from the OS.
// Freed regions go to a bounded cache of page runs (merged with their
// neighbours, cut to fit a request, grown into by a realloc), whose budget
// adapts to the program's large working set; what does not fit goes back
// to the OS at once.
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

// Freed page runs kept for reuse: at most the budget's bytes together (a
// freed block larger than a quarter of it goes straight back to the OS),
// and at most kLargeCacheEntries runs. The budget is HAKMEM_LARGE_CACHE_BYTES
// (0: nothing is cached) plus what it has earned: once the cache has given
// pages back for want of room while large blocks were live, each request
// that maps fresh pages earns its size, up to half the bytes of the live
// large blocks and kMaxEarnedFactor times HAKMEM_LARGE_CACHE_BYTES. The
// earned part shrinks with the live bytes at every free, so with no large
// block live the cache holds at most HAKMEM_LARGE_CACHE_BYTES;
// LargeFlushCache resets it.
inline constexpr uint64_t kMaxEarnedFactor = 4;

// The run count is a bound on the scans, not a policy: at the default
// budget it is the bytes that bind first for blocks of the large tier
// (64 MiB / (256 KiB + a page) = 252 runs), so what a loop frees comes back
// whole, however the kernel placed its mappings. (With 8 runs, blocks that
// did not happen to be neighbours evicted each other, and a steady loop's
// footprint changed from round to round with the placement.)
inline constexpr unsigned kLargeCacheEntries = 256;

// `size` bytes aligned to `alignment` (a power of two; at least a page is
// always given). Zero-filled when `zeroed`. `owner` is the token of the
// arena the block belongs to, or 0. nullptr with errno = ENOMEM.
void* LargeAlloc(size_t size, size_t alignment, bool zeroed,
                 uint64_t owner = 0);

// The owner token of live large block `p` (0 when it has none), or
// kNotLargeOwner when `p` is not a live large block.
inline constexpr uint64_t kNotLargeOwner = ~uint64_t{0};
uint64_t LargeOwner(const void* p);

// Unmaps every cached region, and starts the budget over from
// HAKMEM_LARGE_CACHE_BYTES.
void LargeFlushCache();

// Frees every live large block of arena `owner`.
void LargeFreeAllOwnedBy(uint64_t owner);

// Frees `p` and returns true if it is a live large block; otherwise
// changes nothing and returns false.
bool LargeFree(void* p);

// The usable size of live large block `p`, or 0 if `p` is not one.
size_t LargeUsableSize(const void* p);

// A sized free of live large block `p` must name a size whose pages lie
// between the size it was asked for (by its allocation or its last
// realloc) and its usable size, as a slab block's must name its class:
// 1 MiB allocated and freed as 600 KiB is an error. Both page multiples;
// {0, 0} if `p` is not a live large block.
struct LargeSizes {
  size_t requested;
  size_t usable;
};
LargeSizes LargeSizesOf(const void* p);

enum class LargeReallocResult { kDone, kNoMemory, kNotLarge };
// Resizes live large block `p` to `new_size` (> the pool limit), setting
// *out: in place when it shrinks (the tail pages go to the cache) or when
// the cache holds the pages after it, else with mremap (or a copy, when
// the block spans two mappings). On kNoMemory `p` is unchanged and errno is
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
  // What the cache may hold now: HAKMEM_LARGE_CACHE_BYTES plus what the
  // budget has earned (see kMaxEarnedFactor).
  uint64_t budget_bytes;
};
LargeStats GetLargeStats();

}  // namespace hakmem::internal

#endif  // HAKMEM_LARGE_LARGE_ALLOC_H_

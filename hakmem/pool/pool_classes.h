// The pool (L2) tier's size classes (above 1 KiB up to 256 KiB): 4 per
// doubling, 32 in all, found with a count-leading-zeros; and their spans,
// of several contiguous slabs, so that every span holds at least 8 blocks
// (size_class.h joins them with the tiny tier's into the slab classes that
// the thread caches and SuperSlabs share).
#ifndef HAKMEM_POOL_POOL_CLASSES_H_
#define HAKMEM_POOL_POOL_CLASSES_H_

#include <cstddef>
#include <cstdint>

namespace hakmem::internal {

inline constexpr size_t kPoolMinSize = 1024;  // exclusive: the tiny limit
inline constexpr size_t kPoolMaxSize = 256 * 1024;
inline constexpr unsigned kNumPoolClasses = 32;

// The slab unit (see superslab/superslab.h), needed here for span sizes.
inline constexpr size_t kSlabSizeForClasses = 64 * 1024;
inline constexpr uint32_t kMinBlocksPerSpan = 8;
inline constexpr uint32_t kMaxSpanSlabs = 16;

// The block size of pool class `j` (0 <= j < kNumPoolClasses).
constexpr uint32_t PoolBlockSize(unsigned j) {
  unsigned k = 10 + j / 4;  // the doubling (2^k, 2^(k+1)]
  return (1u << k) + (j % 4 + 1) * (1u << (k - 2));
}

// Slabs per span for blocks of `block_size`: room for kMinBlocksPerSpan
// blocks, from 1 to kMaxSpanSlabs slabs.
constexpr uint32_t SpanSlabsFor(uint32_t block_size) {
  uint64_t slabs =
      (uint64_t{block_size} * kMinBlocksPerSpan + kSlabSizeForClasses - 1) /
      kSlabSizeForClasses;
  return slabs < 1               ? 1
         : slabs > kMaxSpanSlabs ? kMaxSpanSlabs
                                 : static_cast<uint32_t>(slabs);
}

// The index within the pool (0-based) of the class of a request kPoolMinSize <
// size <= kPoolMaxSize: the doubling (2^k, 2^(k+1)] that holds `size`, then
// its quarter.
inline unsigned PoolClassIndexOf(size_t size) {
  size_t s = size - 1;
  unsigned k = 63 - static_cast<unsigned>(__builtin_clzll(s));
  unsigned quarter = static_cast<unsigned>(s >> (k - 2)) & 3;
  return (k - 10) * 4 + quarter;
}

}  // namespace hakmem::internal

#endif  // HAKMEM_POOL_POOL_CLASSES_H_

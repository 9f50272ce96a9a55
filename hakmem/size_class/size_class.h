// Size classes of the slab tiers.
//
//   tiny  (class 0..19):  16-byte steps up to 128 B, then 4 classes per
//                         doubling up to 1 KiB; found through a lookup table.
//   pool  (class 20..51): 4 classes per doubling above 1 KiB up to 256 KiB;
//                         found with a count-leading-zeros.
//
// Every class size is a multiple of 16 (malloc's alignment guarantee), at
// least 16 (room for the free-list link and the free key, see
// superslab/free_block.h), and every power of two from 16 to 256 KiB is a
// class, which is what aligned allocation relies on.
#ifndef HAKMEM_SIZE_CLASS_SIZE_CLASS_H_
#define HAKMEM_SIZE_CLASS_SIZE_CLASS_H_

#include <cstddef>
#include <cstdint>

#include "absl/base/attributes.h"

namespace hakmem::internal {

inline constexpr size_t kTinyMaxSize = 1024;
inline constexpr size_t kPoolMaxSize = 256 * 1024;
inline constexpr unsigned kNumTinyClasses = 20;
inline constexpr unsigned kNumPoolClasses = 32;
inline constexpr unsigned kNumClasses = kNumTinyClasses + kNumPoolClasses;

// The slab unit (see superslab/superslab.h), needed here for span sizes.
inline constexpr size_t kSlabSizeForClasses = 64 * 1024;

struct SizeClassInfo {
  uint32_t block_size;
  // Slabs per span: pool classes take several contiguous slabs so that a
  // span holds at least 8 blocks (up to 16 slabs).
  uint32_t span_slabs;
};

namespace size_class_internal {

constexpr uint32_t BlockSize(unsigned cls) {
  if (cls < 8) return 16 * (cls + 1);
  if (cls < kNumTinyClasses) {
    unsigned j = cls - 8;  // 0..11 over 128..1024
    unsigned k = 7 + j / 4;
    return (1u << k) + (j % 4 + 1) * (1u << (k - 2));
  }
  unsigned j = cls - kNumTinyClasses;  // 0..31 over 1 KiB..256 KiB
  unsigned k = 10 + j / 4;
  return (1u << k) + (j % 4 + 1) * (1u << (k - 2));
}

constexpr uint32_t Clamp(uint64_t v, uint32_t lo, uint32_t hi) {
  return v < lo ? lo : (v > hi ? hi : static_cast<uint32_t>(v));
}

constexpr SizeClassInfo MakeInfo(unsigned cls) {
  uint32_t size = BlockSize(cls);
  uint32_t span = Clamp(
      (uint64_t{size} * 8 + kSlabSizeForClasses - 1) / kSlabSizeForClasses, 1,
      16);
  return SizeClassInfo{size, span};
}

struct ClassTable {
  SizeClassInfo info[kNumClasses];
  // tiny_lut[size] is the class of `size` <= kTinyMaxSize: indexed by the
  // size itself, not (size + 15) / 16, which would cost malloc's fast path
  // two more instructions for a table 1 KiB smaller.
  uint8_t tiny_lut[kTinyMaxSize + 1];
};

constexpr ClassTable MakeClassTable() {
  ClassTable t{};
  for (unsigned c = 0; c < kNumClasses; ++c) t.info[c] = MakeInfo(c);
  unsigned cls = 0;
  for (unsigned size = 0; size <= kTinyMaxSize; ++size) {
    while (BlockSize(cls) < size) ++cls;
    t.tiny_lut[size] = static_cast<uint8_t>(cls);
  }
  return t;
}

inline constexpr ClassTable kClassTable = MakeClassTable();

}  // namespace size_class_internal

inline const SizeClassInfo& ClassInfo(unsigned cls) {
  return size_class_internal::kClassTable.info[cls];
}

constexpr uint32_t ClassBlockSize(unsigned cls) {
  return size_class_internal::kClassTable.info[cls].block_size;
}

// The tier a slab class belongs to, as memory error reports name it.
constexpr const char* ClassTierName(unsigned cls) {
  return cls < kNumTinyClasses ? "tiny" : "pool";
}

// The class of a tiny request (size <= kTinyMaxSize; 0 maps to class 0).
ABSL_ATTRIBUTE_ALWAYS_INLINE inline unsigned TinyClassOf(size_t size) {
  return size_class_internal::kClassTable.tiny_lut[size];
}

// The class of a pool request (kTinyMaxSize < size <= kPoolMaxSize): the
// doubling (2^k, 2^(k+1)] that holds `size`, then its quarter.
inline unsigned PoolClassOf(size_t size) {
  size_t s = size - 1;
  unsigned k = 63 - static_cast<unsigned>(__builtin_clzll(s));
  unsigned quarter = static_cast<unsigned>(s >> (k - 2)) & 3;
  return kNumTinyClasses + (k - 10) * 4 + quarter;
}

// Any request served by the slab tiers (size <= kPoolMaxSize).
inline unsigned SlabClassOf(size_t size) {
  return size <= kTinyMaxSize ? TinyClassOf(size) : PoolClassOf(size);
}

// The slab class of an aligned request (`alignment` a power of two), or
// kNumClasses when it goes to the large tier. A span's first block is
// aligned to the largest power of two dividing the block size, up to a
// slab (superslab/span_allocator.cc), so a block size that is a multiple
// of an alignment up to a slab gives aligned blocks; every power of two up
// to the pool limit is a class, so the search ends by the next power of
// two.
inline unsigned AlignedClassOf(size_t alignment, size_t size) {
  if (alignment <= 16) {
    return size <= kPoolMaxSize ? SlabClassOf(size) : kNumClasses;
  }
  size_t need = size < alignment ? alignment : size;
  if (alignment > kSlabSizeForClasses || need > kPoolMaxSize) {
    return kNumClasses;
  }
  unsigned cls = SlabClassOf(need);
  while (ClassBlockSize(cls) % alignment != 0) ++cls;
  return cls;
}

}  // namespace hakmem::internal

#endif  // HAKMEM_SIZE_CLASS_SIZE_CLASS_H_

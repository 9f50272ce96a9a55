// The slab classes: the tiny tier's (tiny/tiny_classes.h) and the pool
// tier's (pool/pool_classes.h) in one numbering, which the thread caches,
// spans and SuperSlabs share:
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
#include "hakmem/pool/pool_classes.h"
#include "hakmem/tiny/tiny_classes.h"

namespace hakmem::internal {

inline constexpr unsigned kNumClasses = kNumTinyClasses + kNumPoolClasses;
static_assert(kPoolMinSize == kTinyMaxSize, "the tiers must meet");

struct SizeClassInfo {
  uint32_t block_size;
  // Slabs per span: 1 for tiny classes, several for pool ones
  // (SpanSlabsFor).
  uint32_t span_slabs;
};

namespace size_class_internal {

constexpr SizeClassInfo MakeInfo(unsigned cls) {
  if (cls < kNumTinyClasses) return SizeClassInfo{TinyBlockSize(cls), 1};
  uint32_t size = PoolBlockSize(cls - kNumTinyClasses);
  return SizeClassInfo{size, SpanSlabsFor(size)};
}

struct ClassTable {
  SizeClassInfo info[kNumClasses];
};

constexpr ClassTable MakeClassTable() {
  ClassTable t{};
  for (unsigned c = 0; c < kNumClasses; ++c) t.info[c] = MakeInfo(c);
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

// The slab class of a pool request (kTinyMaxSize < size <= kPoolMaxSize).
inline unsigned PoolClassOf(size_t size) {
  return kNumTinyClasses + PoolClassIndexOf(size);
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

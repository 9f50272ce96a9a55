// The fuzzers' own model of hakmem's documented size classes and tiers
// (README.md, hakmem/core/allocator.h, hakmem/size_class/size_class.h),
// written independently of hakmem's lookup table and bit tricks so that it
// can serve as an oracle: every slab block must have exactly the usable
// size of the class this model predicts, and sized frees are valid exactly
// when this model says so.
//
// Also decodes sizes and alignments from fuzzer input, biased to the class
// edges where off-by-one errors live.
#ifndef HAKMEM_FUZZ_SIZE_MODEL_H_
#define HAKMEM_FUZZ_SIZE_MODEL_H_

#include <cstddef>
#include <cstdint>

#include "fuzz/byte_reader.h"

namespace fuzz {

inline constexpr size_t kTinyMax = 1024;        // tiny: 1 B .. 1 KiB
inline constexpr size_t kPoolMax = 256 * 1024;  // pool: .. 256 KiB
inline constexpr size_t kPage = 4096;
inline constexpr size_t kMaxSlabAlignment = 64 * 1024;  // a slab
inline constexpr int kNumTinyClasses = 20;
inline constexpr int kNumClasses = 52;  // 20 tiny + 32 pool
inline constexpr int kLarge = -1;       // "class" of a large block
// Requests up to this size are generated (large blocks are rare).
inline constexpr size_t kMaxFuzzSize = 4 << 20;

// Block size of slab class `cls`: 16-byte steps up to 128 B, then four
// classes per doubling up to 256 KiB.
constexpr size_t ClassSize(int cls) {
  if (cls < 8) return 16 * static_cast<size_t>(cls + 1);
  int j = cls - 8;  // 128 B * 2^(j/4) * (1 + (j%4 + 1)/4)
  size_t base = size_t{128} << (j / 4);
  return base + static_cast<size_t>(j % 4 + 1) * (base / 4);
}
static_assert(ClassSize(kNumTinyClasses - 1) == kTinyMax, "tiny classes");
static_assert(ClassSize(kNumClasses - 1) == kPoolMax, "pool classes");

// The smallest class whose blocks hold `size` (<= kPoolMax) bytes.
inline int SlabClassOf(size_t size) {
  int cls = 0;
  while (ClassSize(cls) < size) ++cls;
  return cls;
}

// The class of a plain request, or kLarge.
inline int ClassOfRequest(size_t size) {
  return size <= kPoolMax ? SlabClassOf(size) : kLarge;
}

// The class hak_aligned_alloc(alignment, size) uses, or kLarge: alignments
// up to 16 are plain requests; otherwise the smallest class holding
// max(size, alignment) whose block size is a multiple of the alignment, for
// alignments up to a slab (64 KiB).
inline int AlignedClass(size_t alignment, size_t size) {
  if (alignment <= 16) return ClassOfRequest(size);
  size_t need = size < alignment ? alignment : size;
  if (alignment > kMaxSlabAlignment || need > kPoolMax) return kLarge;
  int cls = SlabClassOf(need);
  while (ClassSize(cls) % alignment != 0) ++cls;
  return cls;
}

inline const char* TierOf(int cls) {
  return cls == kLarge ? "large" : cls < kNumTinyClasses ? "tiny" : "pool";
}

inline size_t PageRound(size_t n) { return (n + kPage - 1) & ~(kPage - 1); }

// Bytes a large block of `size` bytes maps (what a sized free compares with).
inline size_t LargeMapSize(size_t size) { return PageRound(size ? size : 1); }

// Whether hak_free_sized / hak_free_aligned_sized(p, alignment, size) is a
// valid free of a live block of class `cls` with `usable` bytes, last
// allocated or reallocated with `requested` bytes: a slab block's class,
// or for a large block a number of pages between the request's and the
// usable size's.
inline bool SizedFreeMatches(int cls, size_t requested, size_t usable,
                             size_t alignment, size_t size) {
  if (cls != kLarge) return AlignedClass(alignment, size) == cls;
  size_t need = LargeMapSize(size);
  return need >= LargeMapSize(requested) && need <= usable;
}

// A request size from the input: near a class edge of a random tier, a
// special value, or (rarely) a large size up to kMaxFuzzSize.
size_t DecodeSize(ByteReader& in);

// A power of two from 1 to 1 MiB, mostly up to a page.
size_t DecodeAlignment(ByteReader& in);

}  // namespace fuzz

#endif  // HAKMEM_FUZZ_SIZE_MODEL_H_

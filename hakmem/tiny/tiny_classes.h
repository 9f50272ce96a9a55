// The tiny tier's size classes (1 byte to 1 KiB): 16-byte steps up to
// 128 B, then 4 classes per doubling up to 1 KiB, 20 classes in all, found
// by a lookup table indexed by the request size. Each is served from
// one-slab spans (size_class.h joins them with the pool's into the slab
// classes that the thread caches and SuperSlabs share).
#ifndef HAKMEM_TINY_TINY_CLASSES_H_
#define HAKMEM_TINY_TINY_CLASSES_H_

#include <cstddef>
#include <cstdint>

#include "absl/base/attributes.h"

namespace hakmem::internal {

inline constexpr size_t kTinyMaxSize = 1024;
inline constexpr unsigned kNumTinyClasses = 20;

// The block size of tiny class `i` (0 <= i < kNumTinyClasses).
constexpr uint32_t TinyBlockSize(unsigned i) {
  if (i < 8) return 16 * (i + 1);
  unsigned j = i - 8;  // 0..11 over 128..1024
  unsigned k = 7 + j / 4;
  return (1u << k) + (j % 4 + 1) * (1u << (k - 2));
}

namespace tiny_internal {

// lut[size] is the class of `size` <= kTinyMaxSize: indexed by the size
// itself, not (size + 15) / 16, which would cost malloc's fast path two
// more instructions for a table 1 KiB smaller.
struct TinyClassTable {
  uint8_t lut[kTinyMaxSize + 1];
};

constexpr TinyClassTable MakeTinyClassTable() {
  TinyClassTable t{};
  unsigned cls = 0;
  for (unsigned size = 0; size <= kTinyMaxSize; ++size) {
    while (TinyBlockSize(cls) < size) ++cls;
    t.lut[size] = static_cast<uint8_t>(cls);
  }
  return t;
}

inline constexpr TinyClassTable kTinyClassTable = MakeTinyClassTable();

}  // namespace tiny_internal

// The class of a tiny request (size <= kTinyMaxSize; 0 maps to class 0).
ABSL_ATTRIBUTE_ALWAYS_INLINE inline unsigned TinyClassOf(size_t size) {
  return tiny_internal::kTinyClassTable.lut[size];
}

}  // namespace hakmem::internal

#endif  // HAKMEM_TINY_TINY_CLASSES_H_

#include "fuzz/block_pattern.h"

#include <cstring>

// The pattern code is neither coverage-instrumented (its loop counts would
// only tell libFuzzer about block sizes, as noise) nor ASan-checked word by
// word: heap_model.cc checks each whole block against ASan's shadow once
// (AsanFindPoisoned), which is much cheaper.
#define FUZZ_NO_COVERAGE __attribute__((no_sanitize("coverage", "address")))

namespace fuzz {
namespace {

constexpr size_t kWholeUpTo = 16 * 1024;
constexpr size_t kEdge = 4096;
constexpr size_t kStride = 16 * 1024;  // one sample per 16 KiB
constexpr size_t kSample = 64;

// One multiply per word: distinct seeds give distinct sequences, and a copy
// shifted by any number of words differs from the original.
FUZZ_NO_COVERAGE uint64_t PatternWord(uint64_t seed, size_t k) {
  return (seed + k) * 0x9E3779B97F4A7C15ull;
}

FUZZ_NO_COVERAGE uint8_t PatternByte(uint64_t seed, size_t i) {
  return static_cast<uint8_t>(PatternWord(seed, i / 8) >> (8 * (i % 8)));
}

// Sampled range `r` of an n-byte block, clipped to [0, limit): false when
// there is no range `r`. A range may be empty, and ranges may overlap.
FUZZ_NO_COVERAGE bool SampledRange(size_t n, size_t limit, size_t r,
                                   size_t* begin, size_t* end) {
  if (n <= kWholeUpTo) {
    if (r > 0) return false;
    *begin = 0;
    *end = n;
  } else {
    // Range 0: the head; 1 .. tail - 1: samples; tail: the last 4 KiB.
    size_t tail = (n - kEdge) / kStride;
    if (tail == 0) tail = 1;
    if (r == 0) {
      *begin = 0;
      *end = kEdge;
    } else if (r < tail) {
      *begin = r * kStride;
      *end = *begin + kSample;
    } else if (r == tail) {
      *begin = n - kEdge;
      *end = n;
    } else {
      return false;
    }
  }
  if (*end > limit) *end = limit;
  if (*begin > *end) *begin = *end;
  return true;
}

FUZZ_NO_COVERAGE void WriteRange(unsigned char* p, size_t b, size_t e,
                                 uint64_t seed) {
  size_t i = b;
  for (; i < e && i % 8 != 0; ++i) p[i] = PatternByte(seed, i);
  for (; i + 8 <= e; i += 8) {
    uint64_t w = PatternWord(seed, i / 8);
    std::memcpy(p + i, &w, 8);
  }
  for (; i < e; ++i) p[i] = PatternByte(seed, i);
}

FUZZ_NO_COVERAGE size_t CheckRange(const unsigned char* p, size_t b, size_t e,
                                   uint64_t seed) {
  size_t i = b;
  for (; i < e && i % 8 != 0; ++i) {
    if (p[i] != PatternByte(seed, i)) return i;
  }
  for (; i + 8 <= e; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    if (w != PatternWord(seed, i / 8)) break;  // find the byte below
  }
  for (; i < e; ++i) {
    if (p[i] != PatternByte(seed, i)) return i;
  }
  return kNoMismatch;
}

}  // namespace

FUZZ_NO_COVERAGE void FillPattern(void* p, size_t n, uint64_t seed) {
  auto* bytes = static_cast<unsigned char*>(p);
  size_t b, e;
  for (size_t r = 0; SampledRange(n, n, r, &b, &e); ++r) {
    WriteRange(bytes, b, e, seed);
  }
}

FUZZ_NO_COVERAGE size_t FindPatternMismatch(const void* p, size_t filled,
                                            size_t limit, uint64_t seed) {
  const auto* bytes = static_cast<const unsigned char*>(p);
  size_t b, e;
  for (size_t r = 0; SampledRange(filled, limit, r, &b, &e); ++r) {
    if (size_t at = CheckRange(bytes, b, e, seed); at != kNoMismatch) {
      return at;
    }
  }
  return kNoMismatch;
}

FUZZ_NO_COVERAGE size_t FindNonZero(const void* p, size_t n) {
  const auto* bytes = static_cast<const unsigned char*>(p);
  size_t b, e;
  for (size_t r = 0; SampledRange(n, n, r, &b, &e); ++r) {
    for (size_t i = b; i < e; ++i) {
      if (bytes[i] != 0) return i;
    }
  }
  return kNoMismatch;
}

}  // namespace fuzz

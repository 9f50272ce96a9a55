// Small helpers shared by the hakmem tests: a per-block byte pattern that
// detects overlapping or corrupted blocks, block sanity checks, a seeded RNG
// and a size generator that spans all three size tiers.
#ifndef HAKMEM_TESTS_TEST_UTIL_H_
#define HAKMEM_TESTS_TEST_UTIL_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <vector>

#include "capi/hakmem.h"
#include "gtest/gtest.h"

#if defined(__SANITIZE_THREAD__)
#define HAKMEM_TEST_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define HAKMEM_TEST_TSAN 1
#endif
#endif

#if defined(__SANITIZE_ADDRESS__)
#define HAKMEM_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HAKMEM_TEST_ASAN 1
#endif
#endif

namespace hakmem_test {

#ifdef HAKMEM_TEST_TSAN
inline constexpr bool kTsan = true;
#else
inline constexpr bool kTsan = false;
#endif

// Loop counts for heavy tests: ThreadSanitizer is ~10x slower, so do a
// tenth of the work there (never less than 1).
constexpr size_t Scaled(size_t n) { return kTsan ? (n + 9) / 10 : n; }

// Whether vm.overcommit_memory is 1: the kernel then grants every mapping,
// so a request no machine can back (32 TiB) succeeds (capi/hakmem.h).
inline bool KernelGrantsEveryMapping() {
  FILE* f = std::fopen("/proc/sys/vm/overcommit_memory", "r");
  int mode = -1;
  if (f != nullptr) {
    if (std::fscanf(f, "%d", &mode) != 1) mode = -1;
    std::fclose(f);
  }
  return mode == 1;
}

inline constexpr size_t kKiB = size_t{1} << 10;
inline constexpr size_t kMiB = size_t{1} << 20;
inline constexpr size_t kTinyMax = 1 * kKiB;    // tiny: size <= 1 KiB
inline constexpr size_t kPoolMax = 256 * kKiB;  // pool: size <= 256 KiB
inline constexpr size_t kMinAlign = 16;

// One live block and the seed of the pattern written into it.
struct Block {
  void* p;
  size_t size;
  uint64_t seed;
};

// ---- Pattern ---------------------------------------------------------------
// Byte i of a block with seed s is byte (i % 8) of PatternWord(s, i / 8).
// Distinct seeds give distinct contents, so a block that overlaps another
// one, or that the allocator scribbles on, fails the check.

inline uint64_t PatternWord(uint64_t seed, size_t k) {
  uint64_t x = seed * 0xD1B54A32D192ED03ull + (k + 1) * 0x9E3779B97F4A7C15ull;
  x ^= x >> 31;
  x *= 0xBF58476D1CE4E5B9ull;
  x ^= x >> 29;
  return x;
}

// Writes the pattern into bytes [from, to) of the block at p.
inline void FillRange(void* p, uint64_t seed, size_t from, size_t to) {
  auto* b = static_cast<unsigned char*>(p);
  for (size_t i = from; i < to;) {
    const uint64_t w = PatternWord(seed, i / 8);
    const size_t off = i % 8;
    const size_t len = std::min<size_t>(8 - off, to - i);
    std::memcpy(b + i, reinterpret_cast<const unsigned char*>(&w) + off, len);
    i += len;
  }
}

// Offset of the first byte in [from, to) that differs from the pattern, or
// SIZE_MAX if all match.
inline size_t FirstMismatch(const void* p, uint64_t seed, size_t from,
                            size_t to) {
  const auto* b = static_cast<const unsigned char*>(p);
  for (size_t i = from; i < to;) {
    const uint64_t w = PatternWord(seed, i / 8);
    const size_t off = i % 8;
    const size_t len = std::min<size_t>(8 - off, to - i);
    const auto* want = reinterpret_cast<const unsigned char*>(&w) + off;
    if (std::memcmp(b + i, want, len) != 0) {
      for (size_t j = 0; j < len; ++j) {
        if (b[i + j] != want[j]) return i + j;
      }
    }
    i += len;
  }
  return std::numeric_limits<size_t>::max();
}

inline ::testing::AssertionResult RangeIntact(const void* p, size_t size,
                                              uint64_t seed, size_t from,
                                              size_t to) {
  const size_t bad = FirstMismatch(p, seed, from, to);
  if (bad == std::numeric_limits<size_t>::max()) {
    return ::testing::AssertionSuccess();
  }
  const auto got = static_cast<const unsigned char*>(p)[bad];
  const uint64_t w = PatternWord(seed, bad / 8);
  const auto want = reinterpret_cast<const unsigned char*>(&w)[bad % 8];
  return ::testing::AssertionFailure()
         << "block " << p << " (size " << size << ", seed " << seed
         << "): byte at offset " << bad << " is " << int{got} << ", expected "
         << int{want};
}

// Full pattern over the first `size` bytes.
inline void FillPattern(void* p, size_t size, uint64_t seed) {
  FillRange(p, seed, 0, size);
}
inline ::testing::AssertionResult PatternIntact(const void* p, size_t size,
                                                uint64_t seed) {
  return RangeIntact(p, size, seed, 0, size);
}

// Sampled pattern for stress loops, where touching every byte of big blocks
// would dominate the run time: blocks up to 4 KiB are covered fully; larger
// ones get their first and last 256 bytes and 32 bytes at every 4 KiB.
inline constexpr size_t kSampleFullMax = 4096;
inline constexpr size_t kSampleEdge = 256;

template <typename F>
void ForEachSample(size_t size, F f) {
  constexpr size_t kStripe = 32, kStride = 4096;
  if (size <= kSampleFullMax) {
    f(size_t{0}, size);
    return;
  }
  f(size_t{0}, kSampleEdge);
  for (size_t off = kStride; off + kStripe <= size - kSampleEdge;
       off += kStride) {
    f(off, off + kStripe);
  }
  f(size - kSampleEdge, size);
}
inline void FillSampled(void* p, size_t size, uint64_t seed) {
  ForEachSample(size, [&](size_t a, size_t b) { FillRange(p, seed, a, b); });
}
inline ::testing::AssertionResult SampledIntact(const void* p, size_t size,
                                                uint64_t seed) {
  ::testing::AssertionResult r = ::testing::AssertionSuccess();
  ForEachSample(size, [&](size_t a, size_t b) {
    if (r) r = RangeIntact(p, size, seed, a, b);
  });
  return r;
}

// The first block whose (full or sampled) pattern is broken, if any.
inline ::testing::AssertionResult AllIntact(const std::vector<Block>& blocks,
                                            bool sampled = false) {
  for (const Block& b : blocks) {
    auto r = sampled ? SampledIntact(b.p, b.size, b.seed)
                     : PatternIntact(b.p, b.size, b.seed);
    if (!r) return r;
  }
  return ::testing::AssertionSuccess();
}

inline ::testing::AssertionResult AllZero(const void* p, size_t size) {
  static const unsigned char kZeros[4096] = {};
  const auto* b = static_cast<const unsigned char*>(p);
  for (size_t i = 0; i < size; i += sizeof kZeros) {
    const size_t len = std::min(sizeof kZeros, size - i);
    if (std::memcmp(b + i, kZeros, len) == 0) continue;
    for (size_t j = i;; ++j) {
      if (b[j] != 0) {
        return ::testing::AssertionFailure()
               << "block " << p << " (size " << size << "): byte at offset "
               << j << " is " << int{b[j]} << ", expected 0";
      }
    }
  }
  return ::testing::AssertionSuccess();
}

// ---- Block checks ----------------------------------------------------------

inline bool IsAligned(const void* p, size_t alignment) {
  return reinterpret_cast<uintptr_t>(p) % alignment == 0;
}

// Non-NULL, aligned to max(alignment, 16), and hak_usable_size >= size.
inline ::testing::AssertionResult WellFormed(const void* p, size_t size,
                                             size_t alignment = kMinAlign) {
  if (p == nullptr) {
    return ::testing::AssertionFailure() << "NULL for size " << size;
  }
  const size_t a = std::max(alignment, kMinAlign);
  if (!IsAligned(p, a)) {
    return ::testing::AssertionFailure()
           << p << " (size " << size << ") is not " << a << "-byte aligned";
  }
  const size_t usable = hak_usable_size(p);
  if (usable < size) {
    return ::testing::AssertionFailure()
           << p << ": hak_usable_size " << usable << " < requested " << size;
  }
  return ::testing::AssertionSuccess();
}

// No two blocks share a byte of their requested ranges, and no two start at
// the same address (which also covers zero-size blocks).
inline ::testing::AssertionResult Disjoint(std::vector<Block> blocks) {
  std::sort(blocks.begin(), blocks.end(), [](const Block& a, const Block& b) {
    return reinterpret_cast<uintptr_t>(a.p) < reinterpret_cast<uintptr_t>(b.p);
  });
  for (size_t i = 1; i < blocks.size(); ++i) {
    const auto prev = reinterpret_cast<uintptr_t>(blocks[i - 1].p);
    const auto cur = reinterpret_cast<uintptr_t>(blocks[i].p);
    if (prev == cur || prev + blocks[i - 1].size > cur) {
      return ::testing::AssertionFailure()
             << "blocks overlap: " << blocks[i - 1].p << " (size "
             << blocks[i - 1].size << ") and " << blocks[i].p << " (size "
             << blocks[i].size << ")";
    }
  }
  return ::testing::AssertionSuccess();
}

// ---- Statistics ------------------------------------------------------------

inline hak_stats Stats() {
  hak_stats s{};
  s.version = HAK_STATS_VERSION;
  s.size = sizeof s;
  EXPECT_EQ(hak_stats_get(&s), 0);
  return s;
}

inline uint64_t MappedBytes() { return Stats().os_mapped_bytes; }

// ---- Randomness ------------------------------------------------------------

// SplitMix64; also a UniformRandomBitGenerator for std::shuffle.
class Rng {
 public:
  using result_type = uint64_t;
  explicit Rng(uint64_t seed) : state_(seed) {}
  static constexpr result_type min() { return 0; }
  static constexpr result_type max() { return ~result_type{0}; }
  result_type operator()() { return Next(); }

  uint64_t Next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n); n > 0.
  size_t Below(size_t n) { return static_cast<size_t>(Next() % n); }
  // Uniform in [lo, hi].
  size_t Between(size_t lo, size_t hi) { return lo + Below(hi - lo + 1); }

 private:
  uint64_t state_;
};

// A request size mixing the tiers the way programs do: 80% tiny (0..1 KiB),
// 18% pool (log-uniform over 1 KiB..256 KiB), 2% large (256 KiB..1 MiB).
inline size_t RandomSize(Rng& rng) {
  const size_t r = rng.Below(100);
  if (r < 80) return rng.Below(kTinyMax + 1);
  if (r < 98) {
    const size_t lo = size_t{1} << (10 + rng.Below(8));  // 1 KiB .. 128 KiB
    return rng.Between(lo + 1, 2 * lo);
  }
  return rng.Between(kPoolMax + 1, kMiB);
}

}  // namespace hakmem_test

#endif  // HAKMEM_TESTS_TEST_UTIL_H_

// The contents the fuzzers keep in every live block: a byte pattern unique
// to the block (its seed), so that a block handed out twice, overlapping
// another, scribbled on by the allocator, or copied wrongly by realloc
// fails the check.
//
// Byte i of a block with seed s is byte i % 8 of the word
// (s + i / 8) * 0x9E3779B97F4A7C15.
// Blocks up to 16 KiB are written and checked whole. Bigger ones only at
// sampled ranges (their first and last 4 KiB and 64 bytes every 16 KiB),
// which catches misplaced or lost pages without touching every page.
#ifndef HAKMEM_FUZZ_BLOCK_PATTERN_H_
#define HAKMEM_FUZZ_BLOCK_PATTERN_H_

#include <cstddef>
#include <cstdint>

namespace fuzz {

inline constexpr size_t kNoMismatch = ~size_t{0};

// Writes the pattern of `seed` into the sampled ranges of an `n`-byte block.
void FillPattern(void* p, size_t n, uint64_t seed);

// The offset of the first byte below `limit` that differs from the pattern
// of `seed`, among the ranges FillPattern(p, filled, seed) wrote; or
// kNoMismatch. (`limit` < `filled` checks the prefix realloc must keep.)
size_t FindPatternMismatch(const void* p, size_t filled, size_t limit,
                           uint64_t seed);

// The offset of the first non-zero byte in the sampled ranges of an `n`-byte
// block, or kNoMismatch.
size_t FindNonZero(const void* p, size_t n);

}  // namespace fuzz

#endif  // HAKMEM_FUZZ_BLOCK_PATTERN_H_

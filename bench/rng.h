// A small seedable PRNG (xorshift64*): cheap enough not to dominate an
// allocation benchmark, and the same sequence for every allocator.
#ifndef HAKMEM_BENCH_RNG_H_
#define HAKMEM_BENCH_RNG_H_

#include <cstdint>

namespace bench {

class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(Mix(seed)) {}

  uint64_t Next() {
    state_ ^= state_ >> 12;
    state_ ^= state_ << 25;
    state_ ^= state_ >> 27;
    return state_ * 0x2545F4914F6CDD1Dull;
  }

  // Uniform in [0, n) for n < 2^32.
  uint32_t Below(uint32_t n) {
    return static_cast<uint32_t>(((Next() >> 32) * n) >> 32);
  }

 private:
  // splitmix64's finaliser: distinct seeds give unrelated, non-zero states.
  static uint64_t Mix(uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    x ^= x >> 31;
    return x != 0 ? x : 1;
  }

  uint64_t state_;
};

}  // namespace bench

#endif  // HAKMEM_BENCH_RNG_H_

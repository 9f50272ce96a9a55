// The body of the fast-path instruction counters: N malloc/free pairs of
// 32 B, back to back, so that after the first pair every one is a hot
// thread-cache pop and push. Blocks of the same size are kept live
// meanwhile, as in any real program: otherwise each free would empty its
// page, a slow path some allocators take on purpose (mimalloc retires the
// page: about 90 instructions per free instead of about 15).
// Usage: <program> N. Run under callgrind with two values of N; the
// difference over the difference in N is the instructions per pair,
// start-up and exit cancelled (bench/instructions_per_pair.sh).
#ifndef HAKMEM_BENCH_PAIR_LOOP_H_
#define HAKMEM_BENCH_PAIR_LOOP_H_

#include <cstddef>
#include <cstdio>
#include <cstdlib>

namespace bench {

inline constexpr size_t kPairLoopSize = 32;
inline constexpr int kPairLoopLiveBlocks = 64;

template <void* (*Alloc)(size_t), void (*Free)(void*)>
int PairLoopMain(int argc, char** argv) {
  long pairs = argc == 2 ? std::strtol(argv[1], nullptr, 10) : 0;
  if (pairs <= 0) {
    std::fprintf(stderr, "usage: %s PAIRS\n", argv[0]);
    return 2;
  }
  void* live[kPairLoopLiveBlocks];
  for (void*& p : live) p = Alloc(kPairLoopSize);
  for (long i = 0; i < pairs; ++i) {
    void* p = Alloc(kPairLoopSize);
    // The block escapes: the compiler may not drop the pair.
    asm volatile("" : : "r"(p) : "memory");
    Free(p);
  }
  for (void* p : live) Free(p);
  return 0;
}

}  // namespace bench

#endif  // HAKMEM_BENCH_PAIR_LOOP_H_

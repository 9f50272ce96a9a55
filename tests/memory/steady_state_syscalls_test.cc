// A steady malloc/free loop makes no mmap, munmap or madvise once warm
// (counted with hak_stats). BUILD.bazel runs each loop in a process of its
// own (--gtest_filter): what other tests leave mapped, and the threads they
// ran, would change what "steady" starts from from run to run.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "gtest/gtest.h"
#include "tests/memory/rss.h"

namespace hakmem_test {
namespace {

uint64_t SystemCalls() {
  hak_stats s = Stats();
  return s.os_map_calls + s.os_unmap_calls + s.os_decommit_calls;
}

// Replaces random slots of a ring of 4096 blocks, 200000 times per round,
// with sizes from `size_of(random)`. Returns the system calls hakmem made
// over `rounds` rounds after a warm-up that ends with kQuietRounds rounds
// in a row that made none (at most kMaxWarmupRounds: a footprint that
// swings by more than the decommit budget takes a swing to raise it, and
// spans of several slabs take a while to settle into SuperSlabs).
template <typename SizeOf>
uint64_t SyscallsInSteadyState(SizeOf size_of, int rounds) {
  constexpr int kQuietRounds = 20, kMaxWarmupRounds = 300;
  std::vector<void*> ring(4096, nullptr);
  unsigned x = 1;
  auto round = [&] {
    for (int i = 0; i < 200000; ++i) {
      x = x * 1103515245u + 12345u;
      size_t slot = (x >> 8) % ring.size();
      hak_free(ring[slot]);
      ring[slot] = hak_malloc(size_of(x));
    }
  };
  int quiet = 0;
  for (int warm = 0; warm < kMaxWarmupRounds && quiet < kQuietRounds; ++warm) {
    uint64_t calls = SystemCalls();
    round();
    quiet = SystemCalls() == calls ? quiet + 1 : 0;
  }
  uint64_t before = SystemCalls();
  for (int i = 0; i < rounds; ++i) round();
  uint64_t calls = SystemCalls() - before;
  for (void* p : ring) hak_free(p);
  return calls;
}

TEST(SteadyStateSyscallsTest, SmallBlocks) {
  // Tiny and small pool blocks, 16 B to 4 KiB.
  EXPECT_EQ(SyscallsInSteadyState(
                [](unsigned x) { return 16 + (x >> 12) % 4081; }, 3),
            0u);
}

TEST(SteadyStateSyscallsTest, WithMultiSlabPoolBlocks) {
  // One in eight up to 62 KiB: spans of several slabs come and go as each
  // class's few blocks wander, and the footprint swings by more than the
  // default decommit budget until the budget adapts.
  EXPECT_EQ(SyscallsInSteadyState(
                [](unsigned x) {
                  return (x >> 20) % 8 == 0 ? 2000 + (x >> 12) % 60000
                                            : 16 + (x >> 12) % 1000;
                },
                3),
            0u);
}

}  // namespace
}  // namespace hakmem_test

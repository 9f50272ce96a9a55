// Repeating the same work must not make the allocator map more and more
// memory: after warm-up rounds, hak_stats os_mapped_bytes stays within a
// small slack for same-size batches, a random working set across tiers,
// growing-then-shrinking bursts, and a long sequence of short-lived threads.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <thread>
#include <vector>

#include "capi/hakmem.h"
#include "gtest/gtest.h"
#include "tests/test_util.h"

namespace hakmem_test {
namespace {

constexpr int kRounds = 10;
constexpr int kWarmupRounds = 2;
constexpr uint64_t kSlack = 8 * kMiB;

// Runs round(1) .. round(kRounds). After every round past the warm-up,
// os_mapped_bytes must be at most its value after warm-up plus kSlack.
template <typename Round>
void ExpectBoundedMapping(Round round) {
  uint64_t baseline = 0;
  for (int r = 1; r <= kRounds; ++r) {
    round(r);
    if (::testing::Test::HasFatalFailure()) return;
    const uint64_t mapped = MappedBytes();
    if (r == kWarmupRounds) baseline = mapped;
    if (r > kWarmupRounds) {
      ASSERT_LE(mapped, baseline + kSlack)
          << "os_mapped_bytes after round " << r << "; it was " << baseline
          << " after round " << kWarmupRounds;
    }
  }
}

Block AllocFilled(size_t size, uint64_t seed) {
  void* p = hak_malloc(size);
  EXPECT_TRUE(WellFormed(p, size));
  if (p != nullptr) FillSampled(p, size, seed);
  return {p, size, seed};
}

void CheckAndFree(const Block& b) {
  EXPECT_TRUE(SampledIntact(b.p, b.size, b.seed));
  hak_free(b.p);
}

class SteadySameSizeTest : public ::testing::TestWithParam<size_t> {};

TEST_P(SteadySameSizeTest, BatchesOfOneSize) {
  const size_t size = GetParam();
  const size_t count = std::clamp<size_t>(16 * kMiB / size, 16, 20000);
  ExpectBoundedMapping([&](int round) {
    std::vector<Block> blocks;
    for (size_t i = 0; i < count; ++i) {
      blocks.push_back(AllocFilled(size, (uint64_t(round) << 32) + i));
      ASSERT_NE(blocks.back().p, nullptr);
    }
    for (const Block& b : blocks) CheckAndFree(b);
  });
}

INSTANTIATE_TEST_SUITE_P(Sizes, SteadySameSizeTest,
                         ::testing::Values(32, 1024, 4096, 65536, kPoolMax + 1,
                                           kMiB));

TEST(SteadyStateTest, RandomSizesWithWorkingSet) {
  constexpr size_t kSlots = 2000;
  const size_t ops = Scaled(20000);
  ExpectBoundedMapping([&](int round) {
    // The same sequence of sizes every round.
    Rng rng(42);
    std::vector<Block> slots(kSlots, Block{nullptr, 0, 0});
    for (size_t op = 0; op < ops; ++op) {
      Block& b = slots[rng.Below(kSlots)];
      if (b.p != nullptr) CheckAndFree(b);
      b = AllocFilled(RandomSize(rng), (uint64_t(round) << 32) + op);
      ASSERT_NE(b.p, nullptr);
    }
    for (const Block& b : slots) {
      if (b.p != nullptr) CheckAndFree(b);
    }
  });
}

TEST(SteadyStateTest, GrowThenShrinkBursts) {
  // Sizes grow by 25% steps from 16 B to 1 MiB (many of each small size);
  // a burst runs through them kCycles times, then frees everything.
  std::vector<size_t> sizes;
  for (size_t s = 16; s <= kMiB; s += s / 4) {
    for (size_t n = std::max<size_t>(1, 64 * kKiB / s); n > 0; --n) {
      sizes.push_back(s);
    }
  }
  const size_t cycles = Scaled(3);
  ExpectBoundedMapping([&](int round) {
    // Each round: one burst freed newest-first (shrinking back), one freed
    // even blocks first and odd ones later (fragmenting first).
    for (int order = 0; order < 2; ++order) {
      std::vector<Block> burst;
      uint64_t seed = (uint64_t(round) << 32) | (uint64_t(order) << 31);
      for (size_t c = 0; c < cycles; ++c) {
        for (size_t s : sizes) {
          burst.push_back(AllocFilled(s, seed++));
          ASSERT_NE(burst.back().p, nullptr);
        }
      }
      if (order == 0) {
        for (auto it = burst.rbegin(); it != burst.rend(); ++it) {
          CheckAndFree(*it);
        }
      } else {
        for (size_t i = 0; i < burst.size(); i += 2) CheckAndFree(burst[i]);
        for (size_t i = 1; i < burst.size(); i += 2) CheckAndFree(burst[i]);
      }
    }
  });
}

TEST(SteadyStateTest, ShortLivedThreadsInSequence) {
  constexpr int kThreads = 200, kWarmupThreads = 20, kCheckEvery = 20;
  constexpr size_t kLeftEvery = 256;  // Every 256th block is left for main.
  const size_t per_thread = Scaled(3000);
  const uint64_t threads_before = Stats().threads_live;
  uint64_t baseline = 0;
  for (int t = 1; t <= kThreads; ++t) {
    std::vector<Block> left;
    std::thread([&] {
      Rng rng(t);
      std::vector<Block> mine;
      for (size_t i = 0; i < per_thread; ++i) {
        // Mostly tiny, every 50th block from the pool tier.
        const size_t size = i % 50 == 49 ? rng.Between(kTinyMax + 1, 64 * kKiB)
                                         : rng.Below(kTinyMax + 1);
        mine.push_back(AllocFilled(size, (uint64_t(t) << 32) + i));
        if (mine.back().p == nullptr) return;
      }
      for (size_t i = 0; i < mine.size(); ++i) {
        if (i % kLeftEvery == kLeftEvery / 2) {
          left.push_back(mine[i]);
        } else {
          CheckAndFree(mine[i]);
        }
      }
    }).join();
    ASSERT_FALSE(HasFailure()) << "thread " << t;
    ASSERT_FALSE(left.empty());
    for (const Block& b : left) CheckAndFree(b);

    if (t % kCheckEvery != 0) continue;
    const uint64_t mapped = MappedBytes();
    if (t == kWarmupThreads) baseline = mapped;
    if (t > kWarmupThreads) {
      ASSERT_LE(mapped, baseline + kSlack)
          << "os_mapped_bytes after " << t << " threads; it was " << baseline
          << " after " << kWarmupThreads;
    }
  }
  // Exited threads no longer count as having a heap.
  EXPECT_EQ(Stats().threads_live, threads_before);
}

}  // namespace
}  // namespace hakmem_test

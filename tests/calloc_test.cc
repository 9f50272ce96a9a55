// hak_calloc returns zeroed memory in every tier, also when the memory was
// dirtied and freed before (by this thread or another one), and fails with
// ENOMEM when count * size overflows or is impossibly large.
#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <thread>
#include <utility>
#include <vector>

#include "capi/hakmem.h"
#include "gtest/gtest.h"
#include "tests/test_util.h"

namespace hakmem_test {
namespace {

constexpr unsigned char kDirt = 0xAB;

// Writes garbage over the whole usable size and frees.
void DirtyAndFree(void* p) {
  std::memset(p, kDirt, hak_usable_size(p));
  hak_free(p);
}

// calloc split three ways: (1, size), (size, 1) and, when possible, (size/8,
// 8).
void* CallocVariant(size_t size, size_t i) {
  switch (i % 3) {
    case 0:
      return hak_calloc(1, size);
    case 1:
      return hak_calloc(size, 1);
    default:
      return size % 8 == 0 ? hak_calloc(size / 8, 8) : hak_calloc(1, size);
  }
}

class CallocZeroTest : public ::testing::TestWithParam<size_t> {};

TEST_P(CallocZeroTest, FreshAndRecycledMemoryIsZero) {
  const size_t size = GetParam();
  const size_t count = std::clamp<size_t>(8 * kMiB / size, 2, 256);
  const int rounds = kTsan ? 2 : 4;
  // Round 0 dirties fresh blocks; every later round gets calloc blocks on
  // memory that the previous round dirtied and freed.
  for (int round = 0; round < rounds; ++round) {
    std::vector<void*> blocks;
    for (size_t i = 0; i < count; ++i) {
      blocks.push_back(hak_malloc(size));
      ASSERT_TRUE(WellFormed(blocks.back(), size));
    }
    for (void* p : blocks) DirtyAndFree(p);
    blocks.clear();
    for (size_t i = 0; i < count; ++i) {
      void* p = CallocVariant(size, i);
      ASSERT_TRUE(WellFormed(p, size));
      ASSERT_TRUE(AllZero(p, size)) << "round " << round << ", block " << i;
      blocks.push_back(p);
    }
    for (void* p : blocks) DirtyAndFree(p);
  }
}

INSTANTIATE_TEST_SUITE_P(Sizes, CallocZeroTest,
                         ::testing::Values(1, 16, 100, 1000, 1024, 1025, 4000,
                                           65536, 200000, kPoolMax,
                                           kPoolMax + 1, kMiB, 3 * kMiB));

TEST(CallocTest, MemoryDirtiedByAnotherThreadIsZero) {
  const std::vector<size_t> sizes = {24, 512, 1024, 3000, 40000, kPoolMax + 1};
  for (int round = 0; round < 3; ++round) {
    // The thread dirties blocks, frees half itself (some still cached in its
    // heap when it exits) and hands the other half to main.
    std::vector<void*> handed;
    std::thread t([&] {
      for (size_t size : sizes) {
        for (int i = 0; i < 64; ++i) {
          void* p = hak_malloc(size);
          if (p == nullptr) return;
          std::memset(p, kDirt, hak_usable_size(p));
          if (i % 2 == 0) {
            hak_free(p);
          } else {
            handed.push_back(p);
          }
        }
      }
    });
    t.join();
    ASSERT_EQ(handed.size(), sizes.size() * 32);
    for (void* p : handed) hak_free(p);
    for (size_t size : sizes) {
      std::vector<void*> blocks;
      for (int i = 0; i < 128; ++i) {
        void* p = hak_calloc(1, size);
        ASSERT_TRUE(WellFormed(p, size));
        ASSERT_TRUE(AllZero(p, size)) << "round " << round << ", block " << i;
        blocks.push_back(p);
      }
      for (void* p : blocks) DirtyAndFree(p);
    }
  }
}

TEST(CallocTest, ZeroCountOrSizeIsFreeable) {
  for (auto [count, size] : {std::pair<size_t, size_t>{0, 0},
                             {0, 16},
                             {16, 0},
                             {0, SIZE_MAX},
                             {SIZE_MAX, 0}}) {
    errno = 0;
    void* p = hak_calloc(count, size);
    // Like hak_malloc(0): a unique, freeable pointer.
    EXPECT_NE(p, nullptr) << count << " x " << size;
    EXPECT_TRUE(IsAligned(p, kMinAlign));
    hak_free(p);
  }
}

TEST(CallocTest, OverflowFailsWithEnomem) {
  const size_t kSizeMax = SIZE_MAX;
  const size_t kHalf = kSizeMax / 2 + 1;
  const size_t k2to32 = size_t{1} << 32;
  for (auto [count, size] : {std::pair<size_t, size_t>{kHalf, 2},
                             {2, kHalf},
                             {kSizeMax, kSizeMax},
                             {kSizeMax, 2},
                             {k2to32, k2to32},
                             {kSizeMax / 16 + 1, 16},
                             {16, kSizeMax / 16 + 1},
                             {k2to32 + 1, k2to32}}) {
    errno = 0;
    void* p = hak_calloc(count, size);
    const int err = errno;
    EXPECT_EQ(p, nullptr) << count << " x " << size;
    EXPECT_EQ(err, ENOMEM) << count << " x " << size;
    if (p != nullptr) hak_free(p);
  }
}

TEST(CallocTest, ImpossibleSizeFailsWithEnomem) {
  const size_t kSizeMax = SIZE_MAX;
  const size_t kPtrdiffMax = PTRDIFF_MAX;
  for (auto [count, size] : {std::pair<size_t, size_t>{1, kSizeMax},
                             {kSizeMax, 1},
                             {kPtrdiffMax, 1},
                             {1, kPtrdiffMax},
                             {size_t{1} << 31, size_t{1} << 31},
                             {kPtrdiffMax / 8, 8}}) {
    errno = 0;
    void* p = hak_calloc(count, size);
    const int err = errno;
    EXPECT_EQ(p, nullptr) << count << " x " << size;
    EXPECT_EQ(err, ENOMEM) << count << " x " << size;
    if (p != nullptr) hak_free(p);
  }
  // Still usable afterwards.
  void* p = hak_calloc(100, 100);
  ASSERT_TRUE(WellFormed(p, 10000));
  EXPECT_TRUE(AllZero(p, 10000));
  hak_free(p);
}

}  // namespace
}  // namespace hakmem_test

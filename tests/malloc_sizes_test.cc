// hak_malloc over every small size, every size-class edge and large sizes:
// blocks are 16-byte aligned, at least as big as requested, fully writable
// and never overlap; plus hak_malloc(0), hak_free(NULL), hak_free_sized,
// hak_version and ENOMEM for impossible sizes.
#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "capi/hakmem.h"
#include "gtest/gtest.h"
#include "tests/test_util.h"

namespace hakmem_test {
namespace {

constexpr size_t kMaxEdge = 4 * kMiB;

// Every power of two from 16 B to 4 MiB and its quarter steps (the class
// boundaries of all tiers: 4 classes per doubling), each -1, +0 and +1.
std::vector<size_t> ClassEdgeSizes() {
  std::vector<size_t> sizes;
  for (size_t p = 16; p <= kMaxEdge; p *= 2) {
    for (size_t q : {p, p + p / 4, p + p / 2, p + 3 * p / 4}) {
      for (size_t s : {q - 1, q, q + 1}) {
        if (s <= kMaxEdge + 1) sizes.push_back(s);
      }
    }
  }
  std::sort(sizes.begin(), sizes.end());
  sizes.erase(std::unique(sizes.begin(), sizes.end()), sizes.end());
  return sizes;
}

// Allocates all `sizes` so that they are live at the same time, checks each
// block, writes a distinct pattern over each requested size, then verifies
// every pattern and that no two blocks overlap. Frees in shuffled order,
// alternating hak_free and hak_free_sized(requested size).
void AllocateAllLiveThenVerify(const std::vector<size_t>& sizes,
                               uint64_t seed) {
  std::vector<Block> blocks;
  blocks.reserve(sizes.size());
  for (size_t size : sizes) {
    void* p = hak_malloc(size);
    ASSERT_TRUE(WellFormed(p, size));
    FillPattern(p, size, seed);
    blocks.push_back({p, size, seed++});
  }
  EXPECT_TRUE(AllIntact(blocks));
  EXPECT_TRUE(Disjoint(blocks));

  Rng rng(seed);
  std::shuffle(blocks.begin(), blocks.end(), rng);
  for (size_t i = 0; i < blocks.size(); ++i) {
    if (i % 2 == 0) {
      hak_free(blocks[i].p);
    } else {
      hak_free_sized(blocks[i].p, blocks[i].size);
    }
  }
}

std::vector<size_t> SizesUpTo(size_t max) {
  std::vector<size_t> sizes;
  for (size_t s = 0; s <= max; ++s) sizes.push_back(s);
  return sizes;
}

TEST(MallocSizesTest, EverySizeUpTo4096OneAtATime) {
  for (size_t size = 0; size <= 4096; ++size) {
    void* p = hak_malloc(size);
    ASSERT_TRUE(WellFormed(p, size));
    // Up to the whole usable size is the caller's to write.
    const size_t usable = hak_usable_size(p);
    FillPattern(p, usable, size);
    ASSERT_TRUE(PatternIntact(p, usable, size));
    hak_free(p);
  }
}

TEST(MallocSizesTest, EverySizeUpTo4096AllLive) {
  AllocateAllLiveThenVerify(SizesUpTo(4096), 1);
}

TEST(MallocSizesTest, ClassEdgesUpTo4MiBAllLive) {
  const std::vector<size_t> sizes = ClassEdgeSizes();
  // The second round runs on memory the first one freed.
  AllocateAllLiveThenVerify(sizes, 100000);
  AllocateAllLiveThenVerify(sizes, 200000);
}

// Many blocks of one size: fills several slabs (or large mappings) at once.
class MallocOneSizeTest : public ::testing::TestWithParam<size_t> {};

TEST_P(MallocOneSizeTest, ManyLiveBlocksDoNotOverlap) {
  const size_t size = GetParam();
  const size_t count = std::clamp<size_t>(32 * kMiB / size, 16, 16384);
  AllocateAllLiveThenVerify(std::vector<size_t>(count, size), size << 16);
}

INSTANTIATE_TEST_SUITE_P(Sizes, MallocOneSizeTest,
                         ::testing::Values(16, 48, 128, 1024, 1040, 4096, 65536,
                                           kPoolMax, kPoolMax + 1, kMiB));

TEST(MallocSizesTest, ZeroSizeGivesDistinctPointers) {
  // Interleaved with 1-byte blocks: a zero-size block must not alias them.
  std::vector<Block> blocks;
  for (size_t i = 0; i < 2000; ++i) {
    const size_t size = i % 2;
    void* p = hak_malloc(size);
    ASSERT_TRUE(WellFormed(p, size));
    FillPattern(p, size, i);
    blocks.push_back({p, size, i});
  }
  EXPECT_TRUE(Disjoint(blocks));
  EXPECT_TRUE(AllIntact(blocks));
  for (const Block& b : blocks) hak_free(b.p);
}

TEST(MallocSizesTest, FreeNullIsNoOp) {
  hak_free(nullptr);
  hak_free(nullptr);
  EXPECT_EQ(hak_usable_size(nullptr), 0u);
  AllocateAllLiveThenVerify({0, 1, 100, 2000, 70000, 300000}, 7);
}

TEST(MallocSizesTest, FreeSizedAcceptsRequestedOrUsableSize) {
  const std::vector<size_t> sizes = ClassEdgeSizes();
  for (int round = 0; round < 2; ++round) {
    for (size_t size : sizes) {
      void* p = hak_malloc(size);
      ASSERT_TRUE(WellFormed(p, size));
      FillSampled(p, size, size);
      ASSERT_TRUE(SampledIntact(p, size, size));
      hak_free_sized(p, round == 0 ? size : hak_usable_size(p));
    }
  }
  // The sized frees left the allocator consistent.
  AllocateAllLiveThenVerify(sizes, 300000);
}

TEST(MallocSizesTest, VersionMatchesHeader) {
  EXPECT_EQ(hak_version(), static_cast<uint32_t>(HAKMEM_VERSION));
  EXPECT_EQ(HAKMEM_VERSION, (HAKMEM_VERSION_MAJOR << 16) |
                                (HAKMEM_VERSION_MINOR << 8) |
                                HAKMEM_VERSION_PATCH);
}

TEST(MallocErrnoTest, ImpossibleSizesFailWithEnomem) {
  const size_t kSizeMax = SIZE_MAX;
  const size_t kPtrdiffMax = PTRDIFF_MAX;
  for (size_t size : {kSizeMax, kSizeMax - 1, kSizeMax - 15, kSizeMax - 4095,
                      kSizeMax - kPoolMax, kPtrdiffMax, kPtrdiffMax + 1,
                      kPtrdiffMax - 4095, size_t{1} << 62}) {
    errno = 0;
    void* p = hak_malloc(size);
    const int err = errno;
    EXPECT_EQ(p, nullptr) << "size " << size;
    EXPECT_EQ(err, ENOMEM) << "size " << size;
    if (p != nullptr) hak_free(p);
  }
  // A failure leaves the allocator usable.
  AllocateAllLiveThenVerify({1, 1000, 5000, 300000}, 9);
}

}  // namespace
}  // namespace hakmem_test

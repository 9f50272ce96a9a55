// hak_aligned_alloc: every power-of-two alignment from 1 B to 2 MiB with
// sizes around the alignment is honoured, writable, non-overlapping and
// freeable; non-power-of-two alignments fail with EINVAL and impossible
// requests with ENOMEM.
#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "capi/hakmem.h"
#include "gtest/gtest.h"
#include "tests/test_util.h"

namespace hakmem_test {
namespace {

constexpr size_t kMaxAlignShift = 21;  // 2 MiB

std::vector<size_t> SizesFor(size_t alignment) {
  std::vector<size_t> sizes = {
      0, 1, alignment - 1, alignment, alignment + 1, 3 * alignment, 100 * kKiB};
  std::sort(sizes.begin(), sizes.end());
  sizes.erase(std::unique(sizes.begin(), sizes.end()), sizes.end());
  return sizes;
}

// Allocates every (alignment, size) pair of one alignment with a small
// hak_malloc block in between (so aligned requests don't simply follow each
// other), checks, fills and verifies them all live, then frees.
void CheckAlignment(size_t alignment, uint64_t seed) {
  std::vector<Block> blocks;
  std::vector<void*> spacers;
  for (size_t size : SizesFor(alignment)) {
    void* p = hak_aligned_alloc(alignment, size);
    ASSERT_TRUE(WellFormed(p, size, alignment))
        << "alignment " << alignment << ", size " << size;
    FillPattern(p, size, seed);
    blocks.push_back({p, size, seed++});
    spacers.push_back(hak_malloc(24));
    ASSERT_NE(spacers.back(), nullptr);
  }
  EXPECT_TRUE(AllIntact(blocks)) << "alignment " << alignment;
  EXPECT_TRUE(Disjoint(blocks)) << "alignment " << alignment;
  for (size_t i = 0; i < blocks.size(); ++i) {
    // An aligned block is released with hak_free or, knowing its
    // alignment and size, with hak_free_aligned_sized.
    if (i % 2 == 0) {
      hak_free(blocks[i].p);
    } else {
      hak_free_aligned_sized(blocks[i].p, alignment, blocks[i].size);
    }
  }
  for (void* s : spacers) hak_free(s);
}

TEST(AlignedAllocTest, EveryPowerOfTwoAlignment) {
  // The second pass runs on memory the first one freed.
  for (int pass = 0; pass < 2; ++pass) {
    for (size_t shift = 0; shift <= kMaxAlignShift; ++shift) {
      CheckAlignment(size_t{1} << shift, (pass * 100 + shift) << 8);
    }
  }
}

TEST(AlignedAllocTest, ManyLiveBlocksPerAlignment) {
  for (auto [alignment, size] : {std::pair<size_t, size_t>{32, 48},
                                 {64, 100},
                                 {256, 1000},
                                 {4096, 100},
                                 {4096, 5000},
                                 {16384, 20000},
                                 {32768, 1000},
                                 {65536, 10},
                                 {65536, 100 * kKiB},
                                 {kMiB, 300 * kKiB}}) {
    std::vector<Block> blocks;
    const size_t count =
        std::clamp<size_t>(32 * kMiB / (size + alignment), 16, 256);
    for (uint64_t i = 0; i < count; ++i) {
      void* p = hak_aligned_alloc(alignment, size);
      ASSERT_TRUE(WellFormed(p, size, alignment))
          << "alignment " << alignment << ", size " << size;
      FillPattern(p, size, i);
      blocks.push_back({p, size, i});
    }
    EXPECT_TRUE(AllIntact(blocks)) << "alignment " << alignment;
    EXPECT_TRUE(Disjoint(blocks)) << "alignment " << alignment;
    for (const Block& b : blocks) hak_free(b.p);
  }
}

// Alignments up to 64 KiB come from the slab classes: a loop of them maps
// nothing once warm (a fresh mapping per call cost 8.6 us, 220x glibc).
TEST(AlignedAllocTest, SlabAlignmentsMakeNoSystemCallsWhenWarm) {
  for (size_t alignment : {size_t{8192}, size_t{16384}, size_t{65536}}) {
    for (int round = 0; round < 2; ++round) {
      const hak_stats before = Stats();
      for (int i = 0; i < 1000; ++i) {
        void* p = hak_aligned_alloc(alignment, 1000);
        ASSERT_TRUE(WellFormed(p, 1000, alignment));
        hak_free(p);
      }
      const hak_stats after = Stats();
      if (round == 1) {
        EXPECT_EQ(after.os_map_calls, before.os_map_calls)
            << "alignment " << alignment;
        EXPECT_EQ(after.os_unmap_calls, before.os_unmap_calls)
            << "alignment " << alignment;
      }
    }
  }
}

TEST(AlignedAllocTest, NonPowerOfTwoAlignmentFailsWithEinval) {
  for (size_t alignment :
       {size_t{0}, size_t{3}, size_t{5}, size_t{6}, size_t{7}, size_t{12},
        size_t{24}, size_t{48}, size_t{100}, size_t{4097}, size_t{3} << 20,
        (size_t{1} << 21) + 1, size_t{SIZE_MAX}}) {
    for (size_t size : {size_t{0}, size_t{1}, size_t{64}, size_t{5000}}) {
      errno = 0;
      void* p = hak_aligned_alloc(alignment, size);
      const int err = errno;
      EXPECT_EQ(p, nullptr) << "alignment " << alignment << ", size " << size;
      EXPECT_EQ(err, EINVAL) << "alignment " << alignment << ", size " << size;
      if (p != nullptr) hak_free(p);
    }
  }
}

TEST(AlignedAllocTest, ImpossibleRequestFailsWithEnomem) {
  const size_t kSizeMax = SIZE_MAX;
  const size_t kPtrdiffMax = PTRDIFF_MAX;
  for (auto [alignment, size] :
       {std::pair<size_t, size_t>{16, kSizeMax},
        {1, kSizeMax},
        {4096, kSizeMax - 4095},
        {64, kPtrdiffMax},
        {size_t{1} << 21, kPtrdiffMax},
        {size_t{1} << 21, kSizeMax - (size_t{1} << 21)},
        // No usable address is aligned to 2^62 or 2^63.
        {size_t{1} << 62, 1},
        {size_t{1} << 63, 16}}) {
    errno = 0;
    void* p = hak_aligned_alloc(alignment, size);
    const int err = errno;
    EXPECT_EQ(p, nullptr) << "alignment " << alignment << ", size " << size;
    EXPECT_EQ(err, ENOMEM) << "alignment " << alignment << ", size " << size;
    if (p != nullptr) hak_free(p);
  }
  CheckAlignment(4096, 1);  // Still usable afterwards.
}

}  // namespace
}  // namespace hakmem_test

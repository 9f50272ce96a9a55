#include "hakmem/size_class/size_class.h"

#include "gtest/gtest.h"

namespace hakmem::internal {
namespace {

TEST(SizeClassTest, EveryRequestMapsToTheSmallestClassThatFits) {
  for (size_t size = 0; size <= kPoolMaxSize; ++size) {
    unsigned cls = SlabClassOf(size);
    ASSERT_LT(cls, kNumClasses) << size;
    ASSERT_GE(ClassBlockSize(cls), size) << size;
    if (cls > 0) ASSERT_LT(ClassBlockSize(cls - 1), size) << size;
  }
}

TEST(SizeClassTest, ClassesAreNoCoarserThanSpecified) {
  for (unsigned c = 1; c < kNumClasses; ++c) {
    uint32_t prev = ClassBlockSize(c - 1), cur = ClassBlockSize(c);
    ASSERT_GT(cur, prev);
    ASSERT_EQ(cur % 16, 0u);
    if (cur <= 128) {
      EXPECT_EQ(cur - prev, 16u) << cur;
    } else {
      // 4 per doubling: the step is a quarter of the doubling's base.
      EXPECT_LE(cur - prev, prev / 4 + 1) << cur;
    }
  }
  EXPECT_EQ(ClassBlockSize(0), 16u);
  EXPECT_EQ(ClassBlockSize(kNumTinyClasses - 1), kTinyMaxSize);
  EXPECT_EQ(ClassBlockSize(kNumClasses - 1), kPoolMaxSize);
  EXPECT_EQ(TinyClassOf(kTinyMaxSize), kNumTinyClasses - 1);
  EXPECT_EQ(PoolClassOf(kTinyMaxSize + 1), kNumTinyClasses);
}

TEST(SizeClassTest, EveryPowerOfTwoIsAClass) {
  for (size_t p = 16; p <= kPoolMaxSize; p *= 2) {
    EXPECT_EQ(ClassBlockSize(SlabClassOf(p)), p);
  }
}

TEST(SizeClassTest, SpansHoldSeveralBlocks) {
  for (unsigned c = 0; c < kNumClasses; ++c) {
    const SizeClassInfo& info = ClassInfo(c);
    // Slab 0 of a SuperSlab loses up to 8 KiB to the header.
    size_t usable = info.span_slabs * kSlabSizeForClasses - 8192;
    EXPECT_GE(usable / info.block_size, 3u) << c;
    EXPECT_LE(info.span_slabs, 16u);
  }
}

}  // namespace
}  // namespace hakmem::internal

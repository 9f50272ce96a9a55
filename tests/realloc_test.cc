// hak_realloc: contents survive growing and shrinking within a class and
// across the tiny/pool/large tiers; realloc(NULL, n), realloc(p, 0); a
// failed realloc returns NULL with ENOMEM and leaves the block intact.
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

// Reallocates one block through `sizes` (all > 0) in order. After every
// step the first min(old, new) bytes must still hold the pattern; the rest
// of the new size is then filled. With `neighbours`, a small block is
// allocated after each step so that growing in place is not always possible.
void ReallocThrough(const std::vector<size_t>& sizes, bool neighbours) {
  constexpr uint64_t kSeed = 0x5EED;
  void* p = nullptr;
  size_t cur = 0;
  std::vector<void*> others;
  for (size_t size : sizes) {
    void* q = hak_realloc(p, size);
    ASSERT_TRUE(WellFormed(q, size)) << cur << " -> " << size;
    const size_t kept = std::min(cur, size);
    ASSERT_TRUE(PatternIntact(q, kept, kSeed)) << cur << " -> " << size;
    FillRange(q, kSeed, kept, size);
    p = q;
    cur = size;
    if (neighbours) {
      others.push_back(hak_malloc(size % 2000 + 1));
      ASSERT_NE(others.back(), nullptr);
    }
  }
  EXPECT_TRUE(PatternIntact(p, cur, kSeed));
  hak_free(p);
  for (void* o : others) hak_free(o);
}

std::vector<size_t> UpAndDown(std::vector<size_t> up) {
  std::vector<size_t> all = up;
  all.insert(all.end(), up.rbegin() + 1, up.rend());
  return all;
}

// tiny -> pool -> large and back, hitting each tier's first and last size.
const std::vector<size_t> kTierLadder = {
    8, 1000, 1024, 1025, 4096, 65536, 262144, 262145, 1 * kMiB, 3 * kMiB};

TEST(ReallocTest, ContentsSurviveTierLadder) {
  ReallocThrough(UpAndDown(kTierLadder), /*neighbours=*/false);
}

TEST(ReallocTest, ContentsSurviveTierLadderWithNeighbours) {
  ReallocThrough(UpAndDown(kTierLadder), /*neighbours=*/true);
}

TEST(ReallocTest, ContentsSurviveByteByByteResizing) {
  // Every size from 1 to 2 KiB (growth inside and across tiny classes).
  std::vector<size_t> sizes;
  for (size_t s = 1; s <= 2048; ++s) sizes.push_back(s);
  ReallocThrough(UpAndDown(sizes), /*neighbours=*/false);
  ReallocThrough(UpAndDown(sizes), /*neighbours=*/true);
}

TEST(ReallocTest, ContentsSurviveGeometricResizing) {
  // ~12% steps from 1 B to 4 MiB: many classes of every tier, and back.
  std::vector<size_t> sizes;
  for (size_t s = 1; s <= 4 * kMiB; s += s / 8 + 1) sizes.push_back(s);
  ReallocThrough(UpAndDown(sizes), /*neighbours=*/false);
  ReallocThrough(UpAndDown(sizes), /*neighbours=*/true);
}

TEST(ReallocTest, SameOrUsableSizeKeepsContents) {
  for (size_t size : kTierLadder) {
    void* p = hak_malloc(size);
    ASSERT_TRUE(WellFormed(p, size));
    FillPattern(p, size, size);
    p = hak_realloc(p, size);
    ASSERT_TRUE(WellFormed(p, size));
    ASSERT_TRUE(PatternIntact(p, size, size));
    const size_t usable = hak_usable_size(p);
    p = hak_realloc(p, usable);
    ASSERT_TRUE(WellFormed(p, usable));
    ASSERT_TRUE(PatternIntact(p, size, size));
    hak_free(p);
  }
}

TEST(ReallocTest, NullPointerActsAsMalloc) {
  for (size_t size :
       {size_t{1}, size_t{100}, size_t{1024}, size_t{5000}, size_t{300000}}) {
    void* p = hak_realloc(nullptr, size);
    ASSERT_TRUE(WellFormed(p, size));
    FillPattern(p, size, size);
    EXPECT_TRUE(PatternIntact(p, size, size));
    hak_free(p);
  }
}

TEST(ReallocTest, ZeroSizeFreesAndReturnsNull) {
  for (size_t size : {size_t{1}, size_t{100}, size_t{5000}, size_t{300000}}) {
    void* p = hak_malloc(size);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(hak_realloc(p, 0), nullptr) << "size " << size;
  }
  // A large block is visibly released.
  const uint64_t live_before = Stats().large_live;
  void* p = hak_malloc(2 * kMiB);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(Stats().large_live, live_before + 1);
  EXPECT_EQ(hak_realloc(p, 0), nullptr);
  EXPECT_EQ(Stats().large_live, live_before);
}

TEST(ReallocTest, FailureReturnsEnomemAndKeepsBlock) {
  const size_t kSizeMax = SIZE_MAX;
  const size_t kPtrdiffMax = PTRDIFF_MAX;
  for (size_t size : {size_t{100}, size_t{5000}, size_t{300000}}) {
    void* p = hak_malloc(size);
    ASSERT_TRUE(WellFormed(p, size));
    FillPattern(p, size, size);
    for (size_t huge : {kSizeMax, kSizeMax - 4095, kPtrdiffMax}) {
      errno = 0;
      void* q = hak_realloc(p, huge);
      const int err = errno;
      EXPECT_EQ(q, nullptr) << size << " -> " << huge;
      EXPECT_EQ(err, ENOMEM) << size << " -> " << huge;
      if (q != nullptr) {  // Don't touch freed memory below.
        hak_free(q);
        return;
      }
      ASSERT_TRUE(WellFormed(p, size));
      ASSERT_TRUE(PatternIntact(p, size, size));
    }
    // The caller still owns p and may keep using it.
    p = hak_realloc(p, 2 * size);
    ASSERT_TRUE(WellFormed(p, 2 * size));
    EXPECT_TRUE(PatternIntact(p, size, size));
    hak_free(p);
  }
}

}  // namespace
}  // namespace hakmem_test

// hakmem::Layout: only valid layouts can be made; the factories reject bad
// alignments and sizes that overflow.
#include "hakmem/cxx/layout.h"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <type_traits>

#include "gtest/gtest.h"

namespace hakmem {
namespace {

struct alignas(64) Line {
  char bytes[64];
};
struct alignas(4096) Page {
  char bytes[4096];
};

// Invalid layouts cannot be constructed: no default constructor, and the
// (size, align) constructor is private to the validating factories.
static_assert(!std::is_default_constructible_v<Layout>);
static_assert(!std::is_constructible_v<Layout, size_t, size_t>);
static_assert(std::is_trivially_copyable_v<Layout>);

// Usable in constant expressions.
static_assert(Layout::Of<int>().size() == sizeof(int));
static_assert(Layout::Of<int>().align() == alignof(int));
static_assert(Layout::Of<Page>().over_aligned());
static_assert(!Layout::Of<long double>().over_aligned());
static_assert(!Layout::FromSizeAlign(8, 3).has_value());
static_assert(Layout::ArrayOf<int>(10)->size() == 40);

TEST(LayoutTest, AcceptsEveryPowerOfTwoAlignment) {
  for (size_t align = 1; align <= (size_t{1} << 62); align <<= 1) {
    std::optional<Layout> l = Layout::FromSizeAlign(100, align);
    ASSERT_TRUE(l.has_value()) << align;
    EXPECT_EQ(l->size(), 100u);
    EXPECT_EQ(l->align(), align);
    EXPECT_EQ(l->over_aligned(), align > 16) << align;
  }
}

TEST(LayoutTest, TheLargestAlignmentOnlyFitsAnEmptyBlock) {
  // Rounding any non-zero size up to 2^63 leaves ptrdiff_t.
  const size_t align = size_t{1} << 63;
  EXPECT_TRUE(Layout::FromSizeAlign(0, align).has_value());
  EXPECT_FALSE(Layout::FromSizeAlign(1, align).has_value());
}

TEST(LayoutTest, RejectsAlignmentsThatAreNotPowersOfTwo) {
  for (size_t align : {size_t{0}, size_t{3}, size_t{6}, size_t{48},
                       size_t{4095}, SIZE_MAX, (SIZE_MAX >> 1) + 2}) {
    EXPECT_FALSE(Layout::FromSizeAlign(16, align).has_value()) << align;
  }
}

TEST(LayoutTest, SizeLimitIsPtrdiffMaxRoundedToTheAlignment) {
  for (size_t align : {size_t{1}, size_t{16}, size_t{4096}, size_t{1} << 40}) {
    const size_t max = static_cast<size_t>(PTRDIFF_MAX) - (align - 1);
    EXPECT_EQ(Layout::MaxSize(align), max);
    EXPECT_TRUE(Layout::FromSizeAlign(max, align).has_value()) << align;
    EXPECT_FALSE(Layout::FromSizeAlign(max + 1, align).has_value()) << align;
    EXPECT_FALSE(Layout::FromSizeAlign(SIZE_MAX, align).has_value()) << align;
  }
}

TEST(LayoutTest, ZeroSizeIsValid) {
  std::optional<Layout> l = Layout::FromSizeAlign(0, 1);
  ASSERT_TRUE(l.has_value());
  EXPECT_EQ(l->size(), 0u);
  EXPECT_EQ(Layout::ArrayOf<Page>(0)->size(), 0u);
}

TEST(LayoutTest, OfTakesSizeAndAlignmentOfTheType) {
  EXPECT_EQ(Layout::Of<Line>().size(), 64u);
  EXPECT_EQ(Layout::Of<Line>().align(), 64u);
  EXPECT_EQ(Layout::Of<Page>().align(), 4096u);
  EXPECT_EQ(Layout::Of<char[7]>().size(), 7u);
  EXPECT_EQ(Layout::Of<char[7]>().align(), 1u);
}

TEST(LayoutTest, ArrayOfDetectsOverflow) {
  EXPECT_EQ(Layout::ArrayOf<uint64_t>(1000)->size(), 8000u);
  EXPECT_EQ(Layout::ArrayOf<Page>(3)->align(), 4096u);
  EXPECT_FALSE(Layout::ArrayOf<uint64_t>(SIZE_MAX / 8 + 1).has_value());
  EXPECT_FALSE(Layout::ArrayOf<uint64_t>(SIZE_MAX).has_value());
  // Fits in size_t but not in ptrdiff_t.
  EXPECT_FALSE(Layout::ArrayOf<char>(SIZE_MAX).has_value());
  EXPECT_TRUE(
      Layout::ArrayOf<char>(static_cast<size_t>(PTRDIFF_MAX)).has_value());
}

TEST(LayoutTest, AlignedToOnlyRaises) {
  Layout l = Layout::Of<uint32_t>();
  EXPECT_EQ(l.AlignedTo(64)->align(), 64u);
  EXPECT_EQ(l.AlignedTo(64)->size(), 4u);
  EXPECT_EQ(l.AlignedTo(1)->align(), 4u);
  EXPECT_FALSE(l.AlignedTo(12).has_value());
  EXPECT_FALSE(
      Layout::FromSizeAlign(Layout::MaxSize(1), 1)->AlignedTo(16).has_value());
}

TEST(LayoutTest, WithSizeKeepsTheAlignment) {
  Layout l = Layout::Of<Line>();
  EXPECT_EQ(l.WithSize(1000)->size(), 1000u);
  EXPECT_EQ(l.WithSize(1000)->align(), 64u);
  EXPECT_FALSE(l.WithSize(SIZE_MAX).has_value());
}

TEST(LayoutTest, Equality) {
  EXPECT_EQ(Layout::Of<uint64_t>(), *Layout::FromSizeAlign(8, 8));
  EXPECT_NE(Layout::Of<uint64_t>(), *Layout::FromSizeAlign(8, 16));
  EXPECT_NE(Layout::Of<uint64_t>(), *Layout::FromSizeAlign(16, 8));
}

}  // namespace
}  // namespace hakmem

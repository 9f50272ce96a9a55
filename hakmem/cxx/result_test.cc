// hakmem::Result<T> and hakmem::Error: values, errors, move-only values,
// value_or, and the checked accesses that abort.
#include "hakmem/cxx/result.h"

#include <cerrno>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>

#include "gtest/gtest.h"
#include "hakmem/cxx/box.h"
#include "hakmem/cxx/test_support.h"

namespace hakmem {
namespace {

using hakmem_test::DeathTest;

static_assert(std::is_nothrow_move_constructible_v<Result<Box<int>>>);
static_assert(!std::is_copy_constructible_v<Result<Box<int>>>);
static_assert(std::is_copy_constructible_v<Result<int>>);
// An error converts implicitly, so `return Error::kOutOfMemory;` works.
static_assert(std::is_convertible_v<Error, Result<void*>>);
// No silent conversion to the value or to bool.
static_assert(!std::is_convertible_v<Result<int>, int>);
static_assert(!std::is_convertible_v<Result<int>, bool>);

Result<int> Half(int x) {
  if (x % 2 != 0) return Error::kInvalidLayout;
  return x / 2;
}

TEST(ResultTest, HoldsAValue) {
  Result<int> r = Half(10);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(static_cast<bool>(r));
  EXPECT_EQ(r.value(), 5);
  EXPECT_EQ(*r, 5);
  EXPECT_EQ(r.value_or(-1), 5);
}

TEST(ResultTest, HoldsAnError) {
  Result<int> r = Half(3);
  ASSERT_FALSE(r.ok());
  EXPECT_FALSE(static_cast<bool>(r));
  EXPECT_EQ(r.error(), Error::kInvalidLayout);
  EXPECT_EQ(r.value_or(-1), -1);
}

TEST(ResultTest, MoveOnlyValue) {
  Result<Box<std::string>> r = TryMakeBox<std::string>("boxed");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->get()->size(), 5u);
  Box<std::string> b = std::move(r).value();
  EXPECT_EQ(*b, "boxed");
}

TEST(ResultTest, ArrowReachesTheValue) {
  Result<std::string> r = std::string("abc");
  EXPECT_EQ(r->size(), 3u);
  const Result<std::string>& cr = r;
  EXPECT_EQ(cr->size(), 3u);
}

TEST(ResultTest, ValueOrMovesOutOfAnRvalue) {
  Result<std::unique_ptr<int>> ok = std::make_unique<int>(7);
  std::unique_ptr<int> p = std::move(ok).value_or(nullptr);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(*p, 7);
  Result<std::unique_ptr<int>> bad = Error::kOutOfMemory;
  EXPECT_EQ(std::move(bad).value_or(nullptr), nullptr);
}

TEST(ResultTest, ErrorsNameThemselvesAndMapToErrno) {
  EXPECT_STREQ(ErrorMessage(Error::kOutOfMemory), "out of memory");
  EXPECT_NE(std::string(ErrorMessage(Error::kInvalidLayout)).find("layout"),
            std::string::npos);
  EXPECT_EQ(ErrorToErrno(Error::kOutOfMemory), ENOMEM);
  EXPECT_EQ(ErrorToErrno(Error::kInvalidLayout), EINVAL);
}

TEST(ResultTest, ConstexprUse) {
  constexpr Result<int> r = 4;
  static_assert(r.ok() && *r == 4);
  constexpr Result<int> e = Error::kOutOfMemory;
  static_assert(!e.ok() && e.value_or(1) == 1);
}

using ResultDeathTest = DeathTest;

TEST_F(ResultDeathTest, ValueOfAnErrorAborts) {
  EXPECT_DEATH(
      {
        Result<int> r = Error::kOutOfMemory;
        (void)r.value();
      },
      "hakmem: hakmem::Result::value\\(\\) on an error: out of memory");
  EXPECT_DEATH(
      {
        Result<std::string> r = Error::kInvalidLayout;
        (void)r->size();
      },
      "Result::value\\(\\) on an error: invalid layout");
}

TEST_F(ResultDeathTest, ErrorOfAValueAborts) {
  EXPECT_DEATH(
      {
        Result<int> r = 1;
        (void)r.error();
      },
      "Result::error\\(\\) on a value");
}

}  // namespace
}  // namespace hakmem

// hakmem::Box<T> and Box<T[]>: ownership, moves, sized free (including
// over-aligned types), arrays, exception safety, threads, and misuse caught
// by hakmem's detection layer.
#include "hakmem/cxx/box.h"

#include <cstddef>
#include <cstdint>
#include <new>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "capi/hakmem.h"
#include "gtest/gtest.h"
#include "hakmem/cxx/test_support.h"

namespace hakmem {
namespace {

using hakmem_test::DeathTest;
using hakmem_test::ErrorCapture;
using hakmem_test::IsAligned;
using hakmem_test::IsHakmemBlock;

// Counts live instances, and records destruction order by id.
struct Tracked {
  static inline int live = 0;
  static inline std::vector<int>* destroyed = nullptr;
  explicit Tracked(int id = -1) : id(id) { ++live; }
  Tracked(const Tracked& o) : id(o.id) { ++live; }
  ~Tracked() {
    --live;
    if (destroyed != nullptr) destroyed->push_back(id);
  }
  int id;
};

struct alignas(64) Line {
  uint64_t words[8] = {};
};
struct alignas(4096) Page {
  unsigned char bytes[4096] = {};
};

struct Base {
  int b = 0;
};
struct Derived : Base {
  int d = 0;
};

// Move-only, never null by accident, no upcasts (the block is freed with
// sizeof(T)).
static_assert(!std::is_copy_constructible_v<Box<int>>);
static_assert(!std::is_copy_assignable_v<Box<int>>);
static_assert(std::is_nothrow_move_constructible_v<Box<int>>);
static_assert(std::is_nothrow_move_assignable_v<Box<int>>);
static_assert(!std::is_default_constructible_v<Box<int>>);
static_assert(!std::is_constructible_v<Box<int>, int*>);
static_assert(!std::is_convertible_v<Box<Derived>, Box<Base>>);
static_assert(!std::is_constructible_v<Box<Base>, Box<Derived>&&>);
static_assert(!std::is_copy_constructible_v<Box<int[]>>);
static_assert(std::is_nothrow_move_constructible_v<Box<int[]>>);
// No overhead over a raw pointer (and a length for arrays).
static_assert(sizeof(Box<int>) == sizeof(int*));
static_assert(sizeof(Box<Page>) == sizeof(Page*));
static_assert(sizeof(Box<int[]>) == sizeof(int*) + sizeof(size_t));

TEST(BoxTest, MakeBoxConstructsInAHakmemBlock) {
  Box<std::string> b = MakeBox<std::string>(3, 'x');
  ASSERT_TRUE(b);
  EXPECT_EQ(*b, "xxx");
  EXPECT_EQ(b->size(), 3u);
  EXPECT_TRUE(IsHakmemBlock(b.get()));
  EXPECT_GE(hak_usable_size(b.get()), sizeof(std::string));
}

TEST(BoxTest, DestructorRunsOnceAndFreesWithTheRightSize) {
  ErrorCapture errors;  // a wrong size would be HAK_ERROR_SIZE_MISMATCH
  {
    Box<Tracked> b = MakeBox<Tracked>(1);
    EXPECT_EQ(Tracked::live, 1);
  }
  EXPECT_EQ(Tracked::live, 0);
  EXPECT_EQ(errors.count(), 0);
}

TEST(BoxTest, MovesTransferOwnership) {
  Box<Tracked> a = MakeBox<Tracked>(1);
  Tracked* raw = a.get();
  Box<Tracked> b = std::move(a);
  EXPECT_FALSE(a);  // NOLINT(bugprone-use-after-move): moved-from is empty
  EXPECT_EQ(a.get(), nullptr);
  EXPECT_EQ(b.get(), raw);
  EXPECT_EQ(Tracked::live, 1);

  Box<Tracked> c = MakeBox<Tracked>(2);
  c = std::move(b);  // destroys c's old object
  EXPECT_EQ(Tracked::live, 1);
  EXPECT_EQ(c->id, 1);
  EXPECT_FALSE(b);  // NOLINT(bugprone-use-after-move)

  Box<Tracked>& self = c;
  c = std::move(self);  // self-move keeps the object
  EXPECT_EQ(c->id, 1);
  EXPECT_EQ(Tracked::live, 1);

  Box<Tracked> d = MakeBox<Tracked>(4);
  swap(c, d);
  EXPECT_EQ(c->id, 4);
  EXPECT_EQ(d->id, 1);
  c.Reset();
  EXPECT_FALSE(c);
  EXPECT_EQ(Tracked::live, 1);
  c.Reset();  // twice is fine
}

TEST(BoxTest, ReleaseAndFromRawRoundTrip) {
  ErrorCapture errors;
  Box<Tracked> a = MakeBox<Tracked>(7);
  Tracked* raw = a.Release();
  EXPECT_FALSE(a);
  EXPECT_EQ(Tracked::live, 1);
  {
    Box<Tracked> b = Box<Tracked>::FromRaw(raw);
    EXPECT_EQ(b->id, 7);
  }
  EXPECT_EQ(Tracked::live, 0);

  Box<int[]> arr = MakeBox<int[]>(5);
  int* p = arr.Release();
  EXPECT_EQ(arr.size(), 0u);
  Box<int[]> back = Box<int[]>::FromRaw(p, 5);
  EXPECT_EQ(back.size(), 5u);
  back.Reset();
  EXPECT_EQ(errors.count(), 0);
}

TEST(BoxTest, AggregatesFromTheirMembers) {
  struct Point {
    int x, y;
    std::string name;
  };
  Box<Point> p = MakeBox<Point>(1, 2, "p");
  EXPECT_EQ(p->x, 1);
  EXPECT_EQ(p->y, 2);
  EXPECT_EQ(p->name, "p");
  Box<Point> zero = MakeBox<Point>();
  EXPECT_EQ(zero->x, 0);
}

TEST(BoxTest, ConstObjects) {
  Box<const std::string> b = MakeBox<const std::string>("c");
  EXPECT_EQ(*b, "c");
  Box<const int[]> a = MakeBox<const int[]>(3);
  EXPECT_EQ(a[2], 0);
}

TEST(BoxTest, OverAligned64) {
  ErrorCapture errors;
  std::vector<Box<Line>> lines;
  for (int i = 0; i < 200; ++i) {
    lines.push_back(MakeBox<Line>());
    ASSERT_TRUE(IsAligned(lines.back().get(), 64));
    lines.back()->words[7] = i;
  }
  for (int i = 0; i < 200; ++i) EXPECT_EQ(lines[i]->words[7], uint64_t(i));
  lines.clear();  // hak_free_aligned_sized(p, 64, 64) for each
  EXPECT_EQ(errors.count(), 0);
}

TEST(BoxTest, OverAligned4096) {
  ErrorCapture errors;
  for (int i = 0; i < 20; ++i) {
    Box<Page> p = MakeBox<Page>();
    ASSERT_TRUE(IsAligned(p.get(), 4096));
    EXPECT_TRUE(IsHakmemBlock(p.get()));
    EXPECT_EQ(p->bytes[4095], 0);  // value-initialized
    p->bytes[4095] = 1;
  }
  EXPECT_EQ(errors.count(), 0);
}

TEST(BoxTest, TryMakeBoxReportsNothingOnSuccess) {
  Result<Box<Line>> r = TryMakeBox<Line>();
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(IsAligned(r->get(), 64));
}

struct ThrowsInConstructor {
  explicit ThrowsInConstructor(bool do_throw) {
    if (do_throw) throw std::runtime_error("ctor");
  }
  char pad[40];
};

// A block of ThrowsInConstructor's class that this thread's cache hands
// out again at once after its free. A refill may serve a sampled block
// from the guarded pool instead (HAKMEM_GUARD_RATE), whose free keeps it
// in quarantine; cache hits are never sampled.
void* BlockTheCacheHandsBack() {
  for (int i = 0; i < 100; ++i) {
    void* freed;
    {
      Box<ThrowsInConstructor> probe = MakeBox<ThrowsInConstructor>(false);
      freed = probe.get();
    }
    Box<ThrowsInConstructor> again = MakeBox<ThrowsInConstructor>(false);
    if (again.get() == freed) return freed;
  }
  return nullptr;
}

TEST(BoxTest, ThrowingConstructorFreesTheBlock) {
  // hakmem's thread cache is LIFO: after a throwing construction freed its
  // block, the next block of that size class is the same one.
  void* first = BlockTheCacheHandsBack();
  if (first == nullptr) {
    GTEST_SKIP() << "every refill sampled (HAKMEM_GUARD_RATE=1?)";
  }
  EXPECT_THROW((void)MakeBox<ThrowsInConstructor>(true), std::runtime_error);
  EXPECT_THROW((void)TryMakeBox<ThrowsInConstructor>(true), std::runtime_error);
  Box<ThrowsInConstructor> again = MakeBox<ThrowsInConstructor>(false);
  EXPECT_EQ(again.get(), first) << "the failed constructions leaked";
}

// ---- Arrays ----------------------------------------------------------------

TEST(BoxArrayTest, ValueInitializedAndIndexable) {
  Box<uint64_t[]> a = MakeBox<uint64_t[]>(1000);
  ASSERT_EQ(a.size(), 1000u);
  EXPECT_FALSE(a.empty());
  EXPECT_TRUE(IsHakmemBlock(a.data()));
  for (uint64_t v : a) ASSERT_EQ(v, 0u);
  for (size_t i = 0; i < a.size(); ++i) a[i] = i * i;
  uint64_t sum = 0;
  for (uint64_t v : a) sum += v;
  EXPECT_EQ(sum, 332833500u);
}

TEST(BoxArrayTest, ElementsDestroyedInReverseOrder) {
  std::vector<int> order;
  Tracked::destroyed = &order;
  {
    Box<Tracked[]> a = MakeBox<Tracked[]>(4);
    EXPECT_EQ(Tracked::live, 4);
    for (int i = 0; i < 4; ++i) a[i].id = i;
  }
  Tracked::destroyed = nullptr;
  EXPECT_EQ(Tracked::live, 0);
  EXPECT_EQ(order, (std::vector<int>{3, 2, 1, 0}));
}

struct ThrowsOnFifth {
  static inline int made = 0;
  static inline int destroyed = 0;
  ThrowsOnFifth() {
    if (made == 4) throw std::runtime_error("fifth");
    ++made;
  }
  ~ThrowsOnFifth() { ++destroyed; }
};

TEST(BoxArrayTest, ThrowingElementUnwindsTheOthers) {
  EXPECT_THROW((void)MakeBox<ThrowsOnFifth[]>(10), std::runtime_error);
  EXPECT_EQ(ThrowsOnFifth::made, 4);
  EXPECT_EQ(ThrowsOnFifth::destroyed, 4);
}

TEST(BoxArrayTest, ZeroLength) {
  ErrorCapture errors;
  Box<std::string[]> a = MakeBox<std::string[]>(0);
  EXPECT_TRUE(a);  // a unique zero-size block
  EXPECT_TRUE(a.empty());
  EXPECT_EQ(a.begin(), a.end());
  a.Reset();
  EXPECT_EQ(errors.count(), 0);
}

TEST(BoxArrayTest, OverAlignedElements) {
  ErrorCapture errors;
  Box<Line[]> lines = MakeBox<Line[]>(100);
  EXPECT_TRUE(IsAligned(lines.data(), 64));
  for (Line& l : lines) EXPECT_TRUE(IsAligned(&l, 64));
  Box<Page[]> pages = MakeBox<Page[]>(3);
  EXPECT_TRUE(IsAligned(pages.data(), 4096));
  pages[2].bytes[4095] = 9;
  lines.Reset();
  pages.Reset();
  EXPECT_EQ(errors.count(), 0);
}

TEST(BoxArrayTest, SizeOverflowAndOutOfMemory) {
  Result<Box<uint64_t[]>> overflow = TryMakeBox<uint64_t[]>(SIZE_MAX / 4);
  ASSERT_FALSE(overflow.ok());
  EXPECT_EQ(overflow.error(), Error::kInvalidLayout);
  Result<Box<char[]>> huge = TryMakeBox<char[]>(size_t{1} << 60);
  ASSERT_FALSE(huge.ok());
  EXPECT_EQ(huge.error(), Error::kOutOfMemory);
  EXPECT_THROW((void)MakeBox<uint64_t[]>(SIZE_MAX / 4),
               std::bad_array_new_length);
  EXPECT_THROW((void)MakeBox<char[]>(size_t{1} << 60), std::bad_alloc);
}

// ---- Containers and threads ------------------------------------------------

TEST(BoxTest, VectorOfBoxesUnderLoad) {
  ErrorCapture errors;
  const size_t n = hakmem_test::Scaled(20000);
  std::vector<Box<std::string>> v;
  for (size_t i = 0; i < n; ++i) {
    v.push_back(MakeBox<std::string>(std::to_string(i)));
  }
  for (size_t i = 0; i < n; i += 2) v[i].Reset();
  for (size_t i = 1; i < n; i += 2) ASSERT_EQ(*v[i], std::to_string(i));
  v.clear();
  EXPECT_EQ(errors.count(), 0);
}

TEST(BoxTest, DestroyedOnAnotherThread) {
  ErrorCapture errors;
  std::vector<Box<Tracked>> objects;
  std::vector<Box<Line[]>> arrays;
  for (int i = 0; i < 300; ++i) {
    objects.push_back(MakeBox<Tracked>(i));
    arrays.push_back(MakeBox<Line[]>(i % 7));
  }
  std::thread([objects = std::move(objects),
               arrays = std::move(arrays)]() mutable {
    objects.clear();
    arrays.clear();
  }).join();
  EXPECT_EQ(Tracked::live, 0);
  EXPECT_EQ(errors.count(), 0);
}

// ---- Misuse ----------------------------------------------------------------

TEST(BoxMisuseTest, AdoptingTwiceIsADoubleFree) {
  ErrorCapture errors;
  int* raw = MakeBox<int>(5).Release();
  {
    Box<int> first = Box<int>::FromRaw(raw);
    Box<int> second = Box<int>::FromRaw(raw);
  }  // second, then first: the later free is reported and leaks
  ASSERT_EQ(errors.count(), 1);
  EXPECT_EQ(errors.kind(0), HAK_ERROR_DOUBLE_FREE);
  EXPECT_EQ(errors.ptr(0), raw);
}

TEST(BoxMisuseTest, AdoptingAForeignPointerIsReported) {
  ErrorCapture errors;
  static int not_from_hakmem = 1;
  { Box<int> b = Box<int>::FromRaw(&not_from_hakmem); }
  ASSERT_EQ(errors.count(), 1);
  EXPECT_EQ(errors.kind(0), HAK_ERROR_INVALID_FREE);
}

TEST(BoxMisuseTest, AdoptingWithTheWrongLengthIsASizeMismatch) {
  ErrorCapture errors;
  Box<uint64_t[]> a = MakeBox<uint64_t[]>(4);  // 32 bytes
  uint64_t* raw = a.Release();
  { Box<uint64_t[]> wrong = Box<uint64_t[]>::FromRaw(raw, 4096); }
  ASSERT_EQ(errors.count(), 1);
  EXPECT_EQ(errors.kind(0), HAK_ERROR_SIZE_MISMATCH);
  Box<uint64_t[]> right = Box<uint64_t[]>::FromRaw(raw, 4);
}

using BoxDeathTest = DeathTest;

TEST_F(BoxDeathTest, DereferencingAMovedFromBoxAborts) {
  EXPECT_DEATH(
      {
        Box<int> a = MakeBox<int>(1);
        Box<int> b = std::move(a);
        *a = 2;  // NOLINT(bugprone-use-after-move)
      },
      "hakmem: hakmem::Box: dereferenced an empty Box");
  EXPECT_DEATH(
      {
        Box<std::string> a = MakeBox<std::string>("s");
        (void)a.Release();
        (void)a->size();
      },
      "dereferenced an empty Box");
}

TEST_F(BoxDeathTest, IndexOutOfRangeAborts) {
  EXPECT_DEATH(
      {
        Box<int[]> a = MakeBox<int[]>(3);
        a[3] = 1;
      },
      "hakmem: hakmem::Box<T\\[\\]>: index out of range");
}

}  // namespace
}  // namespace hakmem

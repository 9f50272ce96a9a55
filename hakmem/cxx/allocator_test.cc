// hakmem::Allocator<T> under standard containers: vector, map, unordered_map,
// string, list, deque, over-aligned elements, threads. Every container block
// must be a hakmem block, and sized frees must all be right (no reports).
#include "hakmem/cxx/allocator.h"

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <map>
#include <new>
#include <string>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "capi/hakmem.h"
#include "gtest/gtest.h"
#include "hakmem/cxx/test_support.h"

namespace hakmem {
namespace {

using hakmem_test::ErrorCapture;
using hakmem_test::IsAligned;
using hakmem_test::IsHakmemBlock;
using hakmem_test::Scaled;

template <typename T>
using Vector = std::vector<T, Allocator<T>>;
using String = std::basic_string<char, std::char_traits<char>, Allocator<char>>;
template <typename K, typename V>
using Map = std::map<K, V, std::less<K>, Allocator<std::pair<const K, V>>>;
template <typename K, typename V>
using HashMap = std::unordered_map<K, V, std::hash<K>, std::equal_to<K>,
                                   Allocator<std::pair<const K, V>>>;

struct alignas(64) Line {
  uint64_t value;
};
struct alignas(4096) Page {
  uint64_t value;
};
struct alignas(65536) Chunk {
  uint64_t value;
};

struct StringHash {
  size_t operator()(const String& s) const {
    return std::hash<std::string_view>()(std::string_view(s.data(), s.size()));
  }
};

static_assert(std::allocator_traits<Allocator<int>>::is_always_equal::value);
static_assert(
    std::is_same_v<std::allocator_traits<Allocator<int>>::rebind_alloc<Line>,
                   Allocator<Line>>);
static_assert(Allocator<int>() == Allocator<Line>());
static_assert(!(Allocator<int>() != Allocator<char>()));

String Str(size_t i) {
  // Longer than the small-string buffer, so the string allocates.
  String s = "value-number-";
  s += std::to_string(i).c_str();
  s += "-padding-padding";
  return s;
}

TEST(AllocatorTest, VectorGrowsInHakmemBlocks) {
  ErrorCapture errors;
  Vector<uint32_t> v;
  const size_t n = Scaled(200000);
  for (size_t i = 0; i < n; ++i) {
    v.push_back(static_cast<uint32_t>(i));
    if ((i & (i + 1)) == 0) ASSERT_TRUE(IsHakmemBlock(v.data())) << i;
  }
  for (size_t i = 0; i < n; ++i) ASSERT_EQ(v[i], i);
  v.shrink_to_fit();
  EXPECT_TRUE(IsHakmemBlock(v.data()));
  Vector<uint32_t> copy = v;
  EXPECT_EQ(copy, v);
  v.clear();
  v.shrink_to_fit();
  EXPECT_EQ(errors.count(), 0) << "kind " << errors.kind(0);
}

TEST(AllocatorTest, MapOfStringsUnderLoad) {
  ErrorCapture errors;
  Map<int, String> m;
  const int n = static_cast<int>(Scaled(20000));
  for (int i = 0; i < n; ++i) m.emplace(i, Str(i));
  EXPECT_TRUE(IsHakmemBlock(m.at(5).data()));
  for (int i = 0; i < n; i += 2) m.erase(i);
  ASSERT_EQ(m.size(), static_cast<size_t>(n / 2));
  for (const auto& [k, v] : m) ASSERT_EQ(v, Str(k));
  m.clear();
  EXPECT_EQ(errors.count(), 0) << "kind " << errors.kind(0);
}

TEST(AllocatorTest, UnorderedMapOfVectorsUnderLoad) {
  ErrorCapture errors;
  std::unordered_map<String, Vector<int>, StringHash, std::equal_to<String>,
                     Allocator<std::pair<const String, Vector<int>>>>
      m;
  const size_t n = Scaled(10000);
  for (size_t i = 0; i < n; ++i) {
    Vector<int>& v = m[Str(i % 1000)];
    v.push_back(static_cast<int>(i));
  }
  ASSERT_EQ(m.size(), n < 1000 ? n : 1000);
  for (const auto& [k, v] : m) {
    for (int x : v) ASSERT_EQ(Str(x % 1000), k);
  }
  HashMap<int, int> rehashed;
  for (int i = 0; i < static_cast<int>(n); ++i) rehashed[i] = -i;
  rehashed.rehash(0);
  EXPECT_EQ(rehashed.at(7), -7);
  m.clear();
  rehashed.clear();
  EXPECT_EQ(errors.count(), 0) << "kind " << errors.kind(0);
}

TEST(AllocatorTest, StringAppendAndCopy) {
  ErrorCapture errors;
  String s;
  for (int i = 0; i < 5000; ++i) s += static_cast<char>('a' + i % 26);
  EXPECT_TRUE(IsHakmemBlock(s.data()));
  String t = s + s;
  EXPECT_EQ(t.size(), 10000u);
  t.assign(3, 'z');
  t.shrink_to_fit();
  EXPECT_EQ(t, "zzz");
  EXPECT_EQ(errors.count(), 0);
}

TEST(AllocatorTest, OverAlignedElements) {
  ErrorCapture errors;
  Vector<Line> lines(1000);
  EXPECT_TRUE(IsAligned(lines.data(), 64));
  std::list<Line, Allocator<Line>> list;
  std::deque<Page, Allocator<Page>> pages;
  for (int i = 0; i < 100; ++i) {
    list.push_back(Line{uint64_t(i)});
    ASSERT_TRUE(IsAligned(&list.back(), 64));
  }
  for (int i = 0; i < 10; ++i) {
    pages.push_back(Page{uint64_t(i)});
    ASSERT_TRUE(IsAligned(&pages.back(), 4096));
  }
  EXPECT_EQ(pages[9].value, 9u);
  Vector<Chunk> big(5);  // 320 KiB aligned to 64 KiB: the large tier
  EXPECT_TRUE(IsAligned(big.data(), 65536));
  big.clear();
  big.shrink_to_fit();
  lines.clear();
  lines.shrink_to_fit();
  list.clear();
  pages.clear();
  pages.shrink_to_fit();
  EXPECT_EQ(errors.count(), 0) << "kind " << errors.kind(0);
}

TEST(AllocatorTest, FailuresThrowLikeStdAllocator) {
  Allocator<uint64_t> a;
  EXPECT_THROW((void)a.allocate(SIZE_MAX / 4), std::bad_array_new_length);
  EXPECT_THROW((void)a.allocate(size_t{1} << 58), std::bad_alloc);
  Vector<char> v;
  EXPECT_THROW(v.reserve(size_t{1} << 60), std::bad_alloc);
}

TEST(AllocatorTest, ContainersMoveBetweenThreads) {
  ErrorCapture errors;
  const int threads = 4;
  std::vector<Map<int, String>> maps(threads);
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&maps, t] {
      for (int i = 0; i < static_cast<int>(Scaled(3000)); ++i) {
        maps[t].emplace(i, Str(i * threads + t));
      }
    });
  }
  for (std::thread& w : workers) w.join();
  workers.clear();
  // Each map is destroyed by a thread other than the one that built it.
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&maps, t] {
      Map<int, String> m = std::move(maps[(t + 1) % threads]);
      for (const auto& [k, v] : m) {
        ASSERT_EQ(v, Str(k * threads + (t + 1) % threads));
      }
    });
  }
  for (std::thread& w : workers) w.join();
  EXPECT_EQ(errors.count(), 0) << "kind " << errors.kind(0);
}

TEST(AllocatorTest, DeallocateUsesTheSizeGiven) {
  // The allocator forwards n to sized free: a wrong n is reported.
  ErrorCapture errors;
  Allocator<uint64_t> a;
  uint64_t* p = a.allocate(4);
  a.deallocate(p, 1000);
  ASSERT_EQ(errors.count(), 1);
  EXPECT_EQ(errors.kind(0), HAK_ERROR_SIZE_MISMATCH);
  a.deallocate(p, 4);
  EXPECT_EQ(errors.count(), 1);
}

}  // namespace
}  // namespace hakmem

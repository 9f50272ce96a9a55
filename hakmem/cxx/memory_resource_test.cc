// std::pmr adapters: GlobalResource() and HeapResource under pmr containers.
#include "hakmem/cxx/memory_resource.h"

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory_resource>
#include <new>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "capi/hakmem.h"
#include "gtest/gtest.h"
#include "hakmem/cxx/heap.h"
#include "hakmem/cxx/test_support.h"

namespace hakmem {
namespace {

using hakmem_test::DeathTest;
using hakmem_test::ErrorCapture;
using hakmem_test::IsAligned;
using hakmem_test::IsHakmemBlock;
using hakmem_test::Scaled;

std::pmr::string Str(size_t i, std::pmr::memory_resource* r) {
  std::pmr::string s("pmr-value-number-", r);
  s += std::to_string(i);
  s += "-and-some-padding";
  return s;
}

TEST(GlobalResourceTest, IsOneInstanceEqualOnlyToItself) {
  std::pmr::memory_resource* r = GlobalResource();
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r, GlobalResource());
  EXPECT_TRUE(r->is_equal(*GlobalResource()));
  EXPECT_FALSE(r->is_equal(*std::pmr::new_delete_resource()));
  EXPECT_FALSE(std::pmr::new_delete_resource()->is_equal(*r));
}

TEST(GlobalResourceTest, AllocatesEveryAlignment) {
  ErrorCapture errors;
  std::pmr::memory_resource* r = GlobalResource();
  for (size_t align = 1; align <= 8192; align <<= 1) {
    for (size_t bytes : {0, 1, 100, 5000, 300000}) {
      void* p = r->allocate(bytes, align);
      ASSERT_TRUE(IsAligned(p, align)) << bytes << "/" << align;
      EXPECT_TRUE(IsHakmemBlock(p));
      EXPECT_GE(hak_usable_size(p), bytes);
      r->deallocate(p, bytes, align);
    }
  }
  EXPECT_EQ(errors.count(), 0) << "kind " << errors.kind(0);
}

TEST(GlobalResourceTest, FailuresThrowBadAlloc) {
  std::pmr::memory_resource* r = GlobalResource();
  EXPECT_THROW((void)r->allocate(size_t{1} << 60, 16), std::bad_alloc);
  volatile size_t not_a_power_of_two = 48;  // (a constant would warn)
  EXPECT_THROW((void)r->allocate(16, not_a_power_of_two), std::bad_alloc);
  EXPECT_THROW((void)r->allocate(SIZE_MAX, 8), std::bad_alloc);
}

TEST(GlobalResourceTest, PmrContainersUnderLoad) {
  ErrorCapture errors;
  std::pmr::memory_resource* r = GlobalResource();
  const size_t n = Scaled(20000);
  std::pmr::vector<uint64_t> v(r);
  std::pmr::map<int, std::pmr::string> m(r);
  std::pmr::unordered_map<std::pmr::string, int> h(r);
  for (size_t i = 0; i < n; ++i) {
    v.push_back(i);
    m.emplace(static_cast<int>(i), Str(i, r));
    h.emplace(Str(i, r), static_cast<int>(i));
  }
  EXPECT_TRUE(IsHakmemBlock(v.data()));
  EXPECT_TRUE(IsHakmemBlock(m.at(3).data()));
  for (size_t i = 0; i < n; i += 3) {
    m.erase(static_cast<int>(i));
    h.erase(Str(i, r));
  }
  for (const auto& [k, s] : m) ASSERT_EQ(s, Str(k, r));
  for (const auto& [s, k] : h) ASSERT_EQ(s, Str(k, r));
  EXPECT_EQ(m.size(), h.size());
  v.clear();
  v.shrink_to_fit();
  m.clear();
  h.clear();
  EXPECT_EQ(errors.count(), 0) << "kind " << errors.kind(0);
}

TEST(GlobalResourceTest, UpstreamOfAPoolResourceAcrossThreads) {
  ErrorCapture errors;
  {
    std::pmr::synchronized_pool_resource pool(GlobalResource());
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&pool, t] {
        std::pmr::vector<std::pmr::string> v(&pool);
        for (size_t i = 0; i < Scaled(5000); ++i)
          v.push_back(Str(i + t, &pool));
        for (size_t i = 0; i < v.size(); ++i)
          ASSERT_EQ(v[i], Str(i + t, &pool));
      });
    }
    for (std::thread& th : threads) th.join();
  }  // the pool gives its chunks back with sized frees
  EXPECT_EQ(errors.count(), 0) << "kind " << errors.kind(0);
}

TEST(GlobalResourceTest, WrongSizeInDeallocateIsReported) {
  ErrorCapture errors;
  std::pmr::memory_resource* r = GlobalResource();
  void* p = r->allocate(32, 8);
  r->deallocate(p, 4096, 8);
  ASSERT_EQ(errors.count(), 1);
  EXPECT_EQ(errors.kind(0), HAK_ERROR_SIZE_MISMATCH);
  r->deallocate(p, 32, 8);
  EXPECT_EQ(errors.count(), 1);
}

// ---- HeapResource ----------------------------------------------------------

TEST(HeapResourceTest, PmrContainersInAHeap) {
  ErrorCapture errors;
  Heap heap = Heap::Create().value();
  {
    HeapResource r(heap);
    EXPECT_TRUE(r.is_equal(r));
    EXPECT_FALSE(r.is_equal(*GlobalResource()));
    std::pmr::vector<std::pmr::string> v(&r);
    std::pmr::map<int, int> m(&r);
    for (size_t i = 0; i < Scaled(10000); ++i) {
      v.push_back(Str(i, &r));
      m[static_cast<int>(i)] = static_cast<int>(i);
    }
    EXPECT_TRUE(IsHakmemBlock(v.data()));
    void* aligned = r.allocate(100, 4096);
    EXPECT_TRUE(IsAligned(aligned, 4096));
    r.deallocate(aligned, 100, 4096);
    for (size_t i = 0; i < v.size(); i += 97) ASSERT_EQ(v[i], Str(i, &r));
    // The containers die here (their blocks go back to the heap), then
    // the resource.
  }
  EXPECT_EQ(errors.count(), 0) << "kind " << errors.kind(0);
}

TEST(HeapResourceTest, BlocksBelongToTheHeap) {
  ErrorCapture errors;
  Heap a = Heap::Create().value();
  Heap b = Heap::Create().value();
  HeapResource r(a);
  void* p = r.allocate(64, 16);
  b.Deallocate(p);  // not b's
  ASSERT_EQ(errors.count(), 1);
  EXPECT_EQ(errors.kind(0), HAK_ERROR_WRONG_HEAP);
  r.deallocate(p, 64, 16);
  EXPECT_EQ(errors.count(), 1);
}

TEST(HeapResourceTest, ContainersLeftForTheHeapToRelease) {
  // Arena style: a monotonic buffer over a heap resource never frees; the
  // heap releases its chunks when destroyed.
  const hak_stats before = hakmem_test::Stats();
  for (int round = 0; round < 5; ++round) {
    Heap heap = Heap::Create().value();
    HeapResource r(heap);
    {
      std::pmr::monotonic_buffer_resource mono(&r);
      std::pmr::vector<std::pmr::string> v(&mono);
      for (size_t i = 0; i < Scaled(20000); ++i) v.push_back(Str(i, &mono));
    }
  }
  const hak_stats after = hakmem_test::Stats();
  EXPECT_EQ(after.large_live, before.large_live);
}

using HeapResourceDeathTest = DeathTest;

TEST_F(HeapResourceDeathTest, HeapMustOutliveItsResource) {
  EXPECT_DEATH(
      {
        Heap heap = Heap::Create().value();
        auto* r = new HeapResource(heap);  // never destroyed
        (void)r;
        heap = Heap::Create().value();  // destroys the first heap
      },
      "hakmem: hakmem::Heap destroyed: a HeapBox or HeapResource of it is "
      "still alive");
}

TEST_F(HeapResourceDeathTest, OwnerThreadOnly) {
  EXPECT_DEATH(
      {
        Heap heap = Heap::Create().value();
        HeapResource r(heap);
        std::thread([&r] { (void)r.allocate(16, 8); }).join();
      },
      "HeapResource::allocate: called on a thread that does not own the "
      "Heap");
}

}  // namespace
}  // namespace hakmem

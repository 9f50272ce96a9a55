// hakmem::Heap: RAII over hak_heap. Moves, allocation in every tier,
// destruction with live blocks (memory comes back), blocks freed from other
// threads before destruction, HeapBox, wrong-heap and double frees reported
// through hak_set_error_handler, and the owner-thread rule.
#include "hakmem/cxx/heap.h"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "capi/hakmem.h"
#include "gtest/gtest.h"
#include "hakmem/cxx/alloc.h"
#include "hakmem/cxx/test_support.h"

namespace hakmem {
namespace {

using hakmem_test::DeathTest;
using hakmem_test::ErrorCapture;
using hakmem_test::IsAligned;
using hakmem_test::IsHakmemBlock;
using hakmem_test::Scaled;
using hakmem_test::Stats;

static_assert(!std::is_copy_constructible_v<Heap>);
static_assert(!std::is_copy_assignable_v<Heap>);
static_assert(std::is_nothrow_move_constructible_v<Heap>);
static_assert(std::is_nothrow_move_assignable_v<Heap>);
static_assert(!std::is_default_constructible_v<Heap>);
static_assert(!std::is_copy_constructible_v<HeapBox<int>>);
static_assert(!std::is_convertible_v<HeapBox<int>, Box<int>>);

Layout L(size_t size, size_t align) {
  return *Layout::FromSizeAlign(size, align);
}

struct Counted {
  static inline std::atomic<int> live{0};
  explicit Counted(int v) : v(v) { ++live; }
  ~Counted() { --live; }
  int v;
};

struct alignas(4096) Page {
  unsigned char bytes[4096] = {};
};

TEST(HeapTest, CreateAndMove) {
  Result<Heap> r = Heap::Create();
  ASSERT_TRUE(r.ok());
  Heap a = std::move(r).value();
  ASSERT_TRUE(a);
  EXPECT_TRUE(a.OwnedByThisThread());
  hak_heap* raw = a.raw();
  ASSERT_NE(raw, nullptr);

  Heap b = std::move(a);
  EXPECT_FALSE(a);  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(a.raw(), nullptr);
  EXPECT_EQ(b.raw(), raw);

  void* p = b.Allocate(L(100, 8)).value();
  Heap c = Heap::Create().value();
  c = std::move(b);  // destroys c's own heap, takes b's (and p)
  EXPECT_EQ(c.raw(), raw);
  EXPECT_TRUE(IsHakmemBlock(p));
  c.Deallocate(p);

  std::vector<Heap> heaps;
  for (int i = 0; i < 20; ++i) heaps.push_back(Heap::Create().value());
  for (Heap& h : heaps) (void)h.Allocate(L(32, 16)).value();
  heaps.clear();  // every heap destroyed with a live block
}

TEST(HeapTest, AllocatesEveryTierAndAlignment) {
  ErrorCapture errors;
  Heap heap = Heap::Create().value();
  for (size_t align :
       {size_t{1}, size_t{16}, size_t{64}, size_t{4096}, size_t{1} << 16}) {
    for (size_t size :
         {0, 1, 24, 1000, 1025, 5000, 100000, 262144, 262145, 1 << 20}) {
      void* p = heap.Allocate(L(size, align)).value();
      ASSERT_TRUE(IsAligned(p, align < 16 ? 16 : align))
          << size << "/" << align;
      EXPECT_TRUE(IsHakmemBlock(p));
      EXPECT_GE(hak_usable_size(p), size);
      std::memset(p, 0xCD, size);
      if (size % 2 == 0) heap.Deallocate(p);  // the others die with the heap
    }
  }
  EXPECT_EQ(errors.count(), 0) << "kind " << errors.kind(0);
}

TEST(HeapTest, OutOfMemoryIsAnError) {
  Heap heap = Heap::Create().value();
  Result<void*> r = heap.Allocate(L(size_t{1} << 60, 16));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), Error::kOutOfMemory);
  Result<HeapBox<char[]>> a = heap.TryMakeBox<char[]>(size_t{1} << 60);
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.error(), Error::kOutOfMemory);
  EXPECT_THROW((void)heap.MakeBox<char[]>(size_t{1} << 60), std::bad_alloc);
}

TEST(HeapTest, FreedBlocksAreReused) {
  Heap heap = Heap::Create().value();
  std::vector<void*> blocks;
  for (int i = 0; i < 1000; ++i)
    blocks.push_back(heap.Allocate(L(64, 16)).value());
  const hak_stats full = Stats();
  for (int round = 0; round < 20; ++round) {
    for (void* p : blocks) heap.Deallocate(p);
    for (void*& p : blocks) p = heap.Allocate(L(64, 16)).value();
  }
  // Twenty rounds of 1000 frees and allocations took no new memory.
  EXPECT_EQ(Stats().slabs_live, full.slabs_live);
}

// The point of a heap: destroying it gives back everything in it.
TEST(HeapTest, DestructionReleasesLiveBlocks) {
  ErrorCapture errors;
  const hak_stats before = Stats();
  uint64_t peak_during = 0;
  const int rounds = hakmem_test::kTsan ? 3 : 10;
  for (int round = 0; round < rounds; ++round) {
    Heap heap = Heap::Create().value();
    // ~8 MiB per round in small and pool blocks, and 4 large blocks.
    for (int i = 0; i < 4000; ++i)
      (void)heap.Allocate(L(64 + i % 900, 16)).value();
    for (int i = 0; i < 100; ++i) (void)heap.Allocate(L(40000 + i, 64)).value();
    for (int i = 0; i < 4; ++i) (void)heap.Allocate(L(1 << 20, 4096)).value();
    const hak_stats during = Stats();
    EXPECT_GE(during.large_live, before.large_live + 4);
    EXPECT_GT(during.slabs_live, before.slabs_live);
    peak_during = during.os_mapped_bytes;
  }  // ~Heap, with every block still live
  const hak_stats after = Stats();
  EXPECT_EQ(after.large_live, before.large_live);
  EXPECT_EQ(after.slabs_live, before.slabs_live);
  // Rounds reuse the memory of the previous ones: no growth across rounds.
  EXPECT_LT(after.os_mapped_peak_bytes,
            before.os_mapped_bytes + 2 * peak_during + (64u << 20));
  EXPECT_EQ(errors.count(), 0) << "kind " << errors.kind(0);
}

TEST(HeapTest, BlocksFreedOnOtherThreadsBeforeDestruction) {
  ErrorCapture errors;
  Heap heap = Heap::Create().value();
  std::vector<void*> blocks;
  for (int i = 0; i < 2000; ++i) {
    blocks.push_back(heap.Allocate(L(i % 2 ? 48 : 3000, 16)).value());
  }
  blocks.push_back(heap.Allocate(L(1 << 20, 16)).value());  // a large one
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&blocks, t] {
      for (size_t i = t; i < blocks.size(); i += 8) hak_free(blocks[i]);
    });
  }
  for (std::thread& t : threads) t.join();  // frees happen-before ~Heap
  // The owner allocates again: blocks freed remotely are found and reused.
  for (int i = 0; i < 2000; ++i) (void)heap.Allocate(L(48, 16)).value();
  EXPECT_EQ(errors.count(), 0) << "kind " << errors.kind(0);
}  // destroyed with half its blocks live, half freed by other threads

TEST(HeapTest, ManyThreadsEachWithItsOwnHeap) {
  ErrorCapture errors;
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([t] {
      for (int round = 0; round < 3; ++round) {
        Heap heap = Heap::Create().value();
        std::vector<void*> kept;
        for (size_t i = 0; i < Scaled(5000); ++i) {
          void* p = heap.Allocate(L(16 + (i * 7 + t) % 2000, 16)).value();
          if (i % 3 == 0) {
            heap.Deallocate(p);
          } else {
            kept.push_back(p);
          }
        }
        HeapBox<std::string> s = heap.MakeBox<std::string>(100, 'q');
        ASSERT_EQ(s->size(), 100u);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(errors.count(), 0) << "kind " << errors.kind(0);
}

// ---- HeapBox ---------------------------------------------------------------

TEST(HeapBoxTest, ObjectsAndArraysInAHeap) {
  ErrorCapture errors;
  Heap heap = Heap::Create().value();
  {
    HeapBox<Counted> c = heap.MakeBox<Counted>(5);
    EXPECT_EQ(c->v, 5);
    EXPECT_EQ(Counted::live, 1);
    EXPECT_TRUE(IsHakmemBlock(c.get()));
    HeapBox<Counted> moved = std::move(c);
    EXPECT_FALSE(c);  // NOLINT(bugprone-use-after-move)
    HeapBox<std::string[]> arr = heap.MakeBox<std::string[]>(0);
    HeapBox<uint32_t[]> nums = heap.MakeBox<uint32_t[]>(1000);
    for (uint32_t x : nums) ASSERT_EQ(x, 0u);
    HeapBox<Page> page = heap.MakeBox<Page>();
    EXPECT_TRUE(IsAligned(page.get(), 4096));
    Result<HeapBox<std::string>> s = heap.TryMakeBox<std::string>("heap");
    ASSERT_TRUE(s.ok());
    EXPECT_EQ(**s, "heap");
  }
  EXPECT_EQ(Counted::live, 0);
  EXPECT_EQ(errors.count(), 0) << "kind " << errors.kind(0);
}

TEST(HeapBoxTest, FreedIntoTheHeapAndReused) {
  Heap heap = Heap::Create().value();
  void* first;
  {
    HeapBox<Counted> c = heap.MakeBox<Counted>(1);
    first = c.get();
  }
  // hak_heap_free put the block back on the heap's free list.
  HeapBox<Counted> again = heap.MakeBox<Counted>(2);
  EXPECT_EQ(again.get(), first);
}

TEST(HeapBoxTest, DestroyedOnAnotherThreadBeforeTheHeap) {
  ErrorCapture errors;
  Heap heap = Heap::Create().value();
  std::vector<HeapBox<Counted>> boxes;
  for (int i = 0; i < 500; ++i) boxes.push_back(heap.MakeBox<Counted>(i));
  HeapBox<Page[]> pages = heap.MakeBox<Page[]>(3);
  std::thread([boxes = std::move(boxes), pages = std::move(pages)]() mutable {
    boxes.clear();  // hak_free from a non-owner thread
    pages.Reset();
  }).join();
  EXPECT_EQ(Counted::live, 0);
  EXPECT_EQ(errors.count(), 0) << "kind " << errors.kind(0);
}

TEST(HeapBoxTest, DroppedOnAnotherThreadWhileTheOwnerWorks) {
  // Boxes dying on another thread go through hak_free (the remote-free
  // path), never the owner's free list, so the owner may keep allocating
  // from the same size class at the same time.
  ErrorCapture errors;
  Heap heap = Heap::Create().value();
  const int n = static_cast<int>(Scaled(20000));
  std::vector<HeapBox<Counted>> boxes;
  for (int i = 0; i < n; ++i) boxes.push_back(heap.MakeBox<Counted>(i));
  std::atomic<bool> done{false};
  std::thread dropper([&boxes, &done] {
    boxes.clear();
    done.store(true, std::memory_order_release);
  });
  std::vector<HeapBox<Counted>> mine;
  int rounds = 0;
  while (!done.load(std::memory_order_acquire) || rounds < 100) {
    for (int i = 0; i < 50; ++i) mine.push_back(heap.MakeBox<Counted>(-i));
    mine.clear();
    ++rounds;
  }
  dropper.join();
  EXPECT_EQ(Counted::live, 0);
  EXPECT_EQ(errors.count(), 0) << "kind " << errors.kind(0);
}

TEST(HeapBoxTest, ReleasedObjectsNoLongerPinTheHeap) {
  Heap heap = Heap::Create().value();
  HeapBox<int> b = heap.MakeBox<int>(3);
  int* raw = b.Release();
  EXPECT_EQ(*raw, 3);
  // Released memory is now raw heap memory: the heap may die with it.
}

TEST(HeapBoxTest, ThrowingConstructorFreesIntoTheHeap) {
  struct Throws {
    explicit Throws(bool t) {
      if (t) throw std::runtime_error("no");
    }
    char pad[64];
  };
  Heap heap = Heap::Create().value();
  void* first;
  { first = heap.MakeBox<Throws>(false).get(); }
  EXPECT_THROW((void)heap.MakeBox<Throws>(true), std::runtime_error);
  HeapBox<Throws> ok = heap.MakeBox<Throws>(false);
  EXPECT_EQ(ok.get(), first);
}  // and the count of live boxes is right: ~Heap does not abort

// ---- Misuse ----------------------------------------------------------------

TEST(HeapMisuseTest, BlockOfAnotherHeapIsReported) {
  ErrorCapture errors;
  Heap a = Heap::Create().value();
  Heap b = Heap::Create().value();
  void* small = a.Allocate(L(40, 16)).value();
  void* large = a.Allocate(L(1 << 20, 16)).value();
  b.Deallocate(small);
  b.Deallocate(large);
  ASSERT_EQ(errors.count(), 2);
  EXPECT_EQ(errors.kind(0), HAK_ERROR_WRONG_HEAP);
  EXPECT_EQ(errors.ptr(0), small);
  EXPECT_EQ(errors.kind(1), HAK_ERROR_WRONG_HEAP);
  EXPECT_EQ(errors.ptr(1), large);
  // Left alone: still live, and a's to free.
  EXPECT_TRUE(IsHakmemBlock(small));
  a.Deallocate(small);
  a.Deallocate(large);
  EXPECT_EQ(errors.count(), 2);
}

TEST(HeapMisuseTest, GlobalBlockFreedIntoAHeapIsReported) {
  ErrorCapture errors;
  Heap heap = Heap::Create().value();
  void* global = Allocate(L(40, 16)).value();
  heap.Deallocate(global);
  ASSERT_EQ(errors.count(), 1);
  EXPECT_EQ(errors.kind(0), HAK_ERROR_WRONG_HEAP);
  Deallocate(global, L(40, 16));
  EXPECT_EQ(errors.count(), 1);
}

TEST(HeapMisuseTest, DoubleFreeIsReported) {
  ErrorCapture errors;
  Heap heap = Heap::Create().value();
  void* p = heap.Allocate(L(100, 16)).value();
  heap.Deallocate(p);
  heap.Deallocate(p);
  ASSERT_EQ(errors.count(), 1);
  EXPECT_EQ(errors.kind(0), HAK_ERROR_DOUBLE_FREE);
  EXPECT_EQ(errors.ptr(0), p);
}

TEST(HeapMisuseTest, FreeingABlockOfADestroyedHeapIsReported) {
  ErrorCapture errors;
  void* p;
  {
    Heap heap = Heap::Create().value();
    p = heap.Allocate(L(1 << 20, 16)).value();
  }
  hak_free(p);
  ASSERT_GE(errors.count(), 1);
  EXPECT_EQ(errors.ptr(0), p);
}

using HeapDeathTest = DeathTest;

TEST_F(HeapDeathTest, DestroyingAHeapWithALiveHeapBoxAborts) {
  EXPECT_DEATH(
      {
        Heap heap = Heap::Create().value();
        HeapBox<int> b = heap.MakeBox<int>(1);
        HeapBox<int>* leaked = new HeapBox<int>(std::move(b));
        (void)leaked;
        heap = Heap::Create().value();
      },
      "hakmem: hakmem::Heap destroyed: a HeapBox or HeapResource of it is "
      "still alive");
}

TEST_F(HeapDeathTest, AllocatingOnAnotherThreadAborts) {
  EXPECT_DEATH(
      {
        Heap heap = Heap::Create().value();
        std::thread([&heap] { (void)heap.Allocate(L(8, 8)); }).join();
      },
      "hakmem::Heap::Allocate: called on a thread that does not own the "
      "Heap");
}

TEST_F(HeapDeathTest, DestroyingOnAnotherThreadAborts) {
  EXPECT_DEATH(
      {
        Heap heap = Heap::Create().value();
        std::thread([h = std::move(heap)]() mutable {
          Heap gone = std::move(h);
        }).join();
      },
      "hakmem::Heap destroyed: called on a thread that does not own the "
      "Heap");
}

TEST_F(HeapDeathTest, UsingAMovedFromHeapAborts) {
  EXPECT_DEATH(
      {
        Heap a = Heap::Create().value();
        Heap b = std::move(a);
        (void)a.Allocate(L(8, 8));  // NOLINT(bugprone-use-after-move)
      },
      "hakmem::Heap::Allocate: the Heap is empty");
}

}  // namespace
}  // namespace hakmem

// Sampled guarded allocations through the allocator's entry points, with
// HAKMEM_GUARD_RATE=1 (every refill samples, until the pool is full).
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <set>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "hakmem/core/allocator.h"
#include "hakmem/error/error_log_for_tests.h"
#include "hakmem/error/memory_error.h"
#include "hakmem/guard/guarded_pool.h"

namespace hakmem::internal {
namespace {

// Before anything reads the configuration (it is read once).
[[maybe_unused]] const bool kGuardRateSet =
    setenv("HAKMEM_GUARD_RATE", "1", 1) == 0;

uintptr_t PageEnd(const void* p) {
  return (reinterpret_cast<uintptr_t>(p) | 4095) + 1;
}

class GuardedSamplingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(kGuardRateSet);
    GTEST_FLAG_SET(death_test_style, "threadsafe");
  }
};

TEST_F(GuardedSamplingTest, EveryEntryPointServesAndFreesGuardedBlocks) {
  ErrorLog log;
  // Each size is its class's first request in this process, so a refill
  // serves it, and with rate 1 every refill samples.
  void* m = Malloc(24);
  ASSERT_TRUE(InGuardedPool(m));
  EXPECT_EQ(reinterpret_cast<uintptr_t>(m) + 32, PageEnd(m));
  EXPECT_EQ(UsableSize(m), 32u);
  std::memset(m, 0xab, 24);

  void* c = Calloc(10, 30);  // 300 bytes
  ASSERT_TRUE(InGuardedPool(c));
  for (int i = 0; i < 300; ++i) ASSERT_EQ(static_cast<char*>(c)[i], 0);

  void* a = AlignedAlloc(256, 700);
  ASSERT_TRUE(InGuardedPool(a));
  EXPECT_EQ(reinterpret_cast<uintptr_t>(a) % 256, 0u);
  EXPECT_GE(UsableSize(a), 700u);

  // realloc moves a guarded block (its page is its own), contents kept.
  void* r = Realloc(m, 2000);
  ASSERT_NE(r, nullptr);
  EXPECT_NE(r, m);
  for (int i = 0; i < 24; ++i) {
    ASSERT_EQ(static_cast<unsigned char*>(r)[i], 0xab);
  }
  // Sized frees check the class as for slab blocks.
  FreeSized(c, 20);
  ASSERT_EQ(log.errors.size(), 1u);
  EXPECT_EQ(log.errors[0], MemoryError::kSizeMismatch);
  FreeSized(c, 300);
  FreeAlignedSized(a, 256, 700);
  Free(r);
  // Errors on guarded blocks are reported like any other.
  Free(r);
  ASSERT_EQ(log.errors.size(), 2u);
  EXPECT_EQ(log.errors[1], MemoryError::kDoubleFree);
  void* q = Malloc(40);
  ASSERT_TRUE(InGuardedPool(q));
  Free(static_cast<char*>(q) + 16);
  ASSERT_EQ(log.errors.size(), 3u);
  EXPECT_EQ(log.errors[2], MemoryError::kInteriorFree);
  EXPECT_EQ(UsableSize(r), 0u);  // freed: reported as an invalid pointer
  ASSERT_EQ(log.errors.size(), 4u);
  EXPECT_EQ(log.errors[3], MemoryError::kInvalidPointer);
  Free(q);
  EXPECT_EQ(log.errors.size(), 4u);
}

TEST_F(GuardedSamplingTest, AFullPoolFallsBackToTheSlabs) {
  // Every class keeps sampling while the pool has slots, then serves from
  // its slabs; nothing fails and no two blocks overlap.
  std::vector<void*> blocks;
  std::set<uintptr_t> pages;
  size_t guarded = 0;
  for (size_t i = 0; i < 3 * kGuardSlots; ++i) {
    size_t size = 16 + (i * 37) % 3000;
    void* p = Malloc(size);
    ASSERT_NE(p, nullptr);
    std::memset(p, static_cast<int>(i), size);
    if (InGuardedPool(p)) {
      ++guarded;
      EXPECT_TRUE(pages.insert(reinterpret_cast<uintptr_t>(p) >> 12).second);
    }
    blocks.push_back(p);
  }
  EXPECT_GT(guarded, 0u);
  EXPECT_LE(guarded, kGuardSlots);
  for (size_t i = 0; i < blocks.size(); ++i) {
    size_t size = 16 + (i * 37) % 3000;
    auto* b = static_cast<unsigned char*>(blocks[i]);
    for (size_t j = 0; j < size; j += 97) {
      ASSERT_EQ(b[j], static_cast<unsigned char>(i));
    }
    Free(blocks[i]);
  }
  // The slots are reusable after the frees.
  void* again = Malloc(4000);
  void* more = Malloc(4000);  // the first may come from the refilled cache
  EXPECT_TRUE(InGuardedPool(again) || InGuardedPool(more));
  Free(again);
  Free(more);
}

TEST_F(GuardedSamplingTest, OverflowUnderflowAndUseAfterFreeAreReported) {
  EXPECT_DEATH(
      {
        auto* p = static_cast<volatile char*>(Malloc(100));
        if (!InGuardedPool(const_cast<char*>(p))) std::abort();
        p[112] = 1;  // one past the block (112 after rounding to 16)
      },
      "hakmem: heap buffer overflow: ptr=0x[0-9a-f]+ tier=guarded .*"
      "size=100 .*offset=112");
  EXPECT_DEATH(
      {
        auto* p = static_cast<volatile char*>(Malloc(200));
        if (!InGuardedPool(const_cast<char*>(p))) std::abort();
        Free(const_cast<char*>(p));
        (void)p[5];  // a read after free
      },
      "hakmem: use after free: .*offset=5[^\\n]*\\n(.*\\n)*.*freed by thread");
  // In another thread too, and a write.
  EXPECT_DEATH(
      {
        auto* p = static_cast<volatile char*>(Malloc(64));
        if (!InGuardedPool(const_cast<char*>(p))) std::abort();
        std::thread([p] { Free(const_cast<char*>(p)); }).join();
        p[0] = 1;
      },
      "hakmem: use after free");
}

// Not inlined, so that the report's first frame has a name to look for.
__attribute__((noinline)) void ReadAfterFreeHere(volatile char* p) {
  (void)p[7];
}

TEST_F(GuardedSamplingTest, TheFaultReportsStackStartsAtTheAccess) {
  EXPECT_DEATH(
      {
        auto* p = static_cast<volatile char*>(Malloc(48));
        if (!InGuardedPool(const_cast<char*>(p))) std::abort();
        Free(const_cast<char*>(p));
        ReadAfterFreeHere(p);
      },
      "hakmem: use after free: [^\n]*\n#0 0x[0-9a-f]+ [^\n]*"
      "ReadAfterFreeHere[^\\n]*\\(");
}

TEST_F(GuardedSamplingTest, ReportPolicyGoesOnAfterTheFault) {
  setenv("HAKMEM_ON_ERROR", "report", 1);
  EXPECT_EXIT(
      {
        auto* p = static_cast<volatile char*>(Malloc(500));
        if (!InGuardedPool(const_cast<char*>(p))) std::abort();
        Free(const_cast<char*>(p));
        // Reported; the access completes on the page opened for that one
        // instruction, which is then protected again (and its contents
        // dropped), so the read after it is reported too.
        p[3] = 7;
        int seen = p[3];
        // The pool keeps serving guarded blocks.
        void* q = Malloc(300);
        std::exit(seen == 0 && InGuardedPool(q) ? 9 : 1);
      },
      ::testing::ExitedWithCode(9),
      "hakmem: use after free: .*offset=3[^\n]*\n(.*\n)*"
      "hakmem: use after free: .*offset=3");
  unsetenv("HAKMEM_ON_ERROR");
}

}  // namespace
}  // namespace hakmem::internal

// The guarded pool: placement, quarantine, reported frees, and the fault
// handler (reports of overflows, underflows and uses after free; chaining
// to the handler that was there before; when the report returns, the
// single step that keeps the pool in service, and its fallback).
//
// The pool and the signal actions belong to the process, so tests that
// need a fresh pool (never-used slots first, the pool's creation, what
// handler it finds) or change the signal actions run in a death-test
// child: the "threadsafe" style re-executes the binary for the one test,
// whose pool does not exist yet. The other tests share the process's pool
// and assume nothing about what earlier tests left in it (how many slots
// are free) except that every slot is in service: only children retire
// slots (the fallback where an access cannot be single-stepped).
#include "hakmem/guard/guarded_pool.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "hakmem/config/config.h"
#include "hakmem/error/memory_error.h"

namespace hakmem::internal {
namespace {

constexpr uintptr_t kPage = 4096;

uintptr_t Addr(const void* p) { return reinterpret_cast<uintptr_t>(p); }
uintptr_t PageOf(const void* p) { return Addr(p) & ~(kPage - 1); }
size_t RoundUp(size_t n, size_t a) { return (n + a - 1) & ~(a - 1); }

// In a death-test child: a failed check says which and exits 1.
#define CHILD_CHECK(cond)                                   \
  do {                                                      \
    if (!(cond)) {                                          \
      const char msg[] = "child check failed: " #cond "\n"; \
      if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0) { \
      }                                                     \
      _exit(1);                                             \
    }                                                       \
  } while (false)

// Records the reports made while it is installed. Fixed buffers: it runs
// inside the fault handler too, where allocating is not allowed (TSan
// reports a signal-unsafe call).
struct Recorded {
  int count = 0;
  MemoryError error{};
  const void* ptr = nullptr;
  char tier[16] = "";
  int size_class = -2;
  char line[512] = "";
};

void Record(const MemoryErrorReport& report, void* context) {
  auto* r = static_cast<Recorded*>(context);
  ++r->count;
  r->error = report.error;
  r->ptr = report.ptr;
  std::strncpy(r->tier, report.tier, sizeof(r->tier) - 1);
  r->size_class = report.size_class;
  std::strncpy(r->line, report.line, sizeof(r->line) - 1);
}

bool Contains(const char* line, const char* part) {
  return std::strstr(line, part) != nullptr;
}

class RecordErrors {
 public:
  RecordErrors() { SetMemoryErrorHandler(&Record, &recorded_); }
  ~RecordErrors() { SetMemoryErrorHandler(nullptr, nullptr); }
  const Recorded& recorded() const { return recorded_; }

 private:
  Recorded recorded_;
};

// Allocates until the pool says no (it holds kGuardSlots slots at most).
std::vector<char*> Exhaust(size_t size = 64) {
  std::vector<char*> blocks;
  for (size_t i = 0; i <= kGuardSlots; ++i) {
    void* p = GuardedAlloc(size, 16, 1);
    if (p == nullptr) break;
    blocks.push_back(static_cast<char*>(p));
  }
  return blocks;
}

void FreeAll(const std::vector<char*>& blocks) {
  for (char* p : blocks) GuardedFree(p);
}

char ReadByte(const char* p) { return *static_cast<const volatile char*>(p); }
void WriteByte(char* p, char v) { *static_cast<volatile char*>(p) = v; }

class GuardedPoolTest : public ::testing::Test {
 protected:
  // Not GetConfig() here: the start-aligned tests' children must read it
  // first, with the variable set.
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

// Start-aligned tests set the variable for the child (which reads the
// configuration afresh) and for nothing else.
class StartAligned {
 public:
  StartAligned() { setenv("HAKMEM_GUARD_ALIGN", "start", 1); }
  ~StartAligned() { unsetenv("HAKMEM_GUARD_ALIGN"); }
};

TEST_F(GuardedPoolTest, BlocksEndAtTheirPageEndAndAreAligned) {
  ASSERT_FALSE(GetConfig().guard_align_start);
  const size_t sizes[] = {1, 15, 16, 17, 24, 100, 1000, 2048, 4000, 4096};
  const size_t alignments[] = {16, 32, 64, 256, 1024, 4096};
  for (size_t size : sizes) {
    for (size_t alignment : alignments) {
      SCOPED_TRACE(testing::Message() << size << " aligned " << alignment);
      char* p = static_cast<char*>(GuardedAlloc(size, alignment, 7));
      ASSERT_NE(p, nullptr);
      EXPECT_TRUE(InGuardedPool(p));
      EXPECT_EQ(Addr(p) % alignment, 0u);
      size_t usable = GuardedUsableSize(p);
      EXPECT_EQ(usable, RoundUp(size, alignment));
      EXPECT_EQ((Addr(p) + usable) % kPage, 0u) << "must end at a page end";
      EXPECT_EQ(GuardedSizeClass(p), 7);
      for (size_t i = 0; i < usable; ++i) ASSERT_EQ(p[i], 0) << i;
      std::memset(p, 0xab, usable);
      GuardedFree(p);
    }
  }
}

void CheckStartAlignedPlacement() {
  CHILD_CHECK(GetConfig().guard_align_start);
  const size_t sizes[] = {1, 24, 100, 4096};
  const size_t alignments[] = {16, 64, 4096};
  for (size_t size : sizes) {
    for (size_t alignment : alignments) {
      char* p = static_cast<char*>(GuardedAlloc(size, alignment, 3));
      CHILD_CHECK(p != nullptr);
      CHILD_CHECK(Addr(p) % kPage == 0);
      CHILD_CHECK(GuardedUsableSize(p) == RoundUp(size, alignment));
      CHILD_CHECK(GuardedSizeClass(p) == 3);
      for (size_t i = 0; i < GuardedUsableSize(p); ++i) CHILD_CHECK(p[i] == 0);
      std::memset(p, 1, GuardedUsableSize(p));
      GuardedFree(p);
    }
  }
  _exit(0);
}

TEST_F(GuardedPoolTest, StartAlignedBlocksBeginAtTheirPageStart) {
  StartAligned start;
  EXPECT_EXIT(CheckStartAlignedPlacement(), testing::ExitedWithCode(0), "");
}

TEST_F(GuardedPoolTest, ContentsArePreservedAndBlocksNeverOverlap) {
  std::vector<char*> blocks;
  for (int i = 0; i < 100; ++i) {
    size_t size = 1 + (static_cast<size_t>(i) * 997) % kGuardMaxSize;
    char* p = static_cast<char*>(GuardedAlloc(size, 16, i % 40));
    if (p == nullptr) break;
    std::memset(p, i, GuardedUsableSize(p));
    blocks.push_back(p);
  }
  ASSERT_GE(blocks.size(), 50u);
  std::vector<uintptr_t> pages;
  for (size_t i = 0; i < blocks.size(); ++i) {
    char* p = blocks[i];
    size_t usable = GuardedUsableSize(p);
    EXPECT_EQ(GuardedSizeClass(p), static_cast<int>(i % 40));
    for (size_t j = 0; j < usable; ++j) {
      ASSERT_EQ(p[j], static_cast<char>(i)) << "block " << i << " byte " << j;
    }
    pages.push_back(PageOf(p));
    // Within one page: a block never spans two.
    EXPECT_EQ(PageOf(p + usable - 1), PageOf(p));
  }
  std::sort(pages.begin(), pages.end());
  for (size_t i = 1; i < pages.size(); ++i) {
    // Distinct pages, with at least a guard page between two blocks.
    EXPECT_GE(pages[i] - pages[i - 1], 2 * kPage);
  }
  FreeAll(blocks);
}

TEST_F(GuardedPoolTest, UsableSizeAndClassOnlyForALiveBlockStart) {
  char* p = static_cast<char*>(GuardedAlloc(200, 16, 9));
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(GuardedUsableSize(p), 208u);
  EXPECT_EQ(GuardedUsableSize(p + 1), 0u);
  EXPECT_EQ(GuardedSizeClass(p + 16), -1);
  // The slack before the block, and the guard page before its page.
  EXPECT_EQ(GuardedUsableSize(reinterpret_cast<char*>(PageOf(p))), 0u);
  EXPECT_EQ(GuardedUsableSize(reinterpret_cast<char*>(PageOf(p) - kPage)), 0u);
  EXPECT_EQ(GuardedSizeClass(reinterpret_cast<char*>(PageOf(p) - 1)), -1);
  GuardedFree(p);
  EXPECT_EQ(GuardedUsableSize(p), 0u);
  EXPECT_EQ(GuardedSizeClass(p), -1);
}

TEST_F(GuardedPoolTest, StatisticsCountLiveAndServedBlocks) {
  GuardStats before = GetGuardStats();
  char* p = static_cast<char*>(GuardedAlloc(64, 16, 1));
  ASSERT_NE(p, nullptr);
  GuardStats during = GetGuardStats();
  EXPECT_EQ(during.live, before.live + 1);
  EXPECT_EQ(during.served, before.served + 1);
  EXPECT_EQ(during.slots, kGuardSlots);
  GuardedFree(p);
  GuardStats after = GetGuardStats();
  EXPECT_EQ(after.live, before.live);
  EXPECT_EQ(after.served, before.served + 1);
}

TEST_F(GuardedPoolTest, AnExhaustedPoolReturnsNullUntilABlockIsFreed) {
  GuardStats before = GetGuardStats();
  std::vector<char*> blocks = Exhaust();
  ASSERT_FALSE(blocks.empty());
  EXPECT_LE(blocks.size() + before.live, kGuardSlots);
  EXPECT_EQ(GetGuardStats().live, before.live + blocks.size());
  EXPECT_EQ(GuardedAlloc(16, 16, 0), nullptr);
  EXPECT_EQ(GuardedAlloc(4096, 4096, 0), nullptr);
  GuardedFree(blocks.back());
  blocks.pop_back();
  char* again = static_cast<char*>(GuardedAlloc(32, 16, 0));
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(GuardedAlloc(32, 16, 0), nullptr);
  blocks.push_back(again);
  FreeAll(blocks);
  EXPECT_EQ(GetGuardStats().live, before.live);
}

TEST_F(GuardedPoolTest, FreedSlotsAreReusedInTheOrderTheyWereFreed) {
  // Exhausted, the pool has no never-used slot and an empty quarantine.
  std::vector<char*> blocks = Exhaust();
  ASSERT_GE(blocks.size(), 8u);
  // Free in an order that is neither the allocation order nor its reverse.
  std::vector<char*> order;
  for (size_t i = 0; i < blocks.size(); i += 2) order.push_back(blocks[i]);
  for (size_t i = blocks.size(); i-- > 0;) {
    if (i % 2 == 1) order.push_back(blocks[i]);
  }
  ASSERT_EQ(order.size(), blocks.size());
  for (char* p : order) GuardedFree(p);
  std::vector<char*> reused;
  for (size_t i = 0; i < order.size(); ++i) {
    char* p = static_cast<char*>(GuardedAlloc(64, 16, 1));
    ASSERT_NE(p, nullptr) << i;
    EXPECT_EQ(PageOf(p), PageOf(order[i])) << "reuse #" << i;
    // The page was decommitted on free: the old block's bytes are gone.
    EXPECT_EQ(p[0], 0);
    reused.push_back(p);
  }
  EXPECT_EQ(GuardedAlloc(64, 16, 1), nullptr);
  FreeAll(reused);
}

TEST_F(GuardedPoolTest, NeverUsedSlotsGoFirstInAFreshPool) {
  EXPECT_EXIT(
      {
        int local = 0;
        CHILD_CHECK(!InGuardedPool(&local));
        CHILD_CHECK(!InGuardedPool(nullptr));
        CHILD_CHECK(GetGuardStats().slots == 0);
        char* first = static_cast<char*>(GuardedAlloc(64, 16, 1));
        CHILD_CHECK(first != nullptr);
        CHILD_CHECK(InGuardedPool(first));
        CHILD_CHECK(!InGuardedPool(&local));
        CHILD_CHECK(GetGuardStats().slots == kGuardSlots);
        std::memset(first, 0x5a, 64);
        GuardedFree(first);
        // Every other slot is handed out before the freed one.
        std::vector<char*> blocks;
        for (size_t i = 1; i < kGuardSlots; ++i) {
          char* p = static_cast<char*>(GuardedAlloc(64, 16, 1));
          CHILD_CHECK(p != nullptr);
          CHILD_CHECK(PageOf(p) != PageOf(first));
          blocks.push_back(p);
        }
        char* last = static_cast<char*>(GuardedAlloc(64, 16, 1));
        CHILD_CHECK(last == first);
        CHILD_CHECK(last[0] == 0);  // decommitted when freed
        CHILD_CHECK(GuardedAlloc(64, 16, 1) == nullptr);
        CHILD_CHECK(GetGuardStats().live == kGuardSlots);
        CHILD_CHECK(GetGuardStats().served == kGuardSlots + 1);
        _exit(0);
      },
      testing::ExitedWithCode(0), "");
}

TEST_F(GuardedPoolTest, DoubleInteriorAndInvalidFreesAreReported) {
  char* p = static_cast<char*>(GuardedAlloc(64, 16, 5));
  ASSERT_NE(p, nullptr);
  RecordErrors errors;

  GuardedFree(p + 16);
  EXPECT_EQ(errors.recorded().count, 1);
  EXPECT_EQ(errors.recorded().error, MemoryError::kInteriorFree);
  EXPECT_EQ(errors.recorded().ptr, p + 16);
  EXPECT_STREQ(errors.recorded().tier, "guarded");
  EXPECT_EQ(errors.recorded().size_class, 5);
  EXPECT_TRUE(Contains(errors.recorded().line, " size=64 "))
      << errors.recorded().line;
  EXPECT_EQ(GuardedUsableSize(p), 64u) << "left alone: still live";

  // The guard page before the block's page: no block's.
  GuardedFree(reinterpret_cast<char*>(PageOf(p) - kPage));
  EXPECT_EQ(errors.recorded().count, 2);
  EXPECT_EQ(errors.recorded().error, MemoryError::kInvalidFree);
  // The slack before the block in its page.
  GuardedFree(reinterpret_cast<char*>(PageOf(p)));
  EXPECT_EQ(errors.recorded().count, 3);
  EXPECT_EQ(errors.recorded().error, MemoryError::kInvalidFree);

  GuardedFree(p);
  EXPECT_EQ(errors.recorded().count, 3);
  GuardedFree(p);
  EXPECT_EQ(errors.recorded().count, 4);
  EXPECT_EQ(errors.recorded().error, MemoryError::kDoubleFree);
  EXPECT_EQ(errors.recorded().ptr, p);
  EXPECT_STREQ(errors.recorded().tier, "guarded");
  EXPECT_EQ(errors.recorded().size_class, 5);
  GuardedFree(p + 8);
  EXPECT_EQ(errors.recorded().count, 5);
  EXPECT_EQ(errors.recorded().error, MemoryError::kInteriorFree);
}

TEST_F(GuardedPoolTest, ReadingOneBytePastTheEndIsAnOverflow) {
  EXPECT_DEATH(
      {
        char* p = static_cast<char*>(GuardedAlloc(32, 16, 3));
        ReadByte(p + 32);
      },
      "hakmem: heap buffer overflow: ptr=0x[0-9a-f]+ tier=guarded class=3 "
      "size=32 access=0x[0-9a-f]+ offset=32 thread=[0-9]+\n"
      ".*allocated by thread [0-9]+:\n#0 ");
}

TEST_F(GuardedPoolTest, WritingPastTheEndIsAnOverflow) {
  EXPECT_DEATH(
      {
        char* p = static_cast<char*>(GuardedAlloc(4096, 16, 11));
        WriteByte(p + 4096 + 100, 1);
      },
      "hakmem: heap buffer overflow: ptr=0x[0-9a-f]+ tier=guarded class=11 "
      "size=4096 access=0x[0-9a-f]+ offset=4196 ");
}

TEST_F(GuardedPoolTest, ReadingBeforeTheStartIsAnUnderflowInStartMode) {
  StartAligned start;
  EXPECT_DEATH(
      {
        CHILD_CHECK(GetConfig().guard_align_start);
        char* p = static_cast<char*>(GuardedAlloc(64, 16, 4));
        ReadByte(p - 1);
      },
      "hakmem: heap buffer underflow: ptr=0x[0-9a-f]+ tier=guarded class=4 "
      "size=64 access=0x[0-9a-f]+ offset=-1 ");
}

TEST_F(GuardedPoolTest, ReadAfterFree) {
  EXPECT_DEATH(
      {
        char* p = static_cast<char*>(GuardedAlloc(100, 16, 7));
        GuardedFree(p);
        ReadByte(p + 10);
      },
      "hakmem: use after free: ptr=0x[0-9a-f]+ tier=guarded class=7 "
      "size=100 access=0x[0-9a-f]+ offset=10 thread=[0-9]+\n"
      ".*allocated by thread [0-9]+:\n#0 .*freed by thread [0-9]+:\n#0 ");
}

TEST_F(GuardedPoolTest, WriteAfterFree) {
  EXPECT_DEATH(
      {
        char* p = static_cast<char*>(GuardedAlloc(16, 16, 1));
        GuardedFree(p);
        // Other slots come and go; p's stays quarantined.
        for (int i = 0; i < 10; ++i) GuardedFree(GuardedAlloc(16, 16, 1));
        WriteByte(p, 1);
      },
      "hakmem: use after free: ptr=0x[0-9a-f]+ tier=guarded class=1 "
      "size=16 access=0x[0-9a-f]+ offset=0 ");
}

// Whether the byte at p can be read, without faulting: the kernel copies
// it into a pipe, or fails with EFAULT.
// (From any thread: each reads back one byte after writing one.)
bool Accessible(const void* p) {
  static const int* const fds = [] {
    static int f[2];
    if (pipe(f) != 0) std::abort();
    return f;
  }();
  if (write(fds[1], p, 1) != 1) return false;
  char c;
  if (read(fds[0], &c, 1) != 1) std::abort();
  return true;
}

// The slots whose pages the quarantine or the never-used cursor can still
// hand out: all of them, unless one was retired.
size_t SlotsInService() {
  std::vector<char*> blocks = Exhaust();
  size_t n = GetGuardStats().live;
  FreeAll(blocks);
  return n;
}

// HAKMEM_ON_ERROR=report or a handler: the access runs once after the
// report (single-stepped), on a page that is inaccessible again right
// after it, and the slots stay in service.
TEST_F(GuardedPoolTest, WhenTheReportReturnsTheAccessRunsOnceAndThePageCloses) {
  char* p = static_cast<char*>(GuardedAlloc(48, 16, 2));
  char* q = static_cast<char*>(GuardedAlloc(16, 16, 1));
  char* r = static_cast<char*>(GuardedAlloc(4096, 16, 6));
  ASSERT_NE(p, nullptr);
  ASSERT_NE(q, nullptr);
  ASSERT_NE(r, nullptr);
  std::memset(p, 0x5c, 48);
  {
    RecordErrors errors;
    const Recorded& seen = errors.recorded();

    EXPECT_EQ(ReadByte(p + 48), 0);  // the guard page, opened for the read
    EXPECT_EQ(seen.count, 1);
    EXPECT_EQ(seen.error, MemoryError::kHeapBufferOverflow);
    EXPECT_EQ(seen.ptr, p);
    EXPECT_STREQ(seen.tier, "guarded");
    EXPECT_EQ(seen.size_class, 2);
    EXPECT_TRUE(Contains(seen.line, " size=48 access=0x")) << seen.line;
    EXPECT_TRUE(Contains(seen.line, " offset=48 ")) << seen.line;
    EXPECT_FALSE(Accessible(p + 48)) << "the guard page must close again";
    WriteByte(p + 60, 3);  // the same page: a second fault, a second report
    EXPECT_EQ(seen.count, 2);
    EXPECT_TRUE(Contains(seen.line, " offset=60 ")) << seen.line;
    EXPECT_EQ(ReadByte(p + 60), 0) << "what the write wrote is discarded";
    EXPECT_EQ(seen.count, 3);
    // The block is still live and intact.
    EXPECT_EQ(GuardedUsableSize(p), 48u);
    for (int i = 0; i < 48; ++i) ASSERT_EQ(p[i], 0x5c) << i;

    WriteByte(q, 42);
    GuardedFree(q);
    WriteByte(q + 3, 9);
    EXPECT_EQ(seen.count, 4);
    EXPECT_EQ(seen.error, MemoryError::kUseAfterFree);
    EXPECT_EQ(seen.ptr, q);
    EXPECT_EQ(seen.size_class, 1);
    EXPECT_TRUE(Contains(seen.line, " offset=3 ")) << seen.line;
    EXPECT_FALSE(Accessible(q)) << "the freed page must close again";
    EXPECT_EQ(ReadByte(q + 3), 0) << "decommitted after the step";
    EXPECT_EQ(seen.count, 5);
    EXPECT_EQ(seen.error, MemoryError::kUseAfterFree);
    GuardedFree(q);  // still the freed block, in the quarantine
    EXPECT_EQ(seen.count, 6);
    EXPECT_EQ(seen.error, MemoryError::kDoubleFree);
    EXPECT_EQ(seen.ptr, q);

    // The guard page before r's page: r (4096 bytes) starts right after
    // it, the block before it ends a page away. Nearest wins.
    EXPECT_EQ(ReadByte(r - 1), 0);
    EXPECT_EQ(seen.count, 7);
    EXPECT_EQ(seen.error, MemoryError::kHeapBufferUnderflow);
    EXPECT_EQ(seen.ptr, r);
    EXPECT_TRUE(Contains(seen.line, " offset=-1 ")) << seen.line;
    EXPECT_FALSE(Accessible(r - 1));
    EXPECT_TRUE(Accessible(r));
  }
  GuardedFree(p);
  GuardedFree(r);
  // Every slot comes back, the ones that faulted among them.
  std::vector<char*> blocks = Exhaust();
  for (char* page : {p, q, r}) {
    EXPECT_EQ(std::count_if(blocks.begin(), blocks.end(),
                            [&](char* b) { return PageOf(b) == PageOf(page); }),
              1)
        << "slot at " << static_cast<void*>(page) << " left the pool";
  }
  EXPECT_EQ(GetGuardStats().live, kGuardSlots) << "no slot was retired";
  FreeAll(blocks);
}

// A long-running program under the report policy (or a fuzzer injecting
// faults through the error hook) does not run the pool dry.
TEST_F(GuardedPoolTest, ThousandsOfReportedFaultsLeaveThePoolInService) {
  constexpr int kRounds = 2000;
  RecordErrors errors;
  const Recorded& seen = errors.recorded();
  for (int i = 0; i < kRounds; ++i) {
    SCOPED_TRACE(testing::Message() << "round " << i);
    size_t size = 1 + static_cast<size_t>(i) * 37 % kGuardMaxSize;
    char* p = static_cast<char*>(GuardedAlloc(size, 16, i % 50));
    ASSERT_NE(p, nullptr);
    size_t usable = GuardedUsableSize(p);
    int before = seen.count;
    size_t offset;
    MemoryError expected;
    char* at;
    switch (i % 4) {
      case 0:  // read past the end, anywhere in the guard page
      case 1:  // write there
        offset = usable + static_cast<size_t>(i) % kPage;
        at = p + offset;
        expected = MemoryError::kHeapBufferOverflow;
        if (i % 4 == 0) {
          ASSERT_EQ(ReadByte(at), 0);
        } else {
          WriteByte(at, 1);
        }
        break;
      default:  // read or write after free
        GuardedFree(p);
        offset = static_cast<size_t>(i) % usable;
        at = p + offset;
        expected = MemoryError::kUseAfterFree;
        if (i % 4 == 2) {
          ASSERT_EQ(ReadByte(at), 0);
        } else {
          WriteByte(at, 1);
        }
        break;
    }
    ASSERT_EQ(seen.count, before + 1);
    ASSERT_EQ(seen.error, expected);
    ASSERT_EQ(seen.ptr, p);
    ASSERT_EQ(seen.size_class, i % 50);
    char want[32];
    std::snprintf(want, sizeof(want), " offset=%zu ", offset);
    ASSERT_TRUE(Contains(seen.line, want)) << seen.line;
    ASSERT_FALSE(Accessible(at)) << "the page must close again";
    if (expected != MemoryError::kUseAfterFree) GuardedFree(p);
  }
  // Every slot still serves, and faults on the next bad access.
  EXPECT_EQ(SlotsInService(), kGuardSlots);
  std::vector<char*> blocks = Exhaust(100);
  ASSERT_EQ(GetGuardStats().live, kGuardSlots);
  for (char* b : blocks) {
    int before = seen.count;
    ASSERT_EQ(ReadByte(b + 112), 0);
    ASSERT_EQ(seen.count, before + 1);
    ASSERT_EQ(seen.ptr, b);
  }
  FreeAll(blocks);
}

// Reports counted per thread, for tests with several faulting threads.
thread_local int t_reports = 0;
thread_local int t_wrong_reports = 0;
thread_local MemoryError t_expected = MemoryError::kUseAfterFree;
void CountOnThread(const MemoryErrorReport& report, void*) {
  ++t_reports;
  if (report.error != t_expected) ++t_wrong_reports;
}

// A read through a dangling pointer that may race with the new owner's
// writes, which is the bug simulated: hidden from TSan (hakmem's own
// accesses stay instrumented).
#if defined(__clang__)
__attribute__((no_sanitize("thread")))
#endif
char DanglingRead(const char* p) {
  return *static_cast<const volatile char*>(p);
}

[[noreturn]] void BlockClosed() {
  static const char msg[] = "a live block's page was made inaccessible\n";
  if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0) {
  }
  std::abort();
}

// One thread keeps reading its freed blocks while others
// cycle the quarantine as fast as they can, so that its slots are handed
// out again while it may be stepping an access to them: a step's
// re-protection must never land on the new block's page (its owner would
// fault on its own block, forever), and every report is a use after free.
TEST_F(GuardedPoolTest, StepsAndReuseOfTheSameSlotsRace) {
  SetMemoryErrorHandler(&CountOnThread, nullptr);
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> cycled{0};
  std::vector<std::thread> cyclers;
  for (int t = 0; t < 2; ++t) {
    cyclers.emplace_back([&, t] {
      std::vector<char*> mine;
      while (!stop.load(std::memory_order_relaxed)) {
        char* p = static_cast<char*>(GuardedAlloc(64 + 16 * t, 16, 20 + t));
        if (p != nullptr) {
          if (!Accessible(p)) BlockClosed();
          std::memset(p, 0x30 + t, 64 + 16 * t);
          mine.push_back(p);
        }
        if (mine.size() > 8 || (p == nullptr && !mine.empty())) {
          char* q = mine.front();
          mine.erase(mine.begin());
          if (!Accessible(q)) BlockClosed();
          for (int i = 0; i < 64 + 16 * t; ++i) {
            if (q[i] != 0x30 + t) std::abort();  // lost: decommitted?
          }
          GuardedFree(q);
        }
        cycled.fetch_add(1, std::memory_order_relaxed);
      }
      FreeAll(mine);
    });
  }
  int injected = 0;
  for (int round = 0; round < 60; ++round) {
    char* p = static_cast<char*>(GuardedAlloc(128, 16, 5));
    if (p == nullptr) continue;
    GuardedFree(p);
    // Until the slot has most likely been handed out again.
    uint64_t start = cycled.load(std::memory_order_relaxed);
    while (cycled.load(std::memory_order_relaxed) - start < 2 * kGuardSlots) {
      // Reads only: a write through the dangling pointer would land in the
      // new block once the slot is reused (which no guard can see).
      (void)DanglingRead(p + injected % 128);
      ++injected;
      if (injected % 16 == 0) sched_yield();
    }
  }
  stop.store(true);
  for (std::thread& th : cyclers) th.join();
  SetMemoryErrorHandler(nullptr, nullptr);
  EXPECT_GT(injected, 0);
  EXPECT_GT(t_reports, 0);
  EXPECT_LE(t_reports, injected);
  EXPECT_EQ(t_wrong_reports, 0);
  EXPECT_EQ(SlotsInService(), kGuardSlots);
}

// Several threads stepping overflows at once (each on its own blocks).
TEST_F(GuardedPoolTest, ThreadsSteppingAtOnceGetOneReportEach) {
  SetMemoryErrorHandler(&CountOnThread, nullptr);
  constexpr int kThreads = 4;
  constexpr int kRounds = 500;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      t_expected = MemoryError::kHeapBufferOverflow;
      for (int i = 0; i < kRounds; ++i) {
        // At most 2 KiB, 63 bytes past the end at most: nearer to this
        // block than to any block after the guard page.
        size_t size = 1 + static_cast<size_t>(i * 31 + t) % 2048;
        char* p = static_cast<char*>(GuardedAlloc(size, 16, t));
        if (p == nullptr) {
          failures.fetch_add(1);
          continue;
        }
        size_t usable = GuardedUsableSize(p);
        int before = t_reports;
        if (i % 2 == 0) {
          (void)ReadByte(p + usable + i % 64);
        } else {
          WriteByte(p + usable + i % 64, 1);
        }
        if (t_reports != before + 1) failures.fetch_add(1);
        GuardedFree(p);
      }
      if (t_wrong_reports != 0) failures.fetch_add(1);
    });
  }
  for (std::thread& th : threads) th.join();
  SetMemoryErrorHandler(nullptr, nullptr);
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(SlotsInService(), kGuardSlots);
}

void CheckStartAlignedUnderflowsKeepThePoolInService() {
  CHILD_CHECK(GetConfig().guard_align_start);
  RecordErrors errors;
  const Recorded& seen = errors.recorded();
  for (int i = 0; i < 600; ++i) {
    size_t size = 1 + static_cast<size_t>(i) * 53 % kGuardMaxSize;
    char* p = static_cast<char*>(GuardedAlloc(size, 16, 4));
    CHILD_CHECK(p != nullptr && Addr(p) % kPage == 0);
    size_t back = 1 + static_cast<size_t>(i) % kPage;
    int before = seen.count;
    if (i % 2 == 0) {
      CHILD_CHECK(ReadByte(p - back) == 0);
    } else {
      WriteByte(p - back, 1);
    }
    CHILD_CHECK(seen.count == before + 1);
    CHILD_CHECK(seen.error == MemoryError::kHeapBufferUnderflow);
    CHILD_CHECK(seen.ptr == p);
    char want[32];
    std::snprintf(want, sizeof(want), " offset=-%zu ", back);
    CHILD_CHECK(Contains(seen.line, want));
    CHILD_CHECK(!Accessible(p - back));
    GuardedFree(p);
  }
  CHILD_CHECK(SlotsInService() == kGuardSlots);
  _exit(0);
}

TEST_F(GuardedPoolTest, ReportedUnderflowsKeepThePoolInServiceInStartMode) {
  StartAligned start;
  EXPECT_EXIT(CheckStartAlignedUnderflowsKeepThePoolInService(),
              testing::ExitedWithCode(0), "");
}

#if defined(__x86_64__)
uint64_t Load8(const char* p) {
  uint64_t v;
  asm volatile("movq (%1), %0" : "=r"(v) : "r"(p) : "memory");
  return v;
}

// rep stosb: one instruction that repeats, faulting at each iteration on a
// protected page.
void RepStos(char* p, size_t n, char value) {
  asm volatile("rep stosb"
               : "+D"(p), "+c"(n)
               : "a"(static_cast<unsigned char>(value))
               : "memory");
}

TEST_F(GuardedPoolTest, AnAccessAcrossTwoPagesIsReportedOnceAndBothClose) {
  RecordErrors errors;
  const Recorded& seen = errors.recorded();
  // A live block's last 4 bytes and the guard page's first 4: the fault
  // is on the guard page (its first byte), and only there.
  char* p = static_cast<char*>(GuardedAlloc(64, 16, 3));
  ASSERT_NE(p, nullptr);
  std::memset(p, 0xab, 64);
  EXPECT_EQ(Load8(p + 60), 0xababababull);
  EXPECT_EQ(seen.count, 1);
  EXPECT_EQ(seen.error, MemoryError::kHeapBufferOverflow);
  EXPECT_EQ(seen.ptr, p);
  EXPECT_TRUE(Contains(seen.line, " offset=64 ")) << seen.line;
  EXPECT_FALSE(Accessible(p + 64));
  EXPECT_TRUE(Accessible(p + 63));
  // A freed block's last 4 bytes and the guard page: both pages fault,
  // one after the other, for one report; both close again.
  char* q = static_cast<char*>(GuardedAlloc(64, 16, 3));
  ASSERT_NE(q, nullptr);
  GuardedFree(q);
  EXPECT_EQ(Load8(q + 60), 0u);
  EXPECT_EQ(seen.count, 2);
  EXPECT_EQ(seen.error, MemoryError::kUseAfterFree);
  EXPECT_EQ(seen.ptr, q);
  EXPECT_TRUE(Contains(seen.line, " offset=60 ")) << seen.line;
  EXPECT_FALSE(Accessible(q + 60));
  EXPECT_FALSE(Accessible(q + 64));
  // And again: both were protected again.
  EXPECT_EQ(Load8(q + 60), 0u);
  EXPECT_EQ(seen.count, 3);
  GuardedFree(p);
  EXPECT_EQ(SlotsInService(), kGuardSlots);
}

TEST_F(GuardedPoolTest, ARepeatedStringInstructionIsReportedOnce) {
  RecordErrors errors;
  const Recorded& seen = errors.recorded();
  // A memset of 100 bytes at 16 bytes before the end: 84 iterations fault
  // on the guard page, one report.
  char* p = static_cast<char*>(GuardedAlloc(256, 16, 9));
  ASSERT_NE(p, nullptr);
  RepStos(p + 240, 100, 7);
  EXPECT_EQ(seen.count, 1);
  EXPECT_EQ(seen.error, MemoryError::kHeapBufferOverflow);
  EXPECT_EQ(seen.ptr, p);
  EXPECT_TRUE(Contains(seen.line, " offset=256 ")) << seen.line;
  for (int i = 240; i < 256; ++i) EXPECT_EQ(p[i], 7) << i;
  EXPECT_FALSE(Accessible(p + 256));
  // A use after free of a whole block.
  GuardedFree(p);
  RepStos(p, 256, 1);
  EXPECT_EQ(seen.count, 2);
  EXPECT_EQ(seen.error, MemoryError::kUseAfterFree);
  EXPECT_TRUE(Contains(seen.line, " offset=0 ")) << seen.line;
  EXPECT_FALSE(Accessible(p));
  // The next one is reported again.
  RepStos(p + 8, 8, 1);
  EXPECT_EQ(seen.count, 3);
  EXPECT_EQ(SlotsInService(), kGuardSlots);
}
#endif  // __x86_64__

// SIGTRAP blocked in the faulting thread: unblocked for the step, blocked
// again after it, and nothing left pending.
TEST_F(GuardedPoolTest, ABlockedSigtrapDoesNotStopTheStep) {
  char* p = static_cast<char*>(GuardedAlloc(32, 16, 1));
  ASSERT_NE(p, nullptr);
  sigset_t trap;
  sigemptyset(&trap);
  sigaddset(&trap, SIGTRAP);
  sigset_t old;
  ASSERT_EQ(pthread_sigmask(SIG_BLOCK, &trap, &old), 0);
  {
    RecordErrors errors;
    EXPECT_EQ(ReadByte(p + 32), 0);
    EXPECT_EQ(errors.recorded().count, 1);
    EXPECT_FALSE(Accessible(p + 32));
  }
  sigset_t now;
  ASSERT_EQ(pthread_sigmask(SIG_BLOCK, nullptr, &now), 0);
  EXPECT_EQ(sigismember(&now, SIGTRAP), 1);
  sigset_t pending;
  ASSERT_EQ(sigpending(&pending), 0);
  EXPECT_EQ(sigismember(&pending, SIGTRAP), 0);
  ASSERT_EQ(pthread_sigmask(SIG_SETMASK, &old, nullptr), 0);
  GuardedFree(p);
}

// The program's own SIGTRAP handler, installed before the pool: hakmem's
// passes on every trap that is not its step.
std::atomic<int> g_program_traps{0};
std::atomic<int> g_program_trap_code{0};
void ProgramTrapHandler(int, siginfo_t* info, void* context) {
  g_program_traps.fetch_add(1);
  g_program_trap_code.store(info->si_code);
#if defined(__x86_64__)
  // Ends a trap-flag step the program set itself.
  static_cast<ucontext_t*>(context)->uc_mcontext.gregs[REG_EFL] &= ~0x100;
#else
  (void)context;
#endif
}

void InstallProgramTrapHandler() {
  struct sigaction action;
  std::memset(&action, 0, sizeof(action));
  action.sa_sigaction = ProgramTrapHandler;
  action.sa_flags = SA_SIGINFO;
  sigemptyset(&action.sa_mask);
  CHILD_CHECK(sigaction(SIGTRAP, &action, nullptr) == 0);
}

TEST_F(GuardedPoolTest, AnEarlierSigtrapHandlerStillGetsItsSignals) {
  EXPECT_EXIT(
      {
        InstallProgramTrapHandler();
        char* p = static_cast<char*>(GuardedAlloc(64, 16, 1));  // the pool
        CHILD_CHECK(p != nullptr);
        raise(SIGTRAP);
        CHILD_CHECK(g_program_traps.load() == 1);
        CHILD_CHECK(g_program_trap_code.load() == SI_TKILL);
#if defined(__x86_64__)
        asm volatile("int3");  // a breakpoint the kernel reports
        CHILD_CHECK(g_program_traps.load() == 2);
        CHILD_CHECK(g_program_trap_code.load() > 0);
#endif
        int traps = g_program_traps.load();
        {
          RecordErrors errors;
          for (int i = 0; i < 100; ++i) CHILD_CHECK(ReadByte(p + 64) == 0);
          CHILD_CHECK(errors.recorded().count == 100);
        }
        CHILD_CHECK(g_program_traps.load() == traps);  // our steps: ours
        raise(SIGTRAP);
        CHILD_CHECK(g_program_traps.load() == traps + 1);
        _exit(0);
      },
      testing::ExitedWithCode(0), "");
}

void SetTrapAction(void (*handler)(int)) {
  struct sigaction action;
  std::memset(&action, 0, sizeof(action));
  action.sa_handler = handler;
  sigemptyset(&action.sa_mask);
  CHILD_CHECK(sigaction(SIGTRAP, &action, nullptr) == 0);
}

TEST_F(GuardedPoolTest, ASigtrapWithTheDefaultActionBeforeThePoolStillKills) {
  EXPECT_EXIT(
      {
        SetTrapAction(SIG_DFL);
        CHILD_CHECK(GuardedAlloc(64, 16, 1) != nullptr);
        raise(SIGTRAP);
        _exit(1);
      },
      testing::KilledBySignal(SIGTRAP), "");
}

TEST_F(GuardedPoolTest, AnIgnoredSigtrapBeforeThePoolStaysIgnored) {
  EXPECT_EXIT(
      {
        SetTrapAction(SIG_IGN);
        CHILD_CHECK(GuardedAlloc(64, 16, 1) != nullptr);
        raise(SIGTRAP);
        _exit(0);
      },
      testing::ExitedWithCode(0), "");
}

// The fallback where the access cannot be stepped: the page stays open for
// good and the slots it serves never come back.
void CheckRetired(char* p, const Recorded& seen, int reports) {
  CHILD_CHECK(seen.count == reports);
  CHILD_CHECK(Accessible(p + 64));  // open for good
  CHILD_CHECK(ReadByte(p + 64) == 0);
  CHILD_CHECK(seen.count == reports);  // no second fault
  GuardedFree(p);
  std::vector<char*> blocks = Exhaust();
  for (char* b : blocks) {
    // p's slot, and the next one (the guard page between them was opened).
    CHILD_CHECK(PageOf(b) != PageOf(p));
    CHILD_CHECK(PageOf(b) != PageOf(p) + 2 * kPage);
  }
  CHILD_CHECK(blocks.size() == kGuardSlots - 2);
}

TEST_F(GuardedPoolTest, ASigtrapHandlerInstalledAfterThePoolMeansRetiring) {
  EXPECT_EXIT(
      {
        char* p = static_cast<char*>(GuardedAlloc(64, 16, 1));
        CHILD_CHECK(p != nullptr);
        InstallProgramTrapHandler();  // replaces hakmem's
        RecordErrors errors;
        CHILD_CHECK(ReadByte(p + 64) == 0);
        CHILD_CHECK(g_program_traps.load() == 0);
        CheckRetired(p, errors.recorded(), 1);
        _exit(0);
      },
      testing::ExitedWithCode(0), "");
}

#if defined(__x86_64__)
TEST_F(GuardedPoolTest, AnAccessAlreadyBeingSteppedMeansRetiring) {
  EXPECT_EXIT(
      {
        InstallProgramTrapHandler();  // ends the program's own step
        char* p = static_cast<char*>(GuardedAlloc(64, 16, 1));
        CHILD_CHECK(p != nullptr);
        RecordErrors errors;
        // The program steps the faulting load itself (as a debugger would).
        char v;
        asm volatile(
            "pushfq\n\t"
            "orq $0x100, (%%rsp)\n\t"
            "popfq\n\t"
            "movb (%1), %0"
            : "=r"(v)
            : "r"(p + 64)
            : "memory", "cc");
        CHILD_CHECK(v == 0);
        CHILD_CHECK(g_program_traps.load() == 1);  // its trap, passed on
        CheckRetired(p, errors.recorded(), 1);
        _exit(0);
      },
      testing::ExitedWithCode(0), "");
}
#endif  // __x86_64__

// A handler the program installed before the pool existed still gets the
// faults that are not the pool's.
void ExitingHandler(int sig, siginfo_t* info, void*) {
  static const char msg[] = "previous handler ran\n";
  if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0) {
  }
  _exit(sig == SIGSEGV && info != nullptr && info->si_addr != nullptr ? 42
                                                                      : 43);
}

void PlainExitingHandler(int sig) {
  static const char msg[] = "plain previous handler ran\n";
  if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0) {
  }
  _exit(sig == SIGSEGV ? 44 : 45);
}

char* ProtectedPage() {
  void* page =
      mmap(nullptr, kPage, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  CHILD_CHECK(page != MAP_FAILED);
  return static_cast<char*>(page);
}

TEST_F(GuardedPoolTest, FaultsOutsideThePoolReachTheEarlierSigactionHandler) {
  EXPECT_EXIT(
      {
        struct sigaction action;
        std::memset(&action, 0, sizeof(action));
        action.sa_sigaction = ExitingHandler;
        action.sa_flags = SA_SIGINFO;
        sigemptyset(&action.sa_mask);
        CHILD_CHECK(sigaction(SIGSEGV, &action, nullptr) == 0);
        char* outside = ProtectedPage();
        CHILD_CHECK(GuardedAlloc(64, 16, 1) != nullptr);  // creates the pool
        ReadByte(outside);
        _exit(1);
      },
      testing::ExitedWithCode(42), "previous handler ran");
}

TEST_F(GuardedPoolTest, FaultsOutsideThePoolReachTheEarlierPlainHandler) {
  EXPECT_EXIT(
      {
        CHILD_CHECK(signal(SIGSEGV, PlainExitingHandler) != SIG_ERR);
        char* outside = ProtectedPage();
        CHILD_CHECK(GuardedAlloc(64, 16, 1) != nullptr);
        WriteByte(outside, 1);
        _exit(1);
      },
      testing::ExitedWithCode(44), "plain previous handler ran");
}

// With the default action before the pool: the process dies of SIGSEGV,
// as it would without hakmem. (Set explicitly: a sanitizer runtime has
// its own handler installed by then.)
void RestoreDefaultSegv() {
  struct sigaction action;
  std::memset(&action, 0, sizeof(action));
  action.sa_handler = SIG_DFL;
  sigemptyset(&action.sa_mask);
  CHILD_CHECK(sigaction(SIGSEGV, &action, nullptr) == 0);
}

TEST_F(GuardedPoolTest, FaultsOutsideThePoolTakeTheDefaultAction) {
  EXPECT_EXIT(
      {
        RestoreDefaultSegv();
        char* outside = ProtectedPage();
        CHILD_CHECK(GuardedAlloc(64, 16, 1) != nullptr);
        ReadByte(outside);
        _exit(1);
      },
      testing::KilledBySignal(SIGSEGV), "");
}

TEST_F(GuardedPoolTest, ASentSigsegvTakesTheDefaultAction) {
  EXPECT_EXIT(
      {
        RestoreDefaultSegv();
        CHILD_CHECK(GuardedAlloc(64, 16, 1) != nullptr);
        kill(getpid(), SIGSEGV);
        _exit(1);
      },
      testing::KilledBySignal(SIGSEGV), "");
}

// A fault in the pool near no block (a never-used slot's page between
// never-used ones) is not hakmem's to explain: the default action.
TEST_F(GuardedPoolTest, AWildAccessIntoThePoolIsPassedOn) {
  EXPECT_EXIT(
      {
        RestoreDefaultSegv();
        char* p = static_cast<char*>(GuardedAlloc(64, 16, 1));
        CHILD_CHECK(p != nullptr);
        // In a fresh pool p has slot 0; slot 10's page is far from it.
        ReadByte(reinterpret_cast<char*>(PageOf(p) + 20 * kPage));
        _exit(1);
      },
      testing::KilledBySignal(SIGSEGV), "");
}

TEST_F(GuardedPoolTest, AnAccessToANeverUsedPageIsBlamedOnTheNearestBlock) {
  EXPECT_DEATH(
      {
        char* p = static_cast<char*>(GuardedAlloc(4096, 16, 8));
        CHILD_CHECK(p != nullptr);
        // Slot 0's block, past its guard page into slot 1's (never used).
        ReadByte(p + 2 * kPage + 10);
      },
      "heap buffer overflow: ptr=0x[0-9a-f]+ tier=guarded class=8 size=4096 "
      "access=0x[0-9a-f]+ offset=8202 ");
}

TEST_F(GuardedPoolTest, ThreadsAllocateAndFreeConcurrently) {
  constexpr int kThreads = 4;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([t] {
      std::vector<char*> mine;
      for (int i = 0; i < 2000; ++i) {
        if (mine.size() < 20) {
          size_t size = 1 + static_cast<size_t>(i * 131 + t) % 4096;
          char* p = static_cast<char*>(GuardedAlloc(size, 16, t));
          if (p != nullptr) {
            std::memset(p, t + 1, GuardedUsableSize(p));
            mine.push_back(p);
          }
        } else {
          for (char* p : mine) {
            ASSERT_EQ(GuardedSizeClass(p), t);
            size_t usable = GuardedUsableSize(p);
            ASSERT_GT(usable, 0u);
            ASSERT_EQ(p[0], t + 1);
            ASSERT_EQ(p[usable - 1], t + 1);
            GuardedFree(p);
          }
          mine.clear();
        }
      }
      FreeAll(mine);
    });
  }
  for (std::thread& th : threads) th.join();
}

TEST_F(GuardedPoolTest, ForkHandlersLeaveThePoolUsableOnBothSides) {
  char* before = static_cast<char*>(GuardedAlloc(64, 16, 1));
  ASSERT_NE(before, nullptr);
  before[0] = 7;
  GuardForkPrepare();
  pid_t pid = fork();
  if (pid == 0) {
    GuardForkChild();
    char* p = static_cast<char*>(GuardedAlloc(64, 16, 1));
    bool ok = p != nullptr && before[0] == 7 && GuardedUsableSize(before) == 64;
    if (p != nullptr) GuardedFree(p);
    GuardedFree(before);
    _exit(ok ? 0 : 1);
  }
  GuardForkParent();
  ASSERT_GT(pid, 0);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_EQ(GuardedUsableSize(before), 64u);
  char* p = static_cast<char*>(GuardedAlloc(64, 16, 1));
  EXPECT_NE(p, nullptr);
  if (p != nullptr) GuardedFree(p);
  GuardedFree(before);
}

}  // namespace
}  // namespace hakmem::internal

// Memory errors that the release build detects and reports (then aborts).
#include "hakmem/error/memory_error.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <thread>
#include <vector>

#include "absl/base/attributes.h"
#include "gtest/gtest.h"
#include "hakmem/core/allocator.h"
#include "hakmem/error/error_log_for_tests.h"
#include "hakmem/size_class/size_class.h"
#include "hakmem/thread_cache/thread_cache.h"

namespace hakmem::internal {
namespace {

// These tests are about slab blocks: none may be a guarded sample (a
// sample is a block outside every SuperSlab). Set before the
// configuration is read.
[[maybe_unused]] const bool kSamplingOff =
    setenv("HAKMEM_GUARD_RATE", "0", 1) == 0;

// Frees `p` twice; the reports' stacks must show this frame. (noinline and
// the asm statement keep the frame: no inlining, no tail call. Free is
// called through a pointer so that its inlined fast path does not make this
// function large: the handler test finds its frame by address.)
void (*volatile g_free)(void*) = &Free;
ABSL_ATTRIBUTE_NOINLINE void DoubleFreeInANamedFunction(void* p) {
  g_free(p);
  g_free(p);
  asm volatile("" ::: "memory");
}

// The report line, then stack lines down to DoubleFreeInANamedFunction's.
// (POSIX regular expressions: "." also matches a newline.)
#define HAKMEM_STACK_FRAME_LINE \
  "#[0-9]+ 0x[0-9a-f]+ [^ \n]+ \\([^\n]+\\+0x[0-9a-f]+\\)\n"
constexpr char kDoubleFreeWithStack[] =
    "hakmem: double free: ptr=0x[0-9a-f]+ tier=tiny class=1 thread=[0-9]+\n"
    "#0 0x[0-9a-f]+ [^ \n]+ \\([^\n]+\\+0x[0-9a-f]+\\)\n"
    "(" HAKMEM_STACK_FRAME_LINE
    ")*"
    "#[0-9]+ 0x[0-9a-f]+ [^ \n]*DoubleFreeInANamedFunction[^ \n]*"
    "\\+0x[0-9a-f]+ \\([^\n]+\\+0x[0-9a-f]+\\)\n";

class MemoryErrorDeathTest : public ::testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

TEST_F(MemoryErrorDeathTest, DoubleFreeWhileInThreadCache) {
  EXPECT_DEATH(
      {
        void* p = Malloc(24);
        Free(p);
        Free(p);
      },
      "double free: ptr=0x[0-9a-f]+ tier=tiny class=1 thread=[0-9]+");
}

TEST_F(MemoryErrorDeathTest, DoubleFreeAfterTheBlockWentBackToItsSlab) {
  EXPECT_DEATH(
      {
        std::vector<void*> blocks;
        for (int i = 0; i < 2000; ++i) blocks.push_back(Malloc(64));
        // Freeing more than a thread cache holds spills the first ones.
        for (void* p : blocks) Free(p);
        Free(blocks[0]);
      },
      "double free: .* tier=tiny");
}

TEST_F(MemoryErrorDeathTest, DoubleFreeByOwnerThenAnotherThread) {
  EXPECT_DEATH(
      {
        void* p = Malloc(100);
        Free(p);
        std::thread([p] { Free(p); }).join();
      },
      "double free");
}

TEST_F(MemoryErrorDeathTest, DoubleFreeByTwoOtherThreads) {
  EXPECT_DEATH(
      {
        void* p = Malloc(4000);
        std::thread([p] { Free(p); }).join();
        std::thread([p] { Free(p); }).join();
      },
      "double free: .* tier=pool");
}

TEST_F(MemoryErrorDeathTest, LargeDoubleFree) {
  EXPECT_DEATH(
      {
        void* p = Malloc(1 << 20);
        Free(p);
        Free(p);
      },
      "invalid free");
}

TEST_F(MemoryErrorDeathTest, InteriorPointer) {
  EXPECT_DEATH(
      {
        char* p = static_cast<char*>(Malloc(64));
        Free(p + 16);
      },
      "middle of a block.*ptr=0x[0-9a-f]+ tier=tiny class=3");
}

TEST_F(MemoryErrorDeathTest, PointerHakmemNeverReturned) {
  EXPECT_DEATH(
      {
        int on_stack = 0;
        Free(&on_stack);
      },
      "pointer not allocated by hakmem");
}

TEST_F(MemoryErrorDeathTest, ReallocAndUsableSizeOfAFreedBlock) {
  EXPECT_DEATH(
      {
        void* p = Malloc(32);
        Free(p);
        Realloc(p, 64);
      },
      "invalid pointer");
  EXPECT_DEATH(
      {
        void* p = Malloc(3000);
        Free(p);
        UsableSize(p);
      },
      "invalid pointer");
}

TEST_F(MemoryErrorDeathTest, SizedFreeLargerThanTheBlock) {
  EXPECT_DEATH(
      {
        void* p = Malloc(32);
        FreeSized(p, 4096);
      },
      "invalid sized free");
}

TEST_F(MemoryErrorDeathTest, ReportPolicyLogsAndGoesOn) {
  // The death-test child is a fresh process that inherits this variable.
  setenv("HAKMEM_ON_ERROR", "report", 1);
  EXPECT_EXIT(
      {
        void* p = Malloc(40);
        Free(p);
        Free(p);  // reported, then ignored
        void* q = Malloc(40);
        Free(q);
        std::exit(q != nullptr ? 7 : 1);
      },
      ::testing::ExitedWithCode(7), "hakmem: double free: ptr=0x");
  unsetenv("HAKMEM_ON_ERROR");
}

TEST_F(MemoryErrorDeathTest, ReportCarriesTheStackOfTheOffendingCall) {
  EXPECT_DEATH(DoubleFreeInANamedFunction(Malloc(24)), kDoubleFreeWithStack);
}

TEST_F(MemoryErrorDeathTest, ReportPolicyPrintsTheStackAndGoesOn) {
  setenv("HAKMEM_ON_ERROR", "report", 1);
  EXPECT_EXIT(
      {
        DoubleFreeInANamedFunction(Malloc(24));
        std::exit(7);
      },
      ::testing::ExitedWithCode(7), kDoubleFreeWithStack);
  unsetenv("HAKMEM_ON_ERROR");
}

TEST(MemoryErrorTest, FreeAgainAfterTheSlabWasReusedByAnotherClass) {
  ErrorLog log;
  // Fill whole spans of 16-byte blocks, free them all (the spans go back to
  // the SuperSlabs), then carve the same memory for 48-byte blocks.
  std::vector<void*> small;
  for (int i = 0; i < 20000; ++i) small.push_back(Malloc(16));
  for (void* p : small) Free(p);
  // Give the emptied spans back to their SuperSlabs, which stay mapped.
  CollectThreadCache(/*force=*/true);
  // Allocate until the new class has taken over the old memory (other free
  // slabs may be carved first).
  auto [lo, hi] = std::minmax_element(small.begin(), small.end());
  std::vector<void*> larger;
  size_t in_old_range = 0;
  while (in_old_range < 1000 && larger.size() < 400000) {
    larger.push_back(Malloc(48));
    in_old_range += larger.back() >= *lo && larger.back() <= *hi;
  }
  ASSERT_GE(in_old_range, 1000u) << "the slabs were not reused";
  std::vector<bool> live(small.size());
  size_t reused = 0;
  for (size_t i = 0; i < small.size(); ++i) {
    // A stale pointer that is exactly a live new block cannot be told from
    // a valid free (that is the ABA case every allocator has): skip those.
    for (void* q : larger) {
      if (q == small[i]) live[i] = true;
    }
  }
  for (size_t i = 0; i < small.size(); ++i) {
    if (live[i]) continue;
    Free(small[i]);
    ++reused;
  }
  // Every stale free was reported (interior pointer, double free or not a
  // block at all), none was taken.
  EXPECT_EQ(log.errors.size(), reused);
  for (void* q : larger) Free(q);
  EXPECT_EQ(log.errors.size(), reused);
}

TEST(MemoryErrorTest, WriteIntoAFreedBlockIsDetectedNotFollowed) {
  ErrorLog log;
  // Writes into the first 16 bytes that are always caught: anything over
  // the free key, and zeroes or a pointer over the link alone (other data
  // over the link alone is caught 15 times in 16; free_block.h).
  const std::vector<std::pair<uint64_t, bool>> writes = {
      {0x4141414141414141, true},   // both words
      {0, false},                   // the link zeroed
      {0x00007f0000001000, false},  // the link replaced by a pointer
  };
  for (size_t size : {size_t{32}, size_t{3000}}) {
    for (auto [value, both_words] : writes) {
      log.errors.clear();
      void* keep = Malloc(size);  // keeps the class's span alive
      auto* p = static_cast<uint64_t*>(Malloc(size));
      Free(p);
      p[0] = value;  // use after free
      if (both_words) p[1] = value;
      // The next allocations of the class pop p, find it corrupted, report
      // and drop the cache instead of following the link.
      std::vector<void*> got;
      for (int i = 0; i < 4; ++i) got.push_back(Malloc(size));
      ASSERT_EQ(log.errors.size(), 1u) << size << " " << value;
      EXPECT_EQ(log.errors[0], MemoryError::kCorruptedFreeList);
      for (void* q : got) {
        EXPECT_NE(q, nullptr);
        EXPECT_NE(q, p);
        Free(q);
      }
      Free(keep);
      EXPECT_EQ(log.errors.size(), 1u);
    }
  }
}

TEST(MemoryErrorTest, SizedAndAlignedFreesWithTheWrongSize) {
  ErrorLog log;
  void* p = Malloc(100);  // class 112
  FreeSized(p, 20);       // maps to another class
  void* q = AlignedAlloc(4096, 100);
  FreeAlignedSized(q, 16, 100);  // not how it was allocated
  void* big = Malloc(1 << 20);
  FreeSized(big, 100000);  // a pool size for a large block
  ASSERT_EQ(log.errors.size(), 3u);
  for (MemoryError e : log.errors) EXPECT_EQ(e, MemoryError::kSizeMismatch);
  // The blocks were left alone: freeing them properly works.
  FreeSized(p, 100);
  FreeAlignedSized(q, 4096, 100);
  FreeSized(big, 1 << 20);
  EXPECT_EQ(log.errors.size(), 3u);
}

// The sized free's inline path (a tiny size of the block's class) checks
// what the plain free checks; a tiny size of another class goes to the
// slow path and is reported there.
TEST(MemoryErrorTest, SizedFreesCatchWhatPlainFreesCatch) {
  ErrorLog log;
  void* p = Malloc(48);
  FreeSized(p, 48);
  FreeSized(p, 48);
  void* q = Malloc(48);
  FreeSized(static_cast<char*>(q) + 16, 48);
  void* r = Malloc(5000);
  FreeSized(r, 64);
  EXPECT_EQ(log.errors, (std::vector<MemoryError>{MemoryError::kDoubleFree,
                                                  MemoryError::kInteriorFree,
                                                  MemoryError::kSizeMismatch}));
  // From another thread: a remote free, not an error.
  void* s = Malloc(64);
  std::thread([s] { FreeSized(s, 64); }).join();
  FreeSized(q, 48);
  FreeSized(r, 5000);
  EXPECT_EQ(log.errors.size(), 3u);
}

// A handler gets the stack of the offending call: hakmem's reporting frames
// left out, the frame of the function that freed twice a few frames down.
class StackLog {
 public:
  StackLog() { SetMemoryErrorHandler(&StackLog::Record, this); }
  ~StackLog() { SetMemoryErrorHandler(nullptr, nullptr); }
  std::vector<std::vector<uintptr_t>> stacks;

 private:
  static void Record(const MemoryErrorReport& report, void* self) {
    static_cast<StackLog*>(self)->stacks.emplace_back(
        report.stack, report.stack + report.stack_depth);
  }
};

TEST(MemoryErrorTest, HandlerGetsTheStackOfTheOffendingCall) {
  StackLog log;
  DoubleFreeInANamedFunction(Malloc(24));
  DoubleFreeInANamedFunction(Malloc(5000));
  ASSERT_EQ(log.stacks.size(), 2u);
  const auto function =
      reinterpret_cast<uintptr_t>(&DoubleFreeInANamedFunction);
  uintptr_t call_site[2] = {0, 0};
  for (size_t i = 0; i < 2; ++i) {
    const std::vector<uintptr_t>& stack = log.stacks[i];
    ASSERT_GE(stack.size(), 2u);
    EXPECT_LE(stack.size(), static_cast<size_t>(32));
    // The return address of DoubleFreeInANamedFunction's second call of
    // Free, a few bytes into that small function; the frames before it
    // are hakmem's: Free down to the function that detected the error.
    size_t at = 0;
    while (at < stack.size() &&
           !(stack[at] > function && stack[at] - function < 512)) {
      ++at;
    }
    ASSERT_LT(at, stack.size()) << "DoubleFreeInANamedFunction not found";
    EXPECT_GE(at, 1u);
    EXPECT_LE(at, 6u);
    call_site[i] = stack[at];
  }
  // Both from the second call of Free.
  EXPECT_EQ(call_site[0], call_site[1]);
}

TEST(MemoryErrorTest, LiveDataEndingInTheFreeKeysTagIsNoDoubleFree) {
  // The free fast path tests the key word's last four bits first
  // (free_block.h): a live block whose word 1 ends in them takes the exact
  // test, which must let it through, and still catch a real double free.
  ASSERT_EQ(g_free_key_secret & kFreeKeyTagMask, kFreeKeyTag);
  ASSERT_EQ(g_link_multiplier & kFreeKeyTagMask, 1u);
  constexpr uint64_t kText = 0x6b6b6b6b6b6b6b6b;  // "kkkkkkkk"
  static_assert((kText & kFreeKeyTagMask) == kFreeKeyTag, "");
  ErrorLog log;
  for (size_t size : {size_t{16}, size_t{48}, size_t{256}, size_t{3000}}) {
    void* keep = Malloc(size);  // keeps the class's span alive
    std::vector<uint64_t*> blocks;
    for (int i = 0; i < 50; ++i) {
      auto* p = static_cast<uint64_t*>(Malloc(size));
      p[0] = p[1] = kText;  // word 1 ends in the tag
      blocks.push_back(p);
    }
    for (uint64_t* p : blocks) Free(p);
    EXPECT_TRUE(log.errors.empty()) << size;
    // Each was freed (in the cache, or back in its span after a spill):
    // freeing it again is a double free.
    for (uint64_t* p : blocks) Free(p);
    EXPECT_EQ(log.errors,
              std::vector<MemoryError>(blocks.size(), MemoryError::kDoubleFree))
        << size;
    log.errors.clear();
    Free(keep);
    EXPECT_TRUE(log.errors.empty()) << size;
  }
}

TEST(MemoryErrorTest, ValidFreesAreNotReported) {
  // The same patterns as above, done correctly, run to completion.
  std::vector<void*> blocks;
  for (int i = 0; i < 2000; ++i) blocks.push_back(Malloc(64));
  for (void* p : blocks) Free(p);
  void* q = Malloc(100);
  std::thread([q] { Free(q); }).join();
  void* r = Malloc(32);
  FreeSized(r, 32);
  void* s = Malloc(1 << 20);
  EXPECT_GE(UsableSize(s), size_t{1} << 20);
  Free(s);
}

}  // namespace
}  // namespace hakmem::internal

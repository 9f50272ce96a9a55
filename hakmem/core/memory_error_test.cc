// Memory errors that the release build detects and reports (then aborts).
#include <cstdint>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "hakmem/core/allocator.h"
#include "hakmem/size_class/size_class.h"

namespace hakmem {
namespace {

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
}  // namespace hakmem

#include "hakmem/arena/arena.h"

#include <cstring>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "hakmem/core/allocator.h"
#include "hakmem/core/stats.h"
#include "hakmem/error/memory_error.h"

namespace hakmem::internal {
namespace {

// Records reported errors instead of aborting.
class ErrorLog {
 public:
  ErrorLog() { SetMemoryErrorHandler(&ErrorLog::Record, this); }
  ~ErrorLog() { SetMemoryErrorHandler(nullptr, nullptr); }
  const std::vector<MemoryError>& errors() const { return errors_; }

 private:
  static void Record(const MemoryErrorReport& report, void* self) {
    static_cast<ErrorLog*>(self)->errors_.push_back(report.error);
  }
  std::vector<MemoryError> errors_;
};

TEST(ArenaTest, BlocksOfEveryTierAreUsableAndReleasedOnDestroy) {
  AllocatorStats before = GetAllocatorStats();
  Arena* arena = Arena::Create();
  ASSERT_NE(arena, nullptr);
  std::vector<std::pair<unsigned char*, size_t>> blocks;
  for (size_t size : {size_t{1}, size_t{24}, size_t{1000}, size_t{5000},
                      size_t{100000}, size_t{1} << 20}) {
    for (int i = 0; i < 50; ++i) {
      auto* p = static_cast<unsigned char*>(arena->Alloc(size, 0));
      ASSERT_NE(p, nullptr);
      ASSERT_EQ(reinterpret_cast<uintptr_t>(p) % 16, 0u);
      std::memset(p, i, size);
      blocks.emplace_back(p, size);
    }
  }
  for (size_t align : {size_t{64}, size_t{4096}, size_t{1} << 16}) {
    void* p = arena->Alloc(100, align);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % align, 0u);
  }
  for (size_t i = 0; i < blocks.size(); ++i) {
    ASSERT_EQ(blocks[i].first[blocks[i].second - 1], (i % 50)) << i;
  }
  // Free some, reallocate: freed blocks are reused.
  for (size_t i = 0; i < 50; i += 2) arena->Free(blocks[i].first);
  void* again = arena->Alloc(1, 0);
  EXPECT_NE(again, nullptr);
  AllocatorStats during = GetAllocatorStats();
  EXPECT_GT(during.slabs_live, before.slabs_live);
  EXPECT_GE(during.large_live, before.large_live + 50);
  arena->Destroy();  // with most blocks still live
  AllocatorStats after = GetAllocatorStats();
  EXPECT_EQ(after.slabs_live, before.slabs_live);
  EXPECT_EQ(after.large_live, before.large_live);
}

TEST(ArenaTest, OtherThreadsMayFreeItsBlocks) {
  Arena* arena = Arena::Create();
  ASSERT_NE(arena, nullptr);
  std::vector<void*> blocks;
  for (int i = 0; i < 2000; ++i) blocks.push_back(arena->Alloc(48, 0));
  std::thread([&] {
    for (void* p : blocks) Free(p);
  }).join();
  // The arena reuses what other threads freed.
  std::vector<void*> more;
  for (int i = 0; i < 2000; ++i) more.push_back(arena->Alloc(48, 0));
  size_t reused = 0;
  for (void* p : more) {
    for (void* q : blocks) reused += p == q;
  }
  EXPECT_GT(reused, 0u);
  arena->Destroy();
}

TEST(ArenaTest, MisuseIsReported) {
  ErrorLog log;
  Arena* a = Arena::Create();
  Arena* b = Arena::Create();
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  void* pa = a->Alloc(32, 0);
  void* big = a->Alloc(1 << 20, 0);
  void* ours = Malloc(32);
  b->Free(pa);    // another arena's block
  b->Free(big);   // another arena's large block
  b->Free(ours);  // a thread-cache block
  a->Free(pa);
  a->Free(pa);  // double free inside the arena
  ASSERT_EQ(log.errors().size(), 4u);
  EXPECT_EQ(log.errors()[0], MemoryError::kWrongHeap);
  EXPECT_EQ(log.errors()[1], MemoryError::kWrongHeap);
  EXPECT_EQ(log.errors()[2], MemoryError::kWrongHeap);
  EXPECT_EQ(log.errors()[3], MemoryError::kDoubleFree);
  void* survivor = a->Alloc(32, 0);
  a->Destroy();
  Free(survivor);  // gone with its arena
  EXPECT_EQ(log.errors().size(), 5u);
  Free(ours);
  b->Destroy();
}

}  // namespace
}  // namespace hakmem::internal

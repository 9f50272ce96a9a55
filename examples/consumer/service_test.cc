// Proves that this workspace's programs are served by hakmem: with
// @hakmem//:hakmem_override linked in, plain malloc and operator new
// return hakmem blocks, hakmem's counters grow with them, and the service
// built on hakmem's C++ API works.
#include <malloc.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "capi/hakmem.h"
#include "gtest/gtest.h"
#include "hakmem/hakmem.h"
#include "kv_service.h"

namespace {

// Memory errors reported while alive (instead of aborting).
class ErrorCount {
 public:
  ErrorCount() { previous_ = hak_set_error_handler(&Count, this); }
  ~ErrorCount() { hak_set_error_handler(previous_, nullptr); }
  int count() const { return count_; }

 private:
  static void Count(const hak_error*, void* self) {
    ++static_cast<ErrorCount*>(self)->count_;
  }
  hak_error_handler previous_;
  int count_ = 0;
};

hak_stats Stats() {
  hak_stats s;
  std::memset(&s, 0, sizeof s);
  s.version = HAK_STATS_VERSION;
  s.size = sizeof s;
  EXPECT_EQ(hak_stats_get(&s), 0);
  return s;
}

// hakmem recognises `p` as one of its live blocks: hak_usable_size
// reports a foreign pointer, and agrees with malloc_usable_size otherwise.
::testing::AssertionResult ServedByHakmem(void* p) {
  ErrorCount errors;
  const size_t hak = hak_usable_size(p);
  if (errors.count() != 0) {
    return ::testing::AssertionFailure() << p << " is not a hakmem block";
  }
  const size_t libc = malloc_usable_size(p);
  if (hak != libc) {
    return ::testing::AssertionFailure()
           << p << ": hak_usable_size " << hak << " != malloc_usable_size "
           << libc << " (malloc is not hakmem)";
  }
  return ::testing::AssertionSuccess();
}

TEST(ServedByHakmemTest, PlainMallocGrowsHakmemCounters) {
  const hak_stats before = Stats();
  std::vector<void*> blocks;
  for (int i = 0; i < 10000; ++i) {
    void* p = std::malloc(64 + i % 512);
    ASSERT_NE(p, nullptr);
    blocks.push_back(p);
  }
  const hak_stats after = Stats();
  // Thread caches refill in batches, but 10000 live blocks cannot all come
  // from blocks served earlier.
  EXPECT_GE(after.slab_blocks_served, before.slab_blocks_served + 5000);
  for (void* p : blocks) ASSERT_TRUE(ServedByHakmem(p));
  for (void* p : blocks) std::free(p);
}

TEST(ServedByHakmemTest, OperatorNewAndLargeBlocks) {
  auto ints = std::make_unique<int[]>(100);
  EXPECT_TRUE(ServedByHakmem(ints.get()));
  auto s = std::make_unique<std::string>(1000, 's');
  EXPECT_TRUE(ServedByHakmem(s.get()));
  EXPECT_TRUE(ServedByHakmem(s->data()));
  const hak_stats before = Stats();
  void* big = std::malloc(8 << 20);
  EXPECT_EQ(Stats().large_live, before.large_live + 1);
  EXPECT_TRUE(ServedByHakmem(big));
  std::free(big);
}

TEST(ServedByHakmemTest, TheTwoApisShareOneAllocator) {
  ErrorCount errors;
  void* a = hak_malloc(200);
  std::free(a);  // free() of a hak_malloc block
  void* b = std::malloc(200);
  hak_free(b);  // hak_free of a malloc block
  char* c = new char[300];
  hak_free_sized(c, 300);  // what operator delete[](p, n) does
  EXPECT_EQ(errors.count(), 0);
}

TEST(KvServiceTest, AnswersRequests) {
  consumer::KvService service;
  std::vector<std::string> responses = service.HandleBatch(
      {"SET a 1", "SET b two words", "GET a", "GET b", "DEL a", "GET a",
       "DEL a", "COUNT", "SET empty", "GET empty", "BOGUS"});
  EXPECT_EQ(responses,
            (std::vector<std::string>{"OK", "OK", "1", "two words", "DELETED",
                                      "NOT_FOUND", "NOT_FOUND", "1", "OK", "",
                                      "ERROR unknown request"}));
}

TEST(KvServiceTest, BatchHeapsAreReleased) {
  ErrorCount errors;
  consumer::KvService service;
  std::vector<std::string> batch;
  for (int i = 0; i < 2000; ++i) {
    batch.push_back("SET k" + std::to_string(i % 300) + " " +
                    std::string(i % 700, 'x'));
  }
  (void)service.HandleBatch(batch);  // warm up
  const hak_stats before = Stats();
  for (int round = 0; round < 50; ++round) {
    std::vector<std::string> r = service.HandleBatch(batch);
    ASSERT_EQ(r.size(), batch.size());
  }
  // 50 batches, each with its own heap: memory does not grow with them.
  const hak_stats after = Stats();
  EXPECT_LE(after.os_mapped_bytes, before.os_mapped_bytes + (8u << 20));
  EXPECT_EQ(service.size(), 300u);
  EXPECT_EQ(errors.count(), 0);
}

}  // namespace

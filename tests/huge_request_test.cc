// Requests that the machine cannot back fail with ENOMEM, and lose nothing:
// 32 TiB (more than any test machine's RAM plus swap, refused by the
// kernel's overcommit heuristic), and anything past RLIMIT_AS. The rule is
// in capi/hakmem.h.
#include <sys/resource.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "capi/hakmem.h"
#include "gtest/gtest.h"
#include "tests/test_util.h"

namespace hakmem_test {
namespace {

constexpr size_t kTiB = size_t{1} << 40;
constexpr size_t kHuge = 32 * kTiB;

class HugeRequestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (KernelGrantsEveryMapping()) {
      GTEST_SKIP() << "vm.overcommit_memory is 1: the kernel grants every "
                      "mapping, so 32 TiB is not refused (capi/hakmem.h)";
    }
  }
};

TEST_F(HugeRequestTest, MallocAndCallocFailWithEnomem) {
  errno = 0;
  EXPECT_EQ(hak_malloc(kHuge), nullptr);
  EXPECT_EQ(errno, ENOMEM);
  errno = 0;
  EXPECT_EQ(hak_calloc(kHuge / 8, 8), nullptr);
  EXPECT_EQ(errno, ENOMEM);
  errno = 0;
  EXPECT_EQ(hak_calloc(1, kHuge), nullptr);
  EXPECT_EQ(errno, ENOMEM);
  // Just under the machine's limit still works.
  void* p = hak_malloc(64 * kMiB);
  ASSERT_TRUE(WellFormed(p, 64 * kMiB));
  hak_free(p);
}

TEST_F(HugeRequestTest, AlignedAllocFailsWithEnomem) {
  for (size_t alignment : {size_t{64}, size_t{4096}, size_t{2} << 20}) {
    errno = 0;
    EXPECT_EQ(hak_aligned_alloc(alignment, kHuge), nullptr) << alignment;
    EXPECT_EQ(errno, ENOMEM) << alignment;
  }
}

// The block stays valid, with its contents, in every tier.
TEST_F(HugeRequestTest, ReallocFailsWithEnomemAndKeepsTheBlock) {
  for (size_t size : {size_t{100}, size_t{5000}, size_t{3} << 20}) {
    void* p = hak_malloc(size);
    ASSERT_TRUE(WellFormed(p, size));
    FillSampled(p, size, size);
    errno = 0;
    EXPECT_EQ(hak_realloc(p, kHuge), nullptr) << size;
    EXPECT_EQ(errno, ENOMEM) << size;
    EXPECT_TRUE(SampledIntact(p, size, size)) << size;
    EXPECT_GE(hak_usable_size(p), size);
    hak_free(p);
  }
}

#if !defined(HAKMEM_TEST_TSAN) && !defined(HAKMEM_TEST_ASAN)
// Past RLIMIT_AS, whatever the overcommit mode. (Not under ASan or TSan:
// their runtimes map memory of their own at any time and die when they
// cannot.)
TEST(RlimitAsTest, RequestsPastTheAddressSpaceLimitFail) {
  rlimit old;
  ASSERT_EQ(getrlimit(RLIMIT_AS, &old), 0);
  // Room for 64 MiB more than the process has mapped now.
  size_t mapped = 0;
  if (FILE* f = std::fopen("/proc/self/statm", "r")) {
    unsigned long pages = 0;
    if (std::fscanf(f, "%lu", &pages) == 1) mapped = pages * 4096;
    std::fclose(f);
  }
  ASSERT_GT(mapped, 0u);
  rlimit tight = old;
  tight.rlim_cur = mapped + 64 * kMiB;
  ASSERT_EQ(setrlimit(RLIMIT_AS, &tight), 0);
  errno = 0;
  void* too_big = hak_malloc(256 * kMiB);
  int too_big_errno = errno;
  void* fits = hak_malloc(4 * kMiB);
  ASSERT_EQ(setrlimit(RLIMIT_AS, &old), 0);
  EXPECT_EQ(too_big, nullptr);
  EXPECT_EQ(too_big_errno, ENOMEM);
  EXPECT_TRUE(WellFormed(fits, 4 * kMiB));
  hak_free(fits);
  hak_free(too_big);
}
#endif

}  // namespace
}  // namespace hakmem_test

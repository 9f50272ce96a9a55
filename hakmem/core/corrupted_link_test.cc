// A use-after-free write into a cached block's link is reported by the pop
// that meets it, before anything is read through the link (the block's key
// word seals its link: superslab/free_block.h); and large blocks' sized
// frees are exact.
#include <sys/mman.h>

#include <cstdint>
#include <cstdlib>
#include <set>
#include <vector>

#include "gtest/gtest.h"
#include "hakmem/core/allocator.h"
#include "hakmem/error/error_log_for_tests.h"
#include "hakmem/error/memory_error.h"
#include "hakmem/platform/asan.h"
#include "hakmem/superslab/free_block.h"

namespace hakmem::internal {
namespace {

// These tests are about slab blocks: none may be a guarded sample (a
// sample is a block outside every SuperSlab). Set before the
// configuration is read.
[[maybe_unused]] const bool kSamplingOff =
    setenv("HAKMEM_GUARD_RATE", "0", 1) == 0;

alignas(64) int g_global_target[64];
// What the corrupting lambdas (plain function pointers) write.
thread_local uint64_t t_delta;

// Frees two blocks of `size` so that the class's cache holds p -> q, then
// lets `corrupt` rewrite p's link word (the key word is left intact), and
// allocates once: that pop must report, and hand out neither p nor a block
// named by the corrupted link.
void ExpectReportedAtTheDecodingPop(size_t size, const char* what,
                                    void (*corrupt)(uint64_t* p)) {
  ErrorLog log;
  void* keep = Malloc(size);  // keeps the class's span alive
  void* q = Malloc(size);
  auto* p = static_cast<uint64_t*>(Malloc(size));
  Free(q);
  Free(p);
  uint64_t key_word = p[1];
  corrupt(p);
  ASSERT_EQ(p[1], key_word);
  void* got = Malloc(size);  // pops p: its link is checked before it is kept
  ASSERT_EQ(log.errors.size(), 1u) << what << " size " << size;
  EXPECT_EQ(log.errors[0], MemoryError::kCorruptedFreeList);
  ASSERT_NE(got, nullptr);
  EXPECT_NE(got, static_cast<void*>(p));
  // The class goes on serving valid, distinct blocks.
  std::set<void*> seen{got};
  std::vector<void*> more;
  for (int i = 0; i < 64; ++i) {
    void* b = Malloc(size);
    ASSERT_NE(b, nullptr);
    EXPECT_TRUE(seen.insert(b).second) << "block handed out twice";
    EXPECT_NE(b, static_cast<void*>(p));
    more.push_back(b);
  }
  for (void* b : more) Free(b);
  Free(got);
  Free(keep);
  EXPECT_EQ(log.errors.size(), 1u) << what;
}

// Points p's link at `target`, as a program that knows where links are
// would (its key word left as it is).
void PointLinkAt(uint64_t* p, const void* target) {
  p[0] = reinterpret_cast<uintptr_t>(target);
}

TEST(CorruptedLinkTest, LinkPlus2To40IsReportedNotFollowed) {
  // Adding 2^40 kept the key and the alignment: the next pop but one used
  // to fault (SIGSEGV) on the address it named.
  for (size_t size : {size_t{32}, size_t{200}, size_t{3000}}) {
    ExpectReportedAtTheDecodingPop(
        size, "+2^40", [](uint64_t* p) { p[0] += uint64_t{1} << 40; });
  }
}

TEST(CorruptedLinkTest, LinksOutOfEverySuperSlabAreReportedAtOnce) {
  static void* protected_page =
      mmap(nullptr, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(protected_page, MAP_FAILED);
  static void* large_block = Malloc(1 << 20);  // hakmem's, not in a SuperSlab
  for (size_t size : {size_t{16}, size_t{64}, size_t{1024}, size_t{4096}}) {
    ExpectReportedAtTheDecodingPop(size, "protected page", [](uint64_t* p) {
      PointLinkAt(p, protected_page);
    });
    ExpectReportedAtTheDecodingPop(
        size, "global", [](uint64_t* p) { PointLinkAt(p, g_global_target); });
    ExpectReportedAtTheDecodingPop(size, "stack", [](uint64_t* p) {
      int local[4];
      PointLinkAt(p, local + 0);
    });
    ExpectReportedAtTheDecodingPop(
        size, "large block", [](uint64_t* p) { PointLinkAt(p, large_block); });
    ExpectReportedAtTheDecodingPop(size, "non-canonical", [](uint64_t* p) {
      PointLinkAt(p, reinterpret_cast<void*>(uintptr_t{1} << 47));
    });
    ExpectReportedAtTheDecodingPop(
        size, "misaligned, inside the SuperSlab",
        [](uint64_t* p) { PointLinkAt(p, reinterpret_cast<char*>(p) + 8); });
  }
  Free(large_block);
  munmap(protected_page, 4096);
}

TEST(CorruptedLinkTest, SmallChangesAreReportedAtTheDecodingPop) {
  // A change that kept the link inside the SuperSlab used to be followed:
  // the next pop read the block it named (and found its key wrong, or took
  // it). Any change breaks the seal.
  for (size_t size : {size_t{32}, size_t{48}, size_t{512}}) {
    for (uint64_t delta :
         {uint64_t{16}, uint64_t{64}, uint64_t{4096}, uint64_t{1} << 16,
          uint64_t{1} << 20, uint64_t{1} << 30, ~uint64_t{15}}) {
      t_delta = delta;
      ExpectReportedAtTheDecodingPop(size, "small change",
                                     [](uint64_t* p) { p[0] += t_delta; });
    }
  }
}

TEST(CorruptedLinkTest, ALinkToAnotherFreeBlockIsReported) {
  // The cache holds p -> q -> r; p's link pointed at r (a real free block
  // of the class, further down the same list) used to skip q silently.
  for (size_t size : {size_t{16}, size_t{96}, size_t{2048}}) {
    ErrorLog log;
    void* keep = Malloc(size);
    void* r = Malloc(size);
    void* q = Malloc(size);
    auto* p = static_cast<uint64_t*>(Malloc(size));
    Free(r);
    Free(q);
    Free(p);
    PointLinkAt(p, r);
    void* got = Malloc(size);
    ASSERT_EQ(log.errors.size(), 1u) << size;
    EXPECT_EQ(log.errors[0], MemoryError::kCorruptedFreeList);
    EXPECT_NE(got, static_cast<void*>(p));
    Free(got);
    Free(keep);
  }
}

TEST(CorruptedLinkTest, RandomLinkWordsAreReportedAtTheDecodingPop) {
  // Whatever the program writes over the link (its key left intact). Each
  // report drops the class's cache (leaked), so a few hundred.
  uint64_t x = 0x243F6A8885A308D3ull;
  for (int i = 0; i < 300; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    t_delta = x;
    ExpectReportedAtTheDecodingPop(64, "random word",
                                   [](uint64_t* p) { p[0] = t_delta; });
  }
}

TEST(LargeSizedFreeTest, SizeMustNameTheBlocksPages) {
  ErrorLog log;
  void* p = Malloc(1 << 20);
  FreeSized(p, 600 * 1024);        // 60% of it: accepted before
  FreeSized(p, (1 << 20) + 4096);  // a page more
  FreeSized(p, (1 << 20) - 8192);  // two pages less
  ASSERT_EQ(log.errors.size(), 3u);
  for (MemoryError e : log.errors) EXPECT_EQ(e, MemoryError::kSizeMismatch);
  FreeSized(p, (1 << 20) - 100);  // the same pages: fine
  // Any size between the request and the usable size is, as for slab
  // blocks (a block cut from a cached run may be longer than asked).
  void* v = Malloc(1 << 20);
  FreeSized(v, UsableSize(v));
  // After a realloc that keeps the block in place, its new size is the
  // least one to name.
  void* q = Malloc(1 << 20);
  void* r = Realloc(q, 700 * 1024);
  ASSERT_NE(r, nullptr);
  FreeSized(r, 600 * 1024);
  ASSERT_EQ(log.errors.size(), 4u);
  FreeSized(r, 700 * 1024);
  // A large block shrunk to a pool size moves to the pool, and a sized free
  // names the pool size.
  void* s = Malloc(300 * 1024);
  void* t = Realloc(s, 200 * 1024);
  ASSERT_NE(t, nullptr);
  static_cast<char*>(t)[200 * 1024 - 1] = 1;
  FreeSized(t, 200 * 1024);
  // Aligned large blocks too.
  void* u = AlignedAlloc(1 << 17, 1 << 20);
  FreeAlignedSized(u, 1 << 17, 1 << 19);
  ASSERT_EQ(log.errors.size(), 5u);
  FreeAlignedSized(u, 1 << 17, 1 << 20);
  EXPECT_EQ(log.errors.size(), 5u);
}

}  // namespace
}  // namespace hakmem::internal

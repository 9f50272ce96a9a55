// A pointer that hakmem did not allocate (a stack address, a global, memory
// from mmap) reaching free, realloc or the other entry points is detected:
// the process prints one hakmem error line naming the pointer, and dies of
// SIGABRT, instead of corrupting the heap (static override, death tests).
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#include <cstdint>
#include <new>
#include <string>

#include "gtest/gtest.h"

extern "C" void free_sized(void* ptr, size_t size);

namespace {

// Hides where a pointer comes from, so the compiler neither warns about
// freeing a non-heap object nor reasons about the call.
void* Launder(void* p) {
  asm volatile("" : "+r"(p));
  return p;
}

// The error line for `p`: hakmem prints the pointer as %p does.
std::string ErrorFor(const void* p) {
  char hex[32];
  snprintf(hex, sizeof(hex), "%p", p);
  return std::string("hakmem: invalid (free|pointer)[^\n]*: ptr=") + hex +
         " tier=[a-z]+( class=-?[0-9]+)? thread=[0-9]+";
}

char g_global[256];
const char g_read_only[64] = "in .rodata";

class InvalidPointerDeathTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Same addresses in the child: fork without re-executing.
    GTEST_FLAG_SET(death_test_style, "fast");
    void* m = mmap(nullptr, kMapSize, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ASSERT_NE(m, MAP_FAILED);
    mapped_ = static_cast<char*>(m);
  }
  void TearDown() override { munmap(mapped_, kMapSize); }

  static constexpr size_t kMapSize = 4 << 20;
  char* mapped_ = nullptr;
};

const auto kAbort = ::testing::KilledBySignal(SIGABRT);

TEST_F(InvalidPointerDeathTest, FreeOfAStackAddress) {
  char local[64];
  void* p = Launder(local);
  EXPECT_EXIT(free(p), kAbort, ErrorFor(p));
  void* q = Launder(local + 16);
  EXPECT_EXIT(free(q), kAbort, ErrorFor(q));
}

TEST_F(InvalidPointerDeathTest, FreeOfAGlobal) {
  void* p = Launder(g_global);
  EXPECT_EXIT(free(p), kAbort, ErrorFor(p));
  void* r = Launder(const_cast<char*>(g_read_only));
  EXPECT_EXIT(free(r), kAbort, ErrorFor(r));
}

TEST_F(InvalidPointerDeathTest, FreeOfMemoryFromMmap) {
  // The start of the mapping (page-aligned, as hakmem's large blocks are),
  // an offset into it, and an address 2 MiB-aligned inside it if any.
  void* p = Launder(mapped_);
  EXPECT_EXIT(free(p), kAbort, ErrorFor(p));
  void* q = Launder(mapped_ + 4096 + 16);
  EXPECT_EXIT(free(q), kAbort, ErrorFor(q));
  auto aligned = (reinterpret_cast<uintptr_t>(mapped_) + (2 << 20) - 1) &
                 ~uintptr_t{(2 << 20) - 1};
  void* a = Launder(reinterpret_cast<void*>(aligned));
  EXPECT_EXIT(free(a), kAbort, ErrorFor(a));
}

TEST_F(InvalidPointerDeathTest, ReallocOfForeignPointers) {
  char local[64];
  void* pointers[] = {Launder(local), Launder(g_global), Launder(mapped_),
                      Launder(mapped_ + 8192)};
  for (void* p : pointers) {
    // Growing within a tier, into the large tier, and shrinking.
    EXPECT_EXIT(Launder(realloc(p, 32)), kAbort, ErrorFor(p));
    EXPECT_EXIT(Launder(realloc(p, 5000)), kAbort, ErrorFor(p));
    EXPECT_EXIT(Launder(realloc(p, 1 << 20)), kAbort, ErrorFor(p));
    EXPECT_EXIT(Launder(realloc(p, 0)), kAbort, ErrorFor(p));
  }
}

TEST_F(InvalidPointerDeathTest, OtherEntryPoints) {
  char local[64];
  void* p = Launder(local);
  void* m = Launder(mapped_);
  EXPECT_EXIT(Launder(reallocarray(p, 10, 10)), kAbort, ErrorFor(p));
  EXPECT_EXIT(free_sized(m, 100), kAbort, ErrorFor(m));
  EXPECT_EXIT(::operator delete(p), kAbort, ErrorFor(p));
  EXPECT_EXIT(::operator delete[](m), kAbort, ErrorFor(m));
  EXPECT_EXIT(::operator delete (p, std::align_val_t{64}), kAbort, ErrorFor(p));
  EXPECT_EXIT(printf("%zu\n", malloc_usable_size(m)), kAbort, ErrorFor(m));
}

// Pointers that hakmem did hand out, but not as they are passed back.
TEST_F(InvalidPointerDeathTest, InteriorAndDoubleFrees) {
  for (size_t size : {size_t{64}, size_t{3000}, size_t{1} << 20}) {
    SCOPED_TRACE(size);
    char* block = static_cast<char*>(malloc(size));
    void* inside = Launder(block + 16);
    EXPECT_EXIT(free(inside), kAbort,
                "hakmem: invalid (free|pointer)[^\n]*ptr=0x");
    EXPECT_EXIT(
        {
          void* p = Launder(malloc(size));
          free(p);
          free(p);
        },
        kAbort, "hakmem: (double free|invalid free)[^\n]*ptr=0x");
    free(block);
  }
}

// Sanity: the same calls on hakmem's own blocks are fine.
TEST(ValidPointerTest, SameCallsOnHakmemBlocksSucceed) {
  void* p = malloc(64);
  p = realloc(p, 5000);
  p = realloc(p, 1 << 20);
  ASSERT_NE(p, nullptr);
  EXPECT_GE(malloc_usable_size(p), size_t{1} << 20);
  free(p);
  free_sized(malloc(100), 100);
  ::operator delete(::operator new(10));
  ::operator delete (::operator new (10, std::align_val_t{64}),
                     std::align_val_t{64});
}

}  // namespace

// The static drop-in (//capi:hakmem_override): every exported allocation
// function, called through its real name, behaves as glibc's does, and it is
// hakmem that serves the memory.
//
// Ownership checks use hak_usable_size(): it aborts with a hakmem error line
// for any pointer hakmem did not hand out, so a test that passes a pointer to
// it has proved that hakmem allocated it.
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <new>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "capi/hakmem.h"
#include "gtest/gtest.h"
#include "tests/test_util.h"

// C23 additions that glibc 2.36's headers do not declare yet.
extern "C" void free_sized(void* ptr, size_t size);
extern "C" void free_aligned_sized(void* ptr, size_t alignment, size_t size);

namespace {

constexpr size_t kPage = 4096;
// Sizes in every tier: tiny (<= 1 KiB), pool (<= 256 KiB), large.
const size_t kSizes[] = {1,     7,      8,      15,     16,      17,     24,
                         100,   1000,   1024,   1025,   4095,    4096,   4097,
                         65536, 100000, 262144, 262145, 1 << 20, 3 << 20};
const size_t kAlignments[] = {16,  32,   64,   128,   256,
                              512, 4096, 8192, 65536, 1 << 21};
// Above PTRDIFF_MAX: refused before asking the OS.
constexpr size_t kImpossible = SIZE_MAX - 4096;
// A valid request that no mmap can satisfy (128 TiB, the whole user
// address space without 5-level paging hints): the OS refuses it.
constexpr size_t kUnmappable = size_t{1} << 47;
// Mappable, but more than any test machine's RAM plus swap (32 TiB): the
// kernel's overcommit accounting refuses it, except in mode 1
// (capi/hakmem.h).
constexpr size_t kUncommittable = size_t{1} << 45;

// Keeps the optimiser from removing an allocation or reasoning about it.
void Escape(const void* p) { asm volatile("" : : "r"(p) : "memory"); }

bool AlignedTo(const void* p, size_t alignment) {
  return reinterpret_cast<uintptr_t>(p) % alignment == 0;
}

// Writes every byte of the block and reads it back; dies if the block is not
// hakmem's, fails if it is smaller than `size`.
void CheckBlock(void* p, size_t size) {
  ASSERT_NE(p, nullptr);
  Escape(p);
  EXPECT_GE(hak_usable_size(p), size);
  EXPECT_GE(malloc_usable_size(p), size);
  auto* bytes = static_cast<unsigned char*>(p);
  memset(bytes, 0xA5, size);
  if (size > 0) {
    EXPECT_EQ(bytes[0], 0xA5);
    EXPECT_EQ(bytes[size - 1], 0xA5);
  }
}

uint64_t BlocksServed() {
  hak_stats s;
  s.version = HAK_STATS_VERSION;
  s.size = sizeof(s);
  EXPECT_EQ(hak_stats_get(&s), 0);
  return s.slab_blocks_served;
}

// ---- malloc / free / calloc ------------------------------------------------

TEST(MallocTest, ZeroBytesGivesUniqueFreeablePointers) {
  std::set<void*> seen;
  std::vector<void*> blocks;
  for (int i = 0; i < 100; ++i) {
    void* p = malloc(0);
    ASSERT_NE(p, nullptr);
    EXPECT_TRUE(seen.insert(p).second)
        << "malloc(0) returned " << p << " twice";
    EXPECT_TRUE(AlignedTo(p, 16));
    Escape(p);
    blocks.push_back(p);
  }
  for (void* p : blocks) free(p);
}

TEST(MallocTest, EverySizeIsUsableAndAligned) {
  for (size_t size : kSizes) {
    SCOPED_TRACE(size);
    void* p = malloc(size);
    CheckBlock(p, size);
    EXPECT_TRUE(AlignedTo(p, 16));
    free(p);
  }
}

TEST(MallocTest, FreeNullIsANoOp) {
  free(nullptr);
  free_sized(nullptr, 0);
  free_aligned_sized(nullptr, 64, 0);
}

TEST(MallocTest, ImpossibleSizeFailsWithEnomem) {
  for (size_t size :
       {kImpossible, SIZE_MAX, size_t{PTRDIFF_MAX} + 1, kUnmappable}) {
    errno = 0;
    void* p = malloc(size);
    Escape(p);
    EXPECT_EQ(p, nullptr) << size;
    EXPECT_EQ(errno, ENOMEM) << size;
  }
}

// Every allocation function, for a request the machine cannot back.
TEST(UncommittableTest, EveryFunctionFailsWithEnomem) {
  if (hakmem_test::KernelGrantsEveryMapping()) {
    GTEST_SKIP() << "vm.overcommit_memory is 1: 32 TiB is granted";
  }
  auto expect_enomem = [](void* p, const char* what) {
    int e = errno;
    Escape(p);
    EXPECT_EQ(p, nullptr) << what;
    EXPECT_EQ(e, ENOMEM) << what;
    free(p);
  };
  errno = 0;
  expect_enomem(malloc(kUncommittable), "malloc");
  errno = 0;
  expect_enomem(calloc(kUncommittable / 16, 16), "calloc");
  errno = 0;
  expect_enomem(aligned_alloc(4096, kUncommittable), "aligned_alloc");
  errno = 0;
  expect_enomem(memalign(1 << 21, kUncommittable), "memalign");
  errno = 0;
  expect_enomem(valloc(kUncommittable), "valloc");
  errno = 0;
  expect_enomem(pvalloc(kUncommittable), "pvalloc");
  void* sentinel = reinterpret_cast<void*>(uintptr_t{0xdeadbeef});
  void* out = sentinel;
  EXPECT_EQ(posix_memalign(&out, 64, kUncommittable), ENOMEM);
  EXPECT_EQ(out, sentinel);
  // realloc: the block stays, with its contents, in every tier.
  for (size_t size : {size_t{48}, size_t{20000}, size_t{2} << 20}) {
    char* p = static_cast<char*>(malloc(size));
    ASSERT_NE(p, nullptr);
    memset(p, 0x5C, size);
    errno = 0;
    void* q = realloc(p, kUncommittable);
    int e = errno;
    Escape(q);
    EXPECT_EQ(q, nullptr) << size;
    EXPECT_EQ(e, ENOMEM) << size;
    EXPECT_EQ(p[0], 0x5C);
    EXPECT_EQ(p[size - 1], 0x5C);
    free(p);
  }
}

TEST(CallocTest, ZeroesReusedMemory) {
  for (size_t size : kSizes) {
    SCOPED_TRACE(size);
    // Dirty a block of this size, free it, and ask for the same size again:
    // the thread cache hands back the dirty block, which must be zeroed.
    void* dirty = malloc(size);
    memset(dirty, 0xFF, size);
    Escape(dirty);
    free(dirty);
    auto* p = static_cast<unsigned char*>(calloc(1, size));
    ASSERT_NE(p, nullptr);
    for (size_t i = 0; i < size; ++i) {
      ASSERT_EQ(p[i], 0) << "byte " << i;
    }
    free(p);
  }
}

TEST(CallocTest, ZeroAndOverflow) {
  void* p = calloc(0, 0);
  ASSERT_NE(p, nullptr);
  free(p);
  errno = 0;
  EXPECT_EQ(calloc(SIZE_MAX / 2, 3), nullptr);
  EXPECT_EQ(errno, ENOMEM);
  errno = 0;
  EXPECT_EQ(calloc(size_t{1} << 33, size_t{1} << 31), nullptr);  // 2^64
  EXPECT_EQ(errno, ENOMEM);
  errno = 0;
  EXPECT_EQ(calloc(size_t{1} << 24, kUnmappable >> 24), nullptr);
  EXPECT_EQ(errno, ENOMEM);
}

// ---- realloc / reallocarray ------------------------------------------------

TEST(ReallocTest, NullActsAsMalloc) {
  for (size_t size : kSizes) {
    void* p = realloc(nullptr, size);
    CheckBlock(p, size);
    free(p);
  }
  void* p = realloc(nullptr, 0);  // glibc: malloc(0), a unique pointer
  ASSERT_NE(p, nullptr);
  free(p);
}

TEST(ReallocTest, PreservesContentsAcrossAllTiers) {
  std::string expected;
  auto* p = static_cast<char*>(malloc(1));
  p[0] = 'x';
  expected = "x";
  // Grow through tiny, pool and large, then shrink back down.
  std::vector<size_t> steps(std::begin(kSizes), std::end(kSizes));
  steps.insert(steps.end(), std::rbegin(kSizes), std::rend(kSizes));
  for (size_t size : steps) {
    SCOPED_TRACE(size);
    p = static_cast<char*>(realloc(p, size));
    ASSERT_NE(p, nullptr);
    EXPECT_GE(hak_usable_size(p), size);
    if (expected.size() > size) expected.resize(size);
    ASSERT_EQ(memcmp(p, expected.data(), expected.size()), 0);
    while (expected.size() < size) {
      char c = static_cast<char>('a' + expected.size() % 26);
      p[expected.size()] = c;
      expected.push_back(c);
    }
  }
  free(p);
}

TEST(ReallocTest, FailureLeavesTheBlockIntact) {
  for (size_t size : {size_t{10}, size_t{5000}, size_t{1} << 20}) {
    auto* p = static_cast<char*>(malloc(size));
    memset(p, 'q', size);
    for (size_t huge : {kImpossible, kUnmappable}) {
      errno = 0;
      EXPECT_EQ(realloc(p, huge), nullptr);
      EXPECT_EQ(errno, ENOMEM);
    }
    EXPECT_EQ(p[0], 'q');
    EXPECT_EQ(p[size - 1], 'q');
    EXPECT_GE(hak_usable_size(p), size);  // still live
    free(p);
  }
}

// glibc: realloc(p, 0) frees p and returns NULL.
TEST(ReallocTest, ZeroSizeReturnsNull) {
  for (size_t size : {size_t{32}, size_t{5000}, size_t{1} << 20}) {
    void* p = malloc(size);
    Escape(p);
    EXPECT_EQ(realloc(p, 0), nullptr) << size;
  }
}

// Freeing p again right after realloc(p, 0) must be reported as a double
// (or invalid) free: proof that realloc freed it. (Nothing may allocate in
// between, or the block could be handed out again.)
TEST(ReallocDeathTest, ZeroSizeFreesTheBlock) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  for (size_t size : {size_t{32}, size_t{5000}, size_t{1} << 20}) {
    EXPECT_DEATH(
        {
          void* p = malloc(size);
          Escape(p);
          if (realloc(p, 0) == nullptr) free(p);
        },
        "hakmem: (double free|invalid free).*ptr=0x")
        << size;
  }
}

TEST(ReallocarrayTest, MultipliesAndDetectsOverflow) {
  auto* p = static_cast<int*>(reallocarray(nullptr, 10, sizeof(int)));
  ASSERT_NE(p, nullptr);
  for (int i = 0; i < 10; ++i) p[i] = i;
  p = static_cast<int*>(reallocarray(p, 100000, sizeof(int)));
  ASSERT_NE(p, nullptr);
  EXPECT_GE(hak_usable_size(p), 100000 * sizeof(int));
  for (int i = 0; i < 10; ++i) EXPECT_EQ(p[i], i);

  errno = 0;
  EXPECT_EQ(reallocarray(p, SIZE_MAX / 2, 3), nullptr);
  EXPECT_EQ(errno, ENOMEM);
  // The block survived the failed call.
  for (int i = 0; i < 10; ++i) EXPECT_EQ(p[i], i);
  errno = 0;
  EXPECT_EQ(reallocarray(nullptr, size_t{1} << 40, size_t{1} << 40), nullptr);
  EXPECT_EQ(errno, ENOMEM);
  free(p);
}

// ---- aligned allocation ----------------------------------------------------

TEST(PosixMemalignTest, EveryAlignmentAndSize) {
  for (size_t alignment : {size_t{8}, size_t{16}, size_t{32}, size_t{64},
                           size_t{4096}, size_t{1} << 16, size_t{1} << 21}) {
    for (size_t size :
         {size_t{0}, size_t{1}, size_t{100}, size_t{5000}, size_t{300000}}) {
      SCOPED_TRACE(testing::Message() << alignment << " " << size);
      void* p = nullptr;
      ASSERT_EQ(posix_memalign(&p, alignment, size), 0);
      ASSERT_NE(p, nullptr);
      EXPECT_TRUE(AlignedTo(p, alignment)) << p;
      CheckBlock(p, size);
      free(p);
    }
  }
}

TEST(PosixMemalignTest, BadAlignmentReturnsEinvalWithoutTouchingOutOrErrno) {
  // Not a power of two, or not a multiple of sizeof(void*).
  for (size_t alignment :
       {size_t{0}, size_t{1}, size_t{2}, size_t{3}, size_t{4}, size_t{24},
        size_t{48}, size_t{4097}, SIZE_MAX}) {
    SCOPED_TRACE(alignment);
    void* sentinel = reinterpret_cast<void*>(uintptr_t{0xdeadbeef});
    void* p = sentinel;
    errno = 1234;
    EXPECT_EQ(posix_memalign(&p, alignment, 64), EINVAL);
    EXPECT_EQ(p, sentinel);
    EXPECT_EQ(errno, 1234)
        << "posix_memalign must return the error, not set errno";
  }
}

TEST(PosixMemalignTest, HugeSizeReturnsEnomemWithoutTouchingOut) {
  for (size_t alignment :
       {size_t{16}, size_t{64}, size_t{4096}, size_t{1} << 21}) {
    SCOPED_TRACE(alignment);
    void* sentinel = reinterpret_cast<void*>(uintptr_t{0xdeadbeef});
    void* p = sentinel;
    EXPECT_EQ(posix_memalign(&p, alignment, kImpossible), ENOMEM);
    EXPECT_EQ(p, sentinel);
    EXPECT_EQ(posix_memalign(&p, alignment, kUnmappable), ENOMEM);
    EXPECT_EQ(p, sentinel);
  }
}

TEST(AlignedAllocTest, PowersOfTwo) {
  for (size_t alignment : kAlignments) {
    for (size_t size : {alignment, 3 * alignment, size_t{1}, size_t{100}}) {
      SCOPED_TRACE(testing::Message() << alignment << " " << size);
      void* p = aligned_alloc(alignment, size);
      ASSERT_NE(p, nullptr);
      EXPECT_TRUE(AlignedTo(p, alignment)) << p;
      CheckBlock(p, size);
      free(p);
    }
  }
  // Alignments below 16 are valid too.
  for (size_t alignment : {size_t{1}, size_t{2}, size_t{4}, size_t{8}}) {
    void* p = aligned_alloc(alignment, 24);
    CheckBlock(p, 24);
    free(p);
  }
}

TEST(AlignedAllocTest, ReallocOfAlignedBlocksKeepsContents) {
  for (size_t alignment : kAlignments) {
    SCOPED_TRACE(alignment);
    auto* p = static_cast<unsigned char*>(aligned_alloc(alignment, 100));
    ASSERT_NE(p, nullptr);
    for (int i = 0; i < 100; ++i) p[i] = static_cast<unsigned char>(i);
    for (size_t size :
         {size_t{300000}, size_t{3} << 20, size_t{5000}, size_t{50}}) {
      p = static_cast<unsigned char*>(realloc(p, size));
      ASSERT_NE(p, nullptr) << size;
      EXPECT_GE(hak_usable_size(p), size);
      for (int i = 0; i < 50; ++i) ASSERT_EQ(p[i], i) << size;
    }
    free(p);
  }
}

TEST(AlignedAllocTest, NonPowerOfTwoIsEinval) {
  for (size_t alignment : {size_t{0}, size_t{3}, size_t{24}, size_t{100},
                           size_t{4097}, SIZE_MAX}) {
    SCOPED_TRACE(alignment);
    errno = 0;
    void* p = aligned_alloc(alignment, 64);
    Escape(p);
    EXPECT_EQ(p, nullptr);
    EXPECT_EQ(errno, EINVAL);
  }
}

TEST(AlignedAllocTest, HugeSizeIsEnomem) {
  errno = 0;
  EXPECT_EQ(aligned_alloc(64, kImpossible), nullptr);
  EXPECT_EQ(errno, ENOMEM);
}

TEST(MemalignTest, RoundsNonPowerOfTwoUpLikeGlibc) {
  // glibc: an alignment that is not a power of two is rounded up to the next
  // one; small ones are raised to the malloc alignment.
  const struct {
    size_t requested, guaranteed;
  } cases[] = {{0, 16},        {1, 16},
               {3, 16},        {24, 32},
               {48, 64},       {100, 128},
               {4000, 4096},   {4097, 8192},
               {65535, 65536}, {(1 << 20) + 1, 1 << 21}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.requested);
    for (size_t size : {size_t{1}, size_t{200}, size_t{70000}}) {
      void* p = memalign(c.requested, size);
      ASSERT_NE(p, nullptr);
      EXPECT_TRUE(AlignedTo(p, c.guaranteed)) << p;
      CheckBlock(p, size);
      free(p);
    }
  }
}

TEST(MemalignTest, AbsurdAlignmentIsEinval) {
  errno = 0;
  volatile size_t absurd = SIZE_MAX / 2 + 2;
  EXPECT_EQ(memalign(absurd, 16), nullptr);
  EXPECT_EQ(errno, EINVAL);
  errno = 0;
  EXPECT_EQ(memalign(64, kImpossible), nullptr);
  EXPECT_EQ(errno, ENOMEM);
}

TEST(VallocTest, PageAligned) {
  ASSERT_EQ(static_cast<size_t>(sysconf(_SC_PAGESIZE)), kPage);
  for (size_t size :
       {size_t{0}, size_t{1}, size_t{100}, kPage, kPage + 1, size_t{1} << 20}) {
    SCOPED_TRACE(size);
    void* p = valloc(size);
    ASSERT_NE(p, nullptr);
    EXPECT_TRUE(AlignedTo(p, kPage)) << p;
    CheckBlock(p, size);
    free(p);
  }
}

TEST(PvallocTest, PageAlignedAndRoundedUpToAPage) {
  const struct {
    size_t requested, usable;
  } cases[] = {{0, kPage},
               {1, kPage},
               {100, kPage},
               {kPage, kPage},
               {kPage + 1, 2 * kPage},
               {3 * kPage - 1, 3 * kPage},
               {(1 << 20) + 5, (1 << 20) + kPage}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.requested);
    void* p = pvalloc(c.requested);
    ASSERT_NE(p, nullptr);
    EXPECT_TRUE(AlignedTo(p, kPage)) << p;
    // The whole rounded size is the caller's to use.
    CheckBlock(p, c.usable);
    free(p);
  }
  errno = 0;
  EXPECT_EQ(pvalloc(SIZE_MAX - 10), nullptr);
  EXPECT_EQ(errno, ENOMEM);
}

// ---- usable size and sized frees
// ---------------------------------------------

TEST(UsableSizeTest, AtLeastTheRequestAndWritable) {
  EXPECT_EQ(malloc_usable_size(nullptr), 0u);
  for (size_t size : kSizes) {
    SCOPED_TRACE(size);
    void* p = malloc(size);
    size_t usable = malloc_usable_size(p);
    EXPECT_GE(usable, size);
    EXPECT_EQ(usable, hak_usable_size(p));
    // The whole usable size belongs to the caller.
    memset(p, 0x5A, usable);
    Escape(p);
    free(p);
  }
}

TEST(FreeSizedTest, AnySizeFromRequestToUsable) {
  for (size_t size : kSizes) {
    SCOPED_TRACE(size);
    void* p = malloc(size);
    CheckBlock(p, size);
    free_sized(p, size);
    p = malloc(size);
    size_t usable = malloc_usable_size(p);
    free_sized(p, usable);
  }
}

TEST(FreeSizedTest, AlignedSized) {
  for (size_t alignment : kAlignments) {
    for (size_t size : {alignment, 5 * alignment}) {
      SCOPED_TRACE(testing::Message() << alignment << " " << size);
      void* p = aligned_alloc(alignment, size);
      ASSERT_TRUE(AlignedTo(p, alignment));
      CheckBlock(p, size);
      free_aligned_sized(p, alignment, size);
    }
  }
}

// ---- C++ operator new / delete, every replaceable form
// -------------------------

TEST(OperatorNewTest, PlainArrayNothrowAndSizedForms) {
  for (size_t size : kSizes) {
    SCOPED_TRACE(size);
    void* p = ::operator new(size);
    CheckBlock(p, size);
    EXPECT_TRUE(AlignedTo(p, __STDCPP_DEFAULT_NEW_ALIGNMENT__));
    ::operator delete(p);

    p = ::operator new[](size);
    CheckBlock(p, size);
    ::operator delete[](p);

    p = ::operator new(size, std::nothrow);
    CheckBlock(p, size);
    ::operator delete(p, std::nothrow);

    p = ::operator new[](size, std::nothrow);
    CheckBlock(p, size);
    ::operator delete[](p, std::nothrow);

    p = ::operator new(size);
    CheckBlock(p, size);
    ::operator delete(p, size);

    p = ::operator new[](size);
    CheckBlock(p, size);
    ::operator delete[](p, size);
  }
}

TEST(OperatorNewTest, AlignedForms) {
  for (size_t alignment : kAlignments) {
    const std::align_val_t al{alignment};
    for (size_t size : {size_t{1}, alignment - 1, alignment, 3 * alignment + 1,
                        size_t{100000}}) {
      SCOPED_TRACE(testing::Message() << alignment << " " << size);
      void* p = ::operator new(size, al);
      EXPECT_TRUE(AlignedTo(p, alignment)) << p;
      CheckBlock(p, size);
      ::operator delete(p, al);

      p = ::operator new[](size, al);
      EXPECT_TRUE(AlignedTo(p, alignment)) << p;
      CheckBlock(p, size);
      ::operator delete[](p, al);

      p = ::operator new(size, al, std::nothrow);
      EXPECT_TRUE(AlignedTo(p, alignment)) << p;
      CheckBlock(p, size);
      ::operator delete(p, al, std::nothrow);

      p = ::operator new[](size, al, std::nothrow);
      EXPECT_TRUE(AlignedTo(p, alignment)) << p;
      CheckBlock(p, size);
      ::operator delete[](p, al, std::nothrow);

      p = ::operator new(size, al);
      CheckBlock(p, size);
      ::operator delete(p, size, al);

      p = ::operator new[](size, al);
      CheckBlock(p, size);
      ::operator delete[](p, size, al);
    }
  }
}

struct alignas(256) OverAligned {
  char bytes[300];
};

TEST(OperatorNewTest, NewExpressionsUseTheReplacements) {
  std::vector<void*> served;
  auto* one = new OverAligned;
  auto* many = new OverAligned[5];
  auto* ints = new int[10];
  auto* str = new std::string(1000, 'z');
  for (void* p : {static_cast<void*>(one), static_cast<void*>(many),
                  static_cast<void*>(ints), static_cast<void*>(str)}) {
    Escape(p);
    EXPECT_GT(hak_usable_size(p), 0u);  // dies if not hakmem's
  }
  EXPECT_TRUE(AlignedTo(one, 256));
  EXPECT_TRUE(AlignedTo(many, 256));
  EXPECT_GE(hak_usable_size(str->data()), 1001u);
  delete one;
  delete[] many;
  delete[] ints;
  delete str;
  // Null is accepted by every delete.
  ::operator delete(nullptr);
  ::operator delete[](nullptr);
  ::operator delete(nullptr, std::nothrow);
  ::operator delete (nullptr, std::align_val_t{64});
  ::operator delete (nullptr, size_t{0}, std::align_val_t{64});
}

TEST(OperatorNewTest, ImpossibleSizeThrowsBadAlloc) {
  volatile size_t huge = kImpossible;
  EXPECT_THROW(Escape(::operator new(huge)), std::bad_alloc);
  EXPECT_THROW(Escape(::operator new[](huge)), std::bad_alloc);
  EXPECT_THROW(Escape(::operator new (huge, std::align_val_t{64})),
               std::bad_alloc);
  EXPECT_THROW(Escape(::operator new[](huge, std::align_val_t{4096})),
               std::bad_alloc);
  EXPECT_THROW(Escape(::operator new (size_t{PTRDIFF_MAX} + 1)),
               std::bad_alloc);
  volatile size_t unmappable = kUnmappable;
  EXPECT_THROW(Escape(::operator new(unmappable)), std::bad_alloc);
  EXPECT_THROW(Escape(::operator new[](unmappable, std::align_val_t{1 << 21})),
               std::bad_alloc);
  EXPECT_EQ(::operator new(unmappable, std::nothrow), nullptr);
}

TEST(OperatorNewTest, NothrowReturnsNull) {
  volatile size_t huge = kImpossible;
  EXPECT_EQ(::operator new(huge, std::nothrow), nullptr);
  EXPECT_EQ(::operator new[](huge, std::nothrow), nullptr);
  EXPECT_EQ(::operator new (huge, std::align_val_t{64}, std::nothrow), nullptr);
  EXPECT_EQ(::operator new[](huge, std::align_val_t{64}, std::nothrow),
            nullptr);
  char* array = new (std::nothrow) char[huge];
  EXPECT_EQ(array, nullptr);
}

int g_handler_calls = 0;

void CountingHandler() {
  // Give up after three calls: the next failure throws.
  if (++g_handler_calls == 3) std::set_new_handler(nullptr);
}

TEST(OperatorNewTest, NewHandlerIsCalledUntilItGivesUp) {
  volatile size_t huge = kImpossible;
  g_handler_calls = 0;
  std::set_new_handler(CountingHandler);
  EXPECT_THROW(Escape(::operator new(huge)), std::bad_alloc);
  EXPECT_EQ(g_handler_calls, 3);

  g_handler_calls = 0;
  std::set_new_handler(CountingHandler);
  EXPECT_THROW(Escape(::operator new[](huge, std::align_val_t{128})),
               std::bad_alloc);
  EXPECT_EQ(g_handler_calls, 3);

  // The nothrow forms call the handler too, then return null.
  g_handler_calls = 0;
  std::set_new_handler(CountingHandler);
  EXPECT_EQ(::operator new(huge, std::nothrow), nullptr);
  EXPECT_EQ(g_handler_calls, 3);
  EXPECT_EQ(std::get_new_handler(), nullptr);
}

struct HandlerGaveUp {};

TEST(OperatorNewTest, ExceptionFromTheNewHandlerPropagates) {
  volatile size_t huge = kImpossible;
  std::set_new_handler([] { throw HandlerGaveUp{}; });
  EXPECT_THROW(Escape(::operator new(huge)), HandlerGaveUp);
  // nothrow new turns any exception into null.
  EXPECT_EQ(::operator new(huge, std::nothrow), nullptr);
  std::set_new_handler(nullptr);
}

// A handler that makes memory available lets the retry succeed: the address
// space limit makes a 1 GiB request fail, and the handler lifts the limit.
rlimit g_saved_limit;

void LiftLimitHandler() {
  ++g_handler_calls;
  setrlimit(RLIMIT_AS, &g_saved_limit);
}

size_t VirtualBytes() {
  FILE* f = fopen("/proc/self/statm", "r");
  unsigned long pages = 0;
  EXPECT_EQ(fscanf(f, "%lu", &pages), 1);
  fclose(f);
  return pages * kPage;
}

TEST(OperatorNewTest, NewHandlerThatFreesMemoryMakesTheRetrySucceed) {
  ASSERT_EQ(getrlimit(RLIMIT_AS, &g_saved_limit), 0);
  constexpr size_t kRequest = size_t{1} << 30;
  rlimit tight = g_saved_limit;
  tight.rlim_cur = VirtualBytes() + (size_t{256} << 20);
  if (g_saved_limit.rlim_cur != RLIM_INFINITY &&
      g_saved_limit.rlim_cur < tight.rlim_cur + kRequest) {
    GTEST_SKIP() << "address space limit already too low";
  }
  g_handler_calls = 0;
  std::set_new_handler(LiftLimitHandler);
  ASSERT_EQ(setrlimit(RLIMIT_AS, &tight), 0);
  void* p = ::operator new(kRequest);
  setrlimit(RLIMIT_AS, &g_saved_limit);
  std::set_new_handler(nullptr);
  EXPECT_EQ(g_handler_calls, 1);
  ASSERT_NE(p, nullptr);
  EXPECT_GE(hak_usable_size(p), kRequest);
  static_cast<char*>(p)[kRequest - 1] = 1;
  ::operator delete(p, kRequest);
}

TEST(OperatorNewTest, HandlerNotCalledOnSuccess) {
  g_handler_calls = 0;
  std::set_new_handler(CountingHandler);
  void* p = ::operator new (size_t{1} << 20);
  CheckBlock(p, size_t{1} << 20);
  ::operator delete(p);
  EXPECT_EQ(g_handler_calls, 0);
  std::set_new_handler(nullptr);
}

// ---- proof that hakmem served
// ------------------------------------------------

TEST(ServedByHakmemTest, NewIntArrayInAFreshThreadRefillsFromHakmem) {
  // A new thread starts with empty caches: its first allocation of a class
  // must take blocks from hakmem's slabs.
  uint64_t before = 0, after = 0;
  int* p = nullptr;
  std::thread([&] {
    before = BlocksServed();
    p = new int[10];
    Escape(p);
    after = BlocksServed();
  }).join();
  EXPECT_GT(after, before);
  EXPECT_GE(hak_usable_size(p), 10 * sizeof(int));
  delete[] p;
}

TEST(ServedByHakmemTest, ManyNewIntArrays) {
  // At most 8192 of them (kMaxCacheBlocks) can come from this thread's
  // cache as it was; the rest from refills.
  uint64_t before = BlocksServed();
  std::vector<int*> blocks;
  for (int i = 0; i < 20000; ++i) blocks.push_back(new int[10]);
  EXPECT_GE(BlocksServed(), before + 20000 - 8192);
  for (int* p : blocks) delete[] p;
}

TEST(ServedByHakmemTest, StrdupInsideGlibcCallsHakmem) {
  static const char kText[] = "served by hakmem through glibc's strdup";
  uint64_t before = 0, after = 0;
  char* copy = nullptr;
  std::thread([&] {
    before = BlocksServed();
    copy = strdup(kText);
    after = BlocksServed();
  }).join();
  ASSERT_NE(copy, nullptr);
  EXPECT_STREQ(copy, kText);
  EXPECT_GT(after, before);
  EXPECT_GE(hak_usable_size(copy), sizeof(kText));  // dies if glibc's
  free(copy);

  // A thread cache holds at most 8192 blocks of a class (kMaxCacheBlocks,
  // thread_cache.h): of 20000 copies, the rest came from refills.
  before = BlocksServed();
  std::vector<char*> copies;
  for (int i = 0; i < 20000; ++i) copies.push_back(strdup(kText));
  EXPECT_GE(BlocksServed(), before + 20000 - 8192);
  for (char* c : copies) {
    EXPECT_GE(hak_usable_size(c), sizeof(kText));
    free(c);
  }
}

TEST(ServedByHakmemTest, StatsCallReportsThisProcess) {
  hak_stats s;
  s.version = HAK_STATS_VERSION;
  s.size = sizeof(s);
  ASSERT_EQ(hak_stats_get(&s), 0);
  EXPECT_GT(s.slab_blocks_served, 0u);
  EXPECT_GT(s.os_mapped_bytes, 0u);
  EXPECT_GE(s.threads_live, 1u);
  EXPECT_EQ(hak_version(), static_cast<uint32_t>(HAKMEM_VERSION));
}

}  // namespace

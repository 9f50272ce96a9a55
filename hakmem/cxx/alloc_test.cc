// hakmem::Allocate / AllocateZeroed / Reallocate / Deallocate: alignment,
// sizes in every tier, out-of-memory as a Result, and sized free checked
// by the detection layer.
#include "hakmem/cxx/alloc.h"

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <thread>
#include <vector>

#include "capi/hakmem.h"
#include "gtest/gtest.h"
#include "hakmem/cxx/layout.h"
#include "hakmem/cxx/test_support.h"

namespace hakmem {
namespace {

using hakmem_test::ErrorCapture;
using hakmem_test::IsAligned;
using hakmem_test::IsHakmemBlock;

Layout L(size_t size, size_t align) {
  std::optional<Layout> l = Layout::FromSizeAlign(size, align);
  EXPECT_TRUE(l.has_value()) << size << "/" << align;
  return *l;
}

const size_t kSizes[] = {0,    1,    8,     24,     100,    1000,    1024,
                         1025, 5000, 65536, 262144, 262145, 1 << 20, 3 << 20};
const size_t kAligns[] = {1,  2,   8,    16,    32,
                          64, 256, 4096, 65536, size_t{2} << 20};

TEST(AllocTest, EverySizeAndAlignment) {
  ErrorCapture errors;
  for (size_t align : kAligns) {
    for (size_t size : kSizes) {
      const Layout l = L(size, align);
      Result<void*> r = Allocate(l);
      ASSERT_TRUE(r.ok()) << size << "/" << align;
      void* p = *r;
      ASSERT_NE(p, nullptr);
      EXPECT_TRUE(IsAligned(p, align < 16 ? 16 : align)) << p << " " << align;
      EXPECT_TRUE(IsHakmemBlock(p));
      EXPECT_GE(hak_usable_size(p), size);
      std::memset(p, 0x5A, size);
      Deallocate(p, l);
    }
  }
  EXPECT_EQ(errors.count(), 0) << "first error kind " << errors.kind(0);
}

TEST(AllocTest, ZeroSizeBlocksAreUnique) {
  const Layout l = L(0, 1);
  void* a = Allocate(l).value();
  void* b = Allocate(l).value();
  EXPECT_NE(a, b);
  Deallocate(a, l);
  Deallocate(b, l);
}

TEST(AllocTest, AllocateZeroedZeroesReusedBlocks) {
  for (Layout l : {L(200, 8), L(3000, 16), L(200, 64), L(5000, 4096),
                   L(300000, 16), L(300000, 8192)}) {
    // Dirty blocks of this layout, free them, then ask for zeroed ones:
    // hakmem reuses freed blocks, so this checks the zeroing itself.
    std::vector<void*> dirty;
    for (int i = 0; i < 8; ++i) {
      void* p = Allocate(l).value();
      std::memset(p, 0xAB, l.size());
      dirty.push_back(p);
    }
    for (void* p : dirty) Deallocate(p, l);
    for (int i = 0; i < 8; ++i) {
      Result<void*> r = AllocateZeroed(l);
      ASSERT_TRUE(r.ok());
      const auto* bytes = static_cast<const unsigned char*>(*r);
      EXPECT_TRUE(IsAligned(*r, l.align()));
      for (size_t j = 0; j < l.size(); ++j) {
        ASSERT_EQ(bytes[j], 0)
            << "layout " << l.size() << "/" << l.align() << " byte " << j;
      }
      dirty[i] = *r;
    }
    for (void* p : dirty) Deallocate(p, l);
  }
}

TEST(AllocTest, OutOfMemoryIsAnErrorNotNull) {
  // Valid layouts that no machine can satisfy.
  for (Layout l : {L(Layout::MaxSize(16), 16), L(Layout::MaxSize(1), 1),
                   L(size_t{1} << 60, 4096), L(1, size_t{1} << 62)}) {
    errno = 0;
    Result<void*> r = Allocate(l);
    ASSERT_FALSE(r.ok()) << l.size() << "/" << l.align();
    EXPECT_EQ(r.error(), Error::kOutOfMemory);
    EXPECT_EQ(errno, ENOMEM);
    Result<void*> z = AllocateZeroed(l);
    ASSERT_FALSE(z.ok());
    EXPECT_EQ(z.error(), Error::kOutOfMemory);
  }
}

TEST(AllocTest, ReallocateKeepsTheContents) {
  for (size_t align : {size_t{8}, size_t{16}, size_t{64}, size_t{4096}}) {
    Layout l = L(10, align);
    void* p = Allocate(l).value();
    std::memcpy(p, "0123456789", 10);
    for (size_t size : {100, 5000, 300000, 50, 10}) {
      Result<void*> r = Reallocate(p, l, size);
      ASSERT_TRUE(r.ok()) << size;
      p = *r;
      l = *l.WithSize(size);
      EXPECT_TRUE(IsAligned(p, align));
      EXPECT_GE(hak_usable_size(p), size);
      EXPECT_EQ(std::memcmp(p, "0123456789", 10), 0) << size << "/" << align;
    }
    // Shrinking to 0 returns a live zero-size block (not hak_realloc's
    // free-and-return-NULL).
    Result<void*> z = Reallocate(p, l, 0);
    ASSERT_TRUE(z.ok());
    EXPECT_TRUE(IsHakmemBlock(*z));
    Deallocate(*z, *l.WithSize(0));
  }
}

TEST(AllocTest, ReallocateOfNullAllocates) {
  Result<void*> r = Reallocate(nullptr, L(0, 64), 128);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(IsAligned(*r, 64));
  Deallocate(*r, L(128, 64));
}

TEST(AllocTest, FailedReallocateLeavesTheBlockAlone) {
  for (size_t align : {size_t{16}, size_t{64}}) {
    const Layout l = L(64, align);
    void* p = Allocate(l).value();
    std::memset(p, 7, 64);
    Result<void*> r = Reallocate(p, l, size_t{1} << 60);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error(), Error::kOutOfMemory);
    Result<void*> bad = Reallocate(p, l, SIZE_MAX);
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.error(), Error::kInvalidLayout);
    ASSERT_TRUE(IsHakmemBlock(p));
    for (int i = 0; i < 64; ++i) ASSERT_EQ(static_cast<char*>(p)[i], 7);
    Deallocate(p, l);
  }
}

TEST(AllocTest, DeallocateNullDoesNothing) {
  ErrorCapture errors;
  Deallocate(nullptr, Layout::Of<int>());
  Deallocate(nullptr, L(64, 4096));
  EXPECT_EQ(errors.count(), 0);
}

TEST(AllocTest, BlocksMayBeFreedOnAnotherThread) {
  ErrorCapture errors;
  std::vector<void*> blocks;
  const Layout small = L(48, 16), aligned = L(192, 64);
  for (int i = 0; i < 500; ++i) {
    blocks.push_back(Allocate(i % 2 ? small : aligned).value());
  }
  std::thread([&] {
    for (size_t i = 0; i < blocks.size(); ++i) {
      Deallocate(blocks[i], i % 2 ? small : aligned);
    }
  }).join();
  EXPECT_EQ(errors.count(), 0);
}

// ---- Misuse, caught by hakmem's detection layer ----------------------------

TEST(AllocMisuseTest, WrongLayoutIsASizeMismatch) {
  ErrorCapture errors;
  void* p = Allocate(L(32, 8)).value();
  Deallocate(p, L(4096, 8));  // reported; the block is left alone
  ASSERT_EQ(errors.count(), 1);
  EXPECT_EQ(errors.kind(0), HAK_ERROR_SIZE_MISMATCH);
  EXPECT_EQ(errors.ptr(0), p);
  EXPECT_TRUE(IsHakmemBlock(p));  // still live
  Deallocate(p, L(32, 8));
  EXPECT_EQ(errors.count(), 1);
}

TEST(AllocMisuseTest, DoubleDeallocateIsReported) {
  ErrorCapture errors;
  const Layout l = L(40, 8);
  void* p = Allocate(l).value();
  Deallocate(p, l);
  Deallocate(p, l);
  ASSERT_EQ(errors.count(), 1);
  EXPECT_EQ(errors.kind(0), HAK_ERROR_DOUBLE_FREE);
  EXPECT_EQ(errors.ptr(0), p);
}

TEST(AllocMisuseTest, ForeignPointerIsReported) {
  ErrorCapture errors;
  int on_stack = 0;
  Deallocate(&on_stack, Layout::Of<int>());
  ASSERT_EQ(errors.count(), 1);
  EXPECT_EQ(errors.kind(0), HAK_ERROR_INVALID_FREE);
}

}  // namespace
}  // namespace hakmem

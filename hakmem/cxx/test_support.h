// Helpers for the tests of hakmem's C++ API: capturing memory-error reports
// through hak_set_error_handler, recognising hakmem's blocks; and, from
// tests/test_util.h, what all of hakmem's tests share (kTsan, Scaled,
// IsAligned, Stats, patterns).
#ifndef HAKMEM_CXX_TEST_SUPPORT_H_
#define HAKMEM_CXX_TEST_SUPPORT_H_

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "capi/hakmem.h"
#include "gtest/gtest.h"
#include "tests/test_util.h"

namespace hakmem_test {

// While alive, memory errors are recorded here instead of aborting the
// process (the erring operation then does nothing: the block is leaked).
// The handler runs inside hak_free and friends: it only stores.
class ErrorCapture {
 public:
  static constexpr int kMax = 16;

  ErrorCapture() { previous_ = hak_set_error_handler(&Handle, this); }
  ~ErrorCapture() { hak_set_error_handler(previous_, nullptr); }
  ErrorCapture(const ErrorCapture&) = delete;
  ErrorCapture& operator=(const ErrorCapture&) = delete;

  int count() const { return count_.load(std::memory_order_acquire); }
  // The kind of the i-th error (0 if there is none).
  int kind(int i) const { return i < count() && i < kMax ? kinds_[i] : 0; }
  const void* ptr(int i) const {
    return i < count() && i < kMax ? ptrs_[i] : nullptr;
  }

 private:
  static void Handle(const hak_error* error, void* context) {
    auto* self = static_cast<ErrorCapture*>(context);
    const int i = self->count_.load(std::memory_order_relaxed);
    if (i < kMax) {
      self->kinds_[i] = error->kind;
      self->ptrs_[i] = error->ptr;
    }
    self->count_.store(i + 1, std::memory_order_release);
  }

  hak_error_handler previous_;
  std::atomic<int> count_{0};
  int kinds_[kMax] = {};
  const void* ptrs_[kMax] = {};
};

// True if `p` is a live block hakmem handed out (hak_usable_size knows it
// and reports nothing). The test binaries do not replace malloc, so memory
// from std::allocator or operator new fails this check.
inline bool IsHakmemBlock(const void* p) {
  ErrorCapture capture;
  const size_t usable = hak_usable_size(p);
  return p != nullptr && capture.count() == 0 && usable > 0;
}

// Death tests run in processes that may have threads.
class DeathTest : public ::testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

}  // namespace hakmem_test

#endif  // HAKMEM_CXX_TEST_SUPPORT_H_

// hakmem::Error and hakmem::Result<T>: the outcome of a fallible
// allocation, which the caller cannot ignore.
//
//   hakmem::Result<void*> r = hakmem::Allocate(layout);
//   if (!r.ok()) return r.error();      // hakmem::Error::kOutOfMemory, ...
//   void* p = *r;
//
// Result<T> is [[nodiscard]]: discarding one is a compiler warning (an error
// with -Werror). Reading the value of a Result that holds an error is a
// checked programming error: value(), operator* and operator-> print one
// line to stderr and abort, in every build (like Rust's unwrap()). Test
// ok() first, or use value_or().
//
// Thread-safety: a Result is a plain value; distinct objects may be used
// from distinct threads freely.
#ifndef HAKMEM_CXX_RESULT_H_
#define HAKMEM_CXX_RESULT_H_

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <type_traits>
#include <utility>
#include <variant>

namespace hakmem {

// Why an allocation failed.
enum class Error : int {
  // The allocator (or the OS) could not supply the memory: the C ABI's
  // NULL with errno ENOMEM. Nothing was allocated.
  kOutOfMemory = 1,
  // The request has no valid Layout: an array length whose size in bytes
  // overflows, or a size/alignment pair Layout rejects. Nothing was
  // allocated.
  kInvalidLayout = 2,
};

// A short, static, human-readable name for `error`.
constexpr const char* ErrorMessage(Error error) noexcept {
  switch (error) {
    case Error::kOutOfMemory:
      return "out of memory";
    case Error::kInvalidLayout:
      return "invalid layout (size overflow or bad alignment)";
  }
  return "unknown error";
}

// The errno value the C ABI uses for `error` (ENOMEM or EINVAL).
constexpr int ErrorToErrno(Error error) noexcept {
  return error == Error::kOutOfMemory ? ENOMEM : EINVAL;
}

namespace api_internal {

// Reports a broken precondition of the C++ API on one line and aborts.
// Out of line of the callers' fast paths; the same in every build.
[[noreturn]] __attribute__((cold, noinline)) inline void Die(
    const char* what, const char* detail) noexcept {
  std::fprintf(stderr, "hakmem: %s%s%s\n", what, detail[0] ? ": " : "", detail);
  std::abort();
}

}  // namespace api_internal

// Either a value of type T or an Error. T must be a non-reference object
// type other than Error.
template <typename T>
class [[nodiscard]] Result {
  static_assert(!std::is_reference_v<T>, "Result<T&> is not supported");
  static_assert(!std::is_same_v<std::remove_cv_t<T>, Error>,
                "Result<Error> is ambiguous");

 public:
  using value_type = T;

  // Implicit, so that `return value;` and `return Error::k...;` both work.
  template <typename U = T, typename = std::enable_if_t<
                                std::is_constructible_v<T, U&&> &&
                                !std::is_same_v<std::decay_t<U>, Result> &&
                                !std::is_same_v<std::decay_t<U>, Error>>>
  constexpr Result(U&& value) noexcept(std::is_nothrow_constructible_v<T, U&&>)
      : v_(std::in_place_index<0>, std::forward<U>(value)) {}
  constexpr Result(Error error) noexcept : v_(std::in_place_index<1>, error) {}

  constexpr bool ok() const noexcept { return v_.index() == 0; }
  constexpr explicit operator bool() const noexcept { return ok(); }

  // The error; calling it on a Result that holds a value aborts.
  constexpr Error error() const noexcept {
    if (ok()) api_internal::Die("hakmem::Result::error() on a value", "");
    return *std::get_if<1>(&v_);
  }

  // The value; calling these on a Result that holds an error aborts.
  constexpr T& value() & noexcept { return *Checked(); }
  constexpr const T& value() const& noexcept { return *Checked(); }
  constexpr T&& value() && noexcept { return std::move(*Checked()); }
  constexpr T& operator*() & noexcept { return value(); }
  constexpr const T& operator*() const& noexcept { return value(); }
  constexpr T&& operator*() && noexcept { return std::move(value()); }
  constexpr T* operator->() noexcept { return Checked(); }
  constexpr const T* operator->() const noexcept { return Checked(); }

  // The value, or `fallback` if this holds an error.
  template <typename U>
  constexpr T value_or(U&& fallback) const& {
    return ok() ? *std::get_if<0>(&v_)
                : static_cast<T>(std::forward<U>(fallback));
  }
  template <typename U>
  constexpr T value_or(U&& fallback) && {
    return ok() ? std::move(*std::get_if<0>(&v_))
                : static_cast<T>(std::forward<U>(fallback));
  }

 private:
  constexpr T* Checked() noexcept {
    if (!ok()) Die();
    return std::get_if<0>(&v_);
  }
  constexpr const T* Checked() const noexcept {
    if (!ok()) Die();
    return std::get_if<0>(&v_);
  }
  [[noreturn]] void Die() const noexcept {
    api_internal::Die("hakmem::Result::value() on an error",
                      ErrorMessage(*std::get_if<1>(&v_)));
  }

  std::variant<T, Error> v_;
};

}  // namespace hakmem

#endif  // HAKMEM_CXX_RESULT_H_

// hakmem::Box<T>: a move-only owning pointer to one T (or, as Box<T[]>, to
// an array of T) allocated from hakmem, like Rust's Box<T> or a
// std::unique_ptr with hakmem's deleter.
//
//   hakmem::Box<Widget> w = hakmem::MakeBox<Widget>(1, "x");   // throws
//   bad_alloc on OOM hakmem::Result<hakmem::Box<Widget>> r =
//   hakmem::TryMakeBox<Widget>(1, "x"); hakmem::Box<int[]> a =
//   hakmem::MakeBox<int[]>(100);       // 100 zeros
//
// Ownership rules:
//   - A Box owns its object: the destructor runs ~T and frees the block
//     with hakmem's sized free (hak_free_sized, or hak_free_aligned_sized
//     for over-aligned T such as alignas(64) or alignas(4096)), so the
//     allocator checks the size it is given.
//   - Boxes are move-only. A moved-from Box is empty; so is one after
//     Release(). Dereferencing an empty Box (operator*, operator->), or
//     indexing a Box<T[]> out of range, prints one line and aborts, in
//     every build. get() / data() may return nullptr for an empty Box.
//   - There is no default constructor: a Box is made by MakeBox, TryMakeBox
//     or FromRaw, never null by accident.
//   - No conversion from Box<Derived> to Box<Base>: the block is freed with
//     the size of T, so it must be destroyed as the type it was made as.
//   - Release() hands the object and its block to the caller, who must give
//     them back with FromRaw (or destroy the object and call
//     hakmem::Deallocate with Layout::Of<T>() / Layout::ArrayOf<T>(n)).
//     Misuse (adopting the same pointer twice, a pointer from elsewhere) is
//     caught by hakmem's detection layer when the block is freed: a double
//     free or invalid free report.
//
// Thread-safety: a Box is a plain owning value. It may be moved to and
// destroyed on any thread (hakmem frees blocks from any thread); one Box
// object must not be used by two threads at once without synchronization,
// exactly like std::unique_ptr.
#ifndef HAKMEM_CXX_BOX_H_
#define HAKMEM_CXX_BOX_H_

#include <cstddef>
#include <new>
#include <optional>
#include <type_traits>
#include <utility>

#include "hakmem/cxx/alloc.h"
#include "hakmem/cxx/layout.h"
#include "hakmem/cxx/result.h"

namespace hakmem {

namespace api_internal {

// How a Box gives its block back: the process-wide allocator, sized free.
// A Free policy frees a block (operator()) and is told when a Box starts
// (Adopted) and stops (Released) owning one, so that a heap can count the
// handles that point into it.
struct GlobalFree {
  void operator()(void* p, Layout layout) const noexcept {
    Deallocate(p, layout);
  }
  void Adopted() const noexcept {}
  void Released() const noexcept {}
};

// Allocates from the process-wide allocator.
struct GlobalAlloc {
  Result<void*> operator()(Layout layout) const noexcept {
    return Allocate(layout);
  }
  GlobalFree Free() const noexcept { return {}; }
};

template <typename T>
inline constexpr bool kIsUnboundedArray =
    std::is_array_v<T>&& std::extent_v<T> == 0;
template <typename T>
inline constexpr bool kIsBoundedArray =
    std::is_array_v<T>&& std::extent_v<T> != 0;

template <typename T>
void* VoidPtr(T* p) noexcept {
  return const_cast<void*>(static_cast<const volatile void*>(p));
}

}  // namespace api_internal

// The owning pointer to one T. `Free` is how the block is released; it is
// api_internal::GlobalFree for every Box the global allocator made (hakmem::Box
// of one template argument) and a heap's for hakmem::HeapBox (heap.h).
template <typename T, typename Free = api_internal::GlobalFree>
class Box : private Free {
  static_assert(std::is_object_v<T> && !api_internal::kIsBoundedArray<T>,
                "Box<T>: T must be an object type (use Box<T[]> for arrays)");
  static_assert(std::is_nothrow_move_constructible_v<Free>);

 public:
  using element_type = T;
  using pointer = T*;

  Box(const Box&) = delete;
  Box& operator=(const Box&) = delete;

  Box(Box&& other) noexcept
      : Free(std::move(static_cast<Free&>(other))),
        ptr_(std::exchange(other.ptr_, nullptr)) {}
  Box& operator=(Box&& other) noexcept {
    if (this != &other) {
      Reset();
      static_cast<Free&>(*this) = std::move(static_cast<Free&>(other));
      ptr_ = std::exchange(other.ptr_, nullptr);
    }
    return *this;
  }

  ~Box() { Reset(); }

  // Adopts `p`, which Release() of a Box<T> with the same Free returned.
  [[nodiscard]] static Box FromRaw(T* p, Free free = Free()) noexcept {
    if (p != nullptr) free.Adopted();
    return Box(p, std::move(free));
  }

  // Gives up ownership: the caller now owns the object and its block.
  [[nodiscard]] T* Release() noexcept {
    if (ptr_ != nullptr) policy().Released();
    return std::exchange(ptr_, nullptr);
  }

  // Destroys the object and frees its block now; the Box becomes empty.
  void Reset() noexcept {
    if (T* p = std::exchange(ptr_, nullptr)) {
      p->~T();
      policy()(api_internal::VoidPtr(p), Layout::Of<T>());
      policy().Released();
    }
  }

  T* get() const noexcept { return ptr_; }
  explicit operator bool() const noexcept { return ptr_ != nullptr; }
  T& operator*() const noexcept { return *Checked(); }
  T* operator->() const noexcept { return Checked(); }

  const Free& policy() const noexcept { return *this; }

  friend void swap(Box& a, Box& b) noexcept {
    Box t = std::move(a);
    a = std::move(b);
    b = std::move(t);
  }

 private:
  Box(T* p, Free free) noexcept : Free(std::move(free)), ptr_(p) {}

  T* Checked() const noexcept {
    if (ptr_ == nullptr) {
      api_internal::Die("hakmem::Box: dereferenced an empty Box",
                        "it was moved from or released");
    }
    return ptr_;
  }

  T* ptr_;
};

// The owning pointer to an array of size() Ts.
template <typename T, typename Free>
class Box<T[], Free> : private Free {
  static_assert(std::is_object_v<T> && !std::is_array_v<T>,
                "Box<T[]>: T must be an object type");
  static_assert(std::is_nothrow_move_constructible_v<Free>);

 public:
  using element_type = T;
  using pointer = T*;
  using iterator = T*;
  using const_iterator = const T*;

  Box(const Box&) = delete;
  Box& operator=(const Box&) = delete;

  Box(Box&& other) noexcept
      : Free(std::move(static_cast<Free&>(other))),
        ptr_(std::exchange(other.ptr_, nullptr)),
        size_(std::exchange(other.size_, 0)) {}
  Box& operator=(Box&& other) noexcept {
    if (this != &other) {
      Reset();
      static_cast<Free&>(*this) = std::move(static_cast<Free&>(other));
      ptr_ = std::exchange(other.ptr_, nullptr);
      size_ = std::exchange(other.size_, 0);
    }
    return *this;
  }

  ~Box() { Reset(); }

  // Adopts the `n` Ts at `p`, which Release() of a Box<T[]> of size n with
  // the same Free returned.
  [[nodiscard]] static Box FromRaw(T* p, size_t n,
                                   Free free = Free()) noexcept {
    if (p != nullptr) free.Adopted();
    return Box(p, p == nullptr ? 0 : n, std::move(free));
  }

  // Gives up ownership of the size() elements and their block.
  [[nodiscard]] T* Release() noexcept {
    if (ptr_ != nullptr) policy().Released();
    size_ = 0;
    return std::exchange(ptr_, nullptr);
  }

  // Destroys the elements (last first) and frees the block; the Box
  // becomes empty.
  void Reset() noexcept {
    T* p = std::exchange(ptr_, nullptr);
    const size_t n = std::exchange(size_, 0);
    if (p == nullptr) return;
    for (size_t i = n; i > 0; --i) p[i - 1].~T();
    // Valid: the same computation succeeded when the array was made.
    policy()(api_internal::VoidPtr(p), *Layout::ArrayOf<T>(n));
    policy().Released();
  }

  T* data() const noexcept { return ptr_; }
  T* get() const noexcept { return ptr_; }
  size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  explicit operator bool() const noexcept { return ptr_ != nullptr; }

  // Bounds-checked: an index >= size() prints one line and aborts.
  T& operator[](size_t i) const noexcept {
    if (i >= size_) {
      api_internal::Die("hakmem::Box<T[]>: index out of range",
                        ptr_ == nullptr ? "the Box is empty" : "");
    }
    return ptr_[i];
  }

  T* begin() const noexcept { return ptr_; }
  T* end() const noexcept { return ptr_ + size_; }

  const Free& policy() const noexcept { return *this; }

  friend void swap(Box& a, Box& b) noexcept {
    Box t = std::move(a);
    a = std::move(b);
    b = std::move(t);
  }

 private:
  Box(T* p, size_t n, Free free) noexcept
      : Free(std::move(free)), ptr_(p), size_(n) {}

  T* ptr_;
  size_t size_;
};

// ---- Construction ----------------------------------------------------------

namespace api_internal {

// The Free policy of the blocks an allocation policy `A` makes.
template <typename A>
using FreeOf = decltype(std::declval<const A&>().Free());

// Allocates a T from `alloc` (a callable Layout -> Result<void*> with a
// Free() that returns how to release its blocks) and constructs it from
// `args` (T(args...), or T{args...} for an aggregate). An exception from T's
// constructor frees the block and propagates. Shared by MakeBox and
// hakmem::Heap.
template <typename T, typename A, typename... Args>
Result<Box<T, FreeOf<A>>> MakeIn(const A& alloc, Args&&... args) {
  using B = Box<T, FreeOf<A>>;
  constexpr Layout layout = Layout::Of<T>();
  Result<void*> block = alloc(layout);
  if (!block.ok()) return block.error();
  auto free = alloc.Free();
#if defined(__cpp_exceptions)
  try {
#endif
    using U = std::remove_cv_t<T>;
    T* p;
    if constexpr (std::is_constructible_v<U, Args&&...>) {
      p = ::new (*block) U(std::forward<Args>(args)...);
    } else {  // an aggregate: MakeBox<Point>(1, 2) (C++17 needs braces)
      p = ::new (*block) U{std::forward<Args>(args)...};
    }
    return B::FromRaw(p, std::move(free));
#if defined(__cpp_exceptions)
  } catch (...) {
    free(*block, layout);
    throw;
  }
#endif
}

// Allocates `n` Ts from `alloc` and value-initializes them (zero for
// scalars). An exception from a constructor destroys the elements made so
// far, frees the block and propagates.
template <typename T, typename A>
Result<Box<T[], FreeOf<A>>> MakeArrayIn(const A& alloc, size_t n) {
  using B = Box<T[], FreeOf<A>>;
  std::optional<Layout> layout = Layout::ArrayOf<T>(n);
  if (!layout) return Error::kInvalidLayout;
  Result<void*> block = alloc(*layout);
  if (!block.ok()) return block.error();
  auto free = alloc.Free();
  T* p = static_cast<T*>(*block);
  size_t i = 0;
#if defined(__cpp_exceptions)
  try {
#endif
    for (; i < n; ++i)
      ::new (api_internal::VoidPtr(p + i)) std::remove_cv_t<T>();
#if defined(__cpp_exceptions)
  } catch (...) {
    while (i > 0) p[--i].~T();
    free(*block, *layout);
    throw;
  }
#endif
  return B::FromRaw(p, n, std::move(free));
}

}  // namespace api_internal

// A Box<T> holding T(args...), or the allocation error. Exceptions from T's
// constructor propagate (after freeing the block).
template <typename T, typename... Args>
[[nodiscard]] std::enable_if_t<!std::is_array_v<T>, Result<Box<T>>> TryMakeBox(
    Args&&... args) {
  return api_internal::MakeIn<T>(api_internal::GlobalAlloc(),
                                 std::forward<Args>(args)...);
}

// A Box<T[]> of `n` value-initialized elements, or the error:
// kInvalidLayout if n * sizeof(T) overflows, else kOutOfMemory.
template <typename T>
[[nodiscard]] std::enable_if_t<api_internal::kIsUnboundedArray<T>,
                               Result<Box<T>>>
TryMakeBox(size_t n) {
  return api_internal::MakeArrayIn<std::remove_extent_t<T>>(
      api_internal::GlobalAlloc(), n);
}

// Like TryMakeBox, for code that treats running out of memory like
// operator new does: throws std::bad_alloc (std::bad_array_new_length for
// an array size that overflows); aborts if exceptions are disabled.
template <typename T, typename... Args>
[[nodiscard]] std::enable_if_t<!std::is_array_v<T>, Box<T>> MakeBox(
    Args&&... args) {
  Result<Box<T>> r = TryMakeBox<T>(std::forward<Args>(args)...);
  if (!r.ok()) api_internal::ThrowBadAlloc(r.error());
  return std::move(r).value();
}

template <typename T>
[[nodiscard]] std::enable_if_t<api_internal::kIsUnboundedArray<T>, Box<T>>
MakeBox(size_t n) {
  Result<Box<T>> r = TryMakeBox<T>(n);
  if (!r.ok()) api_internal::ThrowBadAlloc(r.error());
  return std::move(r).value();
}

// Box<T[N]> is not a thing: use Box<T[]> (MakeBox<T[]>(N)).
template <typename T, typename... Args>
std::enable_if_t<api_internal::kIsBoundedArray<T>> MakeBox(Args&&...) = delete;
template <typename T, typename... Args>
std::enable_if_t<api_internal::kIsBoundedArray<T>> TryMakeBox(Args&&...) =
    delete;

}  // namespace hakmem

#endif  // HAKMEM_CXX_BOX_H_

// hakmem::Layout: the size and alignment of a block, validated when made.
//
// A Layout can only be obtained from a factory that checks it, so every
// Layout in a program is valid:
//   - the alignment is a power of two (1, 2, 4, ...);
//   - the size, rounded up to a multiple of the alignment, does not exceed
//     PTRDIFF_MAX (so no size computation on it can overflow).
// A size of 0 is valid (a zero-size allocation returns a unique block).
//
//   constexpr hakmem::Layout l = hakmem::Layout::Of<Widget>();      // always
//   valid std::optional<hakmem::Layout> a = hakmem::Layout::ArrayOf<int>(n); //
//   overflow -> nullopt std::optional<hakmem::Layout> b =
//   hakmem::Layout::FromSizeAlign(100, 64);
//
// The same Layout that allocated a block must be given back when it is
// freed (hakmem::Deallocate): hakmem frees by size ("sized free") and reports
// a size the block cannot have as HAK_ERROR_SIZE_MISMATCH.
//
// Layouts are small immutable values: copy them freely, from any thread.
#ifndef HAKMEM_CXX_LAYOUT_H_
#define HAKMEM_CXX_LAYOUT_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <type_traits>

namespace hakmem {

class Layout {
 public:
  // The alignment every hak_malloc block has (alignof(max_align_t) on
  // x86-64). Layouts aligned more strictly are "over-aligned" and are
  // served by hak_aligned_alloc.
  static constexpr size_t kMallocAlignment = 16;

  // The largest valid size for `align`: rounding up must stay within
  // PTRDIFF_MAX (Rust's rule for core::alloc::Layout).
  static constexpr size_t MaxSize(size_t align) noexcept {
    return static_cast<size_t>(PTRDIFF_MAX) - (align - 1);
  }

  static constexpr bool IsPowerOfTwo(size_t v) noexcept {
    return v != 0 && (v & (v - 1)) == 0;
  }

  // `size` bytes aligned to `align`; nullopt unless `align` is a power of
  // two and `size` <= MaxSize(align).
  [[nodiscard]] static constexpr std::optional<Layout> FromSizeAlign(
      size_t size, size_t align) noexcept {
    if (!IsPowerOfTwo(align) || size > MaxSize(align)) return std::nullopt;
    return Layout(size, align);
  }

  // The layout of one T. Always valid (the compiler checked sizeof(T)).
  template <typename T>
  [[nodiscard]] static constexpr Layout Of() noexcept {
    static_assert(IsSized<T>(), "Layout::Of<T> needs a complete object type");
    return Layout(sizeof(T), alignof(T));
  }

  // The layout of `n` consecutive Ts; nullopt if n * sizeof(T) overflows
  // (or exceeds MaxSize).
  template <typename T>
  [[nodiscard]] static constexpr std::optional<Layout> ArrayOf(
      size_t n) noexcept {
    static_assert(IsSized<T>(),
                  "Layout::ArrayOf<T> needs a complete object type");
    size_t bytes = 0;
    if (__builtin_mul_overflow(n, sizeof(T), &bytes)) return std::nullopt;
    return FromSizeAlign(bytes, alignof(T));
  }

  constexpr size_t size() const noexcept { return size_; }
  constexpr size_t align() const noexcept { return align_; }

  // True if hak_malloc's alignment is not enough for this layout.
  constexpr bool over_aligned() const noexcept {
    return align_ > kMallocAlignment;
  }

  // This layout with its alignment raised to at least `align` (a power of
  // two); nullopt if `align` is invalid or the size no longer fits.
  [[nodiscard]] constexpr std::optional<Layout> AlignedTo(
      size_t align) const noexcept {
    if (!IsPowerOfTwo(align)) return std::nullopt;
    return FromSizeAlign(size_, align > align_ ? align : align_);
  }

  // This layout with another size, same alignment; nullopt if too large.
  [[nodiscard]] constexpr std::optional<Layout> WithSize(
      size_t size) const noexcept {
    return FromSizeAlign(size, align_);
  }

  friend constexpr bool operator==(Layout a, Layout b) noexcept {
    return a.size_ == b.size_ && a.align_ == b.align_;
  }
  friend constexpr bool operator!=(Layout a, Layout b) noexcept {
    return !(a == b);
  }

 private:
  // A complete object type: not a function, reference, void or T[].
  template <typename T>
  static constexpr bool IsSized() noexcept {
    return std::is_object_v<T> &&
           !(std::is_array_v<T> && std::extent_v<T> == 0);
  }

  // Only the validating factories above construct a Layout.
  constexpr Layout(size_t size, size_t align) noexcept
      : size_(size), align_(align) {}

  size_t size_;
  size_t align_;
};

}  // namespace hakmem

#endif  // HAKMEM_CXX_LAYOUT_H_

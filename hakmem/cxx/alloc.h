// Raw, fallible allocation by Layout (the C++ face of hak_malloc and
// friends; compare Rust's std::alloc::{alloc, dealloc, realloc}).
//
//   hakmem::Result<void*> r = hakmem::Allocate(layout);
//   if (!r.ok()) { /* r.error() == hakmem::Error::kOutOfMemory */ }
//   ...
//   hakmem::Deallocate(*r, layout);     // the SAME layout
//
// Contract:
//   - Allocate* never return a null value: success is a block of at least
//     layout.size() bytes aligned to layout.align() (and to at least 16).
//     Failure is Error::kOutOfMemory; nothing was allocated.
//   - Deallocate(p, layout) frees a block that Allocate/AllocateZeroed/
//     Reallocate returned with `layout`; it uses hakmem's sized free, so a
//     wrong layout is reported (HAK_ERROR_SIZE_MISMATCH), as are double and
//     invalid frees. Deallocate(nullptr, ...) does nothing.
//   - Blocks from these functions are ordinary hakmem blocks: hak_free()
//     also releases them, from any thread.
//
// Thread-safety: every function may be called from any thread; a block may
// be freed by a thread other than the one that allocated it.
#ifndef HAKMEM_CXX_ALLOC_H_
#define HAKMEM_CXX_ALLOC_H_

#include <cstddef>
#include <cstring>
#include <new>
#include <optional>

#include "capi/hakmem.h"
#include "hakmem/cxx/layout.h"
#include "hakmem/cxx/result.h"

namespace hakmem {

namespace api_internal {

// operator new's reaction to a failed allocation: std::bad_alloc, or
// std::bad_array_new_length for an array size that overflows; aborts if
// exceptions are disabled.
[[noreturn]] inline void ThrowBadAlloc(Error error) {
#if defined(__cpp_exceptions)
  if (error == Error::kInvalidLayout) throw std::bad_array_new_length();
  throw std::bad_alloc();
#else
  Die("hakmem::MakeBox failed", ErrorMessage(error));
#endif
}

}  // namespace api_internal

// A block of `layout`.
[[nodiscard]] inline Result<void*> Allocate(Layout layout) noexcept {
  void* p = layout.over_aligned()
                ? hak_aligned_alloc(layout.align(), layout.size())
                : hak_malloc(layout.size());
  if (p == nullptr) return Error::kOutOfMemory;
  return p;
}

// A block of `layout` whose first layout.size() bytes are zero.
[[nodiscard]] inline Result<void*> AllocateZeroed(Layout layout) noexcept {
  if (!layout.over_aligned()) {
    void* p = hak_calloc(1, layout.size());
    if (p == nullptr) return Error::kOutOfMemory;
    return p;
  }
  Result<void*> r = Allocate(layout);
  if (r.ok()) std::memset(*r, 0, layout.size());
  return r;
}

// Frees `p`, a block allocated with `layout` (nullptr: nothing happens).
inline void Deallocate(void* p, Layout layout) noexcept {
  if (p == nullptr) return;
  if (layout.over_aligned()) {
    hak_free_aligned_sized(p, layout.align(), layout.size());
  } else {
    hak_free_sized(p, layout.size());
  }
}

// Resizes the block `p` of `layout` to `new_size` bytes (same alignment),
// keeping min(old, new) bytes of content. On success the old block is gone
// and the new one must later be freed with layout.WithSize(new_size). On
// failure (kOutOfMemory, or kInvalidLayout if new_size is too large) `p` is
// untouched and still owned by the caller. new_size may be 0; p == nullptr
// allocates a new block of layout.WithSize(new_size).
[[nodiscard]] inline Result<void*> Reallocate(void* p, Layout layout,
                                              size_t new_size) noexcept {
  std::optional<Layout> grown = layout.WithSize(new_size);
  if (!grown) return Error::kInvalidLayout;
  if (p == nullptr) return Allocate(*grown);
  // hak_realloc(p, 0) frees p and returns NULL: keep 0 on the general path.
  if (!layout.over_aligned() && new_size != 0) {
    void* q = hak_realloc(p, new_size);
    if (q == nullptr) return Error::kOutOfMemory;
    return q;
  }
  Result<void*> q = Allocate(*grown);
  if (!q.ok()) return q;
  std::memcpy(*q, p, layout.size() < new_size ? layout.size() : new_size);
  Deallocate(p, layout);
  return q;
}

}  // namespace hakmem

#endif  // HAKMEM_CXX_ALLOC_H_

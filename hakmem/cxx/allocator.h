// hakmem::Allocator<T>: a standard Allocator (C++17 [allocator.requirements])
// that serves standard containers from hakmem.
//
//   std::vector<int, hakmem::Allocator<int>> v;
//   std::map<K, V, std::less<K>, hakmem::Allocator<std::pair<const K, V>>> m;
//   using String = std::basic_string<char, std::char_traits<char>,
//                                    hakmem::Allocator<char>>;
//
// Rules:
//   - Stateless: all hakmem::Allocators are equal (is_always_equal), so
//     containers may swap, move and splice their memory freely.
//   - allocate(n) throws std::bad_array_new_length if n * sizeof(T)
//     overflows and std::bad_alloc if hakmem is out of memory, as
//     std::allocator does (aborts instead if exceptions are disabled).
//   - deallocate(p, n) uses hakmem's sized free with the same n, so a
//     container that passed a wrong n would be reported
//     (HAK_ERROR_SIZE_MISMATCH).
//   - Over-aligned T (alignas(64), alignas(4096)) is honoured.
//
// Thread-safety: as for hak_malloc: any thread may allocate, and a block
// may be deallocated on a thread other than the one that allocated it.
#ifndef HAKMEM_CXX_ALLOCATOR_H_
#define HAKMEM_CXX_ALLOCATOR_H_

#include <cstddef>
#include <new>
#include <optional>
#include <type_traits>

#include "hakmem/cxx/alloc.h"
#include "hakmem/cxx/box.h"
#include "hakmem/cxx/layout.h"

namespace hakmem {

template <typename T>
class Allocator {
 public:
  using value_type = T;
  using size_type = std::size_t;
  using difference_type = std::ptrdiff_t;
  using propagate_on_container_move_assignment = std::true_type;
  using is_always_equal = std::true_type;

  constexpr Allocator() noexcept = default;
  template <typename U>
  constexpr Allocator(const Allocator<U>&) noexcept {}

  [[nodiscard]] T* allocate(size_type n) {
    std::optional<Layout> layout = Layout::ArrayOf<T>(n);
    if (!layout) api_internal::ThrowBadAlloc(Error::kInvalidLayout);
    Result<void*> block = Allocate(*layout);
    if (!block.ok()) api_internal::ThrowBadAlloc(block.error());
    return static_cast<T*>(*block);
  }

  void deallocate(T* p, size_type n) noexcept {
    // allocate(n) succeeded with this n, so the layout is valid.
    Deallocate(p, *Layout::ArrayOf<T>(n));
  }

  template <typename U>
  friend constexpr bool operator==(const Allocator&,
                                   const Allocator<U>&) noexcept {
    return true;
  }
  template <typename U>
  friend constexpr bool operator!=(const Allocator&,
                                   const Allocator<U>&) noexcept {
    return false;
  }
};

}  // namespace hakmem

#endif  // HAKMEM_CXX_ALLOCATOR_H_

// hakmem::Heap: a first-class heap (arena) owned by one thread, whose
// destruction releases everything still allocated in it. RAII over the C
// ABI's hak_heap.
//
//   hakmem::Result<hakmem::Heap> h = hakmem::Heap::Create();
//   if (!h.ok()) return h.error();
//   hakmem::Heap heap = std::move(h).value();
//   void* scratch = heap.Allocate(*hakmem::Layout::FromSizeAlign(4096,
//   64)).value_or(nullptr); hakmem::HeapBox<Node> n = heap.MakeBox<Node>(1, 2);
//   // ~Node runs when n dies
//   ...
//   // ~Heap: every block still allocated in it is released at once.
//
// Ownership and thread rules (checked: a violation prints one line and
// aborts, in every build):
//   - The thread that calls Create() owns the heap. Only that thread may
//     Allocate from it, MakeBox in it, Deallocate into it, or destroy it
//     (run ~Heap or move-assign over it). A Heap may be moved, but its
//     owner stays the creating thread.
//   - Blocks from Allocate() may be released early with Deallocate() on the
//     owner thread, or with hak_free() on any thread (freeing on another
//     thread must happen-before the heap's destruction, e.g. via a join).
//     Whatever is still allocated when the heap is destroyed is released;
//     no destructors run for raw blocks.
//   - Deallocate() checks that the block is this heap's: a block of another
//     heap, or of no heap, is reported as HAK_ERROR_WRONG_HEAP (observable
//     with hak_set_error_handler) and left alone. Double frees and interior
//     pointers are reported as for hak_free.
//   - HeapBox<T> (from MakeBox) owns one object (or HeapBox<T[]> an array)
//     in the heap; its destructor runs ~T and frees the block on whatever
//     thread it runs. Every HeapBox and HeapResource of a heap must be gone
//     before the heap is destroyed: a Heap destroyed while one is alive
//     aborts (a HeapBox would otherwise dangle; Rust rejects this at
//     compile time, we reject it at run time).
//   - After destruction, any block of the heap is gone: using or freeing
//     one is a memory error (a later hak_free of it is reported).
#ifndef HAKMEM_CXX_HEAP_H_
#define HAKMEM_CXX_HEAP_H_

#include <atomic>
#include <cstddef>
#include <new>
#include <thread>
#include <type_traits>
#include <utility>

#include "capi/hakmem.h"
#include "hakmem/cxx/alloc.h"
#include "hakmem/cxx/box.h"
#include "hakmem/cxx/layout.h"
#include "hakmem/cxx/result.h"

namespace hakmem {

class Heap;

namespace api_internal {

// What a Heap and the handles made from it share. Allocated from the
// global allocator, so that it stays put while the Heap object moves.
struct HeapControl {
  hak_heap* heap;
  std::thread::id owner;
  // HeapBoxes and HeapResources alive; must be 0 when the heap dies.
  std::atomic<size_t> handles{0};
};

inline void CheckOwner(const HeapControl* c, const char* what) noexcept {
  if (c == nullptr) Die(what, "the Heap is empty (moved from)");
  if (std::this_thread::get_id() != c->owner) {
    Die(what, "called on a thread that does not own the Heap");
  }
}

// How a HeapBox gives its block back: hak_heap_free on the owner thread
// (which checks the block is the heap's), hak_free on any other.
class HeapFree {
 public:
  void operator()(void* p, Layout) const noexcept {
    if (std::this_thread::get_id() == control_->owner) {
      hak_heap_free(control_->heap, p);
    } else {
      hak_free(p);
    }
  }
  void Adopted() const noexcept {
    control_->handles.fetch_add(1, std::memory_order_relaxed);
  }
  void Released() const noexcept {
    control_->handles.fetch_sub(1, std::memory_order_release);
  }

 private:
  friend class hakmem::Heap;
  explicit HeapFree(HeapControl* control) noexcept : control_(control) {}
  HeapControl* control_;
};

// Allocates from one heap, for api_internal::MakeIn.
struct HeapAlloc {
  HeapControl* control;
  HeapFree free;
  Result<void*> operator()(Layout layout) const noexcept;
  HeapFree Free() const noexcept { return free; }
};

}  // namespace api_internal

// A Box whose block lives in a Heap (see the rules above).
template <typename T>
using HeapBox = Box<T, api_internal::HeapFree>;

class Heap {
 public:
  // A new, empty heap owned by the calling thread; kOutOfMemory if hakmem
  // cannot create one.
  [[nodiscard]] static Result<Heap> Create() noexcept {
    void* c = hak_malloc(sizeof(api_internal::HeapControl));
    if (c == nullptr) return Error::kOutOfMemory;
    hak_heap* raw = hak_heap_create();
    if (raw == nullptr) {
      hak_free_sized(c, sizeof(api_internal::HeapControl));
      return Error::kOutOfMemory;
    }
    auto* control = ::new (c) api_internal::HeapControl;
    control->heap = raw;
    control->owner = std::this_thread::get_id();
    return Heap(control);
  }

  Heap(const Heap&) = delete;
  Heap& operator=(const Heap&) = delete;
  Heap(Heap&& other) noexcept
      : control_(std::exchange(other.control_, nullptr)) {}
  // Destroys this heap (owner thread only) and takes over `other`'s.
  Heap& operator=(Heap&& other) noexcept {
    if (this != &other) {
      Destroy();
      control_ = std::exchange(other.control_, nullptr);
    }
    return *this;
  }

  // Releases every block still allocated in the heap. Owner thread only;
  // aborts if a HeapBox or HeapResource of this heap is still alive.
  ~Heap() { Destroy(); }

  // A block of `layout` from this heap (owner thread only).
  [[nodiscard]] Result<void*> Allocate(Layout layout) noexcept {
    api_internal::CheckOwner(control_, "hakmem::Heap::Allocate");
    return AllocateUnchecked(layout);
  }

  // Releases `p`, a block of this heap, now (owner thread only). A block of
  // another heap or of none is reported (HAK_ERROR_WRONG_HEAP) and left
  // alone. nullptr is ignored. Other threads: use hak_free(p).
  void Deallocate(void* p) noexcept {
    api_internal::CheckOwner(control_, "hakmem::Heap::Deallocate");
    hak_heap_free(control_->heap, p);
  }

  // A HeapBox<T> holding T(args...) in this heap, or the allocation error
  // (owner thread only). Exceptions from T's constructor propagate.
  template <typename T, typename... Args>
  [[nodiscard]] std::enable_if_t<!std::is_array_v<T>, Result<HeapBox<T>>>
  TryMakeBox(Args&&... args) {
    return api_internal::MakeIn<T>(Alloc("hakmem::Heap::TryMakeBox"),
                                   std::forward<Args>(args)...);
  }
  // A HeapBox<T[]> of `n` value-initialized elements in this heap.
  template <typename T>
  [[nodiscard]] std::enable_if_t<api_internal::kIsUnboundedArray<T>,
                                 Result<HeapBox<T>>>
  TryMakeBox(size_t n) {
    return api_internal::MakeArrayIn<std::remove_extent_t<T>>(
        Alloc("hakmem::Heap::TryMakeBox"), n);
  }

  // As TryMakeBox, but throws std::bad_alloc on failure, like MakeBox.
  template <typename T, typename... Args>
  [[nodiscard]] std::enable_if_t<!std::is_array_v<T>, HeapBox<T>> MakeBox(
      Args&&... args) {
    Result<HeapBox<T>> r = TryMakeBox<T>(std::forward<Args>(args)...);
    if (!r.ok()) api_internal::ThrowBadAlloc(r.error());
    return std::move(r).value();
  }
  template <typename T>
  [[nodiscard]] std::enable_if_t<api_internal::kIsUnboundedArray<T>, HeapBox<T>>
  MakeBox(size_t n) {
    Result<HeapBox<T>> r = TryMakeBox<T>(n);
    if (!r.ok()) api_internal::ThrowBadAlloc(r.error());
    return std::move(r).value();
  }

  // The C ABI handle, for hak_heap_* calls (the Heap keeps owning it).
  hak_heap* raw() const noexcept { return control_ ? control_->heap : nullptr; }
  explicit operator bool() const noexcept { return control_ != nullptr; }

  // True if the calling thread owns this heap.
  bool OwnedByThisThread() const noexcept {
    return control_ != nullptr && std::this_thread::get_id() == control_->owner;
  }

 private:
  friend class HeapResource;
  friend struct api_internal::HeapAlloc;

  explicit Heap(api_internal::HeapControl* control) noexcept
      : control_(control) {}

  Result<void*> AllocateUnchecked(Layout layout) noexcept {
    return AllocateIn(control_, layout);
  }
  static Result<void*> AllocateIn(api_internal::HeapControl* c,
                                  Layout layout) noexcept {
    void* p =
        layout.over_aligned()
            ? hak_heap_aligned_alloc(c->heap, layout.align(), layout.size())
            : hak_heap_malloc(c->heap, layout.size());
    if (p == nullptr) return Error::kOutOfMemory;
    return p;
  }

  api_internal::HeapAlloc Alloc(const char* what) noexcept {
    api_internal::CheckOwner(control_, what);
    return api_internal::HeapAlloc{control_, api_internal::HeapFree(control_)};
  }

  void Destroy() noexcept {
    api_internal::HeapControl* c = std::exchange(control_, nullptr);
    if (c == nullptr) return;
    api_internal::CheckOwner(c, "hakmem::Heap destroyed");
    if (c->handles.load(std::memory_order_acquire) != 0) {
      api_internal::Die("hakmem::Heap destroyed",
                        "a HeapBox or HeapResource of it is still alive");
    }
    hak_heap_destroy(c->heap);
    c->~HeapControl();
    hak_free_sized(c, sizeof(api_internal::HeapControl));
  }

  api_internal::HeapControl* control_;
};

inline Result<void*> api_internal::HeapAlloc::operator()(
    Layout layout) const noexcept {
  return Heap::AllocateIn(control, layout);
}

}  // namespace hakmem

#endif  // HAKMEM_CXX_HEAP_H_

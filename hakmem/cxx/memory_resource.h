// std::pmr::memory_resource adapters: hakmem for polymorphic-allocator
// containers (std::pmr::vector, std::pmr::string, ...).
//
//   std::pmr::vector<int> v(hakmem::GlobalResource());
//   hakmem::HeapResource r(heap);              // blocks from one Heap
//   std::pmr::unordered_map<int, std::pmr::string> m(&r);
//
// GlobalResource(): the process-wide hakmem allocator. One instance, never
// destroyed (usable during static destruction); thread-safe like
// hak_malloc; equal only to itself. Allocation failure throws
// std::bad_alloc, as memory_resource requires; so does an alignment that is
// not a power of two. Deallocation uses hakmem's sized free with the
// (bytes, alignment) the container passes, so a mismatch is reported.
//
// HeapResource: blocks from one hakmem::Heap. Like the Heap it may only be
// used on the heap's owner thread; it must be destroyed before the Heap
// (checked, see heap.h), and containers using it before the HeapResource
// (the usual pmr rule). do_deallocate frees into the heap (a block of
// another heap is reported as HAK_ERROR_WRONG_HEAP); blocks a container
// never frees are released with the heap.
#ifndef HAKMEM_CXX_MEMORY_RESOURCE_H_
#define HAKMEM_CXX_MEMORY_RESOURCE_H_

#include <cstddef>
#include <memory_resource>
#include <new>
#include <optional>

#include "hakmem/cxx/alloc.h"
#include "hakmem/cxx/heap.h"
#include "hakmem/cxx/layout.h"

namespace hakmem {

class GlobalMemoryResource final : public std::pmr::memory_resource {
 private:
  friend std::pmr::memory_resource* GlobalResource() noexcept;
  GlobalMemoryResource() = default;

  void* do_allocate(size_t bytes, size_t alignment) override {
    std::optional<Layout> layout = Layout::FromSizeAlign(bytes, alignment);
    if (!layout) api_internal::ThrowBadAlloc(Error::kOutOfMemory);
    Result<void*> block = Allocate(*layout);
    if (!block.ok()) api_internal::ThrowBadAlloc(Error::kOutOfMemory);
    return *block;
  }
  void do_deallocate(void* p, size_t bytes, size_t alignment) override {
    // do_allocate succeeded with these arguments, so they make a Layout.
    Deallocate(p, *Layout::FromSizeAlign(bytes, alignment));
  }
  bool do_is_equal(
      const std::pmr::memory_resource& other) const noexcept override {
    return this == &other;
  }
};

// The process-wide resource (see above).
inline std::pmr::memory_resource* GlobalResource() noexcept {
  // Constructed on first use, never destroyed.
  alignas(GlobalMemoryResource) static unsigned char
      storage[sizeof(GlobalMemoryResource)];
  static GlobalMemoryResource* const instance =
      ::new (static_cast<void*>(storage)) GlobalMemoryResource();
  return instance;
}

class HeapResource final : public std::pmr::memory_resource {
 public:
  // Serves from `heap`, which must outlive this resource (checked when the
  // heap is destroyed). Owner thread only.
  explicit HeapResource(Heap& heap) noexcept : control_(heap.control_) {
    api_internal::CheckOwner(control_, "hakmem::HeapResource");
    control_->handles.fetch_add(1, std::memory_order_relaxed);
  }
  HeapResource(const HeapResource&) = delete;
  HeapResource& operator=(const HeapResource&) = delete;
  ~HeapResource() override {
    control_->handles.fetch_sub(1, std::memory_order_release);
  }

 private:
  void* do_allocate(size_t bytes, size_t alignment) override {
    api_internal::CheckOwner(control_, "hakmem::HeapResource::allocate");
    std::optional<Layout> layout = Layout::FromSizeAlign(bytes, alignment);
    if (!layout) api_internal::ThrowBadAlloc(Error::kOutOfMemory);
    Result<void*> block = Heap::AllocateIn(control_, *layout);
    if (!block.ok()) api_internal::ThrowBadAlloc(Error::kOutOfMemory);
    return *block;
  }
  void do_deallocate(void* p, size_t, size_t) override {
    api_internal::CheckOwner(control_, "hakmem::HeapResource::deallocate");
    hak_heap_free(control_->heap, p);
  }
  bool do_is_equal(
      const std::pmr::memory_resource& other) const noexcept override {
    return this == &other;
  }

  api_internal::HeapControl* control_;
};

}  // namespace hakmem

#endif  // HAKMEM_CXX_MEMORY_RESOURCE_H_

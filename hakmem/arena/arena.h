// An arena: a first-class heap owned by one thread. Its blocks come from
// spans (and large mappings) that belong to the arena rather than to a
// thread, so destroying the arena gives all of them back at once, whatever
// is still allocated in them.
//
// Rules:
//   - only the owning thread allocates from the arena, frees through
//     Arena::Free, and destroys it;
//   - any thread may free an arena block with the ordinary Free (it goes to
//     the span's remote-free stack, which the arena drains when it needs
//     blocks);
//   - after Destroy every block of the arena is gone: freeing one is
//     reported (as an interior or invalid free: its span may be carved
//     again, or free).
// Arena::Free checks that the block belongs to this arena and reports
// MemoryError::kWrongHeap otherwise; the same block-state protocol as the
// thread caches (free key, double-free detection) applies.
#ifndef HAKMEM_ARENA_ARENA_H_
#define HAKMEM_ARENA_ARENA_H_

#include <cstddef>
#include <cstdint>

#include "hakmem/size_class/size_class.h"
#include "hakmem/superslab/span_list.h"
#include "hakmem/superslab/superslab.h"

namespace hakmem::internal {

class Arena {
 public:
  // nullptr with errno = ENOMEM.
  static Arena* Create();
  // Releases every span and large block of the arena, then the arena.
  void Destroy();

  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;

  // `alignment` 0 or a power of two (else nullptr with EINVAL); nullptr
  // with ENOMEM when out of memory.
  void* Alloc(size_t size, size_t alignment);
  void Free(void* p);

 private:
  Arena() = default;
  SpanMeta* NextSpan(unsigned cls);
  void* AllocFromSpans(unsigned cls);

  uint64_t token_ = 0;
  SpanMeta* current_[kNumClasses] = {};
  // The other spans of each class, in a queue that refills visit in
  // rotation: taken at the head, put back at the tail.
  SpanList<SlabList::kArena> others_[kNumClasses] = {};
};

}  // namespace hakmem::internal

#endif  // HAKMEM_ARENA_ARENA_H_

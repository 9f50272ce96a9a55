#include "hakmem/thread_cache/cache_check.h"

#include "hakmem/superslab/chunk_map.h"
#include "hakmem/thread_cache/thread_cache.h"

namespace hakmem::internal {
namespace {

const char* CheckSpan(const ThreadCache& cache, const SpanMeta* m, unsigned cls,
                      SlabList expected_list) {
  if (m->owner.load(std::memory_order_relaxed) != cache.token) {
    return "owned span has another owner";
  }
  if (m->size_class != cls) return "span on the list of another class";
  if (m->list != expected_list) return "span list tag disagrees with list";
  if (SpanMetaOf(reinterpret_cast<void*>(m->start)) != m) {
    return "span start does not map back to its metadata";
  }
  uint64_t carved = m->carved.load(std::memory_order_relaxed);
  if (carved > m->capacity) return "span carved past its capacity";
  if (m->used > carved) return "span uses more blocks than it carved";
  for (unsigned i = 1; i < m->span_slabs; ++i) {
    const SpanMeta& tail = m[i];
    if (tail.head != m ||
        tail.owner.load(std::memory_order_relaxed) !=
            m->owner.load(std::memory_order_relaxed) ||
        tail.carved.load(std::memory_order_relaxed) != carved ||
        tail.start != m->start ||
        tail.block_multiplier != m->block_multiplier ||
        tail.block_size != m->block_size || tail.size_class != m->size_class) {
      return "span tail does not mirror its head";
    }
  }
  uint32_t listed = 0;
  for (const FreeBlock* b = m->free_list; b != nullptr;) {
    if (!InSuperSlab(b) || SpanMetaOf(b) != m || !IsCarvedBlockStart(m, b)) {
      return "span free list leaves its span";
    }
    FreeBlock* next;
    if (!DecodeIntactLink(b, &next)) return "span free list block corrupted";
    if (++listed > carved) return "span free list has a cycle";
    b = next;
  }
  if (listed != m->free_count) return "span free_count is wrong";
  if (m->used + m->free_count > carved) return "span accounting overflows";
  return nullptr;
}

template <SlabList tag>
const char* CheckList(const ThreadCache& cache, const SpanList<tag>& list,
                      unsigned cls) {
  const SpanMeta* prev = nullptr;
  for (const SpanMeta* m = list.head; m != nullptr; m = m->next) {
    if (const char* e = CheckSpan(cache, m, cls, tag)) return e;
    if (m->prev != prev) return "span list back link broken";
    if (tag == SlabList::kAvailable && m->used == 0) {
      return "empty span kept on the available list";
    }
    prev = m;
  }
  if (list.tail != prev) return "span list tail is wrong";
  return nullptr;
}

}  // namespace

const char* CheckThreadCache() {
  ThreadCache& cache = tls_cache;
  for (unsigned cls = 0; cls < kNumClasses; ++cls) {
    CacheBin bin(cache, cls);
    uint32_t count = 0;
    for (const FreeBlock* b = bin.head; b != nullptr;) {
      if (!InSuperSlab(b)) return "cached block outside every SuperSlab";
      const SpanMeta* m = SpanMetaOf(b);
      if (m->owner.load(std::memory_order_relaxed) != cache.token) {
        return "cached block of a span this thread does not own";
      }
      if (m->size_class != cls) return "cached block of another class";
      if (!IsCarvedBlockStart(m, b)) return "cached pointer is not a block";
      FreeBlock* next;
      if (!DecodeIntactLink(b, &next)) return "cached block corrupted";
      if (++count > bin.count()) return "cache longer than its count";
      b = next;
    }
    if (cache.token != 0 && count != bin.count()) {
      return "cache shorter than its count";
    }
    if (cache.token != 0 && bin.count() > bin.capacity) {
      return "cache above its capacity";
    }
    const OwnedSpans& o = cache.spans[cls];
    if (o.current != nullptr) {
      if (const char* e = CheckSpan(cache, o.current, cls, SlabList::kNone)) {
        return e;
      }
    }
    if (o.spare != nullptr) {
      if (const char* e = CheckSpan(cache, o.spare, cls, SlabList::kNone)) {
        return e;
      }
      if (o.spare->used != 0) return "spare span is not empty";
    }
    if (const char* e = CheckList(cache, o.available, cls)) {
      return e;
    }
    if (const char* e = CheckList(cache, o.full, cls)) {
      return e;
    }
  }
  return nullptr;
}

}  // namespace hakmem::internal

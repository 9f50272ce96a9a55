// An intrusive doubly linked list of spans, through SpanMeta::prev/next.
//
// A span is on at most one list at a time (its owner's available or full
// list, an arena's queue, or the abandoned list of its class), so the links
// live in its metadata: lists cost no allocation, and a span that blocks
// come back to is taken off whichever list it is on in O(1).
//
// All zero is the empty list, and there is no constructor: lists sit in
// static TLS (ThreadCache) and constant-initialised globals. Each kind of
// list is its own type, SpanList<tag>, which records itself in a span's
// SpanMeta::list as it takes the span in and kNone as it lets it go, so
// that a span coming back to its owner finds the list it is on without a
// search, and no caller writes the tag.
#ifndef HAKMEM_SUPERSLAB_SPAN_LIST_H_
#define HAKMEM_SUPERSLAB_SPAN_LIST_H_

#include "absl/base/attributes.h"
#include "hakmem/platform/check.h"
#include "hakmem/superslab/superslab.h"

namespace hakmem::internal {

template <SlabList kTag>
struct SpanList {
  static_assert(kTag != SlabList::kNone, "kNone is on no list");

  SpanMeta* head;
  SpanMeta* tail;

  ABSL_ATTRIBUTE_ALWAYS_INLINE void PushFront(SpanMeta* m) {
    HAK_DCHECK(m->list == SlabList::kNone);
    m->list = kTag;
    m->prev = nullptr;
    m->next = head;
    if (head != nullptr) {
      head->prev = m;
    } else {
      tail = m;
    }
    head = m;
  }

  ABSL_ATTRIBUTE_ALWAYS_INLINE void PushBack(SpanMeta* m) {
    HAK_DCHECK(m->list == SlabList::kNone);
    m->list = kTag;
    m->next = nullptr;
    m->prev = tail;
    if (tail != nullptr) {
      tail->next = m;
    } else {
      head = m;
    }
    tail = m;
  }

  // `m` must be on this list. Its links are cleared, so that a span on no
  // list never points into one.
  ABSL_ATTRIBUTE_ALWAYS_INLINE void Remove(SpanMeta* m) {
    HAK_DCHECK(m->list == kTag);
    m->list = SlabList::kNone;
    if (m->prev != nullptr) {
      m->prev->next = m->next;
    } else {
      head = m->next;
    }
    if (m->next != nullptr) {
      m->next->prev = m->prev;
    } else {
      tail = m->prev;
    }
    m->prev = m->next = nullptr;
  }

  // Rotates the list so that `m` (on it) is the head: the spans before it
  // move, in order, behind the tail. Lets a bounded walk resume where it
  // stopped.
  void RotateTo(SpanMeta* m) {
    if (m == head) return;
    head->prev = tail;
    tail->next = head;
    head = m;
    tail = m->prev;
    tail->next = nullptr;
    m->prev = nullptr;
  }

  // nullptr when empty.
  ABSL_ATTRIBUTE_ALWAYS_INLINE SpanMeta* PopFront() {
    SpanMeta* m = head;
    if (m != nullptr) Remove(m);
    return m;
  }
};

}  // namespace hakmem::internal

#endif  // HAKMEM_SUPERSLAB_SPAN_LIST_H_

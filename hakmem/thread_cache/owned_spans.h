// The span-list policy of a thread cache (OwnedSpans, thread_cache.h): which
// span a refill takes blocks from, where a span goes when blocks come back
// to it, and how spans leave the cache. Owner only.
//
// Each list records itself in the span's `list` tag (span_list.h), so that
// a span that blocks come back to finds the list to move off without a
// search.
#ifndef HAKMEM_THREAD_CACHE_OWNED_SPANS_H_
#define HAKMEM_THREAD_CACHE_OWNED_SPANS_H_

#include <cstdint>

#include "hakmem/superslab/superslab.h"
#include "hakmem/thread_cache/thread_cache.h"

namespace hakmem::internal {

// The next span to refill class `cls` from, to become `current`: one known
// to have blocks, the spare, a full one that received remote frees, an
// abandoned one, or a fresh one. nullptr when the OS has no memory.
SpanMeta* NextSpan(ThreadCache& cache, unsigned cls);

// Freed blocks before fresh ones: when the current span could only carve
// and another span has blocks back, that one becomes current (the old one,
// with room left, waits at the back of `available`); returns the current
// span.
SpanMeta* PreferFreedBlocks(OwnedSpans& o);

// Where span `m` goes after blocks came back to it: released (or kept as
// the spare) when it emptied, to `available` when it was full.
void ReturnedToSpan(ThreadCache& cache, SpanMeta* m);

// Drains the remote frees of up to `limit` spans of each of the lists of
// `o`, releases the ones that are empty, and moves full ones that got
// blocks to `available`; the next call resumes where this one stopped.
void ReclaimRemoteFrees(OwnedSpans& o, uint32_t limit);

// Releases the spare span, if any.
void ReleaseSpare(OwnedSpans& o);

// Gives every span of `o` back (empty) or to adoption (still in use).
void DisownSpans(OwnedSpans& o);

}  // namespace hakmem::internal

#endif  // HAKMEM_THREAD_CACHE_OWNED_SPANS_H_

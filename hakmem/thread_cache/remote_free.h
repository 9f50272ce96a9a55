// Remote frees: a block freed by a thread that does not own its span
// (RemoteFree, thread_cache.h).
//
// The second and later frees in a row into one thread's span wait in the
// freeing thread (ThreadCache::pending_remote) and are pushed onto the
// span's remote-free stack as one chain, with one compare-and-swap instead
// of one per block: at kRemoteBatch blocks (thread_cache.h), at a free into
// another span, and on the thread's scavenges, hak_collect and exit. A
// producer-consumer loop whose consumer frees 64 B blocks in allocation
// order (xmalloc_test) ran 1.55x as fast, at 0.22x the peak RSS
// (RESULTS.md, issue 14). The held blocks count as used, and their span is
// pinned while they wait (PinSpan, span.h), so it is not released under
// them even when a racing double free empties it. Frees into an arena's
// span or an abandoned one, and those of a thread past its exit, are pushed
// at once: an arena can be destroyed with everything in it, an abandoned
// span is released as its last block comes back, and nothing would push a
// batch after the thread's exit.
#ifndef HAKMEM_THREAD_CACHE_REMOTE_FREE_H_
#define HAKMEM_THREAD_CACHE_REMOTE_FREE_H_

#include <cstdint>

#include "hakmem/thread_cache/thread_cache.h"

namespace hakmem::internal {

// Pushes the remote frees that `cache` (the calling thread's) holds back,
// if any, onto their span's remote-free stack.
void PushPendingRemoteFrees(ThreadCache& cache);

}  // namespace hakmem::internal

#endif  // HAKMEM_THREAD_CACHE_REMOTE_FREE_H_

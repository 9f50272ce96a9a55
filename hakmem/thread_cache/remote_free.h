// Remote frees: a block freed by a thread that does not own its span
// (RemoteFree, thread_cache.h).
//
// Into a thread's span, the frees wait in the freeing thread's pending
// batch (ThreadCache::pending_remote) while they go to the same span, and
// are pushed onto its remote-free stack as one chain, with one
// compare-and-swap instead of one per block: when kRemoteBatch
// (thread_cache.h) have
// gathered, when a free goes to another span, and on the thread's
// scavenges, hak_collect and exit. A producer-consumer loop whose consumer
// frees 64 B blocks in allocation order (xmalloc_test) ran 1.6x as fast, at
// 0.28x the peak RSS (RESULTS.md, issue 14). At most kRemoteBatch blocks
// wait per thread; their span stays counted as using them (`used`), so it
// is never released under them. Frees into an arena's span, into an
// abandoned one, and those of a thread whose cache is gone (past its exit)
// are pushed at once: an arena can be destroyed with everything in it, an
// abandoned span is released as its last block comes back, and nothing
// would push a thread's batch after its exit.
#ifndef HAKMEM_THREAD_CACHE_REMOTE_FREE_H_
#define HAKMEM_THREAD_CACHE_REMOTE_FREE_H_

#include <cstdint>

#include "hakmem/thread_cache/thread_cache.h"

namespace hakmem::internal {

// Pushes the calling thread's pending remote frees, if any, onto their
// span's remote-free stack.
void PushPendingRemoteFrees(ThreadCache& cache);

}  // namespace hakmem::internal

#endif  // HAKMEM_THREAD_CACHE_REMOTE_FREE_H_

#include "hakmem/thread_cache/scavenge.h"

#include "hakmem/size_class/size_class.h"
#include "hakmem/thread_cache/cache_sizing.h"
#include "hakmem/thread_cache/owned_spans.h"
#include "hakmem/thread_cache/remote_free.h"
#include "hakmem/thread_cache/spill.h"

namespace hakmem::internal {
namespace {

// Spans of each list of each class a scavenge examines (in rotation): keeps
// one scavenge's work, and its cache misses, bounded however many spans a
// thread owns.
constexpr uint32_t kSpansReclaimedPerScavenge = 32;

}  // namespace

void Scavenge(ThreadCache& cache) {
  PushPendingRemoteFrees(cache);
  for (unsigned cls = 0; cls < kNumClasses; ++cls) {
    if (cache.recent_refills[cls] == 0) {
      FlushBin(cache, cls);
      ResetEmptyCache(cache, cls);
    }
    cache.recent_refills[cls] = 0;
    ReclaimRemoteFrees(cache.spans[cls], kSpansReclaimedPerScavenge);
  }
}

void CollectThreadCache(bool force) {
  ThreadCache& cache = tls_cache;
  if (cache.token == 0) return;
  for (unsigned cls = 0; cls < kNumClasses; ++cls) {
    FlushBin(cache, cls);
    OwnedSpans& o = cache.spans[cls];
    ReleaseSpare(o);
    if (force && o.current != nullptr) {
      o.available.PushFront(o.current);
      o.current = nullptr;
    }
    ReclaimRemoteFrees(o, UINT32_MAX);
  }
}

}  // namespace hakmem::internal

#include "hakmem/thread_cache/thread_lifecycle.h"

#include "hakmem/config/config.h"
#include "hakmem/size_class/size_class.h"
#include "hakmem/superslab/free_block.h"
#include "hakmem/thread_cache/cache_sizing.h"
#include "hakmem/thread_cache/counters.h"
#include "hakmem/thread_cache/guard_sampling.h"
#include "hakmem/thread_cache/owned_spans.h"
#include "hakmem/thread_cache/process.h"
#include "hakmem/thread_cache/remote_free.h"
#include "hakmem/thread_cache/spill.h"

namespace hakmem::internal {

__thread ThreadCache tls_cache HAKMEM_TLS_MODEL;

void SetUpThreadCache(ThreadCache& cache) {
  cache.token = NewOwnerToken(OwnerKind::kThreadCache);
  cache.free_key_secret = g_free_key_secret;
  cache.link_multiplier = g_link_multiplier;
  if (uint32_t rate = GetConfig().guard_rate) SetUpGuardSampling(cache, rate);
  for (unsigned cls = 0; cls < kNumClasses; ++cls) ResetEmptyCache(cache, cls);
  RegisterThreadCache(&cache);
}

void TearDownThreadCache(void*) {
  ThreadCache& cache = tls_cache;
  ++cache.teardowns;
  PushPendingRemoteFrees(cache);
  for (unsigned cls = 0; cls < kNumClasses; ++cls) {
    FlushBin(cache, cls);
    CacheBin bin(cache, cls);
    bin.capacity = 0;
    bin.set_count(0);
    DisownSpans(cache.spans[cls]);
  }
  cache.token = 0;
  UnregisterThreadCache();
  FoldThreadCounters();
}

}  // namespace hakmem::internal

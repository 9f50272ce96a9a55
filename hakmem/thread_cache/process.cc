#include "hakmem/thread_cache/process.h"

#include <pthread.h>

#include <atomic>

#include "absl/base/attributes.h"
#include "hakmem/config/config.h"
#include "hakmem/guard/guarded_pool.h"
#include "hakmem/platform/fatal_report.h"
#include "hakmem/platform/process_secret.h"
#include "hakmem/platform/spin_lock.h"
#include "hakmem/superslab/free_block.h"
#include "hakmem/thread_cache/thread_lifecycle.h"

namespace hakmem::internal {
namespace {

struct Process {
  SpinLock lock;
  std::atomic<bool> ready{false};
  pthread_key_t exit_key = 0;
  std::atomic<uint64_t> next_token{1};
  std::atomic<uint64_t> threads_live{0};
  std::atomic<uint64_t> blocks_served{0};
};
ABSL_CONST_INIT Process g_process;

// Once, before the first token: the secrets every free block's key word
// derives from, the guarded pool if sampling is on, the exit hook.
void SetUpProcess() {
  SpinLockHolder hold(g_process.lock);
  if (g_process.ready.load(std::memory_order_relaxed)) return;
  ProcessSecrets secrets = ComputeProcessSecrets();
  g_free_key_secret = FreeKeySecretFrom(secrets.free_key);
  g_link_multiplier = LinkMultiplierFrom(secrets.link_multiplier);
  if (GetConfig().guard_rate != 0) ReserveGuardedPool();
  if (pthread_key_create(&g_process.exit_key, TearDownThreadCache) != 0) {
    FatalError("pthread_key_create failed: cannot track thread exit");
  }
  g_process.ready.store(true, std::memory_order_release);
}

}  // namespace

void RegisterThreadCache(ThreadCache* cache) {
  g_process.threads_live.fetch_add(1, std::memory_order_relaxed);
  // A non-null value makes pthread call TearDownThreadCache at thread exit.
  pthread_setspecific(g_process.exit_key, cache);
}

void UnregisterThreadCache() {
  g_process.threads_live.fetch_sub(1, std::memory_order_relaxed);
}

void CountBlocksServed(uint32_t blocks) {
  g_process.blocks_served.fetch_add(blocks, std::memory_order_relaxed);
}

uint64_t NewOwnerToken(OwnerKind kind) {
  if (!g_process.ready.load(std::memory_order_acquire)) SetUpProcess();
  return 2 * g_process.next_token.fetch_add(1, std::memory_order_relaxed) +
         static_cast<uint64_t>(kind);
}

void ThreadCacheForkPrepare() { g_process.lock.Lock(); }
void ThreadCacheForkParent() { g_process.lock.Unlock(); }
void ThreadCacheForkChild() {
  g_process.lock.Unlock();
  g_process.threads_live.store(tls_cache.token != 0 ? 1 : 0,
                               std::memory_order_relaxed);
}

ThreadCacheStats GetThreadCacheStats() {
  return ThreadCacheStats{
      g_process.blocks_served.load(std::memory_order_relaxed),
      g_process.threads_live.load(std::memory_order_relaxed),
  };
}

}  // namespace hakmem::internal

#include "hakmem/thread_cache/counters.h"

#include <pthread.h>

#include <atomic>

#include "absl/base/attributes.h"
#include "hakmem/platform/spin_lock.h"
#include "hakmem/platform/tls.h"

namespace hakmem::internal {
namespace {

constexpr int kCounters = static_cast<int>(Counter::kCount);

const char* const kNames[kCounters] = {
    "alloc_cache_hit",     "alloc_refill",
    "refill_free_list",    "refill_remote_drain",
    "refill_carve",        "refill_blocks",
    "span_from_available", "span_from_full",
    "span_adopted",        "span_new",
    "span_new_superslab",  "free_tls_sll",
    "free_ss_local",       "free_ss_remote",
    "free_into_abandoned", "spill",
    "span_released",       "refill_failed",
    "free_rejected",       "cache_dropped",
};

#if HAKMEM_COUNTERS
// Each thread counts into its own block (relaxed load + store: no atomic
// read-modify-write, yet race-free for the reader that sums them). Blocks
// are linked into a registry on first use and folded into the totals when
// their thread exits.
struct ThreadCounters {
  std::atomic<uint64_t> value[kCounters];
  ThreadCounters* next;
  bool registered;
  bool folded;  // the thread is exiting: count into Registry::late
};

struct Registry {
  SpinLock lock;
  ThreadCounters* live = nullptr;
  uint64_t exited[kCounters] = {};
  // Events of threads whose block was folded at exit and that still run
  // (later destructors, glibc freeing its per-thread buffers): a block
  // registered again then would dangle once the thread's TLS is gone.
  std::atomic<uint64_t> late[kCounters] = {};
  // Folds a thread's block at its exit even if its cache was never set up
  // (a thread that only frees into other threads' spans counts too).
  pthread_key_t exit_key = 0;
  bool exit_key_ready = false;
};
ABSL_CONST_INIT Registry g_registry;
// Initial-exec like the thread cache: the default model in a shared library
// calls __tls_get_addr, which may allocate (dlopen, dlsym) and recurse
// (platform/tls.h).
__thread ThreadCounters tls_counters HAKMEM_TLS_MODEL;
#endif

}  // namespace

const char* CounterName(Counter c) { return kNames[static_cast<int>(c)]; }

bool CountersCompiledIn() { return HAKMEM_COUNTERS != 0; }

#if HAKMEM_COUNTERS
void FoldAtThreadExit(void*) { FoldThreadCounters(); }

void CountEvent(Counter c, uint64_t n) {
  ThreadCounters& t = tls_counters;
  if (!t.registered) {
    if (t.folded) {
      g_registry.late[static_cast<int>(c)].fetch_add(n,
                                                     std::memory_order_relaxed);
      return;
    }
    t.registered = true;  // first: pthread_setspecific may allocate
    {
      SpinLockHolder hold(g_registry.lock);
      t.next = g_registry.live;
      g_registry.live = &t;
      if (!g_registry.exit_key_ready) {
        g_registry.exit_key_ready =
            pthread_key_create(&g_registry.exit_key, FoldAtThreadExit) == 0;
      }
    }
    if (g_registry.exit_key_ready) {
      pthread_setspecific(g_registry.exit_key, &t);
    }
  }
  std::atomic<uint64_t>& v = t.value[static_cast<int>(c)];
  v.store(v.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

void FoldThreadCounters() {
  ThreadCounters& t = tls_counters;
  if (!t.registered) return;
  SpinLockHolder hold(g_registry.lock);
  for (ThreadCounters** p = &g_registry.live; *p != nullptr; p = &(*p)->next) {
    if (*p == &t) {
      *p = t.next;
      break;
    }
  }
  for (int i = 0; i < kCounters; ++i) {
    g_registry.exited[i] += t.value[i].load(std::memory_order_relaxed);
    t.value[i].store(0, std::memory_order_relaxed);
  }
  t.registered = false;
  t.folded = true;
}
#endif

void SumCounters(uint64_t (&out)[kCounters]) {
  for (uint64_t& v : out) v = 0;
#if HAKMEM_COUNTERS
  SpinLockHolder hold(g_registry.lock);
  for (int i = 0; i < kCounters; ++i) {
    out[i] = g_registry.exited[i] +
             g_registry.late[i].load(std::memory_order_relaxed);
  }
  for (ThreadCounters* t = g_registry.live; t != nullptr; t = t->next) {
    for (int i = 0; i < kCounters; ++i) {
      out[i] += t->value[i].load(std::memory_order_relaxed);
    }
  }
#endif
}

}  // namespace hakmem::internal

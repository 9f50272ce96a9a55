#include "hakmem/heap/counters.h"

#include <atomic>

#include "absl/base/attributes.h"
#include "hakmem/platform/spin_lock.h"

namespace hakmem::internal {
namespace {

constexpr int kCounters = static_cast<int>(Counter::kCount);

const char* const kNames[kCounters] = {
    "alloc_cache_hit",     "alloc_refill",       "refill_free_list",
    "refill_remote_drain", "refill_carve",       "refill_blocks",
    "span_from_available", "span_from_full",     "span_adopted",
    "span_adopted_by_free",
    "span_new",            "free_tls_sll",       "free_ss_local",
    "free_ss_remote",      "spill",              "span_released",
    "refill_failed",       "free_rejected",      "cache_dropped",
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
};

struct Registry {
  SpinLock lock;
  ThreadCounters* live = nullptr;
  uint64_t exited[kCounters] = {};
};
ABSL_CONST_INIT Registry g_registry;
__thread ThreadCounters tls_counters;
#endif

}  // namespace

const char* CounterName(Counter c) { return kNames[static_cast<int>(c)]; }

bool CountersCompiledIn() { return HAKMEM_COUNTERS != 0; }

#if HAKMEM_COUNTERS
void CountEvent(Counter c, uint64_t n) {
  ThreadCounters& t = tls_counters;
  if (!t.registered) {
    SpinLockHolder hold(g_registry.lock);
    t.next = g_registry.live;
    g_registry.live = &t;
    t.registered = true;
  }
  std::atomic<uint64_t>& v = t.value[static_cast<int>(c)];
  v.store(v.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

void FoldThreadCounters() {
  ThreadCounters& t = tls_counters;
  if (!t.registered) return;
  SpinLockHolder hold(g_registry.lock);
  for (ThreadCounters** p = &g_registry.live; *p != nullptr;
       p = &(*p)->next) {
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
}
#endif

void SumCounters(uint64_t (&out)[kCounters]) {
  for (uint64_t& v : out) v = 0;
#if HAKMEM_COUNTERS
  SpinLockHolder hold(g_registry.lock);
  for (int i = 0; i < kCounters; ++i) out[i] = g_registry.exited[i];
  for (ThreadCounters* t = g_registry.live; t != nullptr; t = t->next) {
    for (int i = 0; i < kCounters; ++i) {
      out[i] += t->value[i].load(std::memory_order_relaxed);
    }
  }
#endif
}

}  // namespace hakmem::internal

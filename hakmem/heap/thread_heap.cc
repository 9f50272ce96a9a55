#include "hakmem/heap/thread_heap.h"

#include <pthread.h>

#include <cerrno>
#include <initializer_list>

#include "hakmem/platform/check.h"
#include "hakmem/platform/fatal_report.h"
#include "hakmem/platform/process_secret.h"
#include "hakmem/platform/spin_lock.h"
#include "hakmem/superslab/remote_free_stack.h"
#include "hakmem/superslab/span_allocator.h"

namespace hakmem {

__thread ThreadHeap tls_heap ABSL_ATTRIBUTE_INITIAL_EXEC;

namespace {

// Full spans examined per refill before taking a new span. Remote frees
// land in full spans without telling the owner; visiting a few per refill,
// in rotation, finds them while keeping every refill O(1). In a steady state
// this bounds the free space stranded in full spans to about 1/kFullScan of
// the class's memory before refills start finding it.
constexpr int kFullSpansScanned = 8;

struct Process {
  SpinLock lock;
  std::atomic<bool> ready{false};
  pthread_key_t exit_key = 0;
  std::atomic<uint64_t> next_token{1};
  std::atomic<uint64_t> threads_live{0};
  std::atomic<uint64_t> blocks_served{0};
};
ABSL_CONST_INIT Process g_process;

void TearDownThreadHeap(void*);

void SetUpProcess() {
  SpinLockHolder hold(g_process.lock);
  if (g_process.ready.load(std::memory_order_relaxed)) return;
  g_free_key_secret = ComputeProcessSecret();
  if (pthread_key_create(&g_process.exit_key, TearDownThreadHeap) != 0) {
    FatalError("pthread_key_create failed: cannot track thread exit");
  }
  g_process.ready.store(true, std::memory_order_release);
}

void SetUpThreadHeap(ThreadHeap& heap) {
  if (!g_process.ready.load(std::memory_order_acquire)) SetUpProcess();
  heap.token = g_process.next_token.fetch_add(1, std::memory_order_relaxed);
  ++heap.setups;
  for (unsigned cls = 0; cls < kNumClasses; ++cls) {
    heap.bins[cls].capacity = ClassInfo(cls).cache_capacity;
  }
  g_process.threads_live.fetch_add(1, std::memory_order_relaxed);
  // A non-null value makes pthread call TearDownThreadHeap at thread exit.
  pthread_setspecific(g_process.exit_key, &heap);
}

// --- Span lists (owner only) ---

void PushAvailable(OwnedSpans& o, SlabMeta* m) {
  m->list = SlabList::kAvailable;
  m->prev = nullptr;
  m->next = o.available;
  if (o.available != nullptr) o.available->prev = m;
  o.available = m;
}

void PushFullTail(OwnedSpans& o, SlabMeta* m) {
  m->list = SlabList::kFull;
  m->next = nullptr;
  m->prev = o.full_tail;
  if (o.full_tail != nullptr) {
    o.full_tail->next = m;
  } else {
    o.full_head = m;
  }
  o.full_tail = m;
}

void Unlink(OwnedSpans& o, SlabMeta* m) {
  if (m->list == SlabList::kAvailable) {
    if (m->prev != nullptr) {
      m->prev->next = m->next;
    } else {
      o.available = m->next;
    }
    if (m->next != nullptr) m->next->prev = m->prev;
  } else if (m->list == SlabList::kFull) {
    if (m->prev != nullptr) {
      m->prev->next = m->next;
    } else {
      o.full_head = m->next;
    }
    if (m->next != nullptr) {
      m->next->prev = m->prev;
    } else {
      o.full_tail = m->prev;
    }
  }
  m->list = SlabList::kNone;
  m->prev = m->next = nullptr;
}

// Moves the span's remote-free stack onto its free list.
void DrainRemoteFrees(SlabMeta* m) {
  FreeBlock* b = RemoteFreeTakeAll(m);
  while (b != nullptr) {
    FreeBlock* next = b->next;
    b->next = m->free_list;
    m->free_list = b;
    ++m->free_count;
    --m->used;
    b = next;
  }
}

// Moves up to `want` blocks from span `m` into the (empty) cache bin: from
// its free list, else from its remote frees, else by carving fresh space.
uint32_t TakeBlocks(SlabMeta* m, uint32_t want, CacheBin& bin) {
  HAK_DCHECK(bin.head == nullptr && bin.count == 0);
  if (m->free_list == nullptr) DrainRemoteFrees(m);
  uint32_t n = 0;
  if (m->free_list != nullptr) {
    if (m->free_count <= want) {
      bin.head = m->free_list;
      n = m->free_count;
      m->free_list = nullptr;
      m->free_count = 0;
    } else {
      FreeBlock* last = m->free_list;
      for (n = 1; n < want; ++n) last = last->next;
      bin.head = m->free_list;
      m->free_list = last->next;
      m->free_count -= n;
      last->next = nullptr;
    }
  } else {
    uint32_t carved = m->carved.load(std::memory_order_relaxed);
    n = m->capacity - carved < want ? m->capacity - carved : want;
    if (n == 0) return 0;
    // Link the fresh blocks in address order; each gets its free key, as
    // every cached block must.
    char* first = reinterpret_cast<char*>(m->start) +
                  size_t{carved} * m->block_size;
    FreeBlock* b = reinterpret_cast<FreeBlock*>(first);
    bin.head = b;
    for (uint32_t i = 1; i < n; ++i) {
      FreeBlock* next = reinterpret_cast<FreeBlock*>(
          reinterpret_cast<char*>(b) + m->block_size);
      b->next = next;
      b->key = FreeKey(b);
      b = next;
    }
    b->next = nullptr;
    b->key = FreeKey(b);
    m->carved.store(carved + n, std::memory_order_relaxed);
  }
  m->used += n;
  bin.count = n;
  return n;
}

// The next span to refill class `cls` from: one known to have blocks, a
// full one that received remote frees, an abandoned one, or a fresh one.
SlabMeta* NextSpan(ThreadHeap& heap, unsigned cls) {
  OwnedSpans& o = heap.spans[cls];
  if (SlabMeta* m = o.available) {
    Unlink(o, m);
    return m;
  }
  for (int i = 0; i < kFullSpansScanned && o.full_head != nullptr; ++i) {
    SlabMeta* m = o.full_head;
    Unlink(o, m);
    if (m->remote_head.load(std::memory_order_relaxed) != nullptr) return m;
    PushFullTail(o, m);
  }
  if (SlabMeta* m = AdoptSpan(cls, heap.token)) return m;
  return AcquireSpan(cls, heap.token);
}

// Returns block `b` (cached by this thread) to its span.
void ReturnToSpan(ThreadHeap& heap, FreeBlock* b) {
  SlabMeta* m = SpanMetaOf(b);
  b->next = m->free_list;
  m->free_list = b;
  ++m->free_count;
  --m->used;
  OwnedSpans& o = heap.spans[m->size_class];
  if (m == o.current) return;
  if (m->used == 0) {
    Unlink(o, m);
    ReleaseSpan(m);
  } else if (m->list == SlabList::kFull) {
    Unlink(o, m);
    PushAvailable(o, m);
  }
}

// Gives every span of `o` back (empty) or to adoption (still in use).
void DisownSpans(OwnedSpans& o) {
  if (o.current != nullptr) {
    SlabMeta* m = o.current;
    o.current = nullptr;
    PushAvailable(o, m);
  }
  for (SlabMeta** list : {&o.available, &o.full_head}) {
    while (SlabMeta* m = *list) {
      Unlink(o, m);
      DrainRemoteFrees(m);
      if (m->used == 0) {
        ReleaseSpan(m);
      } else {
        AbandonSpan(m);
      }
    }
  }
}

// pthread key destructor: runs at thread exit, after the thread's own code.
// Other destructors may still allocate after it; that sets the heap up
// again with a new token, and pthread calls this again (up to
// PTHREAD_DESTRUCTOR_ITERATIONS rounds).
void TearDownThreadHeap(void*) {
  ThreadHeap& heap = tls_heap;
  for (unsigned cls = 0; cls < kNumClasses; ++cls) {
    CacheBin& bin = heap.bins[cls];
    while (FreeBlock* b = bin.head) {
      bin.head = b->next;
      ReturnToSpan(heap, b);
    }
    bin.count = 0;
    bin.capacity = 0;
    DisownSpans(heap.spans[cls]);
  }
  heap.token = 0;
  g_process.threads_live.fetch_sub(1, std::memory_order_relaxed);
}

}  // namespace

void* RefillAndAlloc(unsigned cls) {
  ThreadHeap& heap = tls_heap;
  if (ABSL_PREDICT_FALSE(heap.token == 0)) SetUpThreadHeap(heap);
  OwnedSpans& o = heap.spans[cls];
  CacheBin& bin = heap.bins[cls];
  uint32_t want = ClassInfo(cls).refill_batch;
  for (;;) {
    if (SlabMeta* m = o.current) {
      if (uint32_t n = TakeBlocks(m, want, bin)) {
        g_process.blocks_served.fetch_add(n, std::memory_order_relaxed);
        FreeBlock* block = bin.head;
        bin.head = block->next;
        --bin.count;
        block->key = 0;
        return block;
      }
      o.current = nullptr;
      PushFullTail(o, m);
    }
    o.current = NextSpan(heap, cls);
    if (o.current == nullptr) {
      errno = ENOMEM;
      return nullptr;
    }
  }
}

void SpillCache(unsigned cls) {
  ThreadHeap& heap = tls_heap;
  CacheBin& bin = heap.bins[cls];
  uint32_t keep = bin.capacity / 2;
  while (bin.count > keep) {
    FreeBlock* b = bin.head;
    bin.head = b->next;
    --bin.count;
    ReturnToSpan(heap, b);
  }
}

void RemoteFree(SlabMeta* span, void* p) {
  FreeBlock* block = static_cast<FreeBlock*>(p);
  uint64_t key = FreeKey(block);
  // Atomic, so that of two threads freeing the same block at once exactly
  // one succeeds and the other is reported before pushing it again.
  if (__atomic_exchange_n(&block->key, key, __ATOMIC_RELAXED) == key) {
    ReportSlabFreeError(MemoryError::kDoubleFree, span, p);
  }
  RemoteFreePush(span, block);
}

void ReportSlabFreeError(MemoryError error, const SlabMeta* span,
                         const void* p) {
  // A free slab (nothing carved) has no class; report the pointer alone.
  bool carved = span->carved.load(std::memory_order_relaxed) != 0;
  const char* tier = !carved                              ? "superslab"
                     : span->size_class < kNumTinyClasses ? "tiny"
                                                          : "pool";
  ReportMemoryError(error, p, tier, carved ? span->size_class : -1);
}

void HeapForkPrepare() { g_process.lock.Lock(); }
void HeapForkParent() { g_process.lock.Unlock(); }
void HeapForkChild() {
  g_process.lock.Unlock();
  g_process.threads_live.store(tls_heap.token != 0 ? 1 : 0,
                               std::memory_order_relaxed);
}

HeapStats GetHeapStats() {
  return HeapStats{
      g_process.blocks_served.load(std::memory_order_relaxed),
      g_process.threads_live.load(std::memory_order_relaxed),
  };
}

}  // namespace hakmem

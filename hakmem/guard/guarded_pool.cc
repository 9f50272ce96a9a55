#include "hakmem/guard/guarded_pool.h"

#include <sched.h>
#include <sys/mman.h>

#include <atomic>
#include <cstring>
#include <new>

#include "absl/base/attributes.h"
#include "hakmem/config/config.h"
#include "hakmem/error/memory_error.h"
#include "hakmem/guard/guard_internal.h"
#include "hakmem/platform/check.h"

namespace hakmem::internal {

ABSL_CONST_INIT GuardPoolRange g_guard_pool_range;
ABSL_CONST_INIT std::atomic<SlotMeta*> g_guard_slot_meta{nullptr};
ABSL_CONST_INIT SpinLock g_guard_lock;

namespace {

constexpr size_t kMetaBytes =
    (sizeof(SlotMeta) * kGuardSlots + kPageSize - 1) & ~(kPageSize - 1);

// Under g_guard_lock.
struct GuardPool {
  bool failed = false;  // mapping failed once: never retried
  bool align_start = false;
  uintptr_t base = 0;
  SlotMeta* meta = nullptr;
  size_t next_never_used = 0;
  // The quarantine: freed slots, oldest first (a ring of slot numbers).
  uint16_t fifo[kGuardSlots] = {};
  size_t fifo_head = 0;
  size_t fifo_len = 0;
  uint64_t live = 0;
  uint64_t served = 0;
  // Whether a slot may be free (never used, or in the quarantine), read
  // without the lock so that an exhausted pool does not capture a stack
  // per request only to fail; rechecked under the lock.
  std::atomic<bool> maybe_available{true};
};
ABSL_CONST_INIT GuardPool g_pool;

// Maps the pool and its metadata and installs the fault handler, once.
// Called with the lock held.
bool EnsurePoolLocked() {
  if (g_pool.base != 0) return true;
  if (g_pool.failed) return false;
  g_pool.failed = true;
  // Through OsMapAligned, so that OsMemoryStats counts the pool; it maps
  // read-write, and nothing has touched the pages when they become
  // PROT_NONE, so the reservation costs address space only.
  void* region = OsMapAligned(kGuardPoolBytes, kPageSize);
  if (region == nullptr) return false;
  if (mprotect(region, kGuardPoolBytes, PROT_NONE) != 0) {
    OsUnmap(region, kGuardPoolBytes);
    return false;
  }
  void* meta_mem = OsMapAligned(kMetaBytes, kPageSize);
  if (meta_mem == nullptr) {
    OsUnmap(region, kGuardPoolBytes);
    return false;
  }
  SlotMeta* meta = static_cast<SlotMeta*>(meta_mem);
  for (size_t s = 0; s < kGuardSlots; ++s) new (&meta[s]) SlotMeta();
  g_pool.align_start = GetConfig().guard_align_start;
  g_pool.meta = meta;
  g_pool.base = reinterpret_cast<uintptr_t>(region);
  g_pool.failed = false;
  InstallGuardFaultHandler();
  g_guard_slot_meta.store(meta, std::memory_order_release);
  g_guard_pool_range.begin.store(g_pool.base, std::memory_order_relaxed);
  // Release: a fault handler that sees the end also sees the metadata.
  g_guard_pool_range.end.store(g_pool.base + kGuardPoolBytes,
                               std::memory_order_release);
  return true;
}

// Drops retired slots (guard_fault.cc's fallback) from the quarantine's
// head and the never-used cursor; then picks the slot to hand out, or
// returns false.
bool PickSlotLocked(size_t* slot, bool* from_fifo) {
  SlotMeta* meta = g_pool.meta;
  while (g_pool.next_never_used < kGuardSlots &&
         meta[g_pool.next_never_used].retired.load(std::memory_order_relaxed)) {
    ++g_pool.next_never_used;
  }
  if (g_pool.next_never_used < kGuardSlots) {
    *slot = g_pool.next_never_used;
    *from_fifo = false;
    return true;
  }
  while (g_pool.fifo_len > 0 &&
         meta[g_pool.fifo[g_pool.fifo_head]].retired.load(
             std::memory_order_relaxed)) {
    g_pool.fifo_head = (g_pool.fifo_head + 1) % kGuardSlots;
    --g_pool.fifo_len;
  }
  if (g_pool.fifo_len > 0) {
    *slot = g_pool.fifo[g_pool.fifo_head];
    *from_fifo = true;
    return true;
  }
  return false;
}

void UpdateAvailableLocked() {
  g_pool.maybe_available.store(
      g_pool.next_never_used < kGuardSlots || g_pool.fifo_len > 0,
      std::memory_order_relaxed);
}

// The slot whose data page holds a, or -1 for a guard page (a in range).
long SlotOf(uintptr_t a) {
  size_t page = (a - g_pool.base) / kPageSize;
  return page % 2 == 1 ? static_cast<long>(page / 2) : -1;
}

}  // namespace

void ReserveGuardedPool() {
  GuardLockHolder hold;
  if (!EnsurePoolLocked()) {
    g_pool.maybe_available.store(false, std::memory_order_relaxed);
  }
}

void* GuardedAlloc(size_t size, size_t alignment, int size_class) {
  HAK_DCHECK(size >= 1 && size <= kGuardMaxSize);
  HAK_DCHECK(alignment >= 16 && alignment <= kPageSize &&
             (alignment & (alignment - 1)) == 0);
  if (!g_pool.maybe_available.load(std::memory_order_relaxed)) return nullptr;
  // Captured before the lock is taken: unwinding is the slow part.
  uintptr_t frames[kMaxStackFrames];
  int count = CaptureStack(frames, kMaxStackFrames, 1);
  uint32_t thread = GuardThreadId();

  GuardLockHolder hold;
  if (!EnsurePoolLocked()) {
    g_pool.maybe_available.store(false, std::memory_order_relaxed);
    return nullptr;
  }
  size_t slot;
  bool from_fifo;
  if (!PickSlotLocked(&slot, &from_fifo)) {
    UpdateAvailableLocked();
    return nullptr;
  }
  SlotMeta& m = g_pool.meta[slot];
  uintptr_t page = GuardDataPage(g_pool.base, slot);
  size_t length = (size + alignment - 1) & ~(alignment - 1);
  // At the page's end an overflow of one byte reaches the guard after it;
  // at its start (HAKMEM_GUARD_ALIGN=start) an underflow does.
  uintptr_t start = g_pool.align_start ? page : page + kPageSize - length;

  SlotState previous = m.state.load(std::memory_order_relaxed);
  StoreField(m.block, start);
  StoreField(m.size, size);
  StoreField(m.length, length);
  StoreField(m.size_class, size_class);
  StoreField(m.alloc_thread, thread);
  StoreField(m.alloc_frames_count, count);
  StoreFrames(m.alloc_frames, frames, count);
  StoreField(m.free_thread, uint32_t{0});
  StoreField(m.free_frames_count, 0);
  // seq_cst, then the load of `stepping`: a fault handler that opened this
  // page for one instruction (a reported use after free, or an overflow
  // into a never-used slot) either sees the slot live and gives up its
  // step, or is seen here and waited for, so that its re-protection does
  // not follow our mprotect (guard_internal.h). The wait is one
  // instruction of another thread and two signal deliveries.
  m.state.store(SlotState::kLive, std::memory_order_seq_cst);
  while (m.stepping.load(std::memory_order_seq_cst) != 0) sched_yield();
  if (mprotect(reinterpret_cast<void*>(page), kPageSize,
               PROT_READ | PROT_WRITE) != 0) {
    // Out of VMAs (vm.max_map_count), say: the slot stays what it was
    // (a freed slot's report would then show this allocation's stack).
    m.state.store(previous, std::memory_order_release);
    return nullptr;
  }
  // A never-used page is fresh (zeros). A freed one kept its contents
  // behind PROT_NONE: cleared here, so that nothing of an old block leaks.
  // (Cheaper than decommitting it on free: madvise, then a page fault and
  // the kernel's clearing on reuse, about 10 us a sample on the 2-CPU VM.)
  if (from_fifo) std::memset(reinterpret_cast<void*>(page), 0, kPageSize);
  if (from_fifo) {
    g_pool.fifo_head = (g_pool.fifo_head + 1) % kGuardSlots;
    --g_pool.fifo_len;
  } else {
    ++g_pool.next_never_used;
  }
  UpdateAvailableLocked();
  ++g_pool.live;
  ++g_pool.served;
  return reinterpret_cast<void*>(start);
}

void GuardedFree(void* p) {
  uintptr_t frames[kMaxStackFrames];
  int count = CaptureStack(frames, kMaxStackFrames, 1);
  uint32_t thread = GuardThreadId();
  uintptr_t a = reinterpret_cast<uintptr_t>(p);

  MemoryError error;
  int size_class = -1;
  // A copy of the slot's record for the report, made under the lock and
  // reported after it is released: an error handler may allocate.
  SlotMeta snapshot;
  SlotState state = SlotState::kNeverUsed;
  {
    GuardLockHolder hold;
    if (g_pool.base == 0 || !InGuardedPool(p)) {
      error = MemoryError::kInvalidFree;
    } else if (long s = SlotOf(a); s < 0) {
      error = MemoryError::kInvalidFree;  // a guard page
    } else {
      SlotMeta& m = g_pool.meta[s];
      state = m.state.load(std::memory_order_relaxed);
      if (state == SlotState::kLive && m.block == a) {
        StoreField(m.free_thread, thread);
        StoreField(m.free_frames_count, count);
        StoreFrames(m.free_frames, frames, count);
        m.state.store(SlotState::kFreed, std::memory_order_release);
        void* page = reinterpret_cast<void*>(GuardDataPage(g_pool.base, s));
        // Any later access faults. (Should the kernel refuse, out of VMAs,
        // the page stays accessible and only this use-after-free check is
        // lost.)
        mprotect(page, kPageSize, PROT_NONE);
        if (!m.retired.load(std::memory_order_relaxed)) {
          g_pool.fifo[(g_pool.fifo_head + g_pool.fifo_len) % kGuardSlots] =
              static_cast<uint16_t>(s);
          ++g_pool.fifo_len;
          UpdateAvailableLocked();
        }
        --g_pool.live;
        return;
      }
      if (state == SlotState::kNeverUsed) {
        error = MemoryError::kInvalidFree;
      } else {
        if (state == SlotState::kFreed && m.block == a) {
          error = MemoryError::kDoubleFree;
        } else if (a >= m.block && a < m.block + m.length) {
          error = MemoryError::kInteriorFree;
        } else {
          error = MemoryError::kInvalidFree;
        }
        size_class = m.size_class;
        snapshot.size = m.size;
        snapshot.alloc_thread = m.alloc_thread;
        snapshot.alloc_frames_count = m.alloc_frames_count;
        std::memcpy(snapshot.alloc_frames, m.alloc_frames,
                    sizeof(uintptr_t) * m.alloc_frames_count);
        snapshot.free_thread = m.free_thread;
        snapshot.free_frames_count = m.free_frames_count;
        std::memcpy(snapshot.free_frames, m.free_frames,
                    sizeof(uintptr_t) * m.free_frames_count);
      }
    }
  }

  // Reported, then left alone (the policy's contract).
  char detail[32];
  char alloc_title[48];
  char free_title[48];
  RecordedStack stacks[2];
  int num_stacks = 0;
  const char* detail_text = nullptr;
  if (state != SlotState::kNeverUsed) {
    GuardFormat(detail, sizeof(detail)).Str("size=").Dec(snapshot.size);
    detail_text = detail;
    GuardFormat(alloc_title, sizeof(alloc_title))
        .Str("allocated by thread ")
        .Dec(snapshot.alloc_thread);
    stacks[num_stacks++] = {alloc_title, snapshot.alloc_frames,
                            snapshot.alloc_frames_count};
    if (state == SlotState::kFreed) {
      GuardFormat(free_title, sizeof(free_title))
          .Str("freed by thread ")
          .Dec(snapshot.free_thread);
      stacks[num_stacks++] = {free_title, snapshot.free_frames,
                              snapshot.free_frames_count};
    }
  }
  ReportMemoryErrorDetailed(error, p, "guarded", size_class, detail_text,
                            stacks, num_stacks);
}

namespace {

// The metadata of the slot whose data page holds `p`, or nullptr (no pool,
// outside it, a guard page). Lock held.
const SlotMeta* SlotMetaLocked(const void* p) {
  if (g_pool.base == 0 || !InGuardedPool(p)) return nullptr;
  long s = SlotOf(reinterpret_cast<uintptr_t>(p));
  return s < 0 ? nullptr : &g_pool.meta[s];
}

// The slot's metadata if `p` is its live block's start, else nullptr.
const SlotMeta* LiveBlockLocked(const void* p) {
  const SlotMeta* m = SlotMetaLocked(p);
  return m != nullptr &&
                 m->state.load(std::memory_order_relaxed) == SlotState::kLive &&
                 m->block == reinterpret_cast<uintptr_t>(p)
             ? m
             : nullptr;
}

}  // namespace

size_t GuardedUsableSize(const void* p) {
  GuardLockHolder hold;
  const SlotMeta* m = LiveBlockLocked(p);
  return m == nullptr ? 0 : m->length;
}

int GuardedSlotClass(const void* p) {
  GuardLockHolder hold;
  const SlotMeta* m = SlotMetaLocked(p);
  return m == nullptr || m->state.load(std::memory_order_relaxed) ==
                             SlotState::kNeverUsed
             ? -1
             : m->size_class;
}

int GuardedSizeClass(const void* p) {
  GuardLockHolder hold;
  const SlotMeta* m = LiveBlockLocked(p);
  return m == nullptr ? -1 : m->size_class;
}

void GuardForkPrepare() { g_guard_lock.Lock(); }
void GuardForkParent() { g_guard_lock.Unlock(); }
// The forking thread held the lock; in the child it is that thread, and
// no other thread exists to hold it. Nor to end a single step that another
// thread had under way at the fork (guard_fault.cc): its slot's count is
// cleared, so that GuardedAlloc does not wait for it forever, and the data
// page it had opened is closed again. (A guard page it had opened stays
// open in the child: that one guard is lost there.)
void GuardForkChild() {
  if (g_pool.base != 0) {
    for (size_t s = 0; s < kGuardSlots; ++s) {
      SlotMeta& m = g_pool.meta[s];
      if (m.stepping.load(std::memory_order_relaxed) == 0) continue;
      m.stepping.store(0, std::memory_order_relaxed);
      if (m.state.load(std::memory_order_relaxed) != SlotState::kLive) {
        void* page = reinterpret_cast<void*>(GuardDataPage(g_pool.base, s));
        mprotect(page, kPageSize, PROT_NONE);
        madvise(page, kPageSize, MADV_DONTNEED);
      }
    }
  }
  g_guard_lock.Unlock();
}

GuardStats GetGuardStats() {
  GuardLockHolder hold;
  return GuardStats{g_pool.live, g_pool.served,
                    g_pool.base != 0 ? kGuardSlots : 0};
}

}  // namespace hakmem::internal

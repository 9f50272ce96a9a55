// The guarded pool's layout and metadata, shared by the allocation code
// (guarded_pool.cc) and the fault handler (guard_fault.cc). Private to
// this package.
//
// The reserved range is [guard][data 0][guard][data 1]...[data S-1][guard]:
// page 2s+1 is slot s's data page, the even pages are guards; each guard
// between two data pages serves both neighbours, so S slots take 2S+1
// pages.
//
// Who writes what: everything under the pool lock, except `retired` and
// `stepping`, which the fault handler writes. The handler reads under the
// lock too, taken with a bounded wait (TryLock: it never reports with it
// held), so that its report describes one block, consistently. When it
// cannot have the lock (the interrupted code on its own thread holds it, or
// waits in GuardedAlloc for this thread's step), it reads without it, as
// GWP-ASan always does: a slot's fields are written before its `state` is
// stored (release), and its state before its page's protection changes, so
// a fault on the page finds the metadata that explains it (acquire); what
// that cannot exclude is a slot reused by another thread while the handler
// reads it (the report then mixes the two blocks).
//
// `stepping` keeps GuardedAlloc from making a data page accessible while
// the fault handler has it open for one instruction (guard_fault.cc): the
// handler increments it, then reads `state`, and gives up the step if the
// slot went live; GuardedAlloc stores `state` (kLive), then waits until
// `stepping` is 0 before its mprotect. Both sides are seq_cst (a store
// followed by a load of another variable): at least one sees the other,
// so the handler's re-protection can never land on a live block's page.
#ifndef HAKMEM_GUARD_GUARD_INTERNAL_H_
#define HAKMEM_GUARD_GUARD_INTERNAL_H_

#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "hakmem/guard/guarded_pool.h"
#include "hakmem/platform/os_memory.h"
#include "hakmem/platform/spin_lock.h"
#include "hakmem/platform/stack_trace.h"

namespace hakmem::internal {

enum class SlotState : uint8_t {
  kNeverUsed = 0,  // its data page was never handed out (zero bytes: mmap)
  kLive = 1,
  kFreed = 2,  // quarantined: PROT_NONE (contents cleared on reuse)
};

struct SlotMeta {
  std::atomic<SlotState> state{SlotState::kNeverUsed};
  // Set when the fault handler had to leave this slot's page (or a guard
  // next to it) accessible for good, where it could not single-step the
  // faulting access (guard_fault.cc): the slot is never handed out again
  // (a freed one leaves the quarantine).
  std::atomic<bool> retired{false};
  // Fault handlers that have this slot's data page open for a single step
  // (see above); GuardedAlloc waits for 0.
  std::atomic<uint32_t> stepping{0};
  int size_class = -1;
  uintptr_t block = 0;  // the block's start
  size_t size = 0;      // as requested
  size_t length = 0;    // as placed: RoundUp(size, alignment)
  uint32_t alloc_thread = 0;
  uint32_t free_thread = 0;
  int alloc_frames_count = 0;
  int free_frames_count = 0;
  uintptr_t alloc_frames[kMaxStackFrames];
  uintptr_t free_frames[kMaxStackFrames];
};

inline constexpr size_t kGuardPoolBytes = (2 * kGuardSlots + 1) * kPageSize;

// The record fields of a SlotMeta are written under the pool lock, and
// read by a fault handler that may not get the lock (LockForFault's
// bounded wait): word by word, relaxed, so that such a read may mix two
// records (as documented) but is never a data race.
template <typename T>
inline void StoreField(T& field, T value) {
  __atomic_store_n(&field, value, __ATOMIC_RELAXED);
}
template <typename T>
inline T LoadField(const T& field) {
  return __atomic_load_n(&field, __ATOMIC_RELAXED);
}
inline void StoreFrames(uintptr_t* to, const uintptr_t* from, int n) {
  for (int i = 0; i < n; ++i) StoreField(to[i], from[i]);
}
inline void LoadFrames(uintptr_t* to, const uintptr_t* from, int n) {
  for (int i = 0; i < n; ++i) to[i] = LoadField(from[i]);
}

// The pool lock (the fault handler only tries it).
extern SpinLock g_guard_lock;

class GuardLockHolder {
 public:
  GuardLockHolder() { g_guard_lock.Lock(); }
  ~GuardLockHolder() { g_guard_lock.Unlock(); }
  GuardLockHolder(const GuardLockHolder&) = delete;
  GuardLockHolder& operator=(const GuardLockHolder&) = delete;
};

// The slot metadata array (a mapping of its own, so that no overflow of a
// guarded block can reach it), published before the range; nullptr before.
extern std::atomic<SlotMeta*> g_guard_slot_meta;

inline uintptr_t GuardDataPage(uintptr_t base, size_t slot) {
  return base + (2 * slot + 1) * kPageSize;
}

inline uint32_t GuardThreadId() {
  return static_cast<uint32_t>(syscall(SYS_gettid));
}

// Installs the SIGSEGV/SIGBUS handler and the SIGTRAP handler that ends
// its single steps (guard_fault.cc); called once, when the pool is
// created.
void InstallGuardFaultHandler();

// Allocation-free, async-signal-safe formatting into a fixed buffer (the
// handler may not call snprintf, which is not on POSIX's list).
class GuardFormat {
 public:
  GuardFormat(char* buf, size_t size) : buf_(buf), size_(size) {
    buf_[0] = '\0';
  }
  GuardFormat& Str(const char* s) {
    while (*s != '\0') Put(*s++);
    return *this;
  }
  GuardFormat& Dec(uint64_t v) {
    char digits[20];
    int n = 0;
    do {
      digits[n++] = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v != 0);
    while (n > 0) Put(digits[--n]);
    return *this;
  }
  GuardFormat& Signed(int64_t v) {
    if (v < 0) {
      Put('-');
      return Dec(0 - static_cast<uint64_t>(v));
    }
    return Dec(static_cast<uint64_t>(v));
  }
  GuardFormat& Hex(uintptr_t v) {
    Str("0x");
    char digits[16];
    int n = 0;
    do {
      digits[n++] = "0123456789abcdef"[v & 15];
      v >>= 4;
    } while (v != 0);
    while (n > 0) Put(digits[--n]);
    return *this;
  }

 private:
  void Put(char c) {
    if (len_ + 1 < size_) {
      buf_[len_++] = c;
      buf_[len_] = '\0';
    }
  }
  char* buf_;
  size_t size_;
  size_t len_ = 0;
};

}  // namespace hakmem::internal

#endif  // HAKMEM_GUARD_GUARD_INTERNAL_H_

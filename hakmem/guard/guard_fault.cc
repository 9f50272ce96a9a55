// The guarded pool's signal handlers. SIGSEGV/SIGBUS: diagnoses a fault on
// the pool's protected pages, reports it, and passes every other fault on
// to the handler that was installed before. SIGTRAP: ends the single step
// below, and passes every other trap on likewise.
//
// When the report returns (HAKMEM_ON_ERROR=report, or an error handler),
// the program goes on, and so does the pool: the faulting access runs
// once, alone. The handler makes the page it touches accessible, sets the
// trap flag (EFLAGS.TF, x86-64) in the interrupted context and returns; the
// CPU re-executes the instruction and traps right after it (SIGTRAP,
// TRAP_TRACE); the SIGTRAP handler makes the page inaccessible again,
// decommits it (what the access wrote is gone; what it read was zeros) and
// clears the flag. Every slot stays in service: a freed one stays in the
// quarantine and is reused in its turn, a live one stays live, and the
// next bad access to either faults again. Details:
//   - An access that spans two pages (an unaligned 8-byte access across a
//     page end) faults on the second page during the step: that page is
//     opened too, without a second report, and both are closed after it.
//     The same holds for any further fault of the stepped instruction: one
//     instruction, one report.
//   - A repeated string instruction (rep movs/stos, e.g. a memset that
//     overflows) traps after each iteration with its address unchanged:
//     it is stepped on, its pages closed after each iteration and opened
//     silently when an iteration faults again, until it completes (or 64
//     iterations pass without a fault).
//   - SIGTRAP blocked in the faulting thread: unblocked for the step in the
//     context's signal mask, blocked again when it ends (the kernel would
//     otherwise kill the process with a blocked trap).
//   - Another thread may touch the open page during the step, unreported
//     (a window of one instruction). GuardedAlloc does not make a page
//     accessible while a step has it open (guard_internal.h, `stepping`).
// Where single-stepping cannot be used, the handler falls back to leaving
// the page accessible for good and retiring the slots it serves (the
// faulting slot, both neighbours of a guard page: `retired`, never handed
// out again): not on x86-64; the trap flag already set (a debugger is
// stepping the thread); a tracer attached (TracerPid in
// /proc/thread-self/status: it would take the trap for its own); SIGTRAP's
// action no longer ours (the program replaced it after the pool was
// created); a fault inside a step that is not the stepped instruction's (a
// signal handler that ran first); more than 4 pages open in one step; an
// mprotect refused (out of VMAs).
//
// Everything here is async-signal-safe: the pool lock only with a bounded
// wait (the faulting thread may hold it, or be interrupted while another
// thread does: guard_internal.h), no allocation, no stdio;
// the per-thread step state is initial-exec TLS (in //:libhakmem_capi.so,
// built with dynamic TLS for dlopen, a fixed table keyed by thread id).
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/base/attributes.h"
#include "hakmem/error/memory_error.h"
#include "hakmem/guard/guard_internal.h"
#include "hakmem/platform/tls.h"

namespace hakmem::internal {
namespace {

// The actions before ours, written once before our handler is installed.
struct sigaction g_previous_segv;
struct sigaction g_previous_bus;
struct sigaction g_previous_trap;

// --- The interrupted context -------------------------------------------

#if defined(__x86_64__) && defined(__linux__)
constexpr bool kCanStep = true;
constexpr greg_t kTrapFlag = 0x100;  // EFLAGS.TF

uintptr_t ContextPc(void* context) {
  return static_cast<uintptr_t>(
      static_cast<ucontext_t*>(context)->uc_mcontext.gregs[REG_RIP]);
}
greg_t& ContextFlags(void* context) {
  return static_cast<ucontext_t*>(context)->uc_mcontext.gregs[REG_EFL];
}
bool Stepping(void* context) {
  return (ContextFlags(context) & kTrapFlag) != 0;
}
void SetStepping(void* context, bool on) {
  if (on) {
    ContextFlags(context) |= kTrapFlag;
  } else {
    ContextFlags(context) &= ~kTrapFlag;
  }
}
#else
constexpr bool kCanStep = false;
uintptr_t ContextPc(void*) { return 0; }
bool Stepping(void*) { return false; }
void SetStepping(void*, bool) {}
#endif

sigset_t& ContextMask(void* context) {
  return static_cast<ucontext_t*>(context)->uc_sigmask;
}

// --- Per-thread single-step state ----------------------------------------

constexpr int kMaxStepPages = 4;  // movs: two pages of each operand
constexpr int kMaxIdleSteps = 64;

struct StepState {
  uintptr_t pc;                    // the instruction being stepped; 0: none
  uintptr_t pages[kMaxStepPages];  // opened for it
  int16_t slots[kMaxStepPages];    // a data page's slot (its `stepping`
                                   // held), or -1 for a guard page
  uint8_t count;
  uint8_t idle;  // trapped iterations of a string instruction since its
                 // last fault
  bool trap_was_blocked;  // SIGTRAP unblocked in the context for the step
};
// Where a thread's step state lives. FindStep: the calling thread's step
// under way, or nullptr. ClaimStep: fresh state for a new step (nullptr:
// none to be had, then the fallback). EndStep: the step is over.
#if !HAKMEM_DYNAMIC_TLS
// Initial-exec TLS: a fixed offset from the thread pointer, zero-initialised
// with no constructor, which a signal handler may use.
__thread StepState tls_step ABSL_ATTRIBUTE_INITIAL_EXEC;

StepState* FindStep() { return tls_step.pc != 0 ? &tls_step : nullptr; }
StepState* ClaimStep() { return &tls_step; }
void EndStep(StepState* st) { st->pc = 0; }
#else
// //:libhakmem_capi.so, loaded with dlopen: one initial-exec variable
// would make the library's whole TLS block static (DF_STATIC_TLS), which
// glibc's surplus does not hold, and global-dynamic TLS may be allocated
// on first use, inside the handler. So a fixed table keyed by kernel
// thread id instead: an entry is held for one step (an instruction and two
// signal deliveries), so a few cover every thread that faults at once;
// more at the same moment take the fallback.
constexpr int kStepEntries = 64;
struct StepEntry {
  std::atomic<uint32_t> tid{0};  // 0: free
  StepState state{};
};
ABSL_CONST_INIT StepEntry g_steps[kStepEntries];

StepState* FindStep() {
  uint32_t tid = GuardThreadId();
  for (StepEntry& e : g_steps) {
    if (e.tid.load(std::memory_order_acquire) == tid) return &e.state;
  }
  return nullptr;
}
StepState* ClaimStep() {
  uint32_t tid = GuardThreadId();
  for (StepEntry& e : g_steps) {
    uint32_t expected = 0;
    if (e.tid.compare_exchange_strong(expected, tid,
                                      std::memory_order_acquire)) {
      e.state = StepState{};
      return &e.state;
    }
  }
  return nullptr;
}
void EndStep(StepState* st) {
  st->pc = 0;
  for (StepEntry& e : g_steps) {
    if (&e.state == st) e.tid.store(0, std::memory_order_release);
  }
}
#endif

void GuardTrapHandler(int sig, siginfo_t* info, void* context);

struct Diagnosis {
  MemoryError error;
  size_t slot;  // the block the access is blamed on
  SlotState state;
  bool retry;  // no error: the access may simply run again
};

// Which block a fault at `a` (inside the pool) belongs to, as GWP-ASan
// decides: in a freed slot's data page it is a use after free; elsewhere
// (a guard page, a never-used slot's page) it is an overflow of the
// nearest block that ends before `a` or an underflow of the nearest one
// that starts after it, whichever is closer in bytes (live or freed, the
// neighbours of the page only; a tie blames the overflow, the more common
// bug). False when no block is near: a wild access, left to the previous
// handler.
bool Diagnose(uintptr_t base, const SlotMeta* meta, uintptr_t a,
              Diagnosis* out) {
  size_t page = (a - base) / kPageSize;
  long first;  // the candidate slots, first..last
  long last;
  if (page % 2 == 1) {
    long s = static_cast<long>(page / 2);
    SlotState state = meta[s].state.load(std::memory_order_acquire);
    if (state == SlotState::kFreed) {
      *out = {MemoryError::kUseAfterFree, static_cast<size_t>(s), state, false};
      return true;
    }
    if (state == SlotState::kLive) {
      // A live slot's page is accessible, except while the slot is being
      // handed out again (its state is stored before its page is made
      // accessible): this access, through a dangling pointer or into the
      // new block's slack, faulted on the old protection. Not an error we
      // can attribute: retried (it proceeds once the page is open).
      *out = {MemoryError::kInvalidPointer, static_cast<size_t>(s), state,
              true};
      return true;
    }
    first = s - 1;
    last = s + 1;
  } else {
    first = static_cast<long>(page / 2) - 1;  // the slot before the guard
    last = first + 1;                         // and the one after it
  }
  bool found = false;
  uintptr_t best_distance = 0;
  for (long s = first; s <= last; ++s) {
    if (s < 0 || s >= static_cast<long>(kGuardSlots)) continue;
    SlotState state = meta[s].state.load(std::memory_order_acquire);
    if (state != SlotState::kLive && state != SlotState::kFreed) continue;
    uintptr_t block = LoadField(meta[s].block);
    uintptr_t end = block + LoadField(meta[s].length);
    MemoryError error;
    uintptr_t distance;
    if (a >= end) {
      error = MemoryError::kHeapBufferOverflow;
      distance = a - end;
    } else if (a < block) {
      error = MemoryError::kHeapBufferUnderflow;
      distance = block - a - 1;
    } else {
      continue;  // inside a block: only a freed one, handled above
    }
    if (!found || distance < best_distance) {
      found = true;
      best_distance = distance;
      *out = {error, static_cast<size_t>(s), state, false};
    }
  }
  return found;
}

// What a report says about the block, copied from its slot under the lock
// and reported after it is released (an error handler may allocate).
struct SlotRecord {
  int size_class;
  uintptr_t block;
  size_t size;
  uint32_t alloc_thread;
  uint32_t free_thread;
  int alloc_frames_count;
  int free_frames_count;
  uintptr_t alloc_frames[kMaxStackFrames];
  uintptr_t free_frames[kMaxStackFrames];
};

void CopyRecord(const SlotMeta& m, SlotRecord* r) {
  r->size_class = LoadField(m.size_class);
  r->block = LoadField(m.block);
  r->size = LoadField(m.size);
  r->alloc_thread = LoadField(m.alloc_thread);
  r->free_thread = LoadField(m.free_thread);
  r->alloc_frames_count = LoadField(m.alloc_frames_count);
  r->free_frames_count = LoadField(m.free_frames_count);
  LoadFrames(r->alloc_frames, m.alloc_frames, kMaxStackFrames);
  LoadFrames(r->free_frames, m.free_frames, kMaxStackFrames);
}

// The pool lock, with a bounded wait: its holders keep it for a few
// microseconds, but the one that holds it may be the code this signal
// interrupted, or a GuardedAlloc waiting for this thread's step (the
// caller then reads without it, guard_internal.h).
bool LockForFault() {
  for (int i = 0; i < 4096; ++i) {
    if (g_guard_lock.TryLock()) return true;
    if (i < 64) {
      CpuRelax();
    } else {
      sched_yield();
    }
  }
  return false;
}

// The report's stack starts at the faulting instruction (`pc`, 0 when the
// context is unknown: then at the handler).
void Report(const Diagnosis& d, const SlotRecord& m, uintptr_t a,
            uintptr_t pc) {
  char detail[96];
  GuardFormat(detail, sizeof(detail))
      .Str("size=")
      .Dec(m.size)
      .Str(" access=")
      .Hex(a)
      .Str(" offset=")
      .Signed(static_cast<int64_t>(a - m.block));
  char alloc_title[48];
  char free_title[48];
  RecordedStack stacks[2];
  int num_stacks = 0;
  GuardFormat(alloc_title, sizeof(alloc_title))
      .Str("allocated by thread ")
      .Dec(m.alloc_thread);
  stacks[num_stacks++] = {alloc_title, m.alloc_frames, m.alloc_frames_count};
  if (d.state == SlotState::kFreed) {
    GuardFormat(free_title, sizeof(free_title))
        .Str("freed by thread ")
        .Dec(m.free_thread);
    stacks[num_stacks++] = {free_title, m.free_frames, m.free_frames_count};
  }
  // Aborts under the default policy.
  ReportMemoryFault(d.error, reinterpret_cast<const void*>(m.block), "guarded",
                    m.size_class, detail, stacks, num_stacks, pc);
}

// The fallback: the page at `page_start` stays accessible from now on, so
// the slots it serves are never handed out again (for a guard page, both
// neighbours: each lost its guard on that side). True when the access may
// run again.
bool Retire(uintptr_t base, SlotMeta* meta, uintptr_t page_start) {
  size_t page = (page_start - base) / kPageSize;
  if (page % 2 == 1) {
    meta[page / 2].retired.store(true, std::memory_order_relaxed);
  } else {
    if (page / 2 >= 1) {
      meta[page / 2 - 1].retired.store(true, std::memory_order_relaxed);
    }
    if (page / 2 < kGuardSlots) {
      meta[page / 2].retired.store(true, std::memory_order_relaxed);
    }
  }
  return mprotect(reinterpret_cast<void*>(page_start), kPageSize,
                  PROT_READ | PROT_WRITE) == 0;
}

enum class Open { kOpened, kRetry, kFailed };

// Makes `page` accessible for the step in `st`. kRetry: the page is a live
// slot's now (handed out since the fault): nothing opened, the access may
// simply run again.
Open OpenForStep(StepState& st, uintptr_t base, SlotMeta* meta,
                 uintptr_t page) {
  if (st.count == kMaxStepPages) return Open::kFailed;
  size_t index = (page - base) / kPageSize;
  int slot = index % 2 == 1 ? static_cast<int>(index / 2) : -1;
  if (slot >= 0) {
    // Dekker with GuardedAlloc (guard_internal.h): announce, then look.
    meta[slot].stepping.fetch_add(1, std::memory_order_seq_cst);
    if (meta[slot].state.load(std::memory_order_seq_cst) == SlotState::kLive) {
      meta[slot].stepping.fetch_sub(1, std::memory_order_release);
      return Open::kRetry;
    }
  }
  // A freed page keeps its old block's bytes behind PROT_NONE (cleared
  // when the slot is reused): dropped first, so that the access reads
  // zeros, not the freed block.
  if (slot >= 0)
    madvise(reinterpret_cast<void*>(page), kPageSize, MADV_DONTNEED);
  if (mprotect(reinterpret_cast<void*>(page), kPageSize,
               PROT_READ | PROT_WRITE) != 0) {
    if (slot >= 0) meta[slot].stepping.fetch_sub(1, std::memory_order_release);
    return Open::kFailed;
  }
  st.pages[st.count] = page;
  st.slots[st.count] = static_cast<int16_t>(slot);
  ++st.count;
  return Open::kOpened;
}

// Puts the step's pages back as they were: inaccessible (guard pages,
// freed and never-used slots' pages are the only ones that fault), and
// decommitted, so that what the stepped access wrote is dropped.
void CloseStepPages(StepState& st, uintptr_t base, SlotMeta* meta) {
  for (int i = 0; i < st.count; ++i) {
    void* page = reinterpret_cast<void*>(st.pages[i]);
    if (mprotect(page, kPageSize, PROT_NONE) == 0) {
      madvise(page, kPageSize, MADV_DONTNEED);
    } else {
      // Out of VMAs, say: open for good, as the fallback leaves it.
      Retire(base, meta, st.pages[i]);
    }
    // After the mprotect (release): a GuardedAlloc waiting for this slot
    // makes the page accessible only after it.
    if (st.slots[i] >= 0) {
      meta[st.slots[i]].stepping.fetch_sub(1, std::memory_order_release);
    }
  }
  st.count = 0;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Whether a tracer (a debugger, strace) is attached to this thread: it
// would take our trap as its own stop and not pass it on.
bool Traced() {
  int fd = open("/proc/thread-self/status", O_RDONLY | O_CLOEXEC);
  if (fd < 0) fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;  // no /proc: assume not
  char buf[1024];
  ssize_t n = read(fd, buf, sizeof(buf) - 1);
  close(fd);
  if (n <= 0) return false;
  buf[n] = '\0';
  static const char kKey[] = "\nTracerPid:";
  for (const char* p = buf; *p != '\0'; ++p) {
    size_t k = 0;
    while (kKey[k] != '\0' && p[k] == kKey[k]) ++k;
    if (kKey[k] != '\0') continue;
    p += k;
    while (*p == ' ' || *p == '\t') ++p;
    return IsDigit(*p) && *p != '0';
  }
  return false;
}

// Whether the access that faulted in `context` can be single-stepped.
bool CanStep(void* context) {
  if (!kCanStep || context == nullptr) return false;
  if (Stepping(context)) return false;  // someone else is stepping it
  struct sigaction current;
  if (sigaction(SIGTRAP, nullptr, &current) != 0 ||
      (current.sa_flags & SA_SIGINFO) == 0 ||
      current.sa_sigaction != GuardTrapHandler) {
    return false;  // the program replaced our SIGTRAP handler
  }
  return !Traced();
}

// Handles the fault at `a` if it belongs to the pool. Returns true when
// the access may run again: a step was set up, or the page is accessible
// for good (the fallback), or the fault needs no report (retry).
bool HandleGuardFault(uintptr_t a, void* context) {
  uintptr_t end = g_guard_pool_range.end.load(std::memory_order_acquire);
  uintptr_t base = g_guard_pool_range.begin.load(std::memory_order_relaxed);
  if (a < base || a >= end) return false;
  SlotMeta* meta = g_guard_slot_meta.load(std::memory_order_acquire);
  uintptr_t page = a & ~(uintptr_t{kPageSize} - 1);
  StepState* under_way = FindStep();

  if (under_way != nullptr) {
    StepState& st = *under_way;
    if (context != nullptr && ContextPc(context) == st.pc &&
        Stepping(context)) {
      // The stepped instruction faults again: the other page of an access
      // that spans two, the other operand of a movs, or a later iteration
      // of a string instruction. Reported already: opened silently.
      st.idle = 0;
      switch (OpenForStep(st, base, meta, page)) {
        case Open::kOpened:
        case Open::kRetry:
          return true;
        case Open::kFailed:
          return Retire(base, meta, page);
      }
    }
    // Otherwise another instruction faults while one is stepped (a signal
    // handler that ran before it): reported, then the fallback.
  }

  Diagnosis d;
  SlotRecord record;
  bool found;
  {
    bool locked = LockForFault();
    found = Diagnose(base, meta, a, &d);
    if (found && !d.retry) CopyRecord(meta[d.slot], &record);
    if (locked) g_guard_lock.Unlock();
  }
  if (!found) return false;
  if (d.retry) return true;
  Report(d, record, a, context != nullptr ? ContextPc(context) : 0);

  // The report returned: the access runs once, alone.
  StepState* st = nullptr;
  if (under_way == nullptr && CanStep(context)) st = ClaimStep();
  if (st != nullptr) {
    switch (OpenForStep(*st, base, meta, page)) {
      case Open::kOpened: {
        st->pc = ContextPc(context);
        st->idle = 0;
        SetStepping(context, true);
        sigset_t& mask = ContextMask(context);
        st->trap_was_blocked = sigismember(&mask, SIGTRAP) == 1;
        if (st->trap_was_blocked) sigdelset(&mask, SIGTRAP);
        return true;
      }
      case Open::kRetry:
        EndStep(st);
        return true;
      case Open::kFailed:
        EndStep(st);
        break;
    }
  }
  return Retire(base, meta, page);
}

// Ends (or continues) this thread's step, if the trap in `context` is it.
bool HandleGuardTrap(siginfo_t* info, void* context) {
  // Ours: a step is under way on this thread, the kernel raised the trap
  // (not kill or raise), with the trap flag we set still set.
  if (!kCanStep || info == nullptr || info->si_code <= 0 ||
      context == nullptr || !Stepping(context)) {
    return false;
  }
  StepState* under_way = FindStep();
  if (under_way == nullptr) return false;
  StepState& st = *under_way;
  uintptr_t base = g_guard_pool_range.begin.load(std::memory_order_relaxed);
  SlotMeta* meta = g_guard_slot_meta.load(std::memory_order_acquire);
  CloseStepPages(st, base, meta);
  if (ContextPc(context) == st.pc && ++st.idle < kMaxIdleSteps) {
    // A string instruction between two iterations: stepped on, so that its
    // next faulting iteration is recognised as the same access.
    return true;
  }
  SetStepping(context, false);
  if (st.trap_was_blocked) sigaddset(&ContextMask(context), SIGTRAP);
  st.trap_was_blocked = false;
  EndStep(&st);
  return true;
}

const struct sigaction& PreviousAction(int sig) {
  if (sig == SIGBUS) return g_previous_bus;
  if (sig == SIGTRAP) return g_previous_trap;
  return g_previous_segv;
}

// Hands a signal that is not ours to the previous action.
void Forward(int sig, siginfo_t* info, void* context) {
  const struct sigaction& previous = PreviousAction(sig);
  // Whether the kernel raised it (si_addr valid) or a process sent it
  // (kill, raise). Returning from a fault re-executes the access; from a
  // trap (a breakpoint, a step) it goes on after the instruction.
  bool kernel = info != nullptr && info->si_code > 0;
  bool fault = kernel && sig != SIGTRAP;
  if (previous.sa_handler == SIG_IGN && !kernel) return;
  if (previous.sa_handler == SIG_DFL || previous.sa_handler == SIG_IGN) {
    // The default action (a signal the kernel raises cannot be ignored: it
    // would deliver a fault again forever, and forces the default for a
    // trap). Restored, it happens when the faulting access runs again
    // after we return; another signal is raised again, pending until we
    // return (it is blocked while its handler runs).
    struct sigaction dfl;
    std::memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sigaction(sig, &dfl, nullptr);
    if (!fault) raise(sig);
    return;
  }
  // The previous handler runs with our mask and flags, not its own: a
  // handler that relied on SA_NODEFER or SA_RESETHAND sees a difference.
  if (previous.sa_flags & SA_SIGINFO) {
    previous.sa_sigaction(sig, info, context);
  } else {
    previous.sa_handler(sig);
  }
}

void GuardFaultHandler(int sig, siginfo_t* info, void* context) {
  int saved_errno = errno;
  bool handled =
      info != nullptr && info->si_code > 0 &&
      HandleGuardFault(reinterpret_cast<uintptr_t>(info->si_addr), context);
  if (!handled) Forward(sig, info, context);
  errno = saved_errno;
}

void GuardTrapHandler(int sig, siginfo_t* info, void* context) {
  int saved_errno = errno;
  if (!HandleGuardTrap(info, context)) Forward(sig, info, context);
  errno = saved_errno;
}

void Install(int sig, struct sigaction* previous,
             void (*handler)(int, siginfo_t*, void*)) {
  // The previous action is read first and kept before ours is installed,
  // so that a signal racing with the installation finds it. (A thread that
  // changes the action in between would be lost; nothing else does so
  // while the first guarded allocation is made.)
  sigaction(sig, nullptr, previous);
  struct sigaction action;
  std::memset(&action, 0, sizeof(action));
  action.sa_sigaction = handler;
  sigemptyset(&action.sa_mask);
  // SA_ONSTACK: a program that set up an alternate signal stack (for its
  // stack overflows, which our handler forwards) keeps it. Not SA_NODEFER:
  // a fault inside the handler (the report's unwinding, a previous handler)
  // then kills the process at once instead of recursing.
  action.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigaction(sig, &action, nullptr);
}

}  // namespace

void InstallGuardFaultHandler() {
  // SIGTRAP first: no fault may be stepped before its trap is handled.
  Install(SIGTRAP, &g_previous_trap, GuardTrapHandler);
  Install(SIGSEGV, &g_previous_segv, GuardFaultHandler);
  // Linux reports protection faults as SIGSEGV; SIGBUS too, as GWP-ASan
  // does, for systems that report them so.
  Install(SIGBUS, &g_previous_bus, GuardFaultHandler);
}

}  // namespace hakmem::internal

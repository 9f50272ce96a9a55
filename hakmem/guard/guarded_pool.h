// The guarded pool: a few sampled allocations placed where a bad access to
// them faults at once (GWP-ASan's idea).
//
// The allocator sends about one in HAKMEM_GUARD_RATE blocks of up to a page
// here. Each lives alone on a data page, with an inaccessible guard page on
// either side; its end is at the page's end, so that reading or writing one
// byte past it faults (HAKMEM_GUARD_ALIGN=start puts its start at the
// page's start instead, to catch underflows). A freed block's page is made
// inaccessible and its slot quarantined: freed slots are reused oldest
// first, so a dangling pointer keeps faulting as long as possible. The
// fault handler tells which block the access belongs to and reports a heap
// buffer overflow, underflow or use after free, with the block's allocation
// (and free) stack, through hakmem's error policy (error/memory_error.h).
// Sampling costs the allocator nothing but the decision to sample; what it
// buys is that a memory error in production is caught in some run, with a
// precise report, instead of corrupting memory silently in all of them.
//
// The pool takes its memory from mmap only (it sits beneath the allocator:
// it may not call one) and is created, with its fault handler, on the
// first GuardedAlloc; a process that never samples pays nothing.
//
// Fault handling: the pool installs a SIGSEGV (and SIGBUS) handler once,
// keeping the previous actions; faults outside the pool, and faults inside
// it that belong to no block, go to the previous handler (or the default
// action). A program that installs its own SIGSEGV handler after the pool
// was created replaces hakmem's: faults on guarded pages then reach only
// that handler (and kill the process with SIGSEGV if it returns or chains
// to the default), without hakmem's diagnosis. GWP-ASan has the same rule.
//
// When the report returns (HAKMEM_ON_ERROR=report, or an error handler),
// the pool stays in service: the faulting access runs once on the opened
// page (x86-64: single-stepped with the trap flag; a read sees zeros, a
// write is discarded), the page is made inaccessible again, and the slot
// stays what it was (live, or quarantined and reused in its turn), so that
// the next bad access to it faults and is reported again. One report per
// faulting instruction, also when it spans two pages or repeats (rep
// movs/stos). For that the pool also installs a SIGTRAP handler, which
// passes every trap that is not its step on to the previous action (a
// program's own SIGTRAP handler, or the default). Where stepping cannot be
// used (another architecture, a debugger or tracer on the thread, the
// program replaced the SIGTRAP handler after the pool was created), the
// page stays accessible for good and the slots it serves are retired:
// never handed out again. guard_fault.cc has the details.
#ifndef HAKMEM_GUARD_GUARDED_POOL_H_
#define HAKMEM_GUARD_GUARDED_POOL_H_

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "absl/base/attributes.h"

namespace hakmem::internal {

// The largest block served: one data page.
inline constexpr size_t kGuardMaxSize = 4096;

// Slots in the pool, each one data page and one guard page. 256 keeps the
// reservation at 2 MiB of address space (513 pages, none committed until a
// slot is used) and the protection changes at most 513 VMAs, far below
// vm.max_map_count (65530), while a sampled program keeps a few hundred
// blocks under watch and a freed one quarantined for up to 255 later
// sampled allocations. More slots would watch more blocks but grow the
// kernel's VMA tree, which every page fault of the process walks.
inline constexpr size_t kGuardSlots = 256;

// The reserved range [begin, end): begin is UINTPTR_MAX and end 0 until the
// pool is mapped, after which both are fixed (the pool is never unmapped).
// Any mix of an old and a new value a racing reader may see tests false, so
// relaxed loads suffice: a pointer that came from GuardedAlloc reached its
// holder through some synchronisation that also published the range.
struct GuardPoolRange {
  std::atomic<uintptr_t> begin{UINTPTR_MAX};
  std::atomic<uintptr_t> end{0};
};
extern GuardPoolRange g_guard_pool_range;

// Whether p lies inside the pool's reserved range (its data and guard
// pages). Two global loads and two compares, no lock; false before the
// pool exists. Every free of a pointer the tiers do not recognise may ask.
inline bool InGuardedPool(const void* p) {
  uintptr_t a = reinterpret_cast<uintptr_t>(p);
  return a >= g_guard_pool_range.begin.load(std::memory_order_relaxed) &&
         a < g_guard_pool_range.end.load(std::memory_order_relaxed);
}

// Maps the pool and installs its fault handler now. The allocator calls it
// when it sets up the process with sampling on, so that the pool's two
// mappings (about 2 MiB of address space, 140 KiB of metadata) come at
// start-up, before the program measures anything, not at a random first
// sample. Idempotent; a failure only means that nothing is sampled.
void ReserveGuardedPool();

// A guarded block of `size` bytes (1..kGuardMaxSize) whose start is aligned
// to `alignment` (a power of two, 16..4096), tagged with `size_class`
// (stored, and reported in errors about the block). The block occupies
// RoundUp(size, alignment) bytes, placed at the end of its data page (or,
// with HAKMEM_GUARD_ALIGN=start, at its start); its bytes are zero.
//
// Takes a never-used slot first, else the oldest freed one (FIFO
// quarantine). Returns nullptr when no slot is free (every slot is live,
// or retired after an error the policy let pass where it could not be
// single-stepped), or when the pool cannot be mapped: the caller then
// serves the request normally.
// Creates the pool and installs the fault handler on first use.
// Thread-safe (one spin lock; the stack is captured before taking it).
void* GuardedAlloc(size_t size, size_t alignment, int size_class);

// Frees guarded block p (InGuardedPool(p) must hold). Its page becomes
// inaccessible and its slot joins the quarantine. A pointer that is not a
// live block's start is reported with tier "guarded" and then left alone:
// a double free when the slot's block, with that start, was freed already;
// an interior free when p points inside the slot's block; an invalid free
// otherwise (a guard page, a never-used slot).
void GuardedFree(void* p);

// The usable size of live guarded block p (InGuardedPool(p)): from its
// start to the end of the block as placed, RoundUp(size, alignment). 0
// when p is not a live block's start; not reported here (the caller knows
// which error its operation makes of it).
size_t GuardedUsableSize(const void* p);

// The size class GuardedAlloc was given for live block p, or -1 when p is
// not a live block's start.
int GuardedSizeClass(const void* p);

// The size class of the block the slot holding `p` holds or last held (for
// reports about p), or -1: a guard page, a never-used slot.
int GuardedSlotClass(const void* p);

// For the allocator's pthread_atfork handlers: Prepare takes the pool lock
// so that no other thread holds it across fork, Parent and Child release
// it. The child inherits the pool (a private mapping) and the handler.
void GuardForkPrepare();
void GuardForkParent();
void GuardForkChild();

struct GuardStats {
  uint64_t live;    // guarded blocks allocated and not yet freed
  uint64_t served;  // guarded allocations served so far
  uint64_t slots;   // kGuardSlots once the pool exists, else 0
};
GuardStats GetGuardStats();

}  // namespace hakmem::internal

#endif  // HAKMEM_GUARD_GUARDED_POOL_H_

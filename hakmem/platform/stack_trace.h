// Stack traces for memory-error reports and sampled (guarded) allocations.
//
// Both functions are async-signal-safe and allocate nothing: they may run
// inside malloc or free, with hakmem's locks held, and from a fault
// handler. Capture walks the unwind tables (.eh_frame), so it works through
// code built without frame pointers, hakmem's own included, and through a
// signal frame. Printing reads /proc/self/maps and each module's ELF symbol
// table with plain read/pread into stack buffers; a memory-error report,
// capture and printing together, takes under 5 KiB of stack (mind it on
// an alternate signal stack).
#ifndef HAKMEM_PLATFORM_STACK_TRACE_H_
#define HAKMEM_PLATFORM_STACK_TRACE_H_

#include <cstdint>

namespace hakmem::internal {

// Enough for a report; deeper stacks are cut.
inline constexpr int kMaxStackFrames = 32;

// Writes up to `max_frames` return addresses of the calling thread's stack
// into `frames`, innermost first, leaving out the `skip_frames` innermost
// callers (0 keeps the caller of CaptureStack itself). Returns how many.
// The frame that a signal interrupted (the one under a signal handler's
// frames) is recorded as the address of the interrupted instruction + 1,
// so that, like a return address, address - 1 lies in its function.
int CaptureStack(uintptr_t* frames, int max_frames, int skip_frames);

// Writes one line per frame to `fd`:
//   #N 0xADDR function+0xOFF (module+0xOFF)
// `function` is the nearest ELF symbol covering the address (.symtab, else
// .dynsym; "??" when the module has none), and module+0xOFF the offset that
// `addr2line -e module` / `llvm-symbolizer --obj=module` resolve: the
// address less the load base for ET_DYN modules (shared libraries, PIE),
// the address itself for ET_EXEC. An address in no file mapping prints
// "?? (??)". Return addresses are printed as they are; symbolization looks
// up address - 1, so that a call at the end of a function is attributed to
// it.
void WriteStack(int fd, const uintptr_t* frames, int count);

}  // namespace hakmem::internal

#endif  // HAKMEM_PLATFORM_STACK_TRACE_H_

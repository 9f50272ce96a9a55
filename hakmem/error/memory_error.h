// Memory errors of the program using hakmem (double free, invalid free,
// corrupted free list), as opposed to hakmem's own failures.
//
// Each is reported as one line naming the error, the pointer, the tier and
// size class, and the thread, followed by the stack of the offending call,
// one frame a line (platform/stack_trace.h):
//   #N 0xADDR function+0xOFF (module+0xOFF)
// innermost first, hakmem's reporting functions left out (#0 is the
// function that detected the error, inside the allocator entry point the
// program called: free, operator delete, hak_free...), then any stacks
// recorded earlier, each under its title. Then, in order of precedence:
//   - a handler installed with SetMemoryErrorHandler is called instead of
//     printing (tests and fuzzers observe errors this way); it gets the
//     line and the captured frames;
//   - HAKMEM_ON_ERROR=report: the report is printed and the program goes on;
//   - otherwise (the default) the report is printed and the process aborts.
// Formatting, capturing and printing allocate nothing and use only
// async-signal-safe calls: reports may come from inside malloc or free,
// with hakmem's locks held, and from a fault handler.
// When ReportMemoryError returns, the caller must leave the offending block
// alone: it is leaked, which is always safe.
//
// Reporting is a cold, out-of-line call: the paths that detect errors pay
// only for the predictable branch that leads here.
#ifndef HAKMEM_ERROR_MEMORY_ERROR_H_
#define HAKMEM_ERROR_MEMORY_ERROR_H_

#include <cstdint>

#include "absl/base/attributes.h"

namespace hakmem::internal {

// Values match enum hak_error_kind in capi/hakmem.h.
enum class MemoryError {
  kDoubleFree = 1,
  kInvalidFree = 2,        // not a pointer hakmem returned
  kInteriorFree = 3,       // points into a block, not at its start
  kInvalidPointer = 4,     // realloc / usable_size of a non-live block
  kSizeMismatch = 5,       // sized free with a size the block cannot have
  kCorruptedFreeList = 6,  // a freed block was written to (use after free)
  kWrongHeap = 7,          // freed into an arena it does not belong to
  // Faults on a guarded (sampled) block's protected pages (guard/):
  kUseAfterFree = 8,          // access to a freed guarded block
  kHeapBufferOverflow = 9,    // access past the end of a guarded block
  kHeapBufferUnderflow = 10,  // access before its start
};

const char* MemoryErrorName(MemoryError error);

struct MemoryErrorReport {
  MemoryError error;
  const void* ptr;
  const char* tier;  // "tiny", "pool", "large", "arena", "guarded",
                     // "superslab" or "unknown"
  int size_class;    // the slab size class, or -1
  unsigned thread;   // kernel thread id
  const char* line;  // the formatted report, without a newline
  // The stack of the offending call, innermost first (return addresses,
  // see CaptureStack), without hakmem's reporting frames; valid during the
  // handler's call only.
  const uintptr_t* stack;
  int stack_depth;
};

using MemoryErrorHandler = void (*)(const MemoryErrorReport& report,
                                    void* context);

// Installs `handler` (nullptr restores the default policy); returns the
// previous one.
MemoryErrorHandler SetMemoryErrorHandler(MemoryErrorHandler handler,
                                         void* context);

ABSL_ATTRIBUTE_COLD ABSL_ATTRIBUTE_NOINLINE void ReportMemoryError(
    MemoryError error, const void* ptr, const char* tier, int size_class);

// A stack recorded earlier (a guarded block's allocation or free), printed
// after the report's own stack under `title` (e.g. "allocated by thread 12").
struct RecordedStack {
  const char* title;
  const uintptr_t* frames;
  int count;
};

// ReportMemoryError with more to say: `detail` (may be nullptr) is appended
// to the line after the pointer's fields (e.g. "size=24 access=0x...
// offset=24"), and `stacks` follow the report's own stack. Async-signal-safe,
// like ReportMemoryError, so that a fault handler may call it.
ABSL_ATTRIBUTE_COLD ABSL_ATTRIBUTE_NOINLINE void ReportMemoryErrorDetailed(
    MemoryError error, const void* ptr, const char* tier, int size_class,
    const char* detail, const RecordedStack* stacks, int num_stacks);

// ReportMemoryErrorDetailed from a fault handler: the report's stack starts
// at the instruction that faulted (`fault_pc`, from the signal's context),
// not at the handler, so that #0 is the program's access. (The whole
// stack, handler frames included, if the unwinder does not reach it.)
ABSL_ATTRIBUTE_COLD ABSL_ATTRIBUTE_NOINLINE void ReportMemoryFault(
    MemoryError error, const void* ptr, const char* tier, int size_class,
    const char* detail, const RecordedStack* stacks, int num_stacks,
    uintptr_t fault_pc);

}  // namespace hakmem::internal

#endif  // HAKMEM_ERROR_MEMORY_ERROR_H_

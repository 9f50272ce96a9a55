// Memory errors of the program using hakmem (double free, invalid free,
// corrupted free list), as opposed to hakmem's own failures.
//
// Each is reported as one line naming the error, the pointer, the tier and
// size class, and the thread. Then, in order of precedence:
//   - a handler installed with SetMemoryErrorHandler is called instead of
//     printing (tests and fuzzers observe errors this way);
//   - HAKMEM_ON_ERROR=report: the line is printed and the program goes on;
//   - otherwise (the default) the line is printed and the process aborts.
// When ReportMemoryError returns, the caller must leave the offending block
// alone: it is leaked, which is always safe.
//
// Reporting is a cold, out-of-line call: the paths that detect errors pay
// only for the predictable branch that leads here.
#ifndef HAKMEM_ERROR_MEMORY_ERROR_H_
#define HAKMEM_ERROR_MEMORY_ERROR_H_

#include "absl/base/attributes.h"

namespace hakmem::internal {

// Values match enum hak_error_kind in capi/hakmem.h.
enum class MemoryError {
  kDoubleFree = 1,
  kInvalidFree = 2,         // not a pointer hakmem returned
  kInteriorFree = 3,        // points into a block, not at its start
  kInvalidPointer = 4,      // realloc / usable_size of a non-live block
  kSizeMismatch = 5,        // sized free with a size the block cannot have
  kCorruptedFreeList = 6,   // a freed block was written to (use after free)
  kWrongHeap = 7,           // freed into an arena it does not belong to
};

const char* MemoryErrorName(MemoryError error);

struct MemoryErrorReport {
  MemoryError error;
  const void* ptr;
  const char* tier;  // "tiny", "pool", "large", "superslab" or "unknown"
  int size_class;    // the slab size class, or -1
  unsigned thread;   // kernel thread id
  const char* line;  // the formatted report, without a newline
};

using MemoryErrorHandler = void (*)(const MemoryErrorReport& report,
                                    void* context);

// Installs `handler` (nullptr restores the default policy); returns the
// previous one.
MemoryErrorHandler SetMemoryErrorHandler(MemoryErrorHandler handler,
                                         void* context);

ABSL_ATTRIBUTE_COLD ABSL_ATTRIBUTE_NOINLINE void ReportMemoryError(
    MemoryError error, const void* ptr, const char* tier, int size_class);

}  // namespace hakmem::internal

#endif  // HAKMEM_ERROR_MEMORY_ERROR_H_

// Memory errors of the program using hakmem (double free, invalid free),
// as opposed to hakmem's own failures. Each is reported as one line naming
// the error, the pointer, where it belongs and the thread; then the process
// aborts. Reporting is a cold, out-of-line call: the paths that detect
// errors pay only for the predictable branch that leads here.
#ifndef HAKMEM_PLATFORM_MEMORY_ERROR_H_
#define HAKMEM_PLATFORM_MEMORY_ERROR_H_

#include "absl/base/attributes.h"

namespace hakmem {

enum class MemoryError {
  kDoubleFree,
  kInvalidFree,     // not a pointer hakmem returned
  kInteriorFree,    // points into a block, not at its start
  kInvalidPointer,  // realloc / usable_size of a pointer not live in hakmem
  kSizeMismatch,    // sized free with a size the block cannot have
};

const char* MemoryErrorName(MemoryError error);

// `where` names the tier ("tiny", "pool", "large", "unknown");
// `size_class` is the slab size class, or -1 where there is none.
[[noreturn]] ABSL_ATTRIBUTE_COLD ABSL_ATTRIBUTE_NOINLINE void
ReportMemoryError(MemoryError error, const void* ptr, const char* where,
                  int size_class);

}  // namespace hakmem

#endif  // HAKMEM_PLATFORM_MEMORY_ERROR_H_

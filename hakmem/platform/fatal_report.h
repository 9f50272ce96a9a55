// Reporting of fatal conditions. These functions format into a stack buffer
// and write(2) to stderr: they never allocate, so they are safe to call from
// inside the allocator, with its locks held.
#ifndef HAKMEM_PLATFORM_FATAL_REPORT_H_
#define HAKMEM_PLATFORM_FATAL_REPORT_H_

#include <cstddef>

#include "absl/base/attributes.h"

namespace hakmem::internal {

// Writes "hakmem: <message>\n" to stderr (printf-style; supports %s, %p,
// %zu, %u, %d and %%) and aborts.
[[noreturn]] ABSL_ATTRIBUTE_COLD ABSL_ATTRIBUTE_NOINLINE void FatalError(
    const char* format, ...);

// Writes "hakmem: <message>\n" to stderr and returns.
ABSL_ATTRIBUTE_COLD ABSL_ATTRIBUTE_NOINLINE void Warn(const char* format, ...);

// A failed HAK_DCHECK.
[[noreturn]] ABSL_ATTRIBUTE_COLD ABSL_ATTRIBUTE_NOINLINE void FatalInvariant(
    const char* condition, const char* file, int line);

}  // namespace hakmem::internal

#endif  // HAKMEM_PLATFORM_FATAL_REPORT_H_

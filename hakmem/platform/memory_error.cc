#include "hakmem/platform/memory_error.h"

#include <sys/syscall.h>
#include <unistd.h>

#include "hakmem/platform/fatal_report.h"

namespace hakmem {

const char* MemoryErrorName(MemoryError error) {
  switch (error) {
    case MemoryError::kDoubleFree:
      return "double free";
    case MemoryError::kInvalidFree:
      return "invalid free (pointer not allocated by hakmem)";
    case MemoryError::kInteriorFree:
      return "invalid free (pointer into the middle of a block)";
    case MemoryError::kInvalidPointer:
      return "invalid pointer (not a live hakmem block)";
    case MemoryError::kSizeMismatch:
      return "invalid sized free (size larger than the block)";
  }
  return "memory error";
}

void ReportMemoryError(MemoryError error, const void* ptr, const char* where,
                       int size_class) {
  unsigned tid = static_cast<unsigned>(syscall(SYS_gettid));
  if (size_class >= 0) {
    FatalError("%s: ptr=%p tier=%s class=%d thread=%u", MemoryErrorName(error),
               ptr, where, size_class, tid);
  }
  FatalError("%s: ptr=%p tier=%s thread=%u", MemoryErrorName(error), ptr,
             where, tid);
}

}  // namespace hakmem

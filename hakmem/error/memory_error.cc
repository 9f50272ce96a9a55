#include "hakmem/error/memory_error.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>

#include "hakmem/config/config.h"
#include "hakmem/platform/spin_lock.h"

namespace hakmem::internal {
namespace {

struct HandlerSlot {
  SpinLock lock;
  MemoryErrorHandler handler = nullptr;
  void* context = nullptr;
};
ABSL_CONST_INIT HandlerSlot g_handler;

}  // namespace

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
      return "invalid sized free (size does not match the block)";
    case MemoryError::kCorruptedFreeList:
      return "corrupted free list (freed block written to)";
    case MemoryError::kWrongHeap:
      return "invalid free (not a block of this heap)";
  }
  return "memory error";
}

MemoryErrorHandler SetMemoryErrorHandler(MemoryErrorHandler handler,
                                         void* context) {
  SpinLockHolder hold(g_handler.lock);
  MemoryErrorHandler previous = g_handler.handler;
  g_handler.handler = handler;
  g_handler.context = context;
  return previous;
}

void ReportMemoryError(MemoryError error, const void* ptr, const char* tier,
                       int size_class) {
  MemoryErrorReport report{error, ptr, tier, size_class,
                           static_cast<unsigned>(syscall(SYS_gettid)),
                           nullptr};
  // snprintf with these conversions does not allocate.
  char line[256];
  char klass[24] = "";
  if (size_class >= 0) {
    std::snprintf(klass, sizeof(klass), " class=%d", size_class);
  }
  std::snprintf(line, sizeof(line), "hakmem: %s: ptr=%p tier=%s%s thread=%u",
                MemoryErrorName(error), ptr, tier, klass, report.thread);
  report.line = line;

  MemoryErrorHandler handler;
  void* context;
  {
    SpinLockHolder hold(g_handler.lock);
    handler = g_handler.handler;
    context = g_handler.context;
  }
  if (handler != nullptr) {
    handler(report, context);
    return;
  }
  char out[sizeof(line) + 1];
  int n = std::snprintf(out, sizeof(out), "%s\n", line);
  if (write(STDERR_FILENO, out, static_cast<size_t>(n)) < 0) {
    // Nothing more can be done about a failed report.
  }
  if (GetConfig().abort_on_error) abort();
}

}  // namespace hakmem::internal

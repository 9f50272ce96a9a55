#include "hakmem/error/memory_error.h"

#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>

#include "hakmem/config/config.h"
#include "hakmem/platform/line_buffer.h"
#include "hakmem/platform/spin_lock.h"
#include "hakmem/platform/stack_trace.h"

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
    case MemoryError::kUseAfterFree:
      return "use after free";
    case MemoryError::kHeapBufferOverflow:
      return "heap buffer overflow";
    case MemoryError::kHeapBufferUnderflow:
      return "heap buffer underflow";
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

namespace {

// Serializes printed reports, so that the lines of two threads' reports do
// not interleave. A thread that reports while it is already printing one (a
// signal handler that reports) goes on without waiting for itself.
class PrintLock {
 public:
  explicit PrintLock(unsigned thread) {
    unsigned expected = 0;
    if (g_printing_thread.load(std::memory_order_relaxed) == thread) return;
    int spins = 0;
    while (!g_printing_thread.compare_exchange_weak(
        expected, thread, std::memory_order_acquire,
        std::memory_order_relaxed)) {
      expected = 0;
      if (++spins < 64) {
        CpuRelax();
      } else {
        sched_yield();
      }
    }
    owner_ = true;
  }
  ~PrintLock() {
    if (owner_) g_printing_thread.store(0, std::memory_order_release);
  }
  PrintLock(const PrintLock&) = delete;
  PrintLock& operator=(const PrintLock&) = delete;

 private:
  static std::atomic<unsigned> g_printing_thread;
  bool owner_ = false;
};
ABSL_CONST_INIT std::atomic<unsigned> PrintLock::g_printing_thread{0};

// Both public report functions pass the address they return to in their
// caller: the captured stack starts at the frame that holds it, so the
// report's own frames (however many inlining and tail calls left) are left
// out and #0 is the function that detected the error.
ABSL_ATTRIBUTE_NOINLINE void Report(uintptr_t return_address, MemoryError error,
                                    const void* ptr, const char* tier,
                                    int size_class, const char* detail,
                                    const RecordedStack* stacks,
                                    int num_stacks) {
  const int saved_errno = errno;
  // A few more than kMaxStackFrames: the report's own are dropped.
  uintptr_t frames[kMaxStackFrames + 4];
  int depth = CaptureStack(frames, kMaxStackFrames + 4, 0);
  int first = 0;
  for (int i = 0; i < depth; ++i) {
    if (frames[i] == return_address) {
      first = i;
      break;
    }
  }
  depth -= first;
  if (depth > kMaxStackFrames) depth = kMaxStackFrames;

  MemoryErrorReport report;
  report.error = error;
  report.ptr = ptr;
  report.tier = tier;
  report.size_class = size_class;
  report.thread = static_cast<unsigned>(syscall(SYS_gettid));
  report.line = nullptr;
  report.stack = frames + first;
  report.stack_depth = depth;
  LineBuffer line;
  line.Format("hakmem: %s: ptr=%p tier=%s", MemoryErrorName(error), ptr,
              tier != nullptr ? tier : "unknown");
  if (size_class >= 0) line.Format(" class=%d", size_class);
  if (detail != nullptr) line.Format(" %s", detail);
  line.Format(" thread=%u", report.thread);
  report.line = line.c_str();

  MemoryErrorHandler handler;
  void* context;
  {
    SpinLockHolder hold(g_handler.lock);
    handler = g_handler.handler;
    context = g_handler.context;
  }
  if (handler != nullptr) {
    handler(report, context);
    errno = saved_errno;
    return;
  }
  {
    PrintLock hold(report.thread);
    line.WriteLine(STDERR_FILENO);
    WriteStack(STDERR_FILENO, report.stack, report.stack_depth);
    for (int i = 0; i < num_stacks && stacks != nullptr; ++i) {
      line.Format("%s:", stacks[i].title != nullptr ? stacks[i].title : "");
      line.WriteLine(STDERR_FILENO);
      WriteStack(STDERR_FILENO, stacks[i].frames, stacks[i].count);
    }
  }
  if (GetConfig().abort_on_error) abort();
  errno = saved_errno;
}

}  // namespace

void ReportMemoryError(MemoryError error, const void* ptr, const char* tier,
                       int size_class) {
  Report(reinterpret_cast<uintptr_t>(__builtin_return_address(0)), error, ptr,
         tier, size_class, nullptr, nullptr, 0);
}

void ReportMemoryErrorDetailed(MemoryError error, const void* ptr,
                               const char* tier, int size_class,
                               const char* detail, const RecordedStack* stacks,
                               int num_stacks) {
  Report(reinterpret_cast<uintptr_t>(__builtin_return_address(0)), error, ptr,
         tier, size_class, detail, stacks, num_stacks);
}

void ReportMemoryFault(MemoryError error, const void* ptr, const char* tier,
                       int size_class, const char* detail,
                       const RecordedStack* stacks, int num_stacks,
                       uintptr_t fault_pc) {
  // CaptureStack records an interrupted frame as its address + 1 (so that
  // symbolizing address - 1 names the faulting instruction's function).
  Report(fault_pc + 1, error, ptr, tier, size_class, detail, stacks,
         num_stacks);
}

}  // namespace hakmem::internal

// A module small enough that the linker starts its code in the file's
// first page, so that more than one of its mappings is at file offset 0
// (stack_trace_test: the load base is its first mapping's start).
extern "C" __attribute__((noinline)) void StackTraceTestLibraryCall(
    void (*callback)()) {
  callback();
  asm volatile("" ::: "memory");
}

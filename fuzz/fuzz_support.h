// Basics shared by the hakmem fuzzers: failing an oracle, and checking the
// calling thread's cache.
//
// A failed oracle prints one line naming what failed and aborts, which
// libFuzzer turns into a crash report (with a stack) and a saved input.
#ifndef HAKMEM_FUZZ_FUZZ_SUPPORT_H_
#define HAKMEM_FUZZ_FUZZ_SUPPORT_H_

namespace fuzz {

// Prints "fuzz oracle failed: <formatted message>" to stderr and aborts.
[[noreturn]] void Fail(const char* format, ...)
    __attribute__((format(printf, 1, 2)));

// Fails unless every invariant of the calling thread's hakmem heap holds
// (hakmem::internal::CheckThreadCache). `where` names the step just done.
void CheckHeap(const char* where);

}  // namespace fuzz

#endif  // HAKMEM_FUZZ_FUZZ_SUPPORT_H_

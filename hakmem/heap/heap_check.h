// A full consistency check of the calling thread's heap, for tests and
// fuzzers: O(cached blocks + owned spans), never called by the allocator.
#ifndef HAKMEM_HEAP_HEAP_CHECK_H_
#define HAKMEM_HEAP_HEAP_CHECK_H_

namespace hakmem::internal {

// nullptr when every invariant holds, else a description of the first one
// that does not (a static string).
const char* CheckThreadHeap();

}  // namespace hakmem::internal

#endif  // HAKMEM_HEAP_HEAP_CHECK_H_

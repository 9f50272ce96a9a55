// A full consistency check of the calling thread's cache, for tests and
// fuzzers: O(cached blocks + owned spans), never called by the allocator.
#ifndef HAKMEM_THREAD_CACHE_CACHE_CHECK_H_
#define HAKMEM_THREAD_CACHE_CACHE_CHECK_H_

namespace hakmem::internal {

// nullptr when every invariant holds, else a description of the first one
// that does not (a static string).
const char* CheckThreadCache();

}  // namespace hakmem::internal

#endif  // HAKMEM_THREAD_CACHE_CACHE_CHECK_H_

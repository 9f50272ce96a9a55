// The memory errors the cache's slow paths report (ReportSlabFreeError, for
// the fast paths, is declared in thread_cache.h).
#ifndef HAKMEM_THREAD_CACHE_CACHE_ERRORS_H_
#define HAKMEM_THREAD_CACHE_CACHE_ERRORS_H_

#include "hakmem/superslab/free_block.h"

namespace hakmem::internal {

// Reports a block of class `cls` whose link or key failed its check on an
// owner list: a write into it after it was freed, or a free that raced
// another thread's free of it (BrokenLinkError).
void ReportCorruptedBlock(const FreeBlock* b, unsigned cls);

}  // namespace hakmem::internal

#endif  // HAKMEM_THREAD_CACHE_CACHE_ERRORS_H_

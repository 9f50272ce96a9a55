// Debug-build invariant checks. HAK_DCHECK compiles to nothing under NDEBUG
// (the -c opt build) so release fast paths pay nothing for it.
#ifndef HAKMEM_PLATFORM_CHECK_H_
#define HAKMEM_PLATFORM_CHECK_H_

#include "hakmem/platform/fatal_report.h"

#ifdef NDEBUG
#define HAK_DCHECK(cond) \
  do {                   \
  } while (false && (cond))
#else
#define HAK_DCHECK(cond)                                             \
  do {                                                               \
    if (!(cond))                                                     \
      ::hakmem::internal::FatalInvariant(#cond, __FILE__, __LINE__); \
  } while (false)
#endif

#endif  // HAKMEM_PLATFORM_CHECK_H_

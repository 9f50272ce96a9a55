// A per-process random value, fixed at first use. The free-key of freed
// blocks is derived from it, so that user data cannot forge "this block is
// free" except by a 2^-64 accident.
#ifndef HAKMEM_PLATFORM_PROCESS_SECRET_H_
#define HAKMEM_PLATFORM_PROCESS_SECRET_H_

#include <cstdint>

namespace hakmem::internal {

// Never zero. Reads the kernel-provided AT_RANDOM bytes: no syscall.
uint64_t ComputeProcessSecret();

}  // namespace hakmem::internal

#endif  // HAKMEM_PLATFORM_PROCESS_SECRET_H_

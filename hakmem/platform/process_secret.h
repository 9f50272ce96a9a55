// Per-process random values, fixed at first use. The free key of freed
// blocks and the encoding of their links are derived from them, so that
// user data cannot forge "this block is free", nor a link that is
// followed, except by accident (superslab/free_block.h says how rare).
#ifndef HAKMEM_PLATFORM_PROCESS_SECRET_H_
#define HAKMEM_PLATFORM_PROCESS_SECRET_H_

#include <cstdint>

namespace hakmem::internal {

struct ProcessSecrets {
  uint64_t free_key;  // odd: a free key is never a valid (16-aligned) pointer
  uint64_t link_multiplier;  // odd: invertible modulo 2^64
};

// Reads the kernel-provided AT_RANDOM bytes: no syscall.
ProcessSecrets ComputeProcessSecrets();

}  // namespace hakmem::internal

#endif  // HAKMEM_PLATFORM_PROCESS_SECRET_H_

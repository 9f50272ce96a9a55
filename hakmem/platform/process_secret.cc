#include "hakmem/platform/process_secret.h"

#include <sys/auxv.h>

#include <cstring>

namespace hakmem::internal {

uint64_t ComputeProcessSecret() {
  uint64_t secret = 0;
  // AT_RANDOM points at 16 random bytes the kernel placed on the initial
  // stack; available before any constructor runs.
  if (const void* random = reinterpret_cast<const void*>(getauxval(AT_RANDOM))) {
    uint64_t words[2];
    std::memcpy(words, random, sizeof(words));
    // glibc uses the first 8 bytes for the stack protector canary; mix both
    // halves so the secret is not the canary itself.
    secret = words[1] ^ (words[0] * 0x9E3779B97F4A7C15ull);
  }
  // Never zero, so a zeroed word is never mistaken for the key, and keep the
  // low bit set so the key can never be a valid (16-aligned) pointer value.
  return secret | 1;
}

}  // namespace hakmem::internal

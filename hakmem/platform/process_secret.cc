#include "hakmem/platform/process_secret.h"

#include <sys/auxv.h>

#include <cstring>

namespace hakmem::internal {

ProcessSecrets ComputeProcessSecrets() {
  uint64_t words[2] = {0, 0};
  // AT_RANDOM points at 16 random bytes the kernel placed on the initial
  // stack; available before any constructor runs.
  if (const void* random =
          reinterpret_cast<const void*>(getauxval(AT_RANDOM))) {
    std::memcpy(words, random, sizeof(words));
  }
  // glibc uses the first 8 bytes for the stack protector canary: each value
  // mixes both halves, so that neither is the canary, nor tells the other.
  ProcessSecrets s;
  s.free_key = (words[1] ^ (words[0] * 0x9E3779B97F4A7C15ull)) | 1;
  s.link_multiplier = (words[0] ^ (words[1] * 0xC2B2AE3D27D4EB4Full)) | 1;
  return s;
}

}  // namespace hakmem::internal

// Hot hak_malloc(32)/hak_free_sized(p, 32) pairs through hakmem's prefixed
// C API: the sized free (operator delete(void*, size_t) takes the same
// path) against the plain one of hak_pair_loop.
#include "bench/pair_loop.h"
#include "capi/hakmem.h"

namespace {
void FreeSized(void* p) { hak_free_sized(p, bench::kPairLoopSize); }
}  // namespace

int main(int argc, char** argv) {
  return bench::PairLoopMain<hak_malloc, FreeSized>(argc, argv);
}

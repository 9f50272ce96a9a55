// Hot hak_malloc(32)/hak_free pairs through hakmem's prefixed C API.
#include "bench/pair_loop.h"
#include "capi/hakmem.h"

int main(int argc, char** argv) {
  return bench::PairLoopMain<hak_malloc, hak_free>(argc, argv);
}

// Hot malloc(32)/free pairs: whatever allocator is loaded (LD_PRELOAD).
#include <cstdlib>

#include "bench/pair_loop.h"

int main(int argc, char** argv) {
  return bench::PairLoopMain<std::malloc, std::free>(argc, argv);
}

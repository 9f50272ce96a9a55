// The pair loop (pair_loop.h) through hak_malloc/hak_free of a library
// loaded with dlopen, as a plugin would use //:libhakmem_capi.so: what its
// dynamic TLS costs per pair (tools/fast_path_budget.sh prints it).
// Usage: PAIR_LOOP_LIBRARY=path/to/libhakmem_capi.so dlopen_pair_loop N
#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>

#include "bench/pair_loop.h"

namespace {

void* (*g_alloc)(size_t);
void (*g_free)(void*);

void* Alloc(size_t size) { return g_alloc(size); }
void Free(void* p) { g_free(p); }

}  // namespace

int main(int argc, char** argv) {
  const char* path = std::getenv("PAIR_LOOP_LIBRARY");
  void* lib = path != nullptr ? dlopen(path, RTLD_NOW | RTLD_LOCAL) : nullptr;
  if (lib == nullptr) {
    std::fprintf(stderr, "dlopen_pair_loop: set PAIR_LOOP_LIBRARY (%s)\n",
                 path != nullptr ? dlerror() : "unset");
    return 2;
  }
  g_alloc = reinterpret_cast<void* (*)(size_t)>(dlsym(lib, "hak_malloc"));
  g_free = reinterpret_cast<void (*)(void*)>(dlsym(lib, "hak_free"));
  if (g_alloc == nullptr || g_free == nullptr) {
    std::fprintf(stderr, "dlopen_pair_loop: no hak_malloc/hak_free\n");
    return 2;
  }
  return bench::PairLoopMain<Alloc, Free>(argc, argv);
}

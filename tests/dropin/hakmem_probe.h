// For programs run under LD_PRELOAD=libhakmem.so: finds hakmem's C ABI at
// run time (it is only there when the preload worked), so a program can
// prove that hakmem, not glibc, served it.
#ifndef HAKMEM_TESTS_DROPIN_HAKMEM_PROBE_H_
#define HAKMEM_TESTS_DROPIN_HAKMEM_PROBE_H_

#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

namespace hakmem_probe {

// Only the symbols are looked up (no link-time dependency on hakmem, whose
// code must come from the preloaded library alone).
using StatsPrintFn = int (*)(void*);
using UsableSizeFn = size_t (*)(const void*);

// hak_stats_print from the preloaded library, or null.
inline StatsPrintFn FindStatsPrint() {
  return reinterpret_cast<StatsPrintFn>(dlsym(RTLD_DEFAULT, "hak_stats_print"));
}

// Exits with a message unless hakmem is the process's allocator: its C ABI
// is present and malloc's blocks are hakmem's (hak_usable_size aborts on
// any other pointer).
inline void RequireHakmem() {
  auto usable =
      reinterpret_cast<UsableSizeFn>(dlsym(RTLD_DEFAULT, "hak_usable_size"));
  if (FindStatsPrint() == nullptr || usable == nullptr) {
    fprintf(stderr, "FAIL: hakmem is not loaded (LD_PRELOAD missing?)\n");
    exit(2);
  }
  void* p = malloc(40);
  if (usable(p) < 40) {
    fprintf(stderr, "FAIL: hak_usable_size(malloc(40)) < 40\n");
    exit(2);
  }
  free(p);
}

// slab_blocks_served, read from hak_stats_print's output; 0 without hakmem.
inline uint64_t BlocksServed() {
  StatsPrintFn print = FindStatsPrint();
  if (print == nullptr) return 0;
  char* text = nullptr;
  size_t length = 0;
  FILE* out = open_memstream(&text, &length);
  if (out == nullptr) return 0;
  int rc = print(out);
  fclose(out);
  unsigned long long served = 0;
  const char* line = rc == 0 ? strstr(text, "slab_blocks_served") : nullptr;
  if (line != nullptr) sscanf(line, "slab_blocks_served %llu", &served);
  free(text);
  return served;
}

// "--hakmem" among the arguments: the caller expects to run on hakmem.
inline bool WantHakmem(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (strcmp(argv[i], "--hakmem") == 0) return true;
  }
  return false;
}

}  // namespace hakmem_probe

#endif  // HAKMEM_TESTS_DROPIN_HAKMEM_PROBE_H_

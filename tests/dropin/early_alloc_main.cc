// Allocations before any constructor has run (the executable's
// .preinit_array runs before every library's initialisers, hakmem's
// included), from early constructors and static objects, and after main
// returns (atexit handlers, static destructors). Under LD_PRELOAD all of
// them must be hakmem's. Prints "ok".
//   early_alloc_main [--hakmem]
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "tests/dropin/hakmem_probe.h"

namespace {

struct Early {
  void* block;
  size_t size;
  const char* where;
};
Early g_early[8];
int g_count = 0;

void Record(void* p, size_t size, const char* where) {
  if (p == nullptr) abort();
  memset(p, 0x42, size);
  g_early[g_count++] = Early{p, size, where};
}

void PreInit(int, char**, char**) {
  // Nothing is initialised yet: not hakmem, not libstdc++'s statics.
  void* a = malloc(24);
  void* b = calloc(10, 100);
  void* c = realloc(malloc(10), 5000);
  char* d = strdup("preinit");
  void* e = malloc(1 << 20);
  free(malloc(300));
  Record(a, 24, "preinit malloc");
  Record(b, 1000, "preinit calloc");
  Record(c, 5000, "preinit realloc");
  Record(d, 8, "preinit strdup");
  Record(e, 1 << 20, "preinit large malloc");
}

__attribute__((section(".preinit_array"),
               used)) void (*const g_preinit)(int, char**, char**) = PreInit;

__attribute__((constructor(101))) void EarlyConstructor() {
  Record(malloc(100), 100, "constructor(101) malloc");
}

__attribute__((init_priority(101))) std::string g_early_string(500, 's');
std::vector<std::string>* g_at_exit = nullptr;

struct AllocatesInDestructor {
  ~AllocatesInDestructor() {
    std::string s(2000, 'd');
    free(strdup(s.c_str()));
  }
} g_allocates_in_destructor;

}  // namespace

int main(int argc, char** argv) {
  bool want_hakmem = hakmem_probe::WantHakmem(argc, argv);
  if (want_hakmem) hakmem_probe::RequireHakmem();
  auto usable = reinterpret_cast<hakmem_probe::UsableSizeFn>(
      dlsym(RTLD_DEFAULT, "hak_usable_size"));
  if (g_count != 6) {
    fprintf(stderr, "FAIL: %d early allocations recorded, expected 6\n",
            g_count);
    return 1;
  }
  Early string{g_early_string.data(), g_early_string.size(),
               "init_priority(101) std::string"};
  for (int i = 0; i <= g_count; ++i) {
    const Early& e = i < g_count ? g_early[i] : string;
    // hak_usable_size aborts with a hakmem error for a block hakmem did
    // not allocate.
    if (want_hakmem && usable(e.block) < e.size) {
      fprintf(stderr, "FAIL: %s: usable size below %zu\n", e.where, e.size);
      return 1;
    }
    auto* bytes = static_cast<unsigned char*>(e.block);
    unsigned char want = i < g_count ? 0x42 : 's';
    if (bytes[0] != want || bytes[e.size - 1] != want) {
      fprintf(stderr, "FAIL: %s: contents changed\n", e.where);
      return 1;
    }
  }
  for (int i = 0; i < g_count; ++i) free(g_early[i].block);
  atexit([] {
    g_at_exit = new std::vector<std::string>(100, "at exit");
    delete g_at_exit;
  });
  printf("ok\n");
  return 0;
}

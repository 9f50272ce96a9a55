// The dynamic loader's own allocations under LD_PRELOAD=libhakmem.so:
// dlsym, dlerror (whose messages glibc mallocs, keeps per thread and frees
// at thread exit), dlopen/dlclose (link maps, search paths), dladdr and
// dlvsym, from the main thread and from many short-lived threads. Prints
// "ok <count>"; the count must be the same with and without hakmem.
//   dlsym_main [--hakmem]
#include <dlfcn.h>
#include <gnu/lib-names.h>  // LIBM_SO

#include <atomic>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "tests/dropin/hakmem_probe.h"

namespace {

std::atomic<int> g_failures{0};

void Check(bool ok, const char* what) {
  if (!ok) {
    fprintf(stderr, "FAIL: %s\n", what);
    g_failures++;
  }
}

// One round of loader calls; returns how many lookups succeeded.
int LoaderRound(int id) {
  int found = 0;
  for (int i = 0; i < 200; ++i) {
    found += dlsym(RTLD_DEFAULT, "printf") != nullptr;
    found += dlsym(RTLD_NEXT, "strlen") != nullptr;
    std::string missing =
        "no_such_symbol_" + std::to_string(id) + "_" + std::to_string(i);
    Check(dlsym(RTLD_DEFAULT, missing.c_str()) == nullptr,
          "missing symbol found");
    // Some errors are read (and so freed by the next call), some are left
    // for the next error or the thread's exit to free.
    if (i % 3 != 0) {
      const char* error = dlerror();
      Check(error != nullptr && strstr(error, missing.c_str()) != nullptr,
            "dlerror does not name the missing symbol");
    }
  }
  for (int i = 0; i < 20; ++i) {
    void* libm = dlopen(LIBM_SO, RTLD_NOW | RTLD_LOCAL);
    Check(libm != nullptr, "dlopen libm");
    if (libm == nullptr) continue;
    found += dlsym(libm, "cos") != nullptr;
    found += dlvsym(libm, "sin", "GLIBC_2.2.5") != nullptr;
    Dl_info info;
    found +=
        dladdr(dlsym(libm, "cos"), &info) != 0 && info.dli_fname != nullptr;
    Check(dlclose(libm) == 0, "dlclose libm");
    // A library that does not exist: an error string with the path.
    std::string path =
        "/nonexistent/libhakmem_missing_" + std::to_string(i) + ".so";
    Check(dlopen(path.c_str(), RTLD_NOW) == nullptr,
          "dlopen of a missing file");
    const char* error = dlerror();
    Check(error != nullptr && strstr(error, path.c_str()) != nullptr,
          "dlerror does not name the missing library");
  }
  // Leave one error pending: the thread's exit must free it.
  dlsym(RTLD_DEFAULT, "still_pending_at_exit");
  return found;
}

}  // namespace

int main(int argc, char** argv) {
  bool want_hakmem = hakmem_probe::WantHakmem(argc, argv);
  if (want_hakmem) hakmem_probe::RequireHakmem();
  uint64_t served_before = hakmem_probe::BlocksServed();

  std::atomic<int> found{LoaderRound(0)};
  for (int batch = 0; batch < 5; ++batch) {
    std::vector<std::thread> threads;
    for (int t = 0; t < 6; ++t) {
      threads.emplace_back(
          [&found, batch, t] { found += LoaderRound(1 + batch * 10 + t); });
    }
    for (auto& t : threads) t.join();
  }
  if (want_hakmem && hakmem_probe::BlocksServed() <= served_before) {
    fprintf(stderr, "FAIL: hakmem served nothing\n");
    return 1;
  }
  if (g_failures != 0) return 1;
  printf("ok %d\n", found.load());
  return 0;
}

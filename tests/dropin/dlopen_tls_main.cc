// Loads a library with initial-exec and dynamic TLS (tls_user_lib.cc) with
// dlopen, calls it from the main thread and from many short-lived threads,
// unloads and loads it again. Prints "ok <checksum>"; the checksum must be
// the same with and without hakmem preloaded.
//   dlopen_tls_main <path/to/libtls_user.so> [--hakmem]
#include <dlfcn.h>

#include <atomic>
#include <cinttypes>
#include <cstdio>
#include <thread>
#include <vector>

#include "tests/dropin/hakmem_probe.h"

using WorkFn = uint64_t (*)(int);

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s LIBRARY [--hakmem]\n", argv[0]);
    return 2;
  }
  bool want_hakmem = hakmem_probe::WantHakmem(argc, argv);
  if (want_hakmem) hakmem_probe::RequireHakmem();
  uint64_t served_before = hakmem_probe::BlocksServed();

  uint64_t total = 0;
  for (int load = 0; load < 3; ++load) {
    void* lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (lib == nullptr) {
      fprintf(stderr, "FAIL: dlopen: %s\n", dlerror());
      return 1;
    }
    auto work = reinterpret_cast<WorkFn>(dlsym(lib, "tls_user_work"));
    if (work == nullptr) {
      fprintf(stderr, "FAIL: dlsym: %s\n", dlerror());
      return 1;
    }
    for (int i = 0; i < 5; ++i) total += work(i);
    for (int batch = 0; batch < 4; ++batch) {
      std::vector<uint64_t> results(8);
      std::vector<std::thread> threads;
      for (int t = 0; t < 8; ++t) {
        threads.emplace_back([&, t] {
          uint64_t h = 0;
          for (int i = 0; i < 4; ++i) h += work(t * 10 + i);
          results[t] = h;
        });
      }
      for (auto& t : threads) t.join();
      for (uint64_t r : results) total += r;
    }
    // The main thread's dynamic TLS keeps the library loaded; either way
    // dlclose must succeed.
    if (dlclose(lib) != 0) {
      fprintf(stderr, "FAIL: dlclose: %s\n", dlerror());
      return 1;
    }
  }
  if (want_hakmem && hakmem_probe::BlocksServed() <= served_before) {
    fprintf(stderr, "FAIL: hakmem served nothing\n");
    return 1;
  }
  printf("ok %" PRIu64 "\n", total);
  return 0;
}

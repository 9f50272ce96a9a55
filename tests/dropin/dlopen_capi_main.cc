// hakmem's C ABI loaded at run time, as a plugin, a Python extension
// (ctypes) or a JNI library loads it: this program never linked hakmem. It
// dlopens libhakmem_capi.so, calls hak_* through dlsym from the main thread
// and from threads that hand blocks to each other, checks contents and that
// hakmem served them, unloads it with dlclose, and then starts threads and
// forks (hakmem's thread-exit hook and fork handlers must still be there),
// and loads it again. Prints "ok" and exits 0, or says what failed.
//   dlopen_capi_main <path/to/libhakmem_capi.so>
#include <dlfcn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#include "capi/hakmem.h"

namespace {

struct Api {
  decltype(&hak_malloc) malloc;
  decltype(&hak_free) free;
  decltype(&hak_realloc) realloc;
  decltype(&hak_usable_size) usable_size;
  decltype(&hak_stats_get) stats_get;
};

[[noreturn]] void Fail(const char* what) {
  std::fprintf(stderr, "FAIL: %s\n", what);
  std::exit(1);
}

template <typename F>
void Bind(void* lib, const char* name, F* out) {
  *out = reinterpret_cast<F>(dlsym(lib, name));
  if (*out == nullptr) {
    std::fprintf(stderr, "FAIL: dlsym(%s): %s\n", name, dlerror());
    std::exit(1);
  }
}

void* Load(const char* path, Api* api) {
  void* lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) {
    std::fprintf(stderr, "FAIL: dlopen: %s\n", dlerror());
    std::exit(1);
  }
  Bind(lib, "hak_malloc", &api->malloc);
  Bind(lib, "hak_free", &api->free);
  Bind(lib, "hak_realloc", &api->realloc);
  Bind(lib, "hak_usable_size", &api->usable_size);
  Bind(lib, "hak_stats_get", &api->stats_get);
  // It must not replace the program's malloc, nor export it.
  if (dlsym(lib, "hakmem_internal_symbol_that_does_not_exist") != nullptr ||
      dlsym(RTLD_DEFAULT, "hak_malloc") != nullptr) {
    Fail("hak_malloc is visible outside the library loaded RTLD_LOCAL");
  }
  return lib;
}

uint64_t BlocksServed(const Api& api) {
  hak_stats s{};
  s.version = HAK_STATS_VERSION;
  s.size = sizeof s;
  if (api.stats_get(&s) != 0) Fail("hak_stats_get");
  return s.slab_blocks_served;
}

unsigned char Pattern(uintptr_t p, size_t i) {
  return static_cast<unsigned char>((p >> 4) + i * 7);
}

void* NewBlock(const Api& api, size_t size) {
  auto* p = static_cast<unsigned char*>(api.malloc(size));
  if (p == nullptr) Fail("hak_malloc returned NULL");
  if (reinterpret_cast<uintptr_t>(p) % 16 != 0) Fail("misaligned block");
  if (api.usable_size(p) < size) Fail("usable size below the request");
  for (size_t i = 0; i < size; i += 61) {
    p[i] = Pattern(reinterpret_cast<uintptr_t>(p), i);
  }
  return p;
}

void CheckAndFree(const Api& api, void* block, size_t size) {
  auto* p = static_cast<unsigned char*>(block);
  for (size_t i = 0; i < size; i += 61) {
    if (p[i] != Pattern(reinterpret_cast<uintptr_t>(p), i)) {
      Fail("block contents changed");
    }
  }
  api.free(p);
}

size_t SizeOf(int i) {
  static const size_t kSizes[] = {16, 100, 1000, 5000, 70000, 300000};
  return kSizes[i % 6];
}

// Four threads: each allocates, keeps half, and frees the half that the
// thread before it left (cross-thread frees), then exits.
void Threads(const Api& api) {
  constexpr int kThreads = 4, kBlocks = 3000;
  std::vector<std::vector<void*>> left(kThreads);
  for (int round = 0; round < 3; ++round) {
    std::vector<std::vector<void*>> made(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        std::vector<void*>& mine = made[t];
        for (int i = 0; i < kBlocks; ++i) {
          mine.push_back(NewBlock(api, SizeOf(i)));
        }
        for (int i = 0; i < kBlocks; i += 2)
          CheckAndFree(api, mine[i], SizeOf(i));
        // The blocks another thread left in the last round.
        std::vector<void*>& theirs = left[(t + 1) % kThreads];
        for (size_t i = 1; i < theirs.size(); i += 2) {
          CheckAndFree(api, theirs[i], SizeOf(static_cast<int>(i)));
        }
      });
    }
    for (std::thread& t : threads) t.join();
    left.swap(made);
  }
  for (std::vector<void*>& blocks : left) {
    for (size_t i = 1; i < blocks.size(); i += 2) {
      CheckAndFree(api, blocks[i], SizeOf(static_cast<int>(i)));
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s LIBRARY\n", argv[0]);
    return 2;
  }
  Api api;
  void* lib = Load(argv[1], &api);
  // The program's own malloc is still glibc's: hakmem does not know it.
  void* mine = std::malloc(64);
  if (mine == nullptr) Fail("malloc");
  std::free(mine);

  void* p = api.realloc(nullptr, 40);
  p = api.realloc(p, 50000);
  if (p == nullptr) Fail("hak_realloc");
  api.free(p);
  Threads(api);
  if (BlocksServed(api) == 0) Fail("hakmem served no blocks");
  if (dlclose(lib) != 0) Fail("dlclose");

  // After dlclose: threads that never touch hakmem, a thread that uses the
  // library once more (dlopen again: the same instance, still loaded), and
  // a fork.
  for (int i = 0; i < 8; ++i) std::thread([] {}).join();
  Api again;
  lib = Load(argv[1], &again);
  std::thread([&] { again.free(NewBlock(again, 200)); }).join();
  Threads(again);
  pid_t child = fork();
  if (child < 0) Fail("fork");
  if (child == 0) {
    void* q = NewBlock(again, 3000);
    again.free(q);
    _exit(0);
  }
  int status = 0;
  if (waitpid(child, &status, 0) != child || !WIFEXITED(status) ||
      WEXITSTATUS(status) != 0) {
    Fail("the forked child failed");
  }
  if (dlclose(lib) != 0) Fail("second dlclose");
  std::puts("ok");
  return 0;
}

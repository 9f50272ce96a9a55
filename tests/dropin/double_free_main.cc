// Frees a block twice, from a function whose name the report's stack must
// show, then says it survived. Run with HAKMEM_ON_ERROR=report under
// LD_PRELOAD=libhakmem.so (double_free_main) or linked with the static
// override (double_free_static_main): hakmem prints the report line, then
// the stack, and the program goes on.
//   double_free_main free|delete|handler
// handler: installs a hak_set_error_handler handler instead (found with
// dlsym, so the preloaded library's) and prints what it got.
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capi/hakmem.h"

namespace {

void* Launder(void* p) {
  asm volatile("" : "+r"(p));
  return p;
}

}  // namespace

// extern "C" and noinline: a plain symbol, its own frame (the asm
// statements keep the calls from being tail calls).
extern "C" __attribute__((noinline)) void DoubleFreeForTheReport(void* p) {
  free(p);
  free(Launder(p));
  asm volatile("" ::: "memory");
}

extern "C" __attribute__((noinline)) void DoubleDeleteForTheReport(int* p) {
  delete p;
  delete static_cast<int*>(Launder(p));
  asm volatile("" ::: "memory");
}

namespace {

int g_reports = 0;
int g_depth = 0;
bool g_found = false;

void OnError(const struct hak_error* error, void* context) {
  ++g_reports;
  g_depth = error->stack_depth;
  const auto start = reinterpret_cast<uintptr_t>(context);
  for (int i = 0; i < error->stack_depth; ++i) {
    const auto a = reinterpret_cast<uintptr_t>(error->stack[i]);
    if (a > start && a - start < 256) g_found = true;
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s free|delete|handler\n", argv[0]);
    return 2;
  }
  if (strcmp(argv[1], "free") == 0) {
    DoubleFreeForTheReport(malloc(40));
  } else if (strcmp(argv[1], "delete") == 0) {
    DoubleDeleteForTheReport(new int(1));
  } else if (strcmp(argv[1], "handler") == 0) {
    using SetHandler = hak_error_handler (*)(hak_error_handler, void*);
    auto set = reinterpret_cast<SetHandler>(
        dlsym(RTLD_DEFAULT, "hak_set_error_handler"));
#ifdef HAKMEM_STATIC_OVERRIDE
    set = &hak_set_error_handler;
#endif
    if (set == nullptr) {
      fprintf(stderr, "FAIL: no hak_set_error_handler\n");
      return 2;
    }
    set(OnError, reinterpret_cast<void*>(&DoubleFreeForTheReport));
    DoubleFreeForTheReport(malloc(40));
    set(nullptr, nullptr);
    printf("handler: reports=%d depth=%d found=%d\n", g_reports, g_depth,
           g_found ? 1 : 0);
  } else {
    return 2;
  }
  printf("survived\n");
  return 0;
}

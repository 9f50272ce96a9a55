// CaptureStack and WriteStack never call malloc: this program replaces the
// malloc family with counting wrappers around glibc's and checks that the
// count stays 0 while it captures and prints, the process's first capture
// included (where the unwinder sets itself up). No gtest: nothing else may
// run first.
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstring>

#include "absl/base/attributes.h"
#include "hakmem/platform/stack_trace.h"

extern "C" {
void* __libc_malloc(size_t size);
void __libc_free(void* ptr);
void* __libc_calloc(size_t count, size_t size);
void* __libc_realloc(void* ptr, size_t size);
void* __libc_memalign(size_t alignment, size_t size);
}

namespace {

std::atomic<bool> g_armed{false};
std::atomic<int> g_calls{0};

void Count() {
  if (g_armed.load(std::memory_order_relaxed)) {
    g_calls.fetch_add(1, std::memory_order_relaxed);
  }
}

}  // namespace

extern "C" {

void* malloc(size_t size) {
  Count();
  return __libc_malloc(size);
}
void free(void* ptr) {
  Count();
  __libc_free(ptr);
}
void* calloc(size_t count, size_t size) {
  Count();
  return __libc_calloc(count, size);
}
void* realloc(void* ptr, size_t size) {
  Count();
  return __libc_realloc(ptr, size);
}
void* memalign(size_t alignment, size_t size) {
  Count();
  return __libc_memalign(alignment, size);
}
void* aligned_alloc(size_t alignment, size_t size) {
  Count();
  return __libc_memalign(alignment, size);
}
int posix_memalign(void** out, size_t alignment, size_t size) {
  Count();
  void* p = __libc_memalign(alignment, size);
  if (p == nullptr) return ENOMEM;
  *out = p;
  return 0;
}
void* valloc(size_t size) {
  Count();
  return __libc_memalign(4096, size);
}
void* pvalloc(size_t size) {
  Count();
  return __libc_memalign(4096, (size + 4095) & ~size_t{4095});
}

}  // extern "C"

namespace {

int g_pipe[2];
int g_depth = 0;
uintptr_t g_frames[hakmem::internal::kMaxStackFrames];

ABSL_ATTRIBUTE_NOINLINE void CaptureAndPrint() {
  g_depth = hakmem::internal::CaptureStack(
      g_frames, hakmem::internal::kMaxStackFrames, 0);
  hakmem::internal::WriteStack(g_pipe[1], g_frames, g_depth);
  asm volatile("" ::: "memory");
}

}  // namespace

int main() {
  // Make sure the wrappers are the ones in use (the asm statement keeps
  // the compiler from eliding the pair).
  void* probe = malloc(8);
  asm volatile("" : "+r"(probe));
  g_armed.store(true);
  free(probe);
  g_armed.store(false);
  if (g_calls.exchange(0) != 1) {
    fprintf(stderr, "FAIL: the counting malloc is not in use\n");
    return 1;
  }
  if (pipe(g_pipe) != 0) return 1;
  // Large enough for the whole stack: the write end never blocks.
  fcntl(g_pipe[1], F_SETPIPE_SZ, 1 << 20);

  g_armed.store(true);
  CaptureAndPrint();  // the first capture of the process
  CaptureAndPrint();
  g_armed.store(false);

  close(g_pipe[1]);
  char out[65536];
  ssize_t n = 0, r;
  while (n < static_cast<ssize_t>(sizeof(out)) - 1 &&
         (r = read(g_pipe[0], out + n, sizeof(out) - 1 - n)) > 0) {
    n += r;
  }
  out[n < 0 ? 0 : n] = '\0';
  int calls = g_calls.load();
  if (calls != 0) {
    fprintf(stderr, "FAIL: %d calls of the malloc family\n", calls);
    return 1;
  }
  if (g_depth < 2 || strstr(out, "CaptureAndPrint") == nullptr ||
      strncmp(out, "#0 0x", 5) != 0) {
    fprintf(stderr, "FAIL: unexpected stack (depth %d):\n%s\n", g_depth, out);
    return 1;
  }
  printf("%sPASS: no allocation\n", out);
  return 0;
}

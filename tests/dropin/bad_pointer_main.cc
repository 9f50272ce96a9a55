// Passes a pointer that hakmem never returned to free or realloc. Prints
// the pointer on stdout first; run under LD_PRELOAD=libhakmem.so it must
// die of SIGABRT with hakmem's error line naming that pointer.
//   bad_pointer_main free|realloc stack|global|mmap
#include <sys/mman.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

char g_global[128];

void* Launder(void* p) {
  asm volatile("" : "+r"(p));
  return p;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s free|realloc stack|global|mmap\n", argv[0]);
    return 2;
  }
  char local[128];
  void* p = nullptr;
  if (strcmp(argv[2], "stack") == 0) {
    p = Launder(local + 32);
  } else if (strcmp(argv[2], "global") == 0) {
    p = Launder(g_global);
  } else if (strcmp(argv[2], "mmap") == 0) {
    void* m = mmap(nullptr, 1 << 20, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) return 2;
    p = Launder(m);
  } else {
    return 2;
  }
  printf("%p\n", p);
  fflush(stdout);
  if (strcmp(argv[1], "free") == 0) {
    free(p);
  } else {
    p = Launder(realloc(p, 1000));
  }
  printf("survived\n");
  return 0;
}

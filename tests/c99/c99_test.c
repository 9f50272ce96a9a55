/* The C ABI from strict C99: this file must compile with
 *   gcc -std=c99 -Wall -Wextra -Werror -pedantic
 * (and the same flags under clang), link against hakmem, and run: a few
 * calls of each group of the API, checking their documented results. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "capi/hakmem.h"

static int failures = 0;

#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      ++failures;                                                              \
    }                                                                          \
  } while (0)

static int is_aligned(const void* p, size_t alignment) {
  return ((uintptr_t)p % alignment) == 0;
}

/* Errors observed through hak_set_error_handler. */
struct seen_errors {
  int count;
  enum hak_error_kind last_kind;
  const void* last_ptr;
};

static void record_error(const struct hak_error* error, void* context) {
  struct seen_errors* seen = (struct seen_errors*)context;
  seen->count++;
  seen->last_kind = error->kind;
  seen->last_ptr = error->ptr;
}

static void test_malloc_free(void) {
  char* p = (char*)hak_malloc(100);
  void* z1;
  void* z2;
  CHECK(p != NULL);
  CHECK(is_aligned(p, 16));
  CHECK(hak_usable_size(p) >= 100);
  memset(p, 'x', 100);
  hak_free(p);
  hak_free(NULL);
  CHECK(hak_usable_size(NULL) == 0);

  z1 = hak_malloc(0);
  z2 = hak_malloc(0);
  CHECK(z1 != NULL && z2 != NULL && z1 != z2);
  hak_free_sized(z1, 0);
  hak_free(z2);

  p = (char*)hak_malloc(3000);
  CHECK(p != NULL);
  hak_free_sized(p, 3000);
}

static void test_calloc_realloc(void) {
  size_t i;
  unsigned char* p = (unsigned char*)hak_calloc(10, 100);
  unsigned char* q;
  CHECK(p != NULL);
  for (i = 0; i < 1000; ++i) CHECK(p[i] == 0);
  memset(p, 7, 1000);
  q = (unsigned char*)hak_realloc(p, 100000);
  CHECK(q != NULL);
  if (q != NULL) {
    for (i = 0; i < 1000; ++i) CHECK(q[i] == 7);
    hak_free(q);
  }

  errno = 0;
  CHECK(hak_calloc(SIZE_MAX / 2, 4) == NULL);
  CHECK(errno == ENOMEM);
  errno = 0;
  CHECK(hak_malloc(SIZE_MAX - 4096) == NULL);
  CHECK(errno == ENOMEM);
}

static void test_aligned(void) {
  size_t alignment;
  for (alignment = 1; alignment <= 8192; alignment *= 2) {
    void* p = hak_aligned_alloc(alignment, 100);
    CHECK(p != NULL);
    CHECK(is_aligned(p, alignment));
    hak_free_aligned_sized(p, alignment, 100);
  }
  errno = 0;
  CHECK(hak_aligned_alloc(24, 100) == NULL);
  CHECK(errno == EINVAL);
}

static void test_stats(void) {
  struct hak_stats s;
  FILE* out;
  memset(&s, 0, sizeof s);
  s.version = HAK_STATS_VERSION;
  s.size = sizeof s;
  CHECK(hak_stats_get(&s) == 0);
  CHECK(s.os_mapped_bytes > 0);
  CHECK(s.slab_blocks_served > 0);
  errno = 0;
  CHECK(hak_stats_get(NULL) == -1);
  CHECK(errno == EINVAL);

  out = tmpfile();
  CHECK(out != NULL);
  if (out != NULL) {
    CHECK(hak_stats_print(out) == 0);
    CHECK(ftell(out) > 0);
    fclose(out);
  }
  CHECK(hak_version() == HAKMEM_VERSION);
  CHECK(hak_collect(0) == 0);
}

static void test_error_handler(void) {
  struct seen_errors seen;
  hak_error_handler previous;
  void* p;
  memset(&seen, 0, sizeof seen);
  previous = hak_set_error_handler(record_error, &seen);
  p = hak_malloc(48);
  hak_free(p);
  hak_free(p); /* reported to record_error; the process goes on */
  CHECK(seen.count == 1);
  CHECK(seen.last_kind == HAK_ERROR_DOUBLE_FREE);
  CHECK(seen.last_ptr == p);
  hak_set_error_handler(previous, NULL);
}

static void test_heaps(void) {
  struct seen_errors seen;
  hak_error_handler previous;
  hak_heap* a = hak_heap_create();
  hak_heap* b = hak_heap_create();
  void* p;
  void* q;
  int i;
  CHECK(a != NULL && b != NULL);
  if (a == NULL || b == NULL) return;
  p = hak_heap_malloc(a, 200);
  q = hak_heap_aligned_alloc(a, 4096, 100);
  CHECK(p != NULL && q != NULL);
  CHECK(is_aligned(q, 4096));

  memset(&seen, 0, sizeof seen);
  previous = hak_set_error_handler(record_error, &seen);
  hak_heap_free(b, p); /* not b's block */
  CHECK(seen.count == 1);
  CHECK(seen.last_kind == HAK_ERROR_WRONG_HEAP);
  hak_set_error_handler(previous, NULL);

  hak_heap_free(a, p);
  for (i = 0; i < 1000; ++i) CHECK(hak_heap_malloc(a, 64) != NULL);
  hak_heap_destroy(a); /* with 1001 blocks still live */
  hak_heap_destroy(b);
}

int main(void) {
  test_malloc_free();
  test_calloc_realloc();
  test_aligned();
  test_stats();
  test_error_handler();
  test_heaps();
  if (failures != 0) {
    fprintf(stderr, "%d check(s) failed\n", failures);
    return 1;
  }
  printf("C99 client: all checks passed\n");
  return 0;
}

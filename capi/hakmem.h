/*
 * hakmem.h - the C ABI of the hakmem memory allocator.
 *
 * Usable from C99 and C++. Every function is thread-safe. Blocks returned by
 * any hak_* allocation function may be released with hak_free() from any
 * thread, or with the sized variants below when the caller knows the size.
 *
 * Failure contract: allocation functions return NULL and set errno:
 *   ENOMEM  the request cannot be satisfied (too large, or the OS refused
 *           memory); nothing was allocated and nothing leaked.
 *   EINVAL  hak_aligned_alloc() was given an alignment that is not a power
 *           of two.
 *
 * Which requests are too large: above PTRDIFF_MAX always; beyond that, what
 * the kernel refuses to commit. hakmem maps memory with the kernel's
 * overcommit accounting (never MAP_NORESERVE), so a request fails with
 * ENOMEM, instead of returning memory that faults when it is touched, when
 * it would take the address space past RLIMIT_AS, or when the overcommit
 * policy (/proc/sys/vm/overcommit_memory) refuses it: in the default
 * heuristic mode (0), any single request larger than the machine's RAM
 * plus swap (malloc(1 << 45), 32 TiB, on any ordinary machine); in strict
 * mode (2), anything past the commit limit. Only in mode 1, where the
 * administrator asked the kernel to grant every mapping, does a request
 * that cannot be backed succeed. The same holds for hak_calloc,
 * hak_realloc and hak_aligned_alloc, and for malloc, calloc, realloc,
 * aligned_alloc, posix_memalign, memalign, valloc and pvalloc when hakmem
 * replaces them.
 *
 * Memory errors (double free, a pointer hakmem never returned, a pointer into
 * the middle of a block, a sized free with the wrong size, a freed block
 * written to) are detected deterministically, in every build, and reported
 * on one line to stderr naming the error, the pointer, the tier and size
 * class, and the thread; the process then aborts. HAKMEM_ON_ERROR=report
 * keeps it running instead (the offending block is leaked, which is safe),
 * and hak_set_error_handler() lets a program observe errors itself.
 *
 * Double frees, exactly: the second free is reported at once whenever the
 * two frees are ordered (one returns before the other starts), and
 * whenever both come from threads other than the block's owner (the thread,
 * or heap, whose span holds it), however they race. Two frees that race
 * each other, one on the owner's thread and one on another thread, can
 * both pass: the owner checks and sets the block's free key with plain
 * loads and stores, because an atomic read-modify-write on every free
 * would cost the fast path about 20 cycles. The block then sits on the
 * owner's list and on the span's remote-free stack (or in the other
 * thread's batch of remote frees not yet pushed there) at once. It is not
 * handed out twice: it is reported as a double free, with its pointer,
 * when hakmem next meets it (the owner's next allocation from that cache,
 * the other thread's push of its batch, the next drain of the span's
 * remote frees by the owner or an adopter, or hak_collect). One narrower
 * case: if the owner allocates the block again in the instant between the
 * two frees' writes, the other thread's free writes one word into the new
 * allocation, and the late report names the block as a corrupted free
 * list. tests/double_free_race_test.cc races
 * such frees and counts reports.
 */
#ifndef HAKMEM_CAPI_HAKMEM_H_
#define HAKMEM_CAPI_HAKMEM_H_

#include <stddef.h>
#include <stdint.h>

#define HAKMEM_VERSION_MAJOR 0
#define HAKMEM_VERSION_MINOR 1
#define HAKMEM_VERSION_PATCH 0
/* (major << 16) | (minor << 8) | patch, as returned by hak_version(). */
#define HAKMEM_VERSION                                          \
  ((HAKMEM_VERSION_MAJOR << 16) | (HAKMEM_VERSION_MINOR << 8) | \
   HAKMEM_VERSION_PATCH)

#ifdef __cplusplus
extern "C" {
#endif

/* Returns at least `size` bytes aligned to 16 (alignof(max_align_t)).
 * hak_malloc(0) returns a unique pointer that must be freed. */
void* hak_malloc(size_t size);

/* Releases a block. NULL is ignored. */
void hak_free(void* ptr);

/* Like hak_free() for a block from hak_malloc/hak_calloc/hak_realloc of
 * `size` bytes (the requested size, or any size up to hak_usable_size(ptr)
 * that maps to the same size class). A size the block cannot have is
 * reported as HAK_ERROR_SIZE_MISMATCH. */
void hak_free_sized(void* ptr, size_t size);

/* `count` * `size` zeroed bytes; NULL with ENOMEM if the product overflows. */
void* hak_calloc(size_t count, size_t size);

/* Resizes `ptr` to `size` bytes, preserving min(old, new) bytes of content.
 * hak_realloc(NULL, n) == hak_malloc(n). hak_realloc(p, 0) frees p and
 * returns NULL (glibc's behaviour). On failure returns NULL with ENOMEM and
 * leaves `ptr` untouched and still owned by the caller. */
void* hak_realloc(void* ptr, size_t size);

/* `size` bytes aligned to `alignment`, which must be a power of two (any
 * power of two, also larger than a page); otherwise NULL with EINVAL. */
void* hak_aligned_alloc(size_t alignment, size_t size);

/* The number of bytes usable in the block: at least the size requested.
 * hak_usable_size(NULL) == 0. */
size_t hak_usable_size(const void* ptr);

/* Like hak_free_sized() for a block from hak_aligned_alloc(alignment, size). */
void hak_free_aligned_sized(void* ptr, size_t alignment, size_t size);

/* HAKMEM_VERSION of the library actually linked. */
uint32_t hak_version(void);

/* Slow-path statistics, kept without touching the allocation fast path.
 * Versioned: callers set `version` = HAK_STATS_VERSION and `size` =
 * sizeof(struct hak_stats); fields beyond `size` are never written. */
#define HAK_STATS_VERSION 4
struct hak_stats {
  uint32_t version;
  uint32_t size;
  uint64_t os_mapped_bytes;      /* bytes currently mapped from the OS */
  uint64_t os_mapped_peak_bytes; /* high-water mark of os_mapped_bytes */
  uint64_t os_map_calls;         /* mmap calls */
  uint64_t os_unmap_calls;       /* munmap calls */
  uint64_t superslabs_live;      /* 2 MiB regions in use by slabs */
  uint64_t superslabs_cached;    /* empty regions kept for reuse */
  uint64_t slabs_live;           /* spans carved for a size class */
  uint64_t slab_blocks_served;   /* blocks handed to thread caches */
  uint64_t large_live;           /* large (mmap) blocks in use */
  uint64_t large_live_bytes;     /* bytes mapped for them */
  uint64_t large_cached;         /* runs of freed large pages kept for reuse */
  uint64_t threads_live;         /* threads with an initialised heap */
  /* Since version 2: */
  uint64_t os_decommit_calls;     /* madvise(MADV_DONTNEED) calls */
  uint64_t os_decommitted_bytes;  /* bytes given back by them */
  uint64_t free_slab_dirty_bytes; /* free slab bytes possibly still committed */
  /* Since version 3: */
  uint64_t decommit_budget_bytes; /* free slab bytes kept committed before
                                     decommitting (adapts: docs/CONFIG.md) */
  uint64_t bytes_in_use_estimate; /* bytes of slab spans in use by size
                                     classes plus large blocks in use (and
                                     a page per live guarded sample): an
                                     upper estimate, as free blocks inside
                                     those spans count */
  /* Since version 4: */
  uint64_t spans_abandoned;    /* spans of exited threads not yet adopted */
  uint64_t large_cached_bytes; /* bytes of the large_cached runs */
};

/* Fills `out` (see HAK_STATS_VERSION; version 1 callers get the fields
 * up to threads_live, version 2 up to free_slab_dirty_bytes, version 3 up
 * to bytes_in_use_estimate). Returns 0, or -1 with EINVAL if `out` is NULL
 * or its version is unknown. */
int hak_stats_get(struct hak_stats* out);

/* Slabs (64 KiB each) of the spans in use by each size class, the smallest
 * block size first: writes the first min(n, classes) counts to `slabs` and
 * returns the number of classes (call with n = 0 to size the array).
 * hak_class_size(i) is class i's block size (0 past the last class). */
size_t hak_stats_slabs_per_class(uint64_t* slabs, size_t n);
size_t hak_class_size(size_t cls);

/* Gives memory back to the OS now, for services between phases and for
 * tests. Always: pushes the remote frees the calling thread holds back
 * (frees into other threads' slabs, batched), drains the spans of exited
 * threads, decommits every free slab (madvise), unmaps the cache of freed
 * large blocks. With `force` non-zero, also returns the calling thread's
 * cached blocks to their slabs, releases its empty slabs and unmaps every
 * empty SuperSlab. Other threads' caches are bounded (HAKMEM_TCACHE_BYTES),
 * shrink when idle and are returned when those threads exit. Returns 0. */
int hak_collect(int force);

/* First-class heaps (arenas). A heap belongs to the thread that created
 * it: only that thread allocates from it, calls hak_heap_free on it and
 * destroys it. Any thread may release a heap's block with hak_free().
 * hak_heap_destroy() releases every block still allocated in the heap at
 * once; using one afterwards is a memory error (freeing it is reported). */
typedef struct hak_heap hak_heap;

/* A new, empty heap; NULL with ENOMEM. */
hak_heap* hak_heap_create(void);

/* Like hak_malloc / hak_aligned_alloc, from `heap`. */
void* hak_heap_malloc(hak_heap* heap, size_t size);
void* hak_heap_aligned_alloc(hak_heap* heap, size_t alignment, size_t size);

/* Releases a block of `heap`. A block of another heap, or of none, is
 * reported as HAK_ERROR_WRONG_HEAP and left alone. NULL is ignored. */
void hak_heap_free(hak_heap* heap, void* ptr);

/* Releases the heap and everything still allocated in it. */
void hak_heap_destroy(hak_heap* heap);

/* Prints the statistics, one "name value" pair per line, to `out`
 * (a FILE*, declared as void* so that this header needs no <stdio.h>).
 * Returns 0, or -1 with errno set if writing failed. */
int hak_stats_print(void* out);

enum hak_error_kind {
  HAK_ERROR_DOUBLE_FREE = 1,
  HAK_ERROR_INVALID_FREE = 2,        /* not a pointer hakmem returned */
  HAK_ERROR_INTERIOR_FREE = 3,       /* into the middle of a block */
  HAK_ERROR_INVALID_POINTER = 4,     /* realloc/usable_size of a dead block */
  HAK_ERROR_SIZE_MISMATCH = 5,       /* sized free with the wrong size */
  HAK_ERROR_CORRUPTED_FREE_LIST = 6, /* a freed block was written to */
  HAK_ERROR_WRONG_HEAP = 7, /* hak_heap_free of a block not of that heap */
  /* Faults on a sampled guarded block (HAKMEM_GUARD_RATE): */
  HAK_ERROR_USE_AFTER_FREE = 8,
  HAK_ERROR_HEAP_BUFFER_OVERFLOW = 9,  /* access past the block's end */
  HAK_ERROR_HEAP_BUFFER_UNDERFLOW = 10 /* access before its start */
};

struct hak_error {
  enum hak_error_kind kind;
  const void* ptr;
  const char* tier;    /* "tiny", "pool", "large", "arena", "guarded",
                          "superslab" or "unknown" */
  int size_class;      /* slab size class, or -1 */
  unsigned thread;     /* kernel thread id of the thread that erred */
  const char* message; /* the one-line report, without a newline */
  /* The stack of the offending call: `stack_depth` return addresses,
   * innermost first, hakmem's own reporting frames left out (stack[0] is
   * in the hakmem function that detected the error, called by the program
   * through free, operator delete, hak_free...). Valid only during the
   * handler's call; copy what you keep. The printed report shows the same
   * frames symbolized (see docs/API.md). */
  const void* const* stack;
  int stack_depth;
};

/* Called for each memory error instead of printing and aborting. When it
 * returns, the operation that erred did nothing (the block is leaked). It
 * runs on the erring thread, possibly inside malloc or free: it must not
 * free the pointer it is given, and should do little else. */
typedef void (*hak_error_handler)(const struct hak_error* error, void* context);

/* Installs `handler` (NULL restores the default: report, then abort or
 * continue as HAKMEM_ON_ERROR says); returns the previous handler. Not to
 * be called while another thread may be reporting an error. */
hak_error_handler hak_set_error_handler(hak_error_handler handler,
                                        void* context);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* HAKMEM_CAPI_HAKMEM_H_ */

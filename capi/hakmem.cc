// The C ABI: thin extern "C" wrappers over hakmem/core. See hakmem.h for
// the contract of each function.
#include "capi/hakmem.h"

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "capi/stats_print.h"
#include "hakmem/arena/arena.h"
#include "hakmem/core/allocator.h"
#include "hakmem/core/stats.h"
#include "hakmem/error/memory_error.h"

namespace {

struct CErrorHandler {
  hak_error_handler handler;
  void* context;
};
CErrorHandler g_c_error_handler;

void CallCErrorHandler(const hakmem::internal::MemoryErrorReport& report,
                       void* slot) {
  const auto* c = static_cast<const CErrorHandler*>(slot);
  struct hak_error error;
  error.kind = static_cast<enum hak_error_kind>(report.error);
  error.ptr = report.ptr;
  error.tier = report.tier;
  error.size_class = report.size_class;
  error.thread = report.thread;
  error.message = report.line;
  // uintptr_t and const void* have the same size and representation.
  static_assert(sizeof(uintptr_t) == sizeof(const void*), "pointer size");
  error.stack = reinterpret_cast<const void* const*>(report.stack);
  error.stack_depth = report.stack_depth;
  c->handler(&error, c->context);
}

}  // namespace

extern "C" {

void* hak_malloc(size_t size) { return hakmem::internal::Malloc(size); }

void hak_free(void* ptr) { hakmem::internal::Free(ptr); }

void hak_free_sized(void* ptr, size_t size) {
  hakmem::internal::FreeSized(ptr, size);
}

void* hak_calloc(size_t count, size_t size) {
  return hakmem::internal::Calloc(count, size);
}

void* hak_realloc(void* ptr, size_t size) {
  return hakmem::internal::Realloc(ptr, size);
}

void* hak_aligned_alloc(size_t alignment, size_t size) {
  return hakmem::internal::AlignedAlloc(alignment, size);
}

size_t hak_usable_size(const void* ptr) {
  return hakmem::internal::UsableSize(ptr);
}

void hak_free_aligned_sized(void* ptr, size_t alignment, size_t size) {
  hakmem::internal::FreeAlignedSized(ptr, alignment, size);
}

uint32_t hak_version(void) { return HAKMEM_VERSION; }

hak_error_handler hak_set_error_handler(hak_error_handler handler,
                                        void* context) {
  hakmem::internal::SetMemoryErrorHandler(nullptr, nullptr);
  hak_error_handler previous = g_c_error_handler.handler;
  g_c_error_handler = CErrorHandler{handler, context};
  if (handler != nullptr) {
    hakmem::internal::SetMemoryErrorHandler(CallCErrorHandler,
                                            &g_c_error_handler);
  }
  return previous;
}

// hak_stats is the two header words and the table of core/stats.h, field
// for field: a field missing from either, or out of order, fails here.
#define HAKMEM_STATS_LAYOUT(name)                                         \
  static_assert(offsetof(struct hak_stats, name) ==                       \
                    offsetof(struct hak_stats, os_mapped_bytes) +         \
                        offsetof(hakmem::internal::AllocatorStats, name), \
                "hak_stats and HAKMEM_STATS_FIELDS disagree on " #name);
HAKMEM_STATS_FIELDS(HAKMEM_STATS_LAYOUT)
#undef HAKMEM_STATS_LAYOUT
static_assert(sizeof(struct hak_stats) ==
                  offsetof(struct hak_stats, os_mapped_bytes) +
                      sizeof(hakmem::internal::AllocatorStats),
              "hak_stats has a field that HAKMEM_STATS_FIELDS lacks");

int hak_stats_get(struct hak_stats* out) {
  if (out == nullptr || out->version < 1 || out->version > HAK_STATS_VERSION ||
      out->size < offsetof(struct hak_stats, os_mapped_bytes)) {
    errno = EINVAL;
    return -1;
  }
  hakmem::internal::AllocatorStats s = hakmem::internal::GetAllocatorStats();
  struct hak_stats full;
  full.version = out->version;
  full.size = out->size < sizeof(full) ? out->size : sizeof(full);
#define HAKMEM_STATS_COPY(name) full.name = s.name;
  HAKMEM_STATS_FIELDS(HAKMEM_STATS_COPY)
#undef HAKMEM_STATS_COPY
  // Callers built against an older, shorter struct get its prefix.
  std::memcpy(out, &full, full.size);
  return 0;
}

size_t hak_stats_slabs_per_class(uint64_t* slabs, size_t n) {
  return hakmem::internal::CopySlabsPerClass(slabs, slabs == nullptr ? 0 : n);
}

size_t hak_class_size(size_t cls) {
  return hakmem::internal::SizeClassBlockSize(cls);
}

// hak_heap is an opaque name for hakmem::internal::Arena.
static_assert(sizeof(hakmem::internal::Arena*) == sizeof(hak_heap*), "");

hak_heap* hak_heap_create(void) {
  return reinterpret_cast<hak_heap*>(hakmem::internal::Arena::Create());
}

void* hak_heap_malloc(hak_heap* heap, size_t size) {
  return reinterpret_cast<hakmem::internal::Arena*>(heap)->Alloc(size, 0);
}

void* hak_heap_aligned_alloc(hak_heap* heap, size_t alignment, size_t size) {
  if (alignment == 0) {
    errno = EINVAL;
    return nullptr;
  }
  return reinterpret_cast<hakmem::internal::Arena*>(heap)->Alloc(size,
                                                                 alignment);
}

void hak_heap_free(hak_heap* heap, void* ptr) {
  reinterpret_cast<hakmem::internal::Arena*>(heap)->Free(ptr);
}

void hak_heap_destroy(hak_heap* heap) {
  if (heap != nullptr)
    reinterpret_cast<hakmem::internal::Arena*>(heap)->Destroy();
}

int hak_collect(int force) {
  hakmem::internal::Collect(force != 0);
  return 0;
}

int hak_stats_print(void* out) {
  return hakmem::internal::PrintStats(static_cast<FILE*>(out), /*json=*/false);
}

}  // extern "C"

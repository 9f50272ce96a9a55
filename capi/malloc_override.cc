// The drop-in replacement: malloc, free and the rest of the C allocation
// API, and every C++ operator new/delete, all served by hakmem. The same
// object file makes both libhakmem.so (LD_PRELOAD) and the static override
// library; see BUILD.bazel. Behaviour follows glibc where the standards
// leave room (realloc(p, 0), memalign rounding, error codes).
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <new>

#include "absl/base/optimization.h"
#include "hakmem/core/allocator.h"
#include "hakmem/platform/os_memory.h"

#define HAK_EXPORT extern "C" __attribute__((visibility("default")))

namespace {

using hakmem::internal::kPageSize;

bool IsPowerOfTwo(size_t v) { return v != 0 && (v & (v - 1)) == 0; }

// operator new: retry through the new-handler, then throw (C++ [new.delete]).
void* NewOrThrow(size_t size, size_t alignment) {
  for (;;) {
    void* p = alignment <= 16 ? hakmem::internal::Malloc(size)
                              : hakmem::internal::AlignedAlloc(alignment, size);
    if (ABSL_PREDICT_TRUE(p != nullptr)) return p;
    std::new_handler handler = std::get_new_handler();
    if (handler == nullptr) throw std::bad_alloc();
    handler();
  }
}

void* NewOrNull(size_t size, size_t alignment) noexcept {
  try {
    return NewOrThrow(size, alignment);
  } catch (...) {
    return nullptr;
  }
}

}  // namespace

HAK_EXPORT void* malloc(size_t size) noexcept {
  return hakmem::internal::Malloc(size);
}

HAK_EXPORT void free(void* p) noexcept { hakmem::internal::Free(p); }

HAK_EXPORT void* calloc(size_t count, size_t size) noexcept {
  return hakmem::internal::Calloc(count, size);
}

HAK_EXPORT void* realloc(void* p, size_t size) noexcept {
  return hakmem::internal::Realloc(p, size);
}

HAK_EXPORT void* reallocarray(void* p, size_t count, size_t size) noexcept {
  size_t total;
  if (__builtin_mul_overflow(count, size, &total)) {
    errno = ENOMEM;
    return nullptr;
  }
  return hakmem::internal::Realloc(p, total);
}

HAK_EXPORT int posix_memalign(void** out, size_t alignment,
                              size_t size) noexcept {
  // POSIX: a power of two that is a multiple of sizeof(void*), else EINVAL;
  // errors are returned, *out is left alone and errno is not changed.
  if (!IsPowerOfTwo(alignment) || alignment % sizeof(void*) != 0) {
    return EINVAL;
  }
  int saved = errno;
  void* p = hakmem::internal::AlignedAlloc(alignment, size);
  if (p == nullptr) {
    int error = errno;
    errno = saved;
    return error;
  }
  *out = p;
  return 0;
}

HAK_EXPORT void* aligned_alloc(size_t alignment, size_t size) noexcept {
  // EINVAL for an alignment that is not a power of two (C17, glibc 2.38).
  return hakmem::internal::AlignedAlloc(alignment, size);
}

HAK_EXPORT void* memalign(size_t alignment, size_t size) noexcept {
  // glibc: alignments below 16 are raised, non-powers of two rounded up,
  // and only absurd ones (above SIZE_MAX / 2 + 1) fail with EINVAL.
  if (alignment > SIZE_MAX / 2 + 1) {
    errno = EINVAL;
    return nullptr;
  }
  if (!IsPowerOfTwo(alignment)) {
    alignment =
        alignment <= 16 ? 16 : size_t{1} << (64 - __builtin_clzll(alignment));
  }
  return hakmem::internal::AlignedAlloc(alignment, size);
}

HAK_EXPORT void* valloc(size_t size) noexcept {
  return hakmem::internal::AlignedAlloc(kPageSize, size);
}

HAK_EXPORT void* pvalloc(size_t size) noexcept {
  size_t rounded = (size + kPageSize - 1) & ~(kPageSize - 1);
  if (rounded < size) {
    errno = ENOMEM;
    return nullptr;
  }
  return hakmem::internal::AlignedAlloc(kPageSize,
                                        rounded == 0 ? kPageSize : rounded);
}

HAK_EXPORT size_t malloc_usable_size(void* p) noexcept {
  return hakmem::internal::UsableSize(p);
}

HAK_EXPORT void free_sized(void* p, size_t size) noexcept {
  hakmem::internal::FreeSized(p, size);
}

HAK_EXPORT void free_aligned_sized(void* p, size_t alignment,
                                   size_t size) noexcept {
  hakmem::internal::FreeAlignedSized(p, alignment, size);
}

// --- C++: every replaceable operator new and delete ---

#define HAK_CXX_EXPORT __attribute__((visibility("default")))

HAK_CXX_EXPORT void* operator new(size_t size) { return NewOrThrow(size, 0); }
HAK_CXX_EXPORT void* operator new[](size_t size) { return NewOrThrow(size, 0); }
HAK_CXX_EXPORT void* operator new(size_t size, const std::nothrow_t&) noexcept {
  return NewOrNull(size, 0);
}
HAK_CXX_EXPORT void* operator new[](size_t size,
                                    const std::nothrow_t&) noexcept {
  return NewOrNull(size, 0);
}
HAK_CXX_EXPORT void* operator new(size_t size, std::align_val_t al) {
  return NewOrThrow(size, static_cast<size_t>(al));
}
HAK_CXX_EXPORT void* operator new[](size_t size, std::align_val_t al) {
  return NewOrThrow(size, static_cast<size_t>(al));
}
HAK_CXX_EXPORT void* operator new(size_t size, std::align_val_t al,
                                  const std::nothrow_t&) noexcept {
  return NewOrNull(size, static_cast<size_t>(al));
}
HAK_CXX_EXPORT void* operator new[](size_t size, std::align_val_t al,
                                    const std::nothrow_t&) noexcept {
  return NewOrNull(size, static_cast<size_t>(al));
}

HAK_CXX_EXPORT void operator delete(void* p) noexcept {
  hakmem::internal::Free(p);
}
HAK_CXX_EXPORT void operator delete[](void* p) noexcept {
  hakmem::internal::Free(p);
}
HAK_CXX_EXPORT void operator delete(void* p, const std::nothrow_t&) noexcept {
  hakmem::internal::Free(p);
}
HAK_CXX_EXPORT void operator delete[](void* p, const std::nothrow_t&) noexcept {
  hakmem::internal::Free(p);
}
HAK_CXX_EXPORT void operator delete(void* p, size_t size) noexcept {
  hakmem::internal::FreeSized(p, size);
}
HAK_CXX_EXPORT void operator delete[](void* p, size_t size) noexcept {
  hakmem::internal::FreeSized(p, size);
}
HAK_CXX_EXPORT void operator delete(void* p, std::align_val_t) noexcept {
  hakmem::internal::Free(p);
}
HAK_CXX_EXPORT void operator delete[](void* p, std::align_val_t) noexcept {
  hakmem::internal::Free(p);
}
HAK_CXX_EXPORT void operator delete(void* p, std::align_val_t,
                                    const std::nothrow_t&) noexcept {
  hakmem::internal::Free(p);
}
HAK_CXX_EXPORT void operator delete[](void* p, std::align_val_t,
                                      const std::nothrow_t&) noexcept {
  hakmem::internal::Free(p);
}
HAK_CXX_EXPORT void operator delete(void* p, size_t size,
                                    std::align_val_t al) noexcept {
  hakmem::internal::FreeAlignedSized(p, static_cast<size_t>(al), size);
}
HAK_CXX_EXPORT void operator delete[](void* p, size_t size,
                                      std::align_val_t al) noexcept {
  hakmem::internal::FreeAlignedSized(p, static_cast<size_t>(al), size);
}

#include "hakmem/platform/os_memory.h"

#include <sys/mman.h>

#include <atomic>
#include <cerrno>

#include "hakmem/platform/check.h"

namespace hakmem::internal {
namespace {

std::atomic<uint64_t> g_mapped_bytes{0};
std::atomic<uint64_t> g_mapped_peak_bytes{0};
std::atomic<uint64_t> g_map_calls{0};
std::atomic<uint64_t> g_unmap_calls{0};
std::atomic<uint64_t> g_decommit_calls{0};
std::atomic<uint64_t> g_decommitted_bytes{0};

void AddMapped(size_t bytes) {
  uint64_t now =
      g_mapped_bytes.fetch_add(bytes, std::memory_order_relaxed) + bytes;
  uint64_t peak = g_mapped_peak_bytes.load(std::memory_order_relaxed);
  while (now > peak && !g_mapped_peak_bytes.compare_exchange_weak(
                           peak, now, std::memory_order_relaxed)) {
  }
}

void SubMapped(size_t bytes) {
  g_mapped_bytes.fetch_sub(bytes, std::memory_order_relaxed);
}

// Without MAP_NORESERVE: the kernel's overcommit accounting applies, so a
// request it could never back (malloc of 32 TiB) fails here with ENOMEM
// instead of succeeding and faulting later (capi/hakmem.h says which
// requests fail). The commit charge of memory a program asked for is what
// glibc's malloc incurs too; nothing hakmem maps for itself is large.
void* RawMap(size_t size) {
  g_map_calls.fetch_add(1, std::memory_order_relaxed);
  void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return p == MAP_FAILED ? nullptr : p;
}

void RawUnmap(void* addr, size_t size) {
  g_unmap_calls.fetch_add(1, std::memory_order_relaxed);
  // munmap of a range we mapped can only fail on a corrupted argument.
  if (munmap(addr, size) != 0) {
    FatalError("munmap(%p, %zu) failed (errno %d)", addr, size, errno);
  }
}

}  // namespace

void* OsMapAligned(size_t size, size_t alignment) {
  HAK_DCHECK(size % kPageSize == 0);
  HAK_DCHECK(alignment >= kPageSize && (alignment & (alignment - 1)) == 0);
  if (alignment == kPageSize) {
    void* p = RawMap(size);
    if (p != nullptr) AddMapped(size);
    return p;
  }
  // Over-map, then trim the misaligned head and the tail. The over-map is
  // address space only: nothing is touched, so the trim costs no faults.
  size_t span = size + alignment - kPageSize;
  if (span < size) return nullptr;
  char* raw = static_cast<char*>(RawMap(span));
  if (raw == nullptr) return nullptr;
  uintptr_t start = reinterpret_cast<uintptr_t>(raw);
  uintptr_t aligned = (start + alignment - 1) & ~(uintptr_t{alignment} - 1);
  size_t head = aligned - start;
  size_t tail = span - head - size;
  if (head != 0) RawUnmap(raw, head);
  if (tail != 0) RawUnmap(reinterpret_cast<char*>(aligned) + size, tail);
  AddMapped(size);
  return reinterpret_cast<void*>(aligned);
}

void OsUnmap(void* addr, size_t size) {
  RawUnmap(addr, size);
  SubMapped(size);
}

void* OsRemap(void* addr, size_t old_size, size_t new_size) {
  g_map_calls.fetch_add(1, std::memory_order_relaxed);
  void* p = mremap(addr, old_size, new_size, MREMAP_MAYMOVE);
  if (p == MAP_FAILED) return nullptr;
  if (new_size > old_size) {
    AddMapped(new_size - old_size);
  } else {
    SubMapped(old_size - new_size);
  }
  return p;
}

void OsDecommit(void* addr, size_t size) {
  HAK_DCHECK(reinterpret_cast<uintptr_t>(addr) % kPageSize == 0);
  HAK_DCHECK(size % kPageSize == 0);
  g_decommit_calls.fetch_add(1, std::memory_order_relaxed);
  g_decommitted_bytes.fetch_add(size, std::memory_order_relaxed);
  // Failure leaves the pages committed: wasteful, never incorrect.
  madvise(addr, size, MADV_DONTNEED);
}

OsMemoryStats GetOsMemoryStats() {
  return OsMemoryStats{
      g_mapped_bytes.load(std::memory_order_relaxed),
      g_mapped_peak_bytes.load(std::memory_order_relaxed),
      g_map_calls.load(std::memory_order_relaxed),
      g_unmap_calls.load(std::memory_order_relaxed),
      g_decommit_calls.load(std::memory_order_relaxed),
      g_decommitted_bytes.load(std::memory_order_relaxed),
  };
}

}  // namespace hakmem::internal

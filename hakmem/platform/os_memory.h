// Memory from the OS. Every mapping hakmem makes goes through here, so the
// counts in OsMemoryStats are complete.
#ifndef HAKMEM_PLATFORM_OS_MEMORY_H_
#define HAKMEM_PLATFORM_OS_MEMORY_H_

#include <cstddef>
#include <cstdint>

namespace hakmem::internal {

inline constexpr size_t kPageSize = 4096;

// `size` rounded up to a multiple of kPageSize (wraps to 0 past SIZE_MAX:
// callers that take any size compare the result with the size).
inline constexpr size_t PageRound(size_t size) {
  return (size + kPageSize - 1) & ~(kPageSize - 1);
}

// Maps `size` bytes (a multiple of kPageSize) of zeroed, read-write memory
// whose address is a multiple of `alignment` (a power of two >= kPageSize).
// Over-maps by `alignment` and trims the excess; pages are never touched or
// prefaulted. Returns nullptr when the OS refuses.
void* OsMapAligned(size_t size, size_t alignment);

// Unmaps [addr, addr + size).
void OsUnmap(void* addr, size_t size);

// Resizes a mapping made by OsMapAligned (alignment kPageSize only), moving
// it if needed. Returns the new address or nullptr (the old mapping is then
// unchanged).
void* OsRemap(void* addr, size_t old_size, size_t new_size);

// Gives the physical pages of [addr, addr + size) (page-aligned) back to
// the OS while keeping the mapping: madvise(MADV_DONTNEED), so RSS drops at
// once and the range reads as zeros when next touched. (MADV_FREE would be
// cheaper to reuse but leaves RSS high until the kernel is short of memory,
// which is what users of an allocator complain about.)
void OsDecommit(void* addr, size_t size);

struct OsMemoryStats {
  uint64_t mapped_bytes;
  uint64_t mapped_peak_bytes;
  uint64_t map_calls;
  uint64_t unmap_calls;
  uint64_t decommit_calls;
  uint64_t decommitted_bytes;
};
OsMemoryStats GetOsMemoryStats();

}  // namespace hakmem::internal

#endif  // HAKMEM_PLATFORM_OS_MEMORY_H_

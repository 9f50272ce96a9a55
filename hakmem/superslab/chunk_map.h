// The chunk map answers "is this pointer inside one of hakmem's SuperSlabs?"
// for any address, in O(1), without a syscall and without touching the
// address itself (masking a stack or global pointer to 2 MiB and reading a
// header there could fault).
//
// One byte per 2 MiB chunk of the 47-bit user address space: 64 MiB of
// zero-initialised .bss that the OS backs lazily, so only the pages covering
// chunks hakmem actually mapped are ever touched (one 4 KiB page per 8 GiB).
#ifndef HAKMEM_SUPERSLAB_CHUNK_MAP_H_
#define HAKMEM_SUPERSLAB_CHUNK_MAP_H_

#include <atomic>
#include <cstdint>

#include "absl/base/attributes.h"
#include "hakmem/superslab/superslab.h"

namespace hakmem::internal {

inline constexpr unsigned kAddressBits = 47;
inline constexpr uintptr_t kChunkMapEntries =
    uintptr_t{1} << (kAddressBits - kSuperSlabShift);

inline constexpr uint8_t kChunkUnmapped = 0;
inline constexpr uint8_t kChunkSuperSlab = 1;

extern std::atomic<uint8_t> g_chunk_map[kChunkMapEntries];

// A plain read, so that the compilers fold it into the compare (an atomic
// load, even relaxed, costs a separate instruction on both fast paths). It
// never races with a write that matters: the entry of a chunk that holds a
// block the program has was written before the block was handed out, and
// entries are written only when a SuperSlab is mapped or unmapped.
ABSL_ATTRIBUTE_ALWAYS_INLINE inline uint8_t ChunkMapEntry(uintptr_t chunk) {
  return reinterpret_cast<const uint8_t*>(g_chunk_map)[chunk];
}

ABSL_ATTRIBUTE_ALWAYS_INLINE inline bool InSuperSlab(const void* p) {
  uintptr_t chunk = reinterpret_cast<uintptr_t>(p) >> kSuperSlabShift;
  // Opaque to the optimiser: it would test `p >> 47` instead, a second
  // shift of a second copy of p (two more instructions on every free).
  asm("" : "+r"(chunk));
  return chunk < kChunkMapEntries && ChunkMapEntry(chunk) != kChunkUnmapped;
}

// Whether `next` may follow a block of span `m` on its free list or
// remote-free stack: nullptr, or a carved block start of that span. The
// slow paths that walk one span's list check this stronger form.
inline bool IsSpanLink(const SpanMeta* m, const void* next) {
  return next == nullptr || (InSuperSlab(next) && SpanMetaOf(next) == m &&
                             IsCarvedBlockStart(m, next));
}

// Registration, done by the SuperSlab allocator under its lock.
void ChunkMapSet(const SuperSlab* ss, bool present);

}  // namespace hakmem::internal

#endif  // HAKMEM_SUPERSLAB_CHUNK_MAP_H_

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
inline constexpr uintptr_t kChunkMapEntries = uintptr_t{1}
                                              << (kAddressBits - kSuperSlabShift);

// Entry values. Ordered, so that each question is one compare with memory.
// Chunk 0 is a link end (set by ChunkMapInit) so that nullptr, which ends
// every free list, is a link that may be followed and not a SuperSlab.
inline constexpr uint8_t kChunkUnmapped = 0;
inline constexpr uint8_t kChunkLinkEnd = 1;
inline constexpr uint8_t kChunkSuperSlab = 2;

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
  return chunk < kChunkMapEntries && ChunkMapEntry(chunk) >= kChunkSuperSlab;
}

// Whether `link`, decoded from a free block of an owner list, may become a
// list head: nullptr, or a 16-byte aligned address inside a SuperSlab.
// Checked before the link is stored, so that a corrupted link is reported
// by the pop that decodes it and never followed out of hakmem's SuperSlabs:
// the next pop reads only SuperSlab memory, where the block it finds fails
// its own key check unless it is a free block (free_block.h).
ABSL_ATTRIBUTE_ALWAYS_INLINE inline bool IsFollowableLink(const void* link) {
  uintptr_t a = reinterpret_cast<uintptr_t>(link);
  // The four alignment bits rotated to the top: a misaligned link's chunk
  // index is out of range, so that one bound check tests both.
  uintptr_t chunk = ((a >> 4) | (a << 60)) >> (kSuperSlabShift - 4);
  // Opaque, as in InSuperSlab: the optimiser would test `rotated >> 43`
  // instead of comparing the index, with a copy (one instruction more).
  asm("" : "+r"(chunk));
  return chunk < kChunkMapEntries && ChunkMapEntry(chunk) != kChunkUnmapped;
}

// Whether `next` may follow a block of span `m` on its free list or
// remote-free stack: nullptr, or a carved block start of that span. The
// slow paths that walk one span's list check this stronger form.
inline bool IsSpanLink(const SlabMeta* m, const void* next) {
  return next == nullptr || (InSuperSlab(next) && SpanMetaOf(next) == m &&
                             IsCarvedBlockStart(m, next));
}

// Marks chunk 0 as a link end (for nullptr). Called once, before the
// first block is handed out.
void ChunkMapInit();

// Registration, done by the SuperSlab allocator under its lock.
void ChunkMapSet(const SuperSlab* ss, bool present);

}  // namespace hakmem::internal

#endif  // HAKMEM_SUPERSLAB_CHUNK_MAP_H_

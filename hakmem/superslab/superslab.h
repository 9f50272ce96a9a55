// SuperSlab: a 2 MiB naturally aligned region cut into 32 slabs of 64 KiB.
//
// The region starts with its header, which holds the metadata of all its
// slabs, so a pointer finds its slab's metadata by arithmetic alone:
// SuperSlab = ptr & ~(2 MiB - 1), slab index = (ptr >> 16) & 31.
// SuperSlabs are shared by all size classes: a span of 1..16 contiguous
// slabs takes its class when it is carved (tiny classes use one slab, pool
// classes several), and goes back to the SuperSlab when it is empty.
//
// Whether an arbitrary pointer lies in a SuperSlab at all is answered by the
// chunk map (chunk_map.h) before anything here is dereferenced.
#ifndef HAKMEM_SUPERSLAB_SUPERSLAB_H_
#define HAKMEM_SUPERSLAB_SUPERSLAB_H_

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "absl/base/attributes.h"
#include "hakmem/superslab/free_block.h"

namespace hakmem::internal {

inline constexpr unsigned kSuperSlabShift = 21;
inline constexpr size_t kSuperSlabSize = size_t{1} << kSuperSlabShift;
inline constexpr unsigned kSlabShift = 16;
inline constexpr size_t kSlabSize = size_t{1} << kSlabShift;
inline constexpr unsigned kSlabsPerSuperSlab = kSuperSlabSize / kSlabSize;
// The header (slab bitmaps, list links, 32 slab metadata records) fills the
// start of slab 0, which therefore holds fewer blocks.
inline constexpr size_t kSuperSlabHeaderSize = 8192;

// Owner token of a slab nobody owns: free, or abandoned by an exited thread.
// Thread heaps get tokens 1, 2, 3, ...; a thread whose heap is not set up
// has token 0. Neither ever equals kNoOwner.
inline constexpr uint64_t kNoOwner = ~uint64_t{0};

enum class SlabList : uint8_t {
  kNone,       // free slab, a span tail, or the owner's current slab
  kAvailable,  // owned; has blocks on its free list or room to carve
  kFull,       // owned; nothing to hand out unless remote frees arrived
  kAbandoned,  // its owner exited; waits for adoption
};

// Per-slab metadata. Only the metadata of a span's first slab (the head) is
// used for blocks; a tail slab records how far back its head is.
struct alignas(64) SlabMeta {
  // --- Read by every free. Written when the span is carved, adopted or
  // released, and `carved` on refills: rarely.
  std::atomic<uint64_t> owner;  // thread heap token, or kNoOwner
  SlabMeta* head;   // the span's first slab's metadata (itself for a head)
  uintptr_t start;  // address of block 0
  // ceil(2^64 / block_size): offset is a multiple of block_size exactly
  // when offset * divisor_magic (mod 2^64) < divisor_magic, for offsets
  // below 2^32 (Lemire, Kaser and Kurz, "Faster remainder by direct
  // computation", 2019).
  uint64_t divisor_magic;
  uint32_t block_size;
  uint32_t capacity;  // blocks that fit in the span
  // Blocks bump-carved so far, and the same in bytes (only grow while the
  // span lives). Atomic because remote frees read them to validate
  // pointers; set together with SetCarved.
  std::atomic<uint32_t> carved;
  std::atomic<uint32_t> carved_bytes;
  uint8_t size_class;
  uint8_t span_slabs;  // head: slabs in the span; free slab: 0
  SlabList list;

  // --- Written by remote frees, and owner-only state that the owner
  // touches only on refills and spills: kept off the line every free reads.
  alignas(64) std::atomic<FreeBlock*> remote_head;
  FreeBlock* free_list;
  uint32_t used;  // blocks out of the slab: live, cached or remote-pending
  uint32_t free_count;  // blocks on free_list
  SlabMeta* prev;
  SlabMeta* next;
};

static_assert(sizeof(SlabMeta) == 128, "two cache lines per slab");

struct SuperSlab {
  uint32_t free_slabs;   // bit i set: slab i is free
  uint32_t dirty_slabs;  // bit i set: free slab i may hold committed pages
  SuperSlab* prev;
  SuperSlab* next;
  alignas(64) SlabMeta slabs[kSlabsPerSuperSlab];
};
static_assert(sizeof(SuperSlab) <= kSuperSlabHeaderSize,
              "SuperSlab header overflows its reserved space");

ABSL_ATTRIBUTE_ALWAYS_INLINE inline SuperSlab* SuperSlabOf(const void* p) {
  return reinterpret_cast<SuperSlab*>(reinterpret_cast<uintptr_t>(p) &
                                      ~(kSuperSlabSize - 1));
}

// The metadata of the span holding `p` (p must be inside a SuperSlab).
ABSL_ATTRIBUTE_ALWAYS_INLINE inline SlabMeta* SpanMetaOf(const void* p) {
  uintptr_t a = reinterpret_cast<uintptr_t>(p);
  return SuperSlabOf(p)
      ->slabs[(a >> kSlabShift) & (kSlabsPerSuperSlab - 1)]
      .head;
}

ABSL_ATTRIBUTE_ALWAYS_INLINE inline uint32_t SlabIndexOf(const SlabMeta* m) {
  return static_cast<uint32_t>(m - SuperSlabOf(m)->slabs);
}

// Whether `p` is the start of a block carved from the span (not an
// interior pointer, not past the carved part): one compare with the carved
// bytes and one multiply-compare for divisibility. The first bounds the
// offset below 2^21, where the divisibility test is exact.
ABSL_ATTRIBUTE_ALWAYS_INLINE inline bool IsCarvedBlockStart(const SlabMeta* m,
                                                            const void* p) {
  uint64_t offset = reinterpret_cast<uintptr_t>(p) - m->start;
  return offset < m->carved_bytes.load(std::memory_order_relaxed) &&
         offset * m->divisor_magic < m->divisor_magic;
}

inline void SetCarved(SlabMeta* m, uint32_t blocks) {
  m->carved.store(blocks, std::memory_order_relaxed);
  m->carved_bytes.store(blocks * m->block_size, std::memory_order_relaxed);
}

}  // namespace hakmem::internal

#endif  // HAKMEM_SUPERSLAB_SUPERSLAB_H_

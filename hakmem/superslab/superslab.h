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
#include "hakmem/platform/check.h"
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
// Thread caches get tokens 1, 2, 3, ...; a thread whose cache is not set up
// has token 0. Neither ever equals kNoOwner or kClaimedOwner.
inline constexpr uint64_t kNoOwner = ~uint64_t{0};
// Owner token (in the head only) of an abandoned span that one thread works
// on for a moment: whoever moves the head's owner from kNoOwner to another
// token with a compare-and-swap has the span's owner-only state to itself
// (see TryClaimSpan in span.h and FreeIntoAbandonedSpan in span_allocator.cc).
inline constexpr uint64_t kClaimedOwner = kNoOwner - 1;

enum class SlabList : uint8_t {
  kNone,       // free slab, a span tail, or the owner's current slab
  kAvailable,  // owned; has blocks on its free list or room to carve
  kFull,       // owned; nothing to hand out unless remote frees arrived
  kAbandoned,  // its owner exited; waits for adoption
  kArena,      // owned by a hak_heap_* arena, on its queue
};

// A span's metadata: one record per slab, of which the span's first slab's
// (the head) holds the span's state; each tail slab's record points to the
// head and mirrors the head's fields that a free reads (the first group
// below), so that a free finds them from the block's own slab by arithmetic
// alone (MirroredSpanMetaOf), in whichever slab of the span the block
// starts. A free slab's record is a span of one, with no class. Only the
// span module (span.h) writes these fields, and it keeps the mirrors.
struct alignas(64) SpanMeta {
  // --- Read by every free. Written when the span is carved, adopted or
  // released, and `carved` on refills: rarely. Mirrored in the tails,
  // except `head` and `capacity`.
  std::atomic<uint64_t> owner;  // thread cache token, or kNoOwner
  SpanMeta* head;   // the span's first slab's metadata (itself for a head)
  uintptr_t start;  // address of block 0
  // For block_size = odd << shift: odd^-1 (mod 2^64) << (kBlockStartRotate
  // - shift). See IsCarvedBlockStart.
  uint64_t block_multiplier;
  // Blocks bump-carved so far (only grows while the span lives). Atomic
  // because remote frees read it to validate pointers; 64 bits so that the
  // free path compares with it in one instruction.
  std::atomic<uint64_t> carved;
  uint32_t block_size;
  uint32_t capacity;  // blocks that fit in the span
  uint8_t size_class;
  uint8_t span_slabs;  // head: slabs in the span; free slab: 0
  SlabList list;

  // --- Written by remote frees, and owner-only state that the owner
  // touches only on refills and spills: kept off the line every free reads.
  alignas(64) std::atomic<FreeBlock*> remote_head;
  FreeBlock* free_list;
  uint32_t used;  // blocks out of the slab: live, cached or remote-pending
  uint32_t free_count;  // blocks on free_list
  SpanMeta* prev;
  SpanMeta* next;
  // Threads holding a batch of frees into the span not yet pushed (span.h,
  // PinSpan): while any do, the span is not released.
  std::atomic<uint32_t> pins;
  // Adopted (AdoptClaimedSpan, span.h), and nothing taken from it since:
  // its free list is the one the thread that abandoned it left.
  bool inherited_list;
};

static_assert(sizeof(SpanMeta) == 128, "two cache lines per slab");

struct SuperSlab {
  // First, so that a slab's metadata is the SuperSlab's address plus an
  // offset taken from the pointer's bits (MirroredSpanMetaOf), with no constant
  // to add.
  SpanMeta slabs[kSlabsPerSuperSlab];
  uint32_t free_slabs;   // bit i set: slab i is free
  uint32_t dirty_slabs;  // bit i set: free slab i may hold committed pages
  // bit i set: free slab i was decommitted (not merely never touched)
  uint32_t decommitted_slabs;
  SuperSlab* prev;
  SuperSlab* next;
};
static_assert(offsetof(SuperSlab, slabs) == 0, "");
static_assert(sizeof(SuperSlab) <= kSuperSlabHeaderSize,
              "SuperSlab header overflows its reserved space");

ABSL_ATTRIBUTE_ALWAYS_INLINE inline SuperSlab* SuperSlabOf(const void* p) {
  return reinterpret_cast<SuperSlab*>(reinterpret_cast<uintptr_t>(p) &
                                      ~(kSuperSlabSize - 1));
}

// The metadata of the span holding `p` (p must be inside a SuperSlab).
ABSL_ATTRIBUTE_ALWAYS_INLINE inline SpanMeta* SpanMetaOf(const void* p) {
  uintptr_t a = reinterpret_cast<uintptr_t>(p);
  return SuperSlabOf(p)
      ->slabs[(a >> kSlabShift) & (kSlabsPerSuperSlab - 1)]
      .head;
}

// The span metadata recorded in the slab holding `p` (inside a SuperSlab),
// without a load: the head's own when the slab heads the span, a tail's
// mirror of the fields a free reads otherwise.
ABSL_ATTRIBUTE_ALWAYS_INLINE inline SpanMeta* MirroredSpanMetaOf(
    const void* p) {
  // The index times sizeof(SpanMeta) straight from the address bits: one
  // shift and one mask, where the index and a multiply take three.
  static_assert(sizeof(SpanMeta) == size_t{1} << 7, "");
  uintptr_t a = reinterpret_cast<uintptr_t>(p);
  uintptr_t offset = (a >> (kSlabShift - 7)) & ((kSlabsPerSuperSlab - 1) << 7);
  return reinterpret_cast<SpanMeta*>(
      reinterpret_cast<char*>(SuperSlabOf(p)->slabs) + offset);
}

ABSL_ATTRIBUTE_ALWAYS_INLINE inline uint32_t SlabIndexOf(const SpanMeta* m) {
  return static_cast<uint32_t>(m - SuperSlabOf(m)->slabs);
}

// Whether `p` is the start of a block carved from the span (not an
// interior pointer, not past the carved part), in one multiply, one rotate
// by a constant and one compare. `p` must lie within 2^39 bytes of the
// span's start (any pointer into its SuperSlab does).
//
// Write block_size = d << k (d odd), R = kBlockStartRotate (>= k), and
// offset = p - start. With m = d^-1 mod 2^64, offset * m mod 2^(64-R+k) is
// offset / d when d divides offset, and at least 2^(64-R+k) / d otherwise
// (Granlund and Montgomery, "Division by invariant integers using
// multiplication", 1994, section 9); for |offset| < 2^(63-R) only the
// multiples of d come out below that. block_multiplier = m << (R - k)
// moves that residue to the top of the product, so after a rotate right by
// R the low k bits of the residue (zero only when 2^k divides it too) land
// in the top bits and the rest is offset / block_size: the result is below
// `carved` exactly when offset is a carved block's. Negative offsets (below
// the start) wrap to residues no block count reaches either. A rotate by a
// constant is one micro-op, a rotate by a per-span shift in CL two, plus
// the load of the shift.
inline constexpr unsigned kBlockStartRotate = 24;

ABSL_ATTRIBUTE_ALWAYS_INLINE inline bool IsCarvedBlockStart(const SpanMeta* m,
                                                            const void* p) {
  uint64_t x =
      (reinterpret_cast<uintptr_t>(p) - m->start) * m->block_multiplier;
  uint64_t index = (x >> kBlockStartRotate) | (x << (64 - kBlockStartRotate));
  return index < m->carved.load(std::memory_order_relaxed);
}

// The slabs of the span headed by `head` (itself only, for a free slab).
inline unsigned SlabsOfSpan(const SpanMeta* head) {
  return head->span_slabs > 1 ? head->span_slabs : 1;
}

}  // namespace hakmem::internal

#endif  // HAKMEM_SUPERSLAB_SUPERSLAB_H_

// Injected memory errors and the reports hakmem must make for them.
//
// Each injection does one erroneous call inside an ErrorWindow and checks
// that exactly one report came, of the expected kind, naming the pointer,
// the tier and class where they are certain, and the erring thread; and
// that the erroneous call did nothing (the model is unchanged, and its
// blocks are intact). Injections that would not be errors are skipped or
// done as valid operations:
//   - a freed pointer that is live again (hakmem reused the block) is not
//     freed again;
//   - a "wrong" size that in fact matches the block frees it validly.
//
// How precise the expected report is (see heap_model.h for witnesses):
//   - second free of a slab block whose witness is live: DOUBLE_FREE with
//     its tier and class; of a large block with no allocation since its
//     free: INVALID_FREE; otherwise the span or mapping may have been
//     reused, and DOUBLE_FREE, INTERIOR_FREE or INVALID_FREE are accepted;
//   - a pointer into a live block: INTERIOR_FREE (slab) or INVALID_FREE
//     (large), INVALID_POINTER for realloc / usable_size;
//   - pointers hakmem never returned: INVALID_FREE / INVALID_POINTER;
//   - a sized free with a size of another class (or a page count outside
//     [mapped / 2, mapped]): SIZE_MISMATCH;
//   - a freed slab block whose first 16 bytes are overwritten, then
//     allocations of its class until hakmem pops it: CORRUPTED_FREE_LIST,
//     and hakmem never hands that block out.
//
// Arena blocks (heap_model.h) take part in all of the above: hak_free and
// the sized frees are valid for them from any thread. An arena never gives
// a span back before it is destroyed, so the second free of a slab block of
// a live arena is exactly DOUBLE_FREE, as with a witness; a block of a
// destroyed arena is like a freed block whose span may have been reused.
// Arena injections (arena_injection.cc), by the arena's owner thread:
//   - hak_heap_free of a freed block: DOUBLE_FREE (tier "arena") if it was
//     a slab block of that arena and the arena lives; else WRONG_HEAP
//     (tier "arena", class -1) where its memory cannot belong to that arena
//     now (a live arena or a live witness holds its span, or nothing was
//     allocated since); else WRONG_HEAP, DOUBLE_FREE or INTERIOR_FREE;
//   - hak_heap_free of a live block of another arena or of none, or of a
//     pointer into any live block: WRONG_HEAP; a pointer into a slab block
//     of that very arena: INTERIOR_FREE (tier "arena"). The block stays
//     live and intact;
//   - hak_heap_free of a pointer hakmem never returned: WRONG_HEAP;
//   - a freed block on an arena span's free list overwritten, then
//     hak_heap_malloc of its class until the arena pops it:
//     CORRUPTED_FREE_LIST (tier "arena"); never handed out until the arena
//     is destroyed.
// (The header lists the tiers "tiny", "pool", "large", "superslab" and
// "unknown"; hakmem's arena reports name "arena", which these oracles
// expect.)
//
// Encoding: an opcode byte (taken % kNumInjections), then:
//   0 double free   freed byte (0: the most recent free), api byte
//   1 interior      block byte, offset u32, api byte
//   2 foreign       source byte (stack, global, system malloc, above 2^47,
//                   below 64 KiB, a reserved PROT_NONE region), offset u32,
//                   api byte
//   3 stale use     freed byte, use byte (realloc / usable_size), size
//   4 wrong size    block byte, alignment byte (odd: none), size
//   5 corruption    freed byte, mode byte, value u64 (only if enabled)
// where "api" is one of hak_free, hak_free_sized, hak_free_aligned_sized,
// hak_realloc(p, 0), hak_realloc(p, n), hak_usable_size.
//
// Arena injections, an opcode byte (taken % kNumArenaInjections), then:
//   0 heap double free   freed byte, heap byte (% 4: arena slot 0-2, or 3:
//                        the block's own arena if it lives, else slot 0)
//   1 heap free of live  block byte, heap byte (% 3: arena slot), offset
//                        u32 (0: the block's start, else a pointer into it)
//   2 heap free foreign  source byte (as for 2 above), offset u32, heap byte
//   3 arena corruption   freed byte, mode byte, value u64 (only if enabled)
// An arena slot without an arena gets one (a valid operation) first.
#ifndef HAKMEM_FUZZ_ERROR_INJECTION_H_
#define HAKMEM_FUZZ_ERROR_INJECTION_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "fuzz/byte_reader.h"
#include "fuzz/heap_model.h"

namespace fuzz {

inline constexpr uint8_t kNumInjections = 6;
inline constexpr uint8_t kNumArenaInjections = 4;

class ErrorInjector {
 public:
  // Corrupting freed blocks is only meaningful where the erring thread owns
  // their spans (the single-threaded fuzzer): enable it there.
  ErrorInjector(HeapModel& heap, bool corruption)
      : heap_(heap), corruption_(corruption) {}

  // Decodes one injection and does it as thread slot `slot`.
  void Run(uint8_t opcode, ByteReader& in, int slot);
  // Decodes one arena injection and does it as thread slot `slot`, on the
  // arenas that slot created.
  void RunArena(uint8_t opcode, ByteReader& in, int slot);

 private:
  void DoubleFree(ByteReader& in);
  void Interior(ByteReader& in);
  void Foreign(ByteReader& in);
  void StaleUse(ByteReader& in);
  void WrongSize(ByteReader& in, int slot);
  void Corrupt(ByteReader& in, int slot);
  // arena_injection.cc
  void HeapDoubleFree(ByteReader& in, int slot);
  void HeapFreeLive(ByteReader& in, int slot);
  void HeapFreeForeign(ByteReader& in, int slot);
  void ArenaCorrupt(ByteReader& in, int slot);
  // Shared by Corrupt and ArenaCorrupt: writes `mode`/`value` over freed
  // block `f` (whose free state is then gone), then calls `allocate` (a new
  // model index of f's class) until hakmem reports f's free list
  // corrupted: exactly once, before any allocation returns f, and within
  // `limit` bytes of allocations. Returns the blocks taken meanwhile.
  std::vector<void*> CorruptUntilReported(const FreedBlock& f, uint8_t mode,
                                          uint64_t value, const char* tier,
                                          size_t limit,
                                          const std::function<long()>& allocate,
                                          const char* what);

  HeapModel& heap_;
  bool corruption_;
};

// Shared by the injection files.

// A pointer hakmem never returned, from `source` % 6 (stack, global, system
// malloc, above 2^47, below 64 KiB, a reserved PROT_NONE region) at
// `offset`. `stack` is the caller's buffer for the stack source; a system
// malloc block is stored in *from_system for the caller to free.
char* ForeignPointer(uint8_t source, uint32_t offset, char (&stack)[64],
                     void** from_system);

// Overwrites the first 16 bytes of the freed slab block at `p` (mode % 5:
// zeroed, a pointer over the link, key changed, even data over the link,
// both) so that hakmem's pop check must catch it. `other` is a pointer to
// store for mode 1.
void WriteCorruption(void* p, uint8_t mode, uint64_t value, void* other);

// Bytes hakmem maps now (hak_stats).
uint64_t MappedBytes();

// Freed blocks are corrupted only while hakmem maps less than this: each
// detected corruption leaks the rest of a thread cache or span free list
// (by design), and a long campaign must not run out of memory.
inline constexpr uint64_t kCorruptionMappedLimit = uint64_t{512} << 20;

}  // namespace fuzz

#endif  // HAKMEM_FUZZ_ERROR_INJECTION_H_

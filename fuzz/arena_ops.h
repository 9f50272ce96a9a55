// Decodes one valid arena operation (hak_heap_*) from the input and runs it
// on the model as thread slot `holder`, which only uses the arenas it
// created itself (an arena belongs to its creating thread). Reached
// through RunValidOp (valid_ops.h), so every fuzzer that runs valid
// operations interleaves these with the ordinary ones.
//
// Encoding: an arena opcode (taken % kNumArenaOps), then its arguments,
// where "slot" is an arena slot byte (% HeapModel::kMaxArenas; an empty
// slot gets a new arena first):
//   0 (re-)create   slot: destroys the arena there (blocks inside), creates
//                   a new one
//   1 heap malloc   slot, size
//   2 heap aligned  slot, alignment byte, size
//   3 heap free     block byte (among the holder's arenas' blocks):
//                   hak_heap_free
//   4 destroy       slot: with every block still in it (none if empty)
//   5 alloc burst   slot, count byte (1..64), size
//   6 free burst    slot, count byte (1..64), mode byte: bit 0 hak_free
//                   (remote free into the arena's span) instead of
//                   hak_heap_free, bit 1 oldest first instead of newest
//   7 failure contract: slot, which byte: hak_heap_malloc /
//                   hak_heap_aligned_alloc beyond PTRDIFF_MAX (NULL,
//                   ENOMEM), alignment 48 or 0 (NULL, EINVAL),
//                   hak_heap_free(heap, NULL)
//   8 ordinary free block byte (among arena blocks the holder holds), api
//                   byte, variant u16: as valid op 4 (hak_free, sized frees,
//                   realloc(p, 0) are valid for any block, from any thread)
// where "size" is size_model.h's DecodeSize encoding.
#ifndef HAKMEM_FUZZ_ARENA_OPS_H_
#define HAKMEM_FUZZ_ARENA_OPS_H_

#include <cstdint>

#include "fuzz/byte_reader.h"
#include "fuzz/heap_model.h"

namespace fuzz {

inline constexpr uint8_t kNumArenaOps = 9;

void RunArenaOp(uint8_t opcode, ByteReader& in, HeapModel& heap, int holder);

}  // namespace fuzz

#endif  // HAKMEM_FUZZ_ARENA_OPS_H_

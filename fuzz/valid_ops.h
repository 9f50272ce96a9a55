// Decodes one valid operation from the input and runs it on the model as
// thread slot `holder` (which allocates the blocks and picks among its own).
// Shared by all three fuzzers.
//
// Encoding: an opcode byte, then its arguments. Opcodes 140..159 are arena
// operations (arena_ops.h, opcode - 140); the others are taken
// % kNumValidOps:
//   0 malloc        size
//   1 calloc        count byte (255: an overflowing product), size
//   2 realloc       block byte, size (block 255: realloc(NULL, size))
//   3 aligned alloc alignment byte, size
//   4 free          block byte, api byte (hak_free, sized, aligned sized,
//                   realloc(p, 0)), variant u16 (which valid size)
//   5 verify        block byte (contents and usable size, then a new
//                   pattern)
//   6 alloc burst   count byte (1..64), size: that many blocks of one size
//   7 free burst    count byte (1..64), order byte (newest first, oldest
//                   first, every other)
//   8 failure contract: which byte: malloc/calloc/realloc beyond PTRDIFF_MAX
//                   (NULL, ENOMEM), aligned alloc with a bad alignment
//                   (NULL, EINVAL), free/usable_size/sized free of NULL
//   9 collect       force byte: hak_collect(force % 2)
// where "size" is size_model.h's DecodeSize encoding. (140..159 used to be
// aliases of 0..9: inputs written before arenas keep their meaning unless
// they use them; hand-made seeds use 0..9.)
//
// Arena blocks are picked by every operation above like any other block,
// except realloc: the header leaves open whether a reallocated arena block
// stays in its arena, so realloc of one is done as realloc(NULL, size).
#ifndef HAKMEM_FUZZ_VALID_OPS_H_
#define HAKMEM_FUZZ_VALID_OPS_H_

#include <cstdint>

#include "fuzz/byte_reader.h"
#include "fuzz/heap_model.h"

namespace fuzz {

inline constexpr uint8_t kNumValidOps = 10;
inline constexpr uint8_t kFirstArenaOpcode = 140;
inline constexpr uint8_t kNumArenaOpcodes = 20;

void RunValidOp(uint8_t opcode, ByteReader& in, HeapModel& heap, int holder);

}  // namespace fuzz

#endif  // HAKMEM_FUZZ_VALID_OPS_H_

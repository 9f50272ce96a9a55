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
#ifndef HAKMEM_FUZZ_ERROR_INJECTION_H_
#define HAKMEM_FUZZ_ERROR_INJECTION_H_

#include <cstdint>

#include "fuzz/byte_reader.h"
#include "fuzz/heap_model.h"

namespace fuzz {

inline constexpr uint8_t kNumInjections = 6;

class ErrorInjector {
 public:
  // Corrupting freed blocks is only meaningful where the erring thread owns
  // their spans (the single-threaded fuzzer): enable it there.
  ErrorInjector(HeapModel& heap, bool corruption)
      : heap_(heap), corruption_(corruption) {}

  // Decodes one injection and does it as thread slot `slot`.
  void Run(uint8_t opcode, ByteReader& in, int slot);

 private:
  void DoubleFree(ByteReader& in);
  void Interior(ByteReader& in);
  void Foreign(ByteReader& in);
  void StaleUse(ByteReader& in);
  void WrongSize(ByteReader& in, int slot);
  void Corrupt(ByteReader& in, int slot);

  HeapModel& heap_;
  bool corruption_;
};

}  // namespace fuzz

#endif  // HAKMEM_FUZZ_ERROR_INJECTION_H_

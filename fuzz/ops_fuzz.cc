// ops_fuzz: valid operation sequences on hakmem's C ABI.
//
// The input is a sequence of operations (valid_ops.h): malloc, calloc,
// realloc, aligned alloc, free and sized frees of sizes across all tiers,
// bursts, and the failure contract; interleaved with operations on up to
// three arenas (arena_ops.h): create, hak_heap_malloc and
// hak_heap_aligned_alloc, hak_heap_free, remote frees into them, destroy
// with live blocks inside, re-create. Every block holds a pattern of its own
// that is checked before it is freed or reallocated; every result is
// checked against the model (heap_model.h); after each operation the
// thread's cache must pass hakmem::internal::CheckThreadCache(); and hakmem
// must report no error at all (error_log.h aborts on any report). Everything is
// freed, and every arena destroyed, at the end of each input.
//
// Built a second time as ops_guarded_fuzz, with FUZZ_GUARD_RATE defined:
// HAKMEM_GUARD_RATE is set to it, so that about one in that many blocks
// that refills hand out comes from the guarded pool (hakmem/guard/), and
// the same oracles hold for those (heap_model.cc: usable sizes and
// placement of guarded blocks, guarded_blocks.h).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "fuzz/byte_reader.h"
#include "fuzz/error_log.h"
#include "fuzz/fuzz_support.h"
#include "fuzz/heap_model.h"
#include "fuzz/valid_ops.h"

namespace {

constexpr int kMaxOps = 512;

}  // namespace

#define FUZZ_STRINGIFY_(x) #x
#define FUZZ_STRINGIFY(x) FUZZ_STRINGIFY_(x)

extern "C" int LLVMFuzzerInitialize(int*, char***) {
#ifdef FUZZ_GUARD_RATE
  // ops_guarded_fuzz (BUILD.bazel): the same operations with guarded
  // sampling on, set before hakmem reads its configuration (at its first
  // allocation), unless the environment sets a rate already.
  setenv("HAKMEM_GUARD_RATE", FUZZ_STRINGIFY(FUZZ_GUARD_RATE), 0);
#endif
  fuzz::InstallErrorLog();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::ByteReader in(data, size);
  fuzz::HeapModel heap;
  for (int op = 0; op < kMaxOps && !in.empty(); ++op) {
    uint8_t opcode = in.Byte();
    fuzz::RunValidOp(opcode, in, heap, /*holder=*/-1);
    char where[48];
    std::snprintf(where, sizeof(where), "operation %d (opcode %u)", op, opcode);
    fuzz::CheckHeap(where);
  }
  heap.FreeAll(-1);
  heap.DestroyArenas(-1);
  fuzz::CheckHeap("freeing every block");
  return 0;
}

// double_free_fuzz: a valid operation sequence with injected memory errors
// (error_injection.h): double frees of tiny, pool and large blocks at any
// distance from their free, pointers into blocks, pointers hakmem never
// returned, realloc and usable_size of freed blocks, sized frees with wrong
// sizes, and writes into freed blocks followed by allocations until hakmem
// pops them; and on arenas (hak_heap_*): double hak_heap_free, hak_heap_free
// of another heap's block, of an ordinary block, of interior and foreign
// pointers, hak_free of blocks of destroyed arenas, writes into freed arena
// blocks followed by hak_heap_malloc until the arena pops them. Every
// injected error must be reported exactly once with the
// expected kind; no valid operation may be reported; the model's blocks
// stay intact and the heap passes CheckThreadCache() after every step.
//
// FUZZ_NO_CORRUPTION=1 turns the writes into freed blocks off (e.g. for a
// campaign while a known bug on that path is being fixed).
//
// Thread caches are kept small (HAKMEM_TCACHE_BYTES=4K unless set), so
// that freed blocks often go back to their spans and spans get released
// and re-carved: the paths where double frees are hardest to catch.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "fuzz/byte_reader.h"
#include "fuzz/error_injection.h"
#include "fuzz/error_log.h"
#include "fuzz/fuzz_support.h"
#include "fuzz/heap_model.h"
#include "fuzz/valid_ops.h"

namespace {

constexpr int kMaxOps = 512;
// Opcodes below this are valid operations (arena operations among them),
// the others injections; from kFirstArenaInjection on arena injections
// (232..255 used to be aliases of the first six injections).
constexpr uint8_t kFirstInjection = 160;
constexpr uint8_t kFirstArenaInjection = 232;

bool g_corruption = true;

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  setenv("HAKMEM_TCACHE_BYTES", "4K", /*overwrite=*/0);
  g_corruption = getenv("FUZZ_NO_CORRUPTION") == nullptr;
  fuzz::InstallErrorLog();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::ByteReader in(data, size);
  fuzz::HeapModel heap;
  fuzz::ErrorInjector inject(heap, g_corruption);
  for (int op = 0; op < kMaxOps && !in.empty(); ++op) {
    uint8_t opcode = in.Byte();
    if (opcode < kFirstInjection) {
      fuzz::RunValidOp(opcode, in, heap, /*holder=*/-1);
    } else if (opcode < kFirstArenaInjection) {
      inject.Run(opcode - kFirstInjection, in, /*slot=*/-1);
    } else {
      inject.RunArena(opcode - kFirstArenaInjection, in, /*slot=*/-1);
    }
    char where[48];
    std::snprintf(where, sizeof(where), "operation %d (opcode %u)", op, opcode);
    fuzz::CheckHeap(where);
  }
  heap.FreeAll(-1);
  heap.DestroyArenas(-1);
  fuzz::CheckHeap("freeing every block");
  return 0;
}

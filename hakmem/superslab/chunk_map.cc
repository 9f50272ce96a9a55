#include "hakmem/superslab/chunk_map.h"

namespace hakmem::internal {

std::atomic<uint8_t> g_chunk_map[kChunkMapEntries];

void ChunkMapSet(const SuperSlab* ss, bool present) {
  uintptr_t chunk = reinterpret_cast<uintptr_t>(ss) >> kSuperSlabShift;
  g_chunk_map[chunk].store(present ? kChunkSuperSlab : kChunkUnmapped,
                           std::memory_order_release);
}

}  // namespace hakmem::internal

// The per-slab remote-free stack: a lock-free multi-producer stack that
// other threads push freed blocks onto and the owner takes whole with one
// exchange. Taking the whole stack (never popping single nodes) is what makes
// it immune to ABA.
#ifndef HAKMEM_SUPERSLAB_REMOTE_FREE_STACK_H_
#define HAKMEM_SUPERSLAB_REMOTE_FREE_STACK_H_

#include <atomic>

#include "hakmem/superslab/superslab.h"

namespace hakmem::internal {

inline void RemoteFreePush(SlabMeta* m, FreeBlock* block) {
  FreeBlock* head = m->remote_head.load(std::memory_order_relaxed);
  uint64_t key = FreeKey(block);
  do {
    SetEncodedLink(block, head, key);
  } while (!m->remote_head.compare_exchange_weak(
      head, block, std::memory_order_release, std::memory_order_relaxed));
}

// Takes every block pushed so far; nullptr when there were none.
inline FreeBlock* RemoteFreeTakeAll(SlabMeta* m) {
  if (m->remote_head.load(std::memory_order_relaxed) == nullptr) {
    return nullptr;
  }
  return m->remote_head.exchange(nullptr, std::memory_order_acquire);
}

// Moves the span's remote frees onto its free list (owner, or the span
// allocator for abandoned spans). Links are encoded as in the owner's lists
// (free_block.h), and each is validated before it is followed (intact key,
// aligned, a carved block of this span): a block written to after its
// remote free is reported and, with the rest of that stack, leaked (left
// counted in `used`) rather than trusted or handed out.
void DrainRemoteFrees(SlabMeta* m);

}  // namespace hakmem::internal

#endif  // HAKMEM_SUPERSLAB_REMOTE_FREE_STACK_H_

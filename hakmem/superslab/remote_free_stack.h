// The per-slab remote-free stack: a lock-free multi-producer stack that
// other threads push freed blocks onto and the owner takes whole with one
// exchange. Taking the whole stack (never popping single nodes) is what makes
// it immune to ABA.
#ifndef HAKMEM_SUPERSLAB_REMOTE_FREE_STACK_H_
#define HAKMEM_SUPERSLAB_REMOTE_FREE_STACK_H_

#include <atomic>

#include "hakmem/error/memory_error.h"
#include "hakmem/superslab/superslab.h"

namespace hakmem::internal {

// Links on a remote-free stack are encoded with the block's free key xor
// kRemoteLinkTag, links on an owner list (thread cache, span free list)
// with the key itself: the two encodings of a link differ in bit 1, so a
// link that the other kind of list wrote decodes misaligned. That is how a
// block that two racing frees both took is recognised when it is met
// later. The owner's free checks and sets the free key with plain loads
// and stores (an atomic read-modify-write there would cost every free
// ~20 cycles), so when the owner and another thread free one block at the
// same instant, both can pass; the block is then on the owner's list and on
// the remote-free stack at once, its link written by whichever came last.
// Neither list hands it out again: the list whose link it does not carry
// reports it as a double free when it reaches it (BrokenLinkError).
inline constexpr uint64_t kRemoteLinkTag = 2;

inline uint64_t RemoteLinkKey(uint64_t key) { return key ^ kRemoteLinkTag; }

inline void RemoteFreePush(SlabMeta* m, FreeBlock* block) {
  FreeBlock* head = m->remote_head.load(std::memory_order_relaxed);
  uint64_t link_key = RemoteLinkKey(FreeKey(block));
  do {
    SetEncodedLink(block, head, link_key);
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

// What to report for free block `b`, whose link or key failed the check of
// the list it was found on (a remote-free stack when `on_remote_stack`,
// else an owner list): a double free when its link decodes, under the
// other kind of list's encoding, to a plausible next block (none, or a
// 16-byte aligned address inside a SuperSlab), which only a push onto that
// other list can have written; otherwise a write into a freed block.
MemoryError BrokenLinkError(const FreeBlock* b, bool on_remote_stack);

}  // namespace hakmem::internal

#endif  // HAKMEM_SUPERSLAB_REMOTE_FREE_STACK_H_

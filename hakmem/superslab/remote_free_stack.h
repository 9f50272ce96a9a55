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

// A block on a remote-free stack holds its free key as its key word and
// its link xor-ed with that key; a block on an owner list (thread cache,
// span free list) holds its link plainly, sealed by its key word
// (free_block.h). So each kind of list recognises a block that the other
// kind wrote: its key word does not seal its link, or its link decodes
// misaligned (a plain link xor the key, whose low bit is set). That is how
// a block that two racing frees both took is recognised when it is met
// later. The owner's free checks and sets the key word with plain loads
// and stores (an atomic read-modify-write there would cost every free ~20
// cycles), so when the owner and another thread free one block at the same
// instant, both can pass; the block is then on the owner's list and on the
// remote-free stack at once, its words written by whichever came last.
// Neither list hands it out again: the list whose words it does not carry
// reports it as a double free when it reaches it (BrokenLinkError).
//
// The owner validates each remote link as it drains the stack (a carved
// block of the span, SpanDrainRemoteFrees), before it follows it; the key word
// cannot seal it, since it is what marks the block as taken by the free
// that pushes it (RemoteFree), before the link is written.
//
// Pushes the chain `first`..`last` (each block's key word its free key,
// each link but last's already encoded as on the stack) with one
// compare-and-swap.
inline void RemoteFreePushChain(SpanMeta* m, FreeBlock* first,
                                FreeBlock* last) {
  FreeBlock* head = m->remote_head.load(std::memory_order_relaxed);
  uint64_t key = kDetection ? FreeKey(last) : 0;
  do {
    last->link = reinterpret_cast<uintptr_t>(head) ^ key;
  } while (!m->remote_head.compare_exchange_weak(
      head, first, std::memory_order_release, std::memory_order_relaxed));
}

inline void RemoteFreePush(SpanMeta* m, FreeBlock* block) {
  RemoteFreePushChain(m, block, block);
}

// Takes every block pushed so far; nullptr when there were none.
inline FreeBlock* RemoteFreeTakeAll(SpanMeta* m) {
  if (m->remote_head.load(std::memory_order_relaxed) == nullptr) {
    return nullptr;
  }
  return m->remote_head.exchange(nullptr, std::memory_order_acquire);
}

// The link of `b` (on a remote-free stack) into *next; false when the
// block was written to since it was pushed (its key word is not its free
// key, or the link decodes misaligned). The span module validates each
// link so before it follows it (SpanDrainRemoteFrees).
inline bool DecodeIntactRemoteLink(const FreeBlock* b, FreeBlock** next) {
  if (!kDetection) {
    *next = reinterpret_cast<FreeBlock*>(b->link);
    return true;
  }
  uint64_t key = FreeKey(b);
  uintptr_t n = b->link ^ key;
  *next = reinterpret_cast<FreeBlock*>(n);
  return ((b->key ^ key) | (n & 15)) == 0;
}

// What to report for free block `b`, whose words failed the check of the
// list it was found on: a double free when they are what only a push onto
// the other kind of list, or two frees racing into both, can have written:
// a key word that seals a plausible owner-list link (nullptr or a 16-byte
// aligned address inside a SuperSlab), with that link itself or with a
// remote-free link that decodes to a plausible one (the owner's key word,
// the remote free's link: the last writes of the two), or the key word of
// a block that an owner list has handed out since (MarkLive) with a
// plausible link. Otherwise a write into a freed block.
MemoryError BrokenLinkError(const FreeBlock* b);

}  // namespace hakmem::internal

#endif  // HAKMEM_SUPERSLAB_REMOTE_FREE_STACK_H_

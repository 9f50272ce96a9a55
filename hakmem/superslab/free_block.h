// The state protocol of a slab block, which makes double frees detectable
// deterministically and keeps them, and writes into freed blocks, from
// corrupting any list.
//
// A free block (in a thread cache, a span free list or a remote-free stack)
// holds two words: a link to the next free block and a key word derived
// from its free key, FreeKey(block) = process secret ^ block address. A
// live block never holds a free block's key word: malloc replaces it when
// it hands the block out (MarkLive). The key word is
//   - on a remote-free stack, the free key itself (the link is encoded:
//     remote_free_stack.h);
//   - on an owner list (thread cache, span free list), (free key ^ link)
//     * M, the link stored plainly and M a secret odd multiplier: the key
//     word seals the link. Multiplying by an odd number is a bijection
//     modulo 2^64, so any change to the link alone changes the seal: a
//     use-after-free write into the first 16 bytes of a cached block is
//     reported by the pop that meets it, before anything is read through
//     the link, always (and a write into both words passes only if it
//     writes the one key word that matches, a 2^-64 accident).
// So:
//   - a free that finds either key word in place is a double free
//     (HoldsFreeKeyWord);
//   - user data equal to one is a 2^-64 accident per free.
// Both key words end in the same four bits, kFreeKeyTag: blocks and links
// are 16-aligned, the secret's low bits are the tag and the multiplier's
// are 1 (FreeKeySecretFrom, LinkMultiplierFrom), so the key ends in the
// tag and so does (key ^ link) * M. The free fast path tests only those
// bits (MayHoldFreeKeyWord, two instructions and a branch) and makes the
// exact test when they match: every free block matches, a live block
// whose word 1 the program wrote matches by chance once in 16 (and never
// the live mark, the block's address), and the answer is the exact
// test's either way.
// The owner thread reads and writes the key word with plain loads and
// stores; a remote free sets it with a compare-and-swap, so that of two
// racing remote frees of one block exactly one sees it free and is
// reported before either can push the block twice. (A remote free racing
// the owner's can pass with it: remote_free_stack.h says how that block is
// recognised later.)
#ifndef HAKMEM_SUPERSLAB_FREE_BLOCK_H_
#define HAKMEM_SUPERSLAB_FREE_BLOCK_H_

#include <cstdint>

#include "absl/base/attributes.h"

// Detection of memory errors is part of every normal build. The only build
// without it is --config=nodetect (HAKMEM_DETECTION=0), which exists to
// measure what detection costs (bench/RESULTS.md); nothing else uses it.
#ifndef HAKMEM_DETECTION
#define HAKMEM_DETECTION 1
#endif
namespace hakmem::internal {

inline constexpr bool kDetection = HAKMEM_DETECTION != 0;

struct FreeBlock {
  uintptr_t link;  // plain in owner lists, encoded in remote-free stacks
  uint64_t key;    // the key word: see above
};

// Set once, before the first block is handed out (see thread_cache/process.cc),
// and never changed. Both odd.
extern uint64_t g_free_key_secret;
extern uint64_t g_link_multiplier;

// The low four bits of every free block's key word (see above): odd, as a
// free key must be, and 1011, rare at the end of a word of data (text
// bytes k K + ; [ {; not pointers, small sizes, zero or -1).
inline constexpr uint64_t kFreeKeyTag = 0xB;
inline constexpr uint64_t kFreeKeyTagMask = 0xF;

// The secrets, shaped from random words (platform/process_secret.h) so
// that both key words end in kFreeKeyTag: the secret's low bits are the
// tag, the multiplier's low bits 1 (odd, so still invertible). The other
// 60 bits of each stay random.
constexpr uint64_t FreeKeySecretFrom(uint64_t random) {
  return (random & ~kFreeKeyTagMask) | kFreeKeyTag;
}
constexpr uint64_t LinkMultiplierFrom(uint64_t random) {
  return (random & ~kFreeKeyTagMask) | 1;
}

// The inverse of `odd` modulo 2^64, by Newton's iteration: `odd` is its
// own inverse modulo 8, and each step doubles the correct low bits.
constexpr uint64_t InverseModulo2To64(uint64_t odd) {
  uint64_t inverse = odd;
  for (int i = 0; i < 5; ++i) inverse *= 2 - odd * inverse;
  return inverse;
}

ABSL_ATTRIBUTE_ALWAYS_INLINE inline uint64_t FreeKey(uint64_t secret,
                                                     const void* block) {
  return secret ^ reinterpret_cast<uintptr_t>(block);
}

ABSL_ATTRIBUTE_ALWAYS_INLINE inline uint64_t FreeKey(const void* block) {
  return FreeKey(g_free_key_secret, block);
}

// The key word of a block on an owner list whose free key is `key` and
// whose link word is `link`.
ABSL_ATTRIBUTE_ALWAYS_INLINE inline uint64_t OwnerListKey(uint64_t key,
                                                          uintptr_t link,
                                                          uint64_t multiplier) {
  return (key ^ link) * multiplier;
}

// Puts `b`, whose free key is `key`, on an owner list ahead of `next`:
// writes both words.
ABSL_ATTRIBUTE_ALWAYS_INLINE inline void SetOwnerListLink(FreeBlock* b,
                                                          FreeBlock* next,
                                                          uint64_t key,
                                                          uint64_t multiplier) {
  uintptr_t link = reinterpret_cast<uintptr_t>(next);
  b->link = link;
  if (kDetection) b->key = OwnerListKey(key, link, multiplier);
}

ABSL_ATTRIBUTE_ALWAYS_INLINE inline void SetOwnerListLink(FreeBlock* b,
                                                          FreeBlock* next,
                                                          uint64_t key) {
  SetOwnerListLink(b, next, key, g_link_multiplier);
}

// Whether `b` holds the two words an owner list wrote: then its link is
// the one hakmem stored.
ABSL_ATTRIBUTE_ALWAYS_INLINE inline bool HoldsOwnerListState(
    const FreeBlock* b, uint64_t key, uint64_t multiplier) {
  return b->key == OwnerListKey(key, b->link, multiplier);
}

// Marks `b`, just taken off a list, live: its key word becomes its own
// address. Never a free block's key word (an address is even; the free key
// is odd, and so is an owner list's key word, an odd number times an odd
// one), and a trace of malloc that zeroes or user data rarely leave: a
// block that a remote-free stack also holds (two frees raced) and that an
// owner list has handed out again is recognised when the stack is drained
// (BrokenLinkError).
ABSL_ATTRIBUTE_ALWAYS_INLINE inline void MarkLive(FreeBlock* b) {
  if (kDetection) b->key = reinterpret_cast<uintptr_t>(b);
}

// Whether `word` is the key word of a free block, of either kind of list,
// whose free key is `key` and whose link word is `link`: the test of every
// free for a double free.
ABSL_ATTRIBUTE_ALWAYS_INLINE inline bool IsFreeKeyWord(uint64_t word,
                                                       uintptr_t link,
                                                       uint64_t key,
                                                       uint64_t multiplier) {
  return word == key || word == OwnerListKey(key, link, multiplier);
}

ABSL_ATTRIBUTE_ALWAYS_INLINE inline bool HoldsFreeKeyWord(const FreeBlock* b,
                                                          uint64_t key,
                                                          uint64_t multiplier) {
  return IsFreeKeyWord(b->key, b->link, key, multiplier);
}

// False only when `b` (whose free key is `key`) cannot be free: its key
// word does not end in the tag that both key words end in (see above).
// True for every free block, and for a live one whose word 1 ends so by
// chance: HoldsFreeKeyWord decides.
ABSL_ATTRIBUTE_ALWAYS_INLINE inline bool MayHoldFreeKeyWord(const FreeBlock* b,
                                                            uint64_t key) {
  return ((b->key ^ key) & kFreeKeyTagMask) == 0;
}

// The link of `b` (on an owner list) into *next; false when the block was
// written to since it was freed.
ABSL_ATTRIBUTE_ALWAYS_INLINE inline bool DecodeIntactLink(const FreeBlock* b,
                                                          FreeBlock** next) {
  *next = reinterpret_cast<FreeBlock*>(b->link);
  return !kDetection || HoldsOwnerListState(b, FreeKey(b), g_link_multiplier);
}

}  // namespace hakmem::internal

#endif  // HAKMEM_SUPERSLAB_FREE_BLOCK_H_

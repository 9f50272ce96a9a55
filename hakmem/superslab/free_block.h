// The state protocol of a slab block, which makes double frees detectable
// deterministically and keeps them, and writes into freed blocks, from
// corrupting any list.
//
// A free block (in a thread cache, a slab free list or a remote-free stack)
// holds two words: a link to the next free block and its free key,
// FreeKey(block) = process secret ^ block address. A live block never holds
// its key: malloc clears it when it hands the block out. So:
//   - a free that finds the key already in place is a double free;
//   - user data equal to the key is a 2^-64 accident per free.
// The owner thread reads and writes the key with plain loads and stores; a
// remote free sets it with an atomic exchange, so that of two racing remote
// frees of one block exactly one sees the key and is reported before either
// can push the block twice. (A remote free racing the owner's can pass with
// it: remote_free_stack.h says how that block is recognised later.)
//
// In the owner's lists (thread caches, slab free lists) the link is stored
// xor-ed with the key. Popping a block checks that its key is intact and
// that the decoded link is 16-byte aligned. So a use-after-free write into
// the first 16 bytes is reported instead of followed: always when it
// touches the key; when it replaces only the link, always for zeroes or a
// pointer (the key's low bit is set, so they decode misaligned) and for 15
// in 16 other values (the low four bits of the secret decide).
// Remote-free stacks encode their links with the key xor 2
// (remote_free_stack.h); the owner validates each one as it drains them.
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
  uintptr_t link;  // encoded in owner lists, plain in remote-free stacks
  uint64_t key;
};

// Set once, before the first block is handed out (see heap/thread_heap.cc),
// and never changed. Always odd.
extern uint64_t g_free_key_secret;

ABSL_ATTRIBUTE_ALWAYS_INLINE inline uint64_t FreeKey(uint64_t secret,
                                                     const void* block) {
  return secret ^ reinterpret_cast<uintptr_t>(block);
}

ABSL_ATTRIBUTE_ALWAYS_INLINE inline uint64_t FreeKey(const void* block) {
  return FreeKey(g_free_key_secret, block);
}

ABSL_ATTRIBUTE_ALWAYS_INLINE inline void SetEncodedLink(FreeBlock* b,
                                                        FreeBlock* next,
                                                        uint64_t key) {
  b->link = reinterpret_cast<uintptr_t>(next) ^ (kDetection ? key : 0);
}

// The link of `b` (in an owner list), decoded with its key, unchecked.
ABSL_ATTRIBUTE_ALWAYS_INLINE inline FreeBlock* DecodeLink(const FreeBlock* b,
                                                          uint64_t key) {
  return reinterpret_cast<FreeBlock*>(b->link ^ (kDetection ? key : 0));
}

// Decodes the link of `b` (in an owner list) into *next; false when the
// block was written to since it was freed.
ABSL_ATTRIBUTE_ALWAYS_INLINE inline bool DecodeIntactLink(const FreeBlock* b,
                                                          FreeBlock** next) {
  if (!kDetection) {
    *next = reinterpret_cast<FreeBlock*>(b->link);
    return true;
  }
  uint64_t key = FreeKey(b);
  uintptr_t n = b->link ^ key;
  *next = reinterpret_cast<FreeBlock*>(n);
  return ((b->key ^ key) | (n & 15)) == 0;
}

}  // namespace hakmem::internal

#endif  // HAKMEM_SUPERSLAB_FREE_BLOCK_H_

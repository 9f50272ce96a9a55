// The state protocol of a slab block, which makes double frees detectable
// deterministically and keeps them from corrupting any list.
//
// A free block (in a thread cache, a slab free list or a remote-free stack)
// holds two words: the link to the next free block and its free key,
// FreeKey(block) = process secret ^ block address. A live block never holds
// its key: malloc clears it when it hands the block out. So:
//   - a free that finds the key already in place is a double free;
//   - user data equal to the key is a 2^-64 accident per free.
// The owner thread reads and writes the key with plain loads and stores; a
// remote free sets it with an atomic exchange, so that of two racing remote
// frees of one block exactly one sees the key and is reported before either
// can push the block twice.
#ifndef HAKMEM_SUPERSLAB_FREE_BLOCK_H_
#define HAKMEM_SUPERSLAB_FREE_BLOCK_H_

#include <cstdint>

#include "absl/base/attributes.h"

namespace hakmem {

struct FreeBlock {
  FreeBlock* next;
  uint64_t key;
};

// Set once, before the first block is handed out (see heap/thread_heap.cc),
// and never changed.
extern uint64_t g_free_key_secret;

ABSL_ATTRIBUTE_ALWAYS_INLINE inline uint64_t FreeKey(const void* block) {
  return g_free_key_secret ^ reinterpret_cast<uintptr_t>(block);
}

}  // namespace hakmem

#endif  // HAKMEM_SUPERSLAB_FREE_BLOCK_H_

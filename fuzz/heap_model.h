// The model of everything the fuzzers allocated from hakmem, and the valid
// operations on it.
//
// Every valid operation calls hakmem's C ABI, checks the result against the
// model (alignment, usable size of the predicted class, no overlap with any
// live block, contents kept by realloc, calloc zeroed, errno on failures),
// and updates the model. hakmem must not report any of them (see
// error_log.h: such a report aborts).
//
// Freed blocks are remembered for a while (FreedBlock) so that error
// injection can free them again; each remembers a "witness": a block of the
// same class in the same 64 KiB slab that was live when it was freed. While
// the witness stays live, the freed block's span cannot have been released
// (hakmem releases a span only when no block of it is out), so hakmem must
// report a second free of it as a double free, exactly.
//
// Arenas (first-class heaps, hak_heap_*) sit in kMaxArenas slots. Their
// blocks are ordinary model blocks (same checks; `arena` says whose they
// are). Destroying an arena releases every block still in it: the model
// forgets them (hakmem may hand the memory out again), keeping a few as
// freed blocks so that error injection can free them afterwards.
//
// Not thread-safe: the cross-thread fuzzer runs one step at a time.
#ifndef HAKMEM_FUZZ_HEAP_MODEL_H_
#define HAKMEM_FUZZ_HEAP_MODEL_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <unordered_set>
#include <vector>

#include "capi/hakmem.h"

namespace fuzz {

struct Block {
  void* p;
  size_t size;       // requested bytes (what the pattern fills)
  size_t alignment;  // of hak_aligned_alloc, else 0
  size_t usable;     // hak_usable_size(p)
  int cls;           // slab class, or kLarge
  uint64_t id;       // unique per allocation; kept by an in-place realloc
  uint64_t seed;     // of the contents
  int holder;        // thread slot that may use it (cross-thread fuzzer)
  int arena = -1;    // the arena slot it was allocated from, or -1
};

struct FreedBlock {
  void* p;
  size_t size;
  size_t alignment;
  size_t usable;
  int cls;
  int freed_by;             // thread slot
  uint64_t allocs_at_free;  // HeapModel::allocs() when it was freed
  uint64_t witness_id;      // 0: none
  void* witness_p;
  bool corruptible;  // still on one of its owner's free lists, as far as known
                     // (for an arena block: on its span's free list, i.e.
                     // freed by hak_heap_free rather than remotely)
  int arena = -1;    // the arena slot it belonged to, or -1
  uint64_t arena_gen = 0;  // and which arena in that slot (ArenaSlot::gen)
};

// One arena slot of the model.
struct ArenaSlot {
  hak_heap* heap = nullptr;  // nullptr: none
  int owner = -1;            // thread slot that created it (-1: the only one)
  uint64_t gen = 0;          // unique per arena created
  // Its blocks hakmem reported as corrupted: leaked until the destroy.
  std::vector<void*> leaked;
};

enum class FreeApi : uint8_t {
  kFree,          // hak_free
  kSized,         // hak_free_sized with a size of the block's class
  kAlignedSized,  // hak_free_aligned_sized with its alignment and size
  kRealloc0,      // hak_realloc(p, 0)
};

class HeapModel {
 public:
  static constexpr size_t kMaxBlocks = 512;
  static constexpr size_t kMaxLiveBytes = size_t{64} << 20;
  static constexpr size_t kFreedHistory = 64;
  static constexpr long kSkipped = -1;
  static constexpr int kMaxArenas = 3;
  // Blocks of a destroyed arena kept as freed blocks (for error injection).
  static constexpr int kDestroyedKept = 4;

  HeapModel() = default;
  HeapModel(const HeapModel&) = delete;
  HeapModel& operator=(const HeapModel&) = delete;

  // --- Valid operations. Allocations return the new block's index, or
  // kSkipped when the model is at its limits (nothing was done; `unlimited`
  // allocates anyway).
  long Malloc(size_t size, int holder, bool unlimited = false);
  long Calloc(size_t count, size_t elem, int holder);
  long AlignedAlloc(size_t alignment, size_t size, int holder);
  long ReallocNull(size_t size, int holder);  // hak_realloc(NULL, size)
  // hak_realloc(block i, size); size 0 frees it. May move the block.
  void Realloc(size_t i, size_t size);
  // Frees block i (checking its contents first) through `api`; `variant`
  // picks which valid size a sized free passes.
  void Free(size_t i, FreeApi api, uint32_t variant, int by);
  // hak_free_aligned_sized(block i, alignment, size), which the caller
  // knows to be valid (SizedFreeMatches).
  void FreeWithSize(size_t i, size_t alignment, size_t size, int by);
  // Checks block i's contents and usable size.
  void Verify(size_t i) const;
  // Verifies block i, then writes a new pattern (a new seed) into it.
  void Rewrite(size_t i);
  // Frees every block of `holder` (-1: all), in allocation order.
  void FreeAll(int holder);

  // --- Arenas (heap_model_arena.cc). Only an arena's owner thread
  // allocates from it, calls hak_heap_free on it and destroys it.
  // The arena in `slot`, created for `owner` if the slot is empty; nullptr
  // if it belongs to another thread.
  hak_heap* ArenaFor(int slot, int owner);
  // hak_heap_malloc / hak_heap_aligned_alloc from the arena in `slot`
  // (which exists), like Malloc / AlignedAlloc.
  long HeapMalloc(int slot, size_t size, int holder, bool unlimited = false);
  long HeapAlignedAlloc(int slot, size_t alignment, size_t size, int holder);
  // hak_heap_free(its arena, block i) of an arena block.
  void HeapFree(size_t i, int by);
  // Checks the arena's blocks, destroys it with them inside, forgets them,
  // and checks that every other block survived.
  void DestroyArena(int slot, int by);
  // Destroys every arena of `owner` (-1: all).
  void DestroyArenas(int owner);
  const ArenaSlot& arena(int slot) const { return arenas_[slot]; }
  // Whether freed block f's arena still exists (then its span does too).
  bool ArenaAlive(const FreedBlock& f) const;
  // Records that hakmem reported the freed block at `p` of arena `slot` as
  // corrupted: it is leaked until the arena is destroyed.
  void MarkArenaLeaked(int slot, void* p) { arenas_[slot].leaked.push_back(p); }

  // --- Queries.
  size_t size() const { return live_.size(); }
  Block& at(size_t i) { return live_[i]; }
  const Block& at(size_t i) const { return live_[i]; }
  // The index of the live block starting at `p`, or -1.
  long Find(const void* p) const;
  // Picks a live block of `holder` (-1: any) from the selector `sel`;
  // -1 if there is none.
  long Pick(uint32_t sel, int holder) const;
  // Picks a live block for which `pred(block)` holds; -1 if there is none.
  template <typename Pred>
  long PickWhere(uint32_t sel, Pred pred) const {
    size_t count = 0;
    for (const Block& b : live_) count += pred(b) ? 1 : 0;
    if (count == 0) return -1;
    size_t want = sel % count;
    for (size_t i = 0; i < live_.size(); ++i) {
      if (pred(live_[i]) && want-- == 0) return static_cast<long>(i);
    }
    return -1;
  }
  // Allocations done so far (hakmem maps memory only when allocating).
  uint64_t allocs() const { return allocs_; }

  std::deque<FreedBlock>& freed() { return freed_; }
  // The freed block `sel` picks (0: the most recent), or nullptr.
  FreedBlock* PickFreed(uint32_t sel);
  // Whether f's witness is still the same live block.
  bool WitnessLive(const FreedBlock& f) const;
  // Forgets every freed block at `p` (its free state was destroyed).
  void ForgetFreed(const void* p);
  // Records that hakmem reported the freed block at `p` as corrupted: it is
  // leaked, and an allocation returning it again fails.
  void MarkLeaked(void* p) { leaked_.insert(p); }
  // Whether `p` is a block hakmem reported as corrupted and still leaks:
  // such a block is never freed or used again (its free state is gone).
  bool IsLeaked(const void* p) const;

 private:
  bool HasRoomFor(size_t bytes) const;
  // Checks a block hakmem just returned and adds it; returns its index.
  long Add(void* p, size_t size, size_t alignment, int cls, int holder,
           uint64_t id, uint64_t seed, const char* what, int arena = -1);
  // Removes block i from the model (hakmem already freed it; `heap_free`:
  // by hak_heap_free) and remembers it as freed.
  void Remove(size_t i, int by, bool heap_free = false);
  // Removes block i from the live blocks only; returns it.
  Block Unlink(size_t i);
  void CreateArena(int slot, int owner);
  void CheckUsable(const Block& b, const char* what) const;
  uint64_t NewSeed() { return ++seeds_ * 0x9E3779B97F4A7C15ull; }

  std::vector<Block> live_;
  std::map<uintptr_t, size_t> by_address_;  // block start -> index
  size_t live_bytes_ = 0;
  uint64_t next_id_ = 1;
  uint64_t seeds_ = 0;
  uint64_t allocs_ = 0;
  std::deque<FreedBlock> freed_;
  ArenaSlot arenas_[kMaxArenas];
  uint64_t next_arena_gen_ = 1;
  // Process-wide: hakmem's leaked blocks stay leaked across inputs.
  static std::unordered_set<void*> leaked_;
};

}  // namespace fuzz

#endif  // HAKMEM_FUZZ_HEAP_MODEL_H_

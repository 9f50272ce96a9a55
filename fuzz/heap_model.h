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
// Not thread-safe: the cross-thread fuzzer runs one step at a time.
#ifndef HAKMEM_FUZZ_HEAP_MODEL_H_
#define HAKMEM_FUZZ_HEAP_MODEL_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <unordered_set>
#include <vector>

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

  // --- Queries.
  size_t size() const { return live_.size(); }
  Block& at(size_t i) { return live_[i]; }
  const Block& at(size_t i) const { return live_[i]; }
  // The index of the live block starting at `p`, or -1.
  long Find(const void* p) const;
  // Picks a live block of `holder` (-1: any) from the selector `sel`;
  // -1 if there is none.
  long Pick(uint32_t sel, int holder) const;
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

 private:
  bool HasRoomFor(size_t bytes) const;
  // Checks a block hakmem just returned and adds it; returns its index.
  long Add(void* p, size_t size, size_t alignment, int cls, int holder,
           uint64_t id, uint64_t seed, const char* what);
  // Removes block i from the model (hakmem already freed it).
  void Remove(size_t i, int by);
  void CheckUsable(const Block& b, const char* what) const;
  uint64_t NewSeed() { return ++seeds_ * 0x9E3779B97F4A7C15ull; }

  std::vector<Block> live_;
  std::map<uintptr_t, size_t> by_address_;  // block start -> index
  size_t live_bytes_ = 0;
  uint64_t next_id_ = 1;
  uint64_t seeds_ = 0;
  uint64_t allocs_ = 0;
  std::deque<FreedBlock> freed_;
  // Process-wide: hakmem's leaked blocks stay leaked across inputs.
  static std::unordered_set<void*> leaked_;
};

}  // namespace fuzz

#endif  // HAKMEM_FUZZ_HEAP_MODEL_H_

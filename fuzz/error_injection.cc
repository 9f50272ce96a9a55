#include "fuzz/error_injection.h"

#include <sys/mman.h>

#include <cstdlib>
#include <cstring>
#include <vector>

#include "capi/hakmem.h"
#include "fuzz/error_log.h"
#include "fuzz/fuzz_support.h"
#include "fuzz/size_model.h"

namespace fuzz {
namespace {

// How an invalid pointer is passed to hakmem.
enum class Api : uint8_t {
  kFree,
  kSized,
  kAlignedSized,
  kRealloc0,
  kRealloc,     // realloc(p, n > 0): INVALID_POINTER
  kUsableSize,  // INVALID_POINTER
};
constexpr uint8_t kNumFreeApis = 4;
constexpr uint8_t kNumApis = 6;

const char* ApiName(Api api) {
  switch (api) {
    case Api::kFree:
      return "hak_free";
    case Api::kSized:
      return "hak_free_sized";
    case Api::kAlignedSized:
      return "hak_free_aligned_sized";
    case Api::kRealloc0:
      return "hak_realloc(p, 0)";
    case Api::kRealloc:
      return "hak_realloc";
    case Api::kUsableSize:
      return "hak_usable_size";
  }
  return "?";
}

bool IsUse(Api api) { return api == Api::kRealloc || api == Api::kUsableSize; }

// Calls hakmem with the invalid pointer `p`; `size` and `alignment` go to
// sized frees, `new_size` to realloc. Checks what the failed call returns.
void Call(Api api, void* p, size_t size, size_t alignment, size_t new_size) {
  switch (api) {
    case Api::kFree:
      hak_free(p);
      break;
    case Api::kSized:
      hak_free_sized(p, size);
      break;
    case Api::kAlignedSized:
      hak_free_aligned_sized(p, alignment, size);
      break;
    case Api::kRealloc0:
    case Api::kRealloc: {
      size_t n = api == Api::kRealloc0 ? 0 : new_size == 0 ? 1 : new_size;
      if (void* q = hak_realloc(p, n); q != nullptr) {
        Fail("hak_realloc(invalid %p, %zu) returned %p", p, n, q);
      }
      break;
    }
    case Api::kUsableSize:
      if (size_t n = hak_usable_size(p); n != 0) {
        Fail("hak_usable_size(invalid %p) returned %zu", p, n);
      }
      break;
  }
}

// The kind a free-like call reports as `free_kind`, a use as
// INVALID_POINTER.
unsigned KindsFor(Api api, hak_error_kind free_kind) {
  return KindBit(IsUse(api) ? HAK_ERROR_INVALID_POINTER : free_kind);
}

char g_global_buffer[4096];

// 1 MiB of address space that only this harness maps (PROT_NONE).
char* ReservedRegion() {
  static char* region = [] {
    void* p = mmap(nullptr, 1 << 20, PROT_NONE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) Fail("mmap of the reserved region failed");
    return static_cast<char*>(p);
  }();
  return region;
}

}  // namespace

uint64_t MappedBytes() {
  hak_stats s{};
  s.version = HAK_STATS_VERSION;
  s.size = sizeof(s);
  if (hak_stats_get(&s) != 0) Fail("hak_stats_get failed");
  return s.os_mapped_bytes;
}

char* ForeignPointer(uint8_t source, uint32_t offset, char (&stack)[64],
                     void** from_system) {
  switch (source % 6) {
    case 0:
      return stack + offset % sizeof(stack);
    case 1:
      return g_global_buffer + offset % sizeof(g_global_buffer);
    case 2:
      *from_system = std::malloc(1 + offset % 4096);
      return static_cast<char*>(*from_system) + (offset >> 16) % 2 * 16;
    case 3:  // beyond the 47-bit user address space
      return reinterpret_cast<char*>((uint64_t{offset} << 16) |
                                     (uint64_t{1} << 47) | (offset & 0xffff));
    case 4:  // below mmap_min_addr
      return reinterpret_cast<char*>(uintptr_t{1} + offset % 0xffff);
    default:
      return ReservedRegion() + offset % (1 << 20);
  }
}

void WriteCorruption(void* p, uint8_t mode, uint64_t value, void* other) {
  // Each mode leaves a state that hakmem's pop check must catch: a key
  // word that no longer seals the link (superslab/free_block.h), whether
  // the key word, the link or both changed.
  uint64_t words[2];
  std::memcpy(words, p, sizeof(words));
  switch (mode % 5) {
    case 0:  // zeroed
      words[0] = words[1] = 0;
      break;
    case 1:  // a pointer stored over the link
      words[0] = reinterpret_cast<uintptr_t>(other);
      break;
    case 2:  // key changed
      words[1] ^= value | 1;
      break;
    case 3:  // even data over the link
      words[0] = value & ~uint64_t{1};
      break;
    case 4:  // both
      words[0] = value & ~uint64_t{1};
      words[1] ^= value | 1;
      break;
  }
  // A link stored plainly can be the very value written (nullptr, or the
  // pointer to the next free block): then change it after all.
  if (std::memcmp(words, p, sizeof(words)) == 0) words[0] ^= 16;
  std::memcpy(p, words, sizeof(words));
}

void ErrorInjector::Run(uint8_t opcode, ByteReader& in, int slot) {
  switch (opcode % kNumInjections) {
    case 0:
      DoubleFree(in);
      break;
    case 1:
      Interior(in);
      break;
    case 2:
      Foreign(in);
      break;
    case 3:
      StaleUse(in);
      break;
    case 4:
      WrongSize(in, slot);
      break;
    case 5:
      Corrupt(in, slot);
      break;
  }
}

void ErrorInjector::RunArena(uint8_t opcode, ByteReader& in, int slot) {
  switch (opcode % kNumArenaInjections) {
    case 0:
      HeapDoubleFree(in, slot);
      break;
    case 1:
      HeapFreeLive(in, slot);
      break;
    case 2:
      HeapFreeForeign(in, slot);
      break;
    case 3:
      ArenaCorrupt(in, slot);
      break;
  }
}

void ErrorInjector::DoubleFree(ByteReader& in) {
  FreedBlock* picked = heap_.PickFreed(in.Byte());
  Api api = static_cast<Api>(in.Byte() % kNumFreeApis);
  if (picked == nullptr || heap_.Find(picked->p) >= 0 ||
      heap_.IsLeaked(picked->p)) {
    return;
  }
  const FreedBlock f = *picked;
  ExpectedError want{f.p, KindBit(HAK_ERROR_DOUBLE_FREE) |
                              KindBit(HAK_ERROR_INTERIOR_FREE) |
                              KindBit(HAK_ERROR_INVALID_FREE)};
  // A live arena keeps all its spans, like a live witness keeps one.
  if (f.cls != kLarge && (heap_.WitnessLive(f) || heap_.ArenaAlive(f))) {
    want = {f.p, KindBit(HAK_ERROR_DOUBLE_FREE), TierOf(f.cls), f.cls};
  } else if (f.cls == kLarge && f.allocs_at_free == heap_.allocs()) {
    want = {f.p, KindBit(HAK_ERROR_INVALID_FREE), "unknown", -1};
  }
  {
    ErrorWindow window;
    Call(api, f.p, f.size, f.alignment, 0);
    window.ExpectOne(want, ApiName(api));
  }
}

void ErrorInjector::Interior(ByteReader& in) {
  long i = heap_.Pick(in.Byte(), -1);
  uint32_t offset = in.U32();
  Api api = static_cast<Api>(in.Byte() % kNumApis);
  if (i < 0) return;
  const Block b = heap_.at(static_cast<size_t>(i));
  char* p = static_cast<char*>(b.p) + 1 + offset % (b.usable - 1);
  ExpectedError want =
      b.cls != kLarge ? ExpectedError{p, KindsFor(api, HAK_ERROR_INTERIOR_FREE),
                                      TierOf(b.cls), b.cls}
                      : ExpectedError{p, KindsFor(api, HAK_ERROR_INVALID_FREE),
                                      "unknown", -1};
  {
    ErrorWindow window;
    Call(api, p, b.size, b.alignment, b.size);
    window.ExpectOne(want, ApiName(api));
  }
  heap_.Verify(static_cast<size_t>(i));
}

void ErrorInjector::Foreign(ByteReader& in) {
  uint8_t source = in.Byte() % 6;
  uint32_t offset = in.U32();
  Api api = static_cast<Api>(in.Byte() % kNumApis);
  char on_stack[64];
  void* from_system = nullptr;
  char* p = ForeignPointer(source, offset, on_stack, &from_system);
  {
    ErrorWindow window;
    Call(api, p, 1 + offset % 512, 64, 1 + offset % 512);
    window.ExpectOne(
        ExpectedError{p, KindsFor(api, HAK_ERROR_INVALID_FREE), "unknown", -1},
        ApiName(api));
  }
  std::free(from_system);
}

void ErrorInjector::StaleUse(ByteReader& in) {
  FreedBlock* picked = heap_.PickFreed(in.Byte());
  Api api = in.Byte() % 2 == 0 ? Api::kRealloc : Api::kUsableSize;
  size_t new_size = DecodeSize(in);
  if (picked == nullptr || heap_.Find(picked->p) >= 0 ||
      heap_.IsLeaked(picked->p)) {
    return;
  }
  const FreedBlock f = *picked;
  ExpectedError want{f.p, KindBit(HAK_ERROR_INVALID_POINTER)};
  if (f.cls != kLarge && (heap_.WitnessLive(f) || heap_.ArenaAlive(f))) {
    want.tier = TierOf(f.cls);
    want.size_class = f.cls;
  } else if (f.cls == kLarge && f.allocs_at_free == heap_.allocs()) {
    want.tier = "unknown";
    want.size_class = -1;
  }
  ErrorWindow window;
  Call(api, f.p, 0, 0, new_size);
  window.ExpectOne(want, ApiName(api));
}

void ErrorInjector::WrongSize(ByteReader& in, int slot) {
  long i = heap_.Pick(in.Byte(), -1);
  uint8_t a = in.Byte();
  size_t alignment = a % 2 == 1 ? 0 : size_t{1} << (a / 2 % 21);
  size_t size = DecodeSize(in);
  if (i < 0) return;
  const Block b = heap_.at(static_cast<size_t>(i));
  if (SizedFreeMatches(b.cls, b.size, b.usable, alignment, size)) {
    heap_.FreeWithSize(static_cast<size_t>(i), alignment, size, slot);
    return;
  }
  {
    ErrorWindow window;
    if (alignment == 0) {
      hak_free_sized(b.p, size);
    } else {
      hak_free_aligned_sized(b.p, alignment, size);
    }
    window.ExpectOne(ExpectedError{b.p, KindBit(HAK_ERROR_SIZE_MISMATCH),
                                   TierOf(b.cls), b.cls == kLarge ? -1 : b.cls},
                     "sized free with a wrong size");
  }
  heap_.Verify(static_cast<size_t>(i));
}

std::vector<void*> ErrorInjector::CorruptUntilReported(
    const FreedBlock& f, uint8_t mode, uint64_t value, const char* tier,
    size_t limit, const std::function<long()>& allocate, const char* what) {
  WriteCorruption(f.p, mode, value,
                  heap_.size() > 0 ? heap_.at(value % heap_.size()).p : f.p);
  // Its free state is gone: never free or use it again.
  heap_.ForgetFreed(f.p);
  std::vector<void*> taken;
  ErrorWindow window;
  size_t bytes = 0;
  while (window.count() == 0) {
    if (bytes > limit) {
      Fail(
          "corrupted freed block %p (%s class %d, mode %d) never popped: "
          "%zu allocations of its class",
          f.p, tier, f.cls, mode % 5, taken.size());
    }
    void* p = heap_.at(static_cast<size_t>(allocate())).p;
    if (p == f.p) {
      Fail("%s handed out corrupted freed block %p (mode %d)", tier, f.p,
           mode % 5);
    }
    taken.push_back(p);
    bytes += ClassSize(f.cls);
  }
  window.ExpectOne(
      ExpectedError{f.p, KindBit(HAK_ERROR_CORRUPTED_FREE_LIST), tier, f.cls},
      what);
  return taken;
}

void ErrorInjector::Corrupt(ByteReader& in, int slot) {
  FreedBlock* picked = heap_.PickFreed(in.Byte());
  uint8_t mode = in.Byte() % 5;
  uint64_t value = in.U64();
  // Only a slab block whose span is certainly alive (live witness) and
  // still on this thread's free lists can be written and must be popped
  // (arena blocks: ArenaCorrupt).
  if (!corruption_ || picked == nullptr || picked->cls == kLarge ||
      picked->arena >= 0 || !picked->corruptible ||
      !heap_.WitnessLive(*picked) || heap_.Find(picked->p) >= 0) {
    return;
  }
  uint64_t mapped = MappedBytes();
  if (mapped > kCorruptionMappedLimit) return;
  const FreedBlock f = *picked;

  // Allocate from its class until hakmem pops it. Until then the loop only
  // takes blocks of memory hakmem already mapped.
  std::vector<void*> taken = CorruptUntilReported(
      f, mode, value, TierOf(f.cls), mapped + (size_t{8} << 20),
      [&] { return heap_.Malloc(ClassSize(f.cls), slot, /*unlimited=*/true); },
      "write into a freed block, then allocation");
  heap_.MarkLeaked(f.p);
  // Detection drops the rest of the cache or span free list it was in:
  // those blocks are leaked and will never be popped.
  for (FreedBlock& other : heap_.freed()) {
    if (other.cls == f.cls) other.corruptible = false;
  }
  for (void* p : taken) {
    heap_.Free(static_cast<size_t>(heap_.Find(p)), FreeApi::kFree, 0, slot);
  }
}

}  // namespace fuzz

// guard_fuzz: hakmem's guarded pool (hakmem/guard/) under injected memory
// errors, with the error hook installed, so that every report returns and
// the pool must stay in service (single-stepped accesses, guard_fault.cc).
//
// HAKMEM_GUARD_RATE=1: every thread-cache refill is sampled, so every
// allocation of up to a page is a guarded block until the pool's 256 slots
// are live; after that blocks come from the slabs, and those get no
// injection (hakmem::internal::InGuardedPool tells them apart,
// guarded_blocks.h). The pool's alignment mode is process-wide: GUARD_FUZZ_
// ALIGN=start|end (default end) sets HAKMEM_GUARD_ALIGN.
//
// The input drives allocations of 1..4096 bytes (hak_malloc, hak_calloc,
// hak_realloc, hak_aligned_alloc), valid reads and writes anywhere inside
// live blocks (never reported), frees through every API, and injections on
// guarded blocks:
//   - a read or write whose bytes reach past the end of a live or
//     quarantined block into the guard page after it (overflow);
//   - one before its start, into the guard page before it (underflow: a
//     start-aligned block, or an end-aligned one past its page's slack);
//   - one anywhere in the page of a block freed in this input whose slot
//     was not handed out since (use after free: still quarantined);
//   - double frees, interior and invalid frees (a pointer into a live
//     block, into its page's slack, into a guard page), realloc and
//     hak_usable_size of freed blocks, sized frees with a wrong size.
// Each injection must be reported exactly once, on this thread, with the
// expected kind, pointer (the block's start), tier "guarded" and class, and
// for faults the offset of the first byte that faulted; the erroneous call
// must change nothing (a live block stays live and intact). After a fault,
// the faulting page must be inaccessible again (probed without faulting),
// a read must have seen zeros where it touched protected pages, and a
// write's bytes inside a live block (an access that starts inside and ends
// in the guard page) must be there. Any report outside an injection aborts.
// Accesses are volatile; injected ones are single instructions (x86-64:
// inline mov of 1, 2, 4 or 8 bytes, unaligned too), so that one access
// faults once.
//
// Which block a fault is blamed on is decided by hakmem from the nearest
// blocks (guard_fault.cc's Diagnose), and the harness cannot know what
// earlier inputs left in the neighbouring slots: injected addresses in a
// guard page are kept within the part of it where the target block is
// nearer than any block the neighbouring slot can hold (2048 bytes past an
// end-aligned block's end, say).
//
// Encoding: an opcode byte (taken % kNumOps), then its arguments. "size"
// is DecodeGuardSize's encoding (below); "w" a byte whose bits 0-1 give the
// width (1 << (b & 3) bytes) and bit 2 a write.
//    0 malloc         size
//    1 calloc         count byte, size
//    2 realloc        block byte, size (no live block: realloc(NULL))
//    3 aligned alloc  log2 byte (1 << b % 13), size
//    4 free           block byte, api byte % 4 (free, sized, aligned
//                     sized, realloc(p, 0))
//    5 valid access   block byte, offset u16, w
//    6 overflow       target byte, distance u16 (into the guard page after
//                     the target's page, within the attributable part),
//                     position byte (which byte of the access lies there), w
//    7 underflow      target byte, distance u16 (into the attributable
//                     part of the guard page before), w
//    8 use after free freed byte, offset u16 (in its page), w
//    9 double free    freed byte, api byte % 3 (free, sized, realloc(p, 0))
//   10 invalid free   block byte, where byte (% 3: interior, page slack,
//                     guard page: bit 2 the one before; bit 3: a sized
//                     free), offset u16
//   11 stale use      freed byte, which byte (bit 0: realloc, else
//                     usable_size), size
//   12 wrong size     block byte, which byte (bit 0: the class below)
//   13 verify         block byte
//   14 alloc burst    count byte (1..32), size
//   15 free burst     count byte (1..32), newest first
//   16 collect        force byte
// Targets of 6 and 7 are the guarded live blocks, then the quarantined
// ones; of 8, the quarantined ones; of 9 and 11, every guarded block freed
// in this input; of 10 and 12, the guarded live blocks. gen_guard_seeds.py
// writes the seeds by hand.
//
// FUZZ_ERROR_STATS=1: at exit, how many reports of each kind were
// verified.
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <vector>

#include "capi/hakmem.h"
#include "fuzz/byte_reader.h"
#include "fuzz/fuzz_support.h"
#include "fuzz/guarded_blocks.h"
#include "fuzz/size_model.h"

namespace {

using fuzz::ByteReader;
using fuzz::Fail;
using fuzz::kGuardPage;

constexpr int kMaxOps = 512;
constexpr uint8_t kNumOps = 17;
constexpr size_t kMaxLive = 320;  // more than the pool's 256 slots
constexpr size_t kMaxFreed = 512;
constexpr size_t kMaxSize = 4096;

bool g_align_start = false;

uintptr_t Addr(const void* p) { return reinterpret_cast<uintptr_t>(p); }

// --- Reports ---------------------------------------------------------------

constexpr int kMaxRecords = 8;
constexpr int kNumKinds = 11;  // hak_error_kind values 1..10

struct Record {
  int kind;
  const void* ptr;
  char tier[16];
  int size_class;
  unsigned thread;
  char line[256];
};

// The handler may run inside hakmem's fault handler: it only copies.
struct Log {
  std::atomic<bool> window_open{false};
  std::atomic<int> count{0};
  Record records[kMaxRecords];
  std::atomic<uint64_t> verified[kNumKinds] = {};
};
Log g_log;

void CopyString(char* out, size_t size, const char* in) {
  size_t i = 0;
  for (; in != nullptr && in[i] != '\0' && i + 1 < size; ++i) out[i] = in[i];
  out[i] = '\0';
}

void OnError(const hak_error* error, void*) {
  if (!g_log.window_open.load(std::memory_order_acquire)) {
    Fail("hakmem reported an error for a valid operation: %s", error->message);
  }
  int i = g_log.count.fetch_add(1, std::memory_order_acq_rel);
  if (i >= kMaxRecords) return;
  Record& r = g_log.records[i];
  r.kind = error->kind;
  r.ptr = error->ptr;
  CopyString(r.tier, sizeof(r.tier), error->tier);
  r.size_class = error->size_class;
  r.thread = error->thread;
  CopyString(r.line, sizeof(r.line), error->message);
}

const char* KindName(int kind) {
  static const char* const kNames[kNumKinds] = {
      "?",
      "DOUBLE_FREE",
      "INVALID_FREE",
      "INTERIOR_FREE",
      "INVALID_POINTER",
      "SIZE_MISMATCH",
      "CORRUPTED_FREE_LIST",
      "WRONG_HEAP",
      "USE_AFTER_FREE",
      "HEAP_BUFFER_OVERFLOW",
      "HEAP_BUFFER_UNDERFLOW",
  };
  return kind > 0 && kind < kNumKinds ? kNames[kind] : "another kind";
}

void PrintVerified() {
  std::fprintf(stderr, "guard_fuzz: verified reports:\n");
  for (int k = 1; k < kNumKinds; ++k) {
    uint64_t n = g_log.verified[k].load(std::memory_order_relaxed);
    if (n != 0) {
      std::fprintf(stderr, "  %-22s %llu\n", KindName(k),
                   static_cast<unsigned long long>(n));
    }
  }
}

unsigned CurrentThread() { return static_cast<unsigned>(syscall(SYS_gettid)); }

// An injection under way: reports are recorded, not fatal.
class Window {
 public:
  Window() {
    g_log.count.store(0, std::memory_order_relaxed);
    g_log.window_open.store(true, std::memory_order_release);
  }
  ~Window() { g_log.window_open.store(false, std::memory_order_release); }
  Window(const Window&) = delete;
  Window& operator=(const Window&) = delete;
};

struct Expected {
  hak_error_kind kind;
  const void* ptr;
  int size_class;
  bool has_offset = false;
  long offset = 0;
};

// Exactly one report, as expected. Called after the window closed.
void Check(const Expected& e, const char* what) {
  int n = g_log.count.load(std::memory_order_acquire);
  if (n != 1) {
    Fail("%s of %p: %d reports instead of 1%s%s%s%s", what, e.ptr, n,
         n > 0 ? "; first: " : "", n > 0 ? g_log.records[0].line : "",
         n > 1 ? "; second: " : "", n > 1 ? g_log.records[1].line : "");
  }
  const Record& r = g_log.records[0];
  if (r.kind != e.kind) {
    Fail("%s of %p: reported as %s, expected %s: %s", what, e.ptr,
         KindName(r.kind), KindName(e.kind), r.line);
  }
  if (r.ptr != e.ptr) {
    Fail("%s of %p: report names another pointer: %s", what, e.ptr, r.line);
  }
  if (std::strcmp(r.tier, "guarded") != 0 || r.size_class != e.size_class) {
    Fail("%s of %p: expected tier=guarded class=%d: %s", what, e.ptr,
         e.size_class, r.line);
  }
  if (r.thread != CurrentThread()) {
    Fail("%s of %p: report names thread %u, erring thread is %u: %s", what,
         e.ptr, r.thread, CurrentThread(), r.line);
  }
  if (e.has_offset) {
    const char* at = std::strstr(r.line, " offset=");
    if (at == nullptr || std::strtol(at + 8, nullptr, 10) != e.offset) {
      Fail("%s of %p: expected offset=%ld: %s", what, e.ptr, e.offset, r.line);
    }
  }
  g_log.verified[e.kind].fetch_add(1, std::memory_order_relaxed);
}

// --- Accesses --------------------------------------------------------------

// Whether the byte at `a` can be read, without faulting (the kernel copies
// it into a pipe or fails with EFAULT).
bool Accessible(uintptr_t a) {
  static const int* const fds = [] {
    static int f[2];
    if (pipe(f) != 0) Fail("harness: pipe failed");
    return f;
  }();
  if (write(fds[1], reinterpret_cast<const void*>(a), 1) != 1) return false;
  char c;
  if (read(fds[0], &c, 1) != 1) Fail("harness: pipe read failed");
  return true;
}

// A valid access, instrumented like any other (ASan checks it).
struct __attribute__((packed)) U16 {
  uint16_t v;
};
struct __attribute__((packed)) U32 {
  uint32_t v;
};
struct __attribute__((packed)) U64 {
  uint64_t v;
};

uint64_t ValidAccess(char* a, int width, bool write, uint64_t value) {
  switch (width) {
    case 1:
      if (write) *reinterpret_cast<volatile uint8_t*>(a) = uint8_t(value);
      return *reinterpret_cast<volatile uint8_t*>(a);
    case 2:
      if (write) reinterpret_cast<volatile U16*>(a)->v = uint16_t(value);
      return reinterpret_cast<volatile U16*>(a)->v;
    case 4:
      if (write) reinterpret_cast<volatile U32*>(a)->v = uint32_t(value);
      return reinterpret_cast<volatile U32*>(a)->v;
    default:
      if (write) reinterpret_cast<volatile U64*>(a)->v = value;
      return reinterpret_cast<volatile U64*>(a)->v;
  }
}

// An injected access: one instruction, whatever the width and alignment.
uint64_t BadAccess(char* a, int width, bool write, uint64_t value) {
#if defined(__x86_64__)
  uint64_t v = 0;
  switch (width * 2 + (write ? 1 : 0)) {
    case 2:
      asm volatile("movzbq (%1), %0" : "=r"(v) : "r"(a) : "memory");
      break;
    case 3:
      asm volatile("movb %b1, (%0)" : : "r"(a), "q"(value) : "memory");
      break;
    case 4:
      asm volatile("movzwq (%1), %0" : "=r"(v) : "r"(a) : "memory");
      break;
    case 5:
      asm volatile("movw %w1, (%0)" : : "r"(a), "r"(value) : "memory");
      break;
    case 8:
      asm volatile("movl (%1), %k0" : "=r"(v) : "r"(a) : "memory");
      break;
    case 9:
      asm volatile("movl %k1, (%0)" : : "r"(a), "r"(value) : "memory");
      break;
    case 16:
      asm volatile("movq (%1), %0" : "=r"(v) : "r"(a) : "memory");
      break;
    default:
      asm volatile("movq %1, (%0)" : : "r"(a), "r"(value) : "memory");
      break;
  }
  return v;
#else
  return ValidAccess(a, width, write, value);
#endif
}

// --- The model -------------------------------------------------------------

struct Block {
  char* p;
  size_t size;       // requested
  size_t alignment;  // of hak_aligned_alloc, else 0
  size_t usable;
  int cls;
  bool guarded;
  uint64_t id;
  std::vector<uint8_t> bytes;  // what the block holds, all `usable` bytes
};

struct Freed {
  char* p;
  size_t size;
  size_t usable;
  int cls;
  uint64_t id;
};

// The latest guarded block on a page (what its slot's metadata describes).
struct PageRecord {
  char* p;
  size_t usable;
  int cls;
  uint64_t id;
  bool live;
};

class Model {
 public:
  std::vector<Block>& live() { return live_; }
  std::vector<Freed>& freed() { return freed_; }

  // --- allocations
  void Malloc(size_t size) {
    if (Full()) return;
    Add(hak_malloc(size), size, 0, fuzz::ClassOfRequest(size), "hak_malloc",
        false);
  }
  void Calloc(size_t count, size_t elem) {
    if (Full()) return;
    size_t total = count * elem;
    Add(hak_calloc(count, elem), total, 0, fuzz::ClassOfRequest(total),
        "hak_calloc", true);
  }
  void Aligned(size_t alignment, size_t size) {
    if (Full()) return;
    Add(hak_aligned_alloc(alignment, size), size,
        alignment > 16 ? alignment : 0, fuzz::AlignedClass(alignment, size),
        "hak_aligned_alloc", false);
  }
  void Realloc(size_t i, size_t size) {
    Verify(i, "hak_realloc");
    Block old = live_[i];
    void* q = hak_realloc(old.p, size);
    if (q == nullptr) Fail("hak_realloc(%p, %zu) returned NULL", old.p, size);
    size_t kept = std::min(size, old.usable);
    if (q == old.p) {
      if (old.guarded) Fail("hak_realloc kept guarded block %p", q);
      Block& b = live_[i];
      b.size = size;
      b.alignment = 0;
      if (hak_usable_size(q) != b.usable) {
        Fail("hak_realloc kept %p but changed its usable size", q);
      }
      return;
    }
    Unlink(i);
    NoteFreed(old);
    size_t n = Add(q, size, 0, fuzz::ClassOfRequest(size), "hak_realloc", false,
                   /*fill=*/false);
    Block& b = live_[n];
    if (std::memcmp(b.p, old.bytes.data(), kept) != 0) {
      Fail("hak_realloc(%p, %zu) = %p lost its contents", old.p, size, q);
    }
    std::memcpy(b.bytes.data(), old.bytes.data(), kept);
    Fill(b, kept);
  }
  void ReallocNull(size_t size) {
    if (Full()) return;
    Add(hak_realloc(nullptr, size), size, 0, fuzz::ClassOfRequest(size),
        "hak_realloc(NULL)", false);
  }

  // --- frees
  void Free(size_t i, uint8_t api) {
    Verify(i, "free");
    Block b = live_[i];
    switch (api % 4) {
      case 0:
        hak_free(b.p);
        break;
      case 1:
        if (b.alignment != 0) {
          hak_free_aligned_sized(b.p, b.alignment, b.size);
        } else {
          hak_free_sized(b.p, b.size);
        }
        break;
      case 2:
        hak_free_aligned_sized(b.p, b.alignment != 0 ? b.alignment : 16,
                               b.size);
        break;
      default:
        if (void* q = hak_realloc(b.p, 0); q != nullptr) {
          Fail("hak_realloc(%p, 0) returned %p", b.p, q);
        }
        break;
    }
    Unlink(i);
    NoteFreed(b);
  }
  void FreeAll() {
    while (!live_.empty()) Free(live_.size() - 1, 0);
  }

  // Checks block i's contents and usable size.
  void Verify(size_t i, const char* what) const {
    const Block& b = live_[i];
    if (std::memcmp(b.p, b.bytes.data(), b.usable) != 0) {
      size_t at = 0;
      while (b.p[at] == static_cast<char>(b.bytes[at])) ++at;
      Fail("%s: block %p (%zu bytes, usable %zu, %s) differs at byte %zu", what,
           b.p, b.size, b.usable, b.guarded ? "guarded" : "slab", at);
    }
    if (hak_usable_size(b.p) != b.usable) {
      Fail("%s: hak_usable_size(%p) changed", what, b.p);
    }
  }

  // The latest block on p's page, or nullptr (not guarded in this input).
  const PageRecord* PageOf(const void* p) const {
    auto it = pages_.find(fuzz::PageStart(p));
    return it == pages_.end() ? nullptr : &it->second;
  }
  // Whether freed block f's slot still holds it (quarantined).
  bool Quarantined(const Freed& f) const {
    const PageRecord* r = PageOf(f.p);
    return r != nullptr && r->id == f.id && !r->live;
  }

  std::vector<size_t> GuardedLive() const {
    std::vector<size_t> out;
    for (size_t i = 0; i < live_.size(); ++i) {
      if (live_[i].guarded) out.push_back(i);
    }
    return out;
  }
  std::vector<size_t> QuarantinedFreed() const {
    std::vector<size_t> out;
    for (size_t i = 0; i < freed_.size(); ++i) {
      if (Quarantined(freed_[i])) out.push_back(i);
    }
    return out;
  }

  // Writes bytes [from, usable) of b with a pattern, in the model too.
  void Fill(Block& b, size_t from) {
    for (size_t k = from; k < b.usable; ++k) {
      b.bytes[k] = static_cast<uint8_t>(
          (b.id * 0x9E3779B97F4A7C15ull) >> (8 * (k % 8)) ^ k);
    }
    if (from < b.usable) {
      std::memcpy(b.p + from, b.bytes.data() + from, b.usable - from);
    }
  }

 private:
  bool Full() const { return live_.size() >= kMaxLive; }

  size_t Add(void* p, size_t size, size_t alignment, int cls, const char* what,
             bool zeroed, bool fill = true) {
    if (p == nullptr) Fail("%s(%zu) returned NULL", what, size);
    char* c = static_cast<char*>(p);
    size_t need = alignment > 16 ? alignment : 16;
    if (Addr(p) % need != 0) {
      Fail("%s(%zu bytes, alignment %zu) returned %p, not aligned to %zu", what,
           size, alignment, p, need);
    }
    Block b{c,          size,
            alignment,  hak_usable_size(p),
            cls,        fuzz::IsGuarded(p),
            next_id_++, {}};
    if (b.guarded) {
      size_t want = fuzz::GuardedUsable(size, alignment);
      if (b.usable != want ||
          !fuzz::GuardedPlacementOk(p, b.usable, g_align_start)) {
        Fail(
            "%s(%zu bytes, alignment %zu) = guarded %p with usable size %zu "
            "(expected %zu, %s-aligned in its page)",
            what, size, alignment, p, b.usable, want,
            g_align_start ? "start" : "end");
      }
    } else if (cls == fuzz::kLarge || b.usable != fuzz::ClassSize(cls)) {
      Fail("%s(%zu bytes) = %p of class %d with usable size %zu", what, size, p,
           cls, b.usable);
    }
    for (const Block& o : live_) {
      if (Addr(o.p) < Addr(p) + b.usable && Addr(p) < Addr(o.p) + o.usable) {
        Fail("%s returned %p (usable %zu), overlapping live block %p", what, p,
             b.usable, o.p);
      }
    }
    if (zeroed) {
      for (size_t k = 0; k < size; ++k) {
        if (c[k] != 0) Fail("%s = %p: byte %zu is not zero", what, p, k);
      }
    }
    b.bytes.resize(b.usable);
    if (b.guarded) {
      pages_[fuzz::PageStart(p)] = {c, b.usable, cls, b.id, true};
    }
    live_.push_back(std::move(b));
    if (fill) Fill(live_.back(), 0);
    return live_.size() - 1;
  }

  void Unlink(size_t i) {
    if (i != live_.size() - 1) live_[i] = std::move(live_.back());
    live_.pop_back();
  }

  void NoteFreed(const Block& b) {
    if (!b.guarded) return;
    PageRecord& r = pages_[fuzz::PageStart(b.p)];
    r.live = false;
    freed_.push_back({b.p, b.size, b.usable, b.cls, b.id});
    if (freed_.size() > kMaxFreed) freed_.erase(freed_.begin());
  }

  std::vector<Block> live_;
  std::vector<Freed> freed_;  // guarded blocks freed in this input
  std::map<uintptr_t, PageRecord> pages_;
  uint64_t next_id_ = 1;
};

// --- Input decoding ----------------------------------------------------------

// 1..4096 bytes, biased to the small ones, a page's top, and 16-byte edges.
size_t DecodeGuardSize(ByteReader& in) {
  switch (in.Byte() % 4) {
    case 0:
      return 1 + in.Byte();
    case 1:
      return 1 + in.U16() % kMaxSize;
    case 2:
      return kMaxSize - in.Byte() % 128;
    default: {
      size_t edge = 16 * (1 + in.Byte() % 256);
      size_t delta = in.Byte() % 3;  // edge - 1, edge, edge + 1
      size_t size = edge + delta - 1;
      return size > kMaxSize ? kMaxSize : size;
    }
  }
}

struct Width {
  int width;
  bool write;
};
Width DecodeWidth(ByteReader& in) {
  uint8_t b = in.Byte();
  return {1 << (b & 3), (b & 4) != 0};
}

template <typename T>
long PickFrom(const std::vector<T>& v, uint8_t sel) {
  return v.empty() ? -1 : static_cast<long>(v[sel % v.size()]);
}

// --- Injected accesses
// ---------------------------------------------------------

// A target of an injected access: a guarded block, live or quarantined.
struct Target {
  char* p;
  size_t usable;
  int cls;
  Block* live;  // nullptr: freed
};

bool PickTarget(Model& m, uint8_t sel, bool quarantined_only, Target* t) {
  std::vector<size_t> live =
      quarantined_only ? std::vector<size_t>{} : m.GuardedLive();
  std::vector<size_t> freed = m.QuarantinedFreed();
  size_t n = live.size() + freed.size();
  if (n == 0) return false;
  size_t k = sel % n;
  if (k < live.size()) {
    Block& b = m.live()[live[k]];
    *t = {b.p, b.usable, b.cls, &b};
  } else {
    const Freed& f = m.freed()[freed[k - live.size()]];
    *t = {f.p, f.usable, f.cls, nullptr};
  }
  return true;
}

// Runs the access [a, a + width) on target t, which must fault (the bytes
// outside t's live block are protected: the guard pages, and its own page
// once freed), and checks the report and what the access saw and left.
void Inject(const Target& t, uintptr_t a, Width w, uint64_t value,
            const char* what) {
  uintptr_t page = fuzz::PageStart(t.p);
  auto protected_byte = [&](uintptr_t x) {
    return x < page || x >= page + kGuardPage || t.live == nullptr;
  };
  uintptr_t fault = 0;
  for (uintptr_t x = a; x < a + w.width; ++x) {
    if (protected_byte(x)) {
      fault = x;
      break;
    }
  }
  if (fault == 0) Fail("harness: %s at %#lx does not fault", what, a);
  Expected e;
  e.kind = fault >= page + kGuardPage ? HAK_ERROR_HEAP_BUFFER_OVERFLOW
           : fault < page             ? HAK_ERROR_HEAP_BUFFER_UNDERFLOW
                                      : HAK_ERROR_USE_AFTER_FREE;
  e.ptr = t.p;
  e.size_class = t.cls;
  e.has_offset = true;
  e.offset = static_cast<long>(fault - Addr(t.p));

  uint64_t got;
  {
    Window window;
    got = BadAccess(reinterpret_cast<char*>(a), w.width, w.write, value);
  }
  Check(e, what);
  if (Accessible(fault)) {
    Fail("%s of %p: the page at %#lx stayed accessible after the report", what,
         t.p, fault);
  }
  uintptr_t begin = Addr(t.p);
  uintptr_t end = begin + t.usable;
  for (int k = 0; k < w.width; ++k) {
    uintptr_t x = a + k;
    bool in_block = t.live != nullptr && x >= begin && x < end;
    uint8_t byte =
        static_cast<uint8_t>(w.write ? value >> (8 * k) : got >> (8 * k));
    if (w.write) {
      // What the write put inside the live block is there; what it put on
      // a protected page was discarded (checked by the next read there).
      if (in_block) t.live->bytes[x - begin] = byte;
    } else if (protected_byte(x) && byte != 0) {
      Fail("%s of %p: read %#x at offset %ld of a protected page", what, t.p,
           byte, static_cast<long>(x - begin));
    } else if (in_block && byte != t.live->bytes[x - begin]) {
      Fail("%s of %p: read the wrong byte at offset %ld", what, t.p,
           static_cast<long>(x - begin));
    }
  }
}

// Past the end, into the guard page after t's page, at most where t stays
// the nearest block: Diagnose blames the neighbouring slot's block, which
// starts a page further at the earliest, when it is nearer.
void Overflow(Model& m, ByteReader& in) {
  uint8_t sel = in.Byte();
  uint16_t distance = in.U16();
  uint8_t position = in.Byte();
  Width w = DecodeWidth(in);
  Target t;
  if (!PickTarget(m, sel, false, &t)) return;
  uintptr_t guard = fuzz::PageStart(t.p) + kGuardPage;
  size_t slack = guard - (Addr(t.p) + t.usable);  // start-aligned blocks
  size_t most = (kGuardPage - 1 - slack) / 2;
  uintptr_t x = guard + distance % (most + 1);
  uintptr_t a = x - position % w.width;  // x is one of the access's bytes
  Inject(t, a, w, 0xA5A5A5A5A5A5A5A5ull ^ distance, "overflow");
}

// Before the start, into the guard page before t's page, where t is nearer
// than the previous slot's block (which ends at that guard at the latest;
// a tie blames it).
void Underflow(Model& m, ByteReader& in) {
  uint8_t sel = in.Byte();
  uint16_t distance = in.U16();
  Width w = DecodeWidth(in);
  Target t;
  if (!PickTarget(m, sel, false, &t)) return;
  uintptr_t page = fuzz::PageStart(t.p);
  size_t slack = Addr(t.p) - page;                  // end-aligned blocks
  size_t first = (slack + kGuardPage - 1) / 2 + 1;  // offset in the guard
  uintptr_t a = page - kGuardPage + first + distance % (kGuardPage - first);
  Inject(t, a, w, 0x5A5A5A5A5A5A5A5Aull ^ distance, "underflow");
}

// Anywhere in the page of a quarantined block.
void UseAfterFree(Model& m, ByteReader& in) {
  uint8_t sel = in.Byte();
  uint16_t offset = in.U16();
  Width w = DecodeWidth(in);
  Target t;
  if (!PickTarget(m, sel, true, &t)) return;
  uintptr_t a = fuzz::PageStart(t.p) + offset % kGuardPage;
  Inject(t, a, w, 0x3C3C3C3C3C3C3C3Cull ^ offset, "use after free");
}

// --- Injected frees and calls
// ----------------------------------------------------

// What freeing `p` (not a live block's start) reports, from the latest
// block on its page: false when p is a live block's start again (ABA).
bool ExpectedFreeError(const Model& m, const Freed& f, Expected* e) {
  const PageRecord* r = m.PageOf(f.p);
  if (r == nullptr) Fail("harness: freed guarded block %p has no page", f.p);
  e->ptr = f.p;
  if (r->id == f.id) {
    e->kind = HAK_ERROR_DOUBLE_FREE;
    e->size_class = f.cls;
    return true;
  }
  if (r->p == f.p) {
    if (r->live) return false;
    e->kind = HAK_ERROR_DOUBLE_FREE;
  } else if (Addr(f.p) >= Addr(r->p) && Addr(f.p) < Addr(r->p) + r->usable) {
    e->kind = HAK_ERROR_INTERIOR_FREE;
  } else {
    e->kind = HAK_ERROR_INVALID_FREE;
  }
  e->size_class = r->cls;
  return true;
}

// The live block on p's page, if any, is intact (the erroneous call
// changed nothing).
void CheckPageIntact(Model& m, const void* p, const char* what) {
  const PageRecord* r = m.PageOf(p);
  if (r == nullptr || !r->live) return;
  for (size_t i = 0; i < m.live().size(); ++i) {
    if (m.live()[i].id == r->id) m.Verify(i, what);
  }
}

void DoubleFree(Model& m, ByteReader& in) {
  uint8_t sel = in.Byte();
  uint8_t api = in.Byte();
  if (m.freed().empty()) return;
  const Freed f = m.freed()[sel % m.freed().size()];
  Expected e;
  if (!ExpectedFreeError(m, f, &e)) return;
  {
    Window window;
    switch (api % 3) {
      case 0:
        hak_free(f.p);
        break;
      case 1:
        hak_free_sized(f.p, f.size);
        break;
      default:
        if (void* q = hak_realloc(f.p, 0); q != nullptr) {
          Fail("hak_realloc(freed %p, 0) returned %p", f.p, q);
        }
        break;
    }
  }
  Check(e, "double free");
  CheckPageIntact(m, f.p, "after a double free");
}

void InvalidFree(Model& m, ByteReader& in) {
  uint8_t sel = in.Byte();
  uint8_t where = in.Byte();
  uint16_t offset = in.U16();
  long i = PickFrom(m.GuardedLive(), sel);
  if (i < 0) return;
  const Block& b = m.live()[i];
  uintptr_t page = fuzz::PageStart(b.p);
  size_t before = Addr(b.p) - page;                         // end-aligned slack
  size_t after = page + kGuardPage - Addr(b.p) - b.usable;  // start-aligned
  Expected e;
  e.size_class = b.cls;
  uintptr_t p;
  switch (where % 3) {
    case 0:
      p = Addr(b.p) + 1 + offset % (b.usable - 1);
      e.kind = HAK_ERROR_INTERIOR_FREE;
      break;
    case 1:
      if (before + after == 0) return;  // a whole page: no slack
      p = before != 0 ? page + offset % before
                      : Addr(b.p) + b.usable + offset % after;
      e.kind = HAK_ERROR_INVALID_FREE;
      break;
    default:
      p = (where & 4 ? page - kGuardPage : page + kGuardPage) +
          offset % kGuardPage;
      e.kind = HAK_ERROR_INVALID_FREE;
      e.size_class = -1;  // a guard page: no slot's
      break;
  }
  e.ptr = reinterpret_cast<void*>(p);
  {
    Window window;
    if (where & 8) {
      hak_free_sized(reinterpret_cast<void*>(p), b.size);
    } else {
      hak_free(reinterpret_cast<void*>(p));
    }
  }
  Check(e, "invalid free");
  m.Verify(static_cast<size_t>(i), "after an invalid free");
}

void StaleUse(Model& m, ByteReader& in) {
  uint8_t sel = in.Byte();
  uint8_t which = in.Byte();
  size_t size = DecodeGuardSize(in);
  if (m.freed().empty()) return;
  const Freed f = m.freed()[sel % m.freed().size()];
  const PageRecord* r = m.PageOf(f.p);
  if (r->live && r->p == f.p) return;  // a live block's start again
  // The report names the class of the block the slot holds or last held.
  Expected e{HAK_ERROR_INVALID_POINTER, f.p, r->cls};
  {
    Window window;
    if (which & 1) {
      if (void* q = hak_realloc(f.p, size); q != nullptr) {
        Fail("hak_realloc(freed %p, %zu) returned %p", f.p, size, q);
      }
    } else if (size_t n = hak_usable_size(f.p); n != 0) {
      Fail("hak_usable_size(freed %p) = %zu", f.p, n);
    }
  }
  Check(e, which & 1 ? "hak_realloc of a freed block"
                     : "hak_usable_size of a freed block");
  CheckPageIntact(m, f.p, "after a stale use");
}

void WrongSize(Model& m, ByteReader& in) {
  uint8_t sel = in.Byte();
  uint8_t which = in.Byte();
  long i = PickFrom(m.GuardedLive(), sel);
  if (i < 0) return;
  const Block& b = m.live()[i];
  size_t size;
  if ((which & 1) != 0 && b.cls > 0) {
    size = fuzz::ClassSize(b.cls - 1);  // the class below
  } else {
    size = fuzz::ClassSize(b.cls) + 1;  // the class above
  }
  if (fuzz::AlignedClass(0, size) == b.cls) return;
  Expected e{HAK_ERROR_SIZE_MISMATCH, b.p, b.cls};
  {
    Window window;
    hak_free_sized(b.p, size);
  }
  Check(e, "sized free with a wrong size");
  m.Verify(static_cast<size_t>(i), "after a wrong-size free");
}

// --- Valid operations -------------------------------------------------------

void ValidAccessOp(Model& m, ByteReader& in) {
  uint8_t sel = in.Byte();
  uint16_t offset = in.U16();
  Width w = DecodeWidth(in);
  if (m.live().empty()) return;
  Block& b = m.live()[sel % m.live().size()];
  size_t at = offset % b.usable;
  if (at + w.width > b.usable) at = b.usable - w.width;
  uint64_t value = (b.id << 20) ^ offset ^ 0x1122334455667788ull;
  uint64_t got = ValidAccess(b.p + at, w.width, w.write, value);
  for (int k = 0; k < w.width; ++k) {
    uint8_t byte = static_cast<uint8_t>((w.write ? value : got) >> (8 * k));
    if (w.write) {
      b.bytes[at + k] = byte;
    } else if (byte != b.bytes[at + k]) {
      Fail("read of %p at offset %zu: wrong byte", b.p, at + k);
    }
  }
}

void RunOp(uint8_t opcode, ByteReader& in, Model& m) {
  switch (opcode % kNumOps) {
    case 0:
      m.Malloc(DecodeGuardSize(in));
      break;
    case 1: {
      size_t n = 1 + in.Byte() % 8;
      size_t total = DecodeGuardSize(in);
      m.Calloc(n, total / n > 0 ? total / n : 1);
      break;
    }
    case 2: {
      uint8_t sel = in.Byte();
      size_t size = DecodeGuardSize(in);
      if (m.live().empty()) {
        m.ReallocNull(size);
      } else {
        m.Realloc(sel % m.live().size(), size);
      }
      break;
    }
    case 3: {
      size_t alignment = size_t{1} << in.Byte() % 13;
      m.Aligned(alignment, DecodeGuardSize(in));
      break;
    }
    case 4: {
      uint8_t sel = in.Byte();
      uint8_t api = in.Byte();
      if (!m.live().empty()) m.Free(sel % m.live().size(), api);
      break;
    }
    case 5:
      ValidAccessOp(m, in);
      break;
    case 6:
      Overflow(m, in);
      break;
    case 7:
      Underflow(m, in);
      break;
    case 8:
      UseAfterFree(m, in);
      break;
    case 9:
      DoubleFree(m, in);
      break;
    case 10:
      InvalidFree(m, in);
      break;
    case 11:
      StaleUse(m, in);
      break;
    case 12:
      WrongSize(m, in);
      break;
    case 13: {
      uint8_t sel = in.Byte();
      if (!m.live().empty()) m.Verify(sel % m.live().size(), "verify");
      break;
    }
    case 14: {
      int count = 1 + in.Byte() % 32;
      size_t size = DecodeGuardSize(in);
      for (int k = 0; k < count; ++k) m.Malloc(size);
      break;
    }
    case 15: {
      int count = 1 + in.Byte() % 32;
      for (int k = 0; k < count && !m.live().empty(); ++k) {
        m.Free(m.live().size() - 1, 0);
      }
      break;
    }
    default:
      hak_collect(in.Byte() & 1);
      break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Before hakmem reads its configuration (at its first allocation).
  setenv("HAKMEM_GUARD_RATE", "1", 1);
  const char* align = std::getenv("GUARD_FUZZ_ALIGN");
  if (align == nullptr || std::strcmp(align, "end") == 0) {
    setenv("HAKMEM_GUARD_ALIGN", "end", 1);
  } else if (std::strcmp(align, "start") == 0) {
    setenv("HAKMEM_GUARD_ALIGN", "start", 1);
    g_align_start = true;
  } else {
    std::fprintf(stderr, "GUARD_FUZZ_ALIGN must be start or end, not %s\n",
                 align);
    std::exit(2);
  }
  hak_set_error_handler(OnError, nullptr);
  if (std::getenv("FUZZ_ERROR_STATS") != nullptr) std::atexit(PrintVerified);
  // The configuration took: a first allocation is guarded, and placed so.
  void* p = hak_malloc(100);
  if (!fuzz::IsGuarded(p) ||
      !fuzz::GuardedPlacementOk(p, hak_usable_size(p), g_align_start)) {
    Fail("HAKMEM_GUARD_RATE=1 HAKMEM_GUARD_ALIGN=%s did not take: %p",
         g_align_start ? "start" : "end", p);
  }
  hak_free(p);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ByteReader in(data, size);
  Model m;
  for (int op = 0; op < kMaxOps && !in.empty(); ++op) {
    uint8_t opcode = in.Byte();
    RunOp(opcode, in, m);
    char where[48];
    std::snprintf(where, sizeof(where), "operation %d (opcode %u)", op, opcode);
    fuzz::CheckHeap(where);
  }
  m.FreeAll();
  // The thread cache back to the spans: the next input's allocations are
  // sampled from its first one (rate 1 samples refills, not cache hits).
  hak_collect(1);
  fuzz::CheckHeap("freeing every block");
  return 0;
}

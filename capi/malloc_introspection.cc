// glibc's introspection and tuning calls (<malloc.h>), answered by hakmem:
// mallinfo, mallinfo2, malloc_stats, malloc_info, malloc_trim, mallopt.
// Without them a program that hakmem serves would get glibc's own, which
// describe glibc's idle arena (uordblks 0 after any amount of malloc) and
// trim nothing of hakmem's. Part of the override library (libhakmem.so and
// the static override); the figures are those of hak_stats_get, mapped to
// glibc's fields as docs/API.md ("glibc's introspection calls") says.
//
// Nothing here holds a hakmem lock while it prints: the statistics are a
// snapshot (GetAllocatorStats) formatted into a buffer on the stack, and only
// then written, so the FILE's own buffer may come from malloc (hakmem).
#include <malloc.h>

#include <cerrno>
#include <cstdarg>
#include <cstddef>
#include <cstdint>
#include <cstdio>

#include "hakmem/core/allocator.h"
#include "hakmem/core/stats.h"

#define HAK_EXPORT extern "C" __attribute__((visibility("default")))

namespace {

using hakmem::internal::AllocatorStats;
using hakmem::internal::GetAllocatorStats;

// hakmem's figures in glibc's terms. Everything hakmem has is mapped with
// mmap; the large tier (one mapping per block) plays the part of glibc's
// mmapped chunks (hblks, hblkhd), and the rest (SuperSlabs, the cache of
// freed large runs, metadata) that of glibc's arenas (arena). As in glibc,
// arena + hblkhd is all the memory from the OS and uordblks + hblkhd all
// the memory in use.
struct Figures {
  size_t mapped;    // os_mapped_bytes
  size_t peak;      // os_mapped_peak_bytes
  size_t in_use;    // bytes_in_use_estimate
  size_t arena;     // mapped - large_live_bytes
  size_t ordblks;   // free regions kept for reuse
  size_t hblks;     // large_live
  size_t hblkhd;    // large_live_bytes
  size_t uordblks;  // in_use - large_live_bytes: slab spans in use
  size_t fordblks;  // arena - uordblks
  size_t keepcost;  // what malloc_trim gives back at least
};

size_t Minus(uint64_t a, uint64_t b) { return a > b ? a - b : 0; }

Figures GetFigures() {
  const AllocatorStats s = GetAllocatorStats();
  Figures f;
  f.mapped = s.os_mapped_bytes;
  f.peak = s.os_mapped_peak_bytes;
  f.in_use = s.bytes_in_use_estimate;
  f.hblks = s.large_live;
  f.hblkhd = s.large_live_bytes;
  f.arena = Minus(s.os_mapped_bytes, s.large_live_bytes);
  f.uordblks = Minus(s.bytes_in_use_estimate, s.large_live_bytes);
  f.fordblks = Minus(f.arena, f.uordblks);
  f.ordblks = s.superslabs_cached + s.large_cached;
  f.keepcost = s.free_slab_dirty_bytes + s.large_cached_bytes;
  return f;
}

struct mallinfo2 ToMallinfo2(const Figures& f) {
  struct mallinfo2 m;
  m.arena = f.arena;
  m.ordblks = f.ordblks;
  m.smblks = 0;  // no fastbins
  m.hblks = f.hblks;
  m.hblkhd = f.hblkhd;
  m.usmblks = f.peak;  // glibc: always 0; here the historical high-water mark
  m.fsmblks = 0;
  m.uordblks = f.uordblks;
  m.fordblks = f.fordblks;
  m.keepcost = f.keepcost;
  return m;
}

// glibc's mallinfo assigns each size_t of mallinfo2 to an int: the low 32
// bits, as two's complement (values of 2 GiB and more come out wrong).
int Truncate(size_t v) { return static_cast<int>(static_cast<uint32_t>(v)); }

// Appends to a fixed buffer, truncating (never overflowing).
class Text {
 public:
  void Add(const char* format, ...) __attribute__((format(printf, 2, 3))) {
    if (len_ + 1 >= sizeof(buf_)) return;
    va_list args;
    va_start(args, format);
    int n = std::vsnprintf(buf_ + len_, sizeof(buf_) - len_, format, args);
    va_end(args);
    if (n > 0) {
      len_ = len_ + n < sizeof(buf_) ? len_ + n : sizeof(buf_) - 1;
    }
  }
  const char* c_str() const { return buf_; }
  size_t length() const { return len_; }

 private:
  char buf_[2048] = "";
  size_t len_ = 0;
};

}  // namespace

HAK_EXPORT struct mallinfo2 mallinfo2(void) noexcept {
  return ToMallinfo2(GetFigures());
}

HAK_EXPORT struct mallinfo mallinfo(void) noexcept {
  const struct mallinfo2 m2 = ToMallinfo2(GetFigures());
  struct mallinfo m;
  m.arena = Truncate(m2.arena);
  m.ordblks = Truncate(m2.ordblks);
  m.smblks = Truncate(m2.smblks);
  m.hblks = Truncate(m2.hblks);
  m.hblkhd = Truncate(m2.hblkhd);
  m.usmblks = Truncate(m2.usmblks);
  m.fsmblks = Truncate(m2.fsmblks);
  m.uordblks = Truncate(m2.uordblks);
  m.fordblks = Truncate(m2.fordblks);
  m.keepcost = Truncate(m2.keepcost);
  return m;
}

// glibc's lines and widths, one arena; the figures are not truncated to 32
// bits as glibc's are.
HAK_EXPORT void malloc_stats(void) noexcept {
  const Figures f = GetFigures();
  Text out;
  out.Add("Arena 0:\n");
  out.Add("system bytes     = %10zu\n", f.arena);
  out.Add("in use bytes     = %10zu\n", f.uordblks);
  out.Add("Total (incl. mmap):\n");
  out.Add("system bytes     = %10zu\n", f.mapped);
  out.Add("in use bytes     = %10zu\n", f.in_use);
  // hakmem keeps no high-water mark of large blocks: the number live now.
  out.Add("max mmap regions = %10zu\n", f.hblks);
  out.Add("max mmap bytes   = %10zu\n", f.peak);
  std::fwrite(out.c_str(), 1, out.length(), stderr);
}

HAK_EXPORT int malloc_info(int options, FILE* fp) noexcept {
  // glibc's manual: options must be 0, else -1 with EINVAL. (glibc 2.36
  // itself returns EINVAL as the result and leaves errno alone; either way
  // the result is non-zero.)
  if (options != 0 || fp == nullptr) {
    errno = EINVAL;
    return -1;
  }
  const Figures f = GetFigures();
  Text out;
  out.Add("<malloc version=\"1\">\n");
  // One heap: everything but the large blocks, as mallinfo2's arena. No
  // free-chunk size histogram: hakmem's free blocks sit in size classes
  // that this snapshot does not count.
  out.Add("<heap nr=\"0\">\n<sizes>\n</sizes>\n");
  out.Add("<total type=\"fast\" count=\"0\" size=\"0\"/>\n");
  out.Add("<total type=\"rest\" count=\"%zu\" size=\"%zu\"/>\n", f.ordblks,
          f.fordblks);
  out.Add("<system type=\"current\" size=\"%zu\"/>\n", f.arena);
  out.Add("<system type=\"max\" size=\"%zu\"/>\n", f.peak);
  out.Add("<aspace type=\"total\" size=\"%zu\"/>\n", f.arena);
  out.Add("<aspace type=\"mprotect\" size=\"%zu\"/>\n", f.arena);
  out.Add("</heap>\n");
  // The totals include the large blocks (the mmap line), as malloc_stats's
  // "Total (incl. mmap)" does: all that hakmem has mapped.
  out.Add("<total type=\"fast\" count=\"0\" size=\"0\"/>\n");
  out.Add("<total type=\"rest\" count=\"%zu\" size=\"%zu\"/>\n", f.ordblks,
          f.fordblks);
  out.Add("<total type=\"mmap\" count=\"%zu\" size=\"%zu\"/>\n", f.hblks,
          f.hblkhd);
  out.Add("<system type=\"current\" size=\"%zu\"/>\n", f.mapped);
  out.Add("<system type=\"max\" size=\"%zu\"/>\n", f.peak);
  out.Add("<aspace type=\"total\" size=\"%zu\"/>\n", f.mapped);
  out.Add("<aspace type=\"mprotect\" size=\"%zu\"/>\n", f.mapped);
  out.Add("</malloc>\n");
  return std::fputs(out.c_str(), fp) < 0 ? -1 : 0;
}

// What hak_collect(1) does, on behalf of the calling thread. `pad` (the
// bytes glibc leaves at the top of its heap) has no counterpart: ignored.
// 1 if memory went back to the OS meanwhile (unmapped or decommitted),
// else 0.
HAK_EXPORT int malloc_trim(size_t pad) noexcept {
  (void)pad;
  const AllocatorStats before = GetAllocatorStats();
  hakmem::internal::Collect(/*force=*/true);
  const AllocatorStats after = GetAllocatorStats();
  return after.os_unmap_calls != before.os_unmap_calls ||
                 after.os_decommit_calls != before.os_decommit_calls ||
                 after.os_mapped_bytes < before.os_mapped_bytes
             ? 1
             : 0;
}

// hakmem's configuration is read once from HAKMEM_* variables and is
// immutable afterwards, so no option changes anything: glibc's options are
// accepted (1) and ignored, each as docs/API.md says; M_MXFAST outside
// glibc's range (0 .. 80 * sizeof(size_t) / 4) fails (0) as it does in
// glibc. An unknown parameter fails (0). (glibc 2.36 returns 1 even then,
// a bug its manual page lists.)
HAK_EXPORT int mallopt(int param, int value) noexcept {
  switch (param) {
    case M_MXFAST:
      return value >= 0 && static_cast<size_t>(value) <= 80 * sizeof(size_t) / 4
                 ? 1
                 : 0;
    case M_NLBLKS:
    case M_GRAIN:
    case M_KEEP:
    case M_TRIM_THRESHOLD:
    case M_TOP_PAD:
    case M_MMAP_THRESHOLD:
    case M_MMAP_MAX:
    case M_CHECK_ACTION:
    case M_PERTURB:
    case M_ARENA_TEST:
    case M_ARENA_MAX:
      return 1;
    default:
      return 0;
  }
}

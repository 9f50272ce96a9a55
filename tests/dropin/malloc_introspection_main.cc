// glibc's introspection calls (mallinfo, mallinfo2, malloc_stats,
// malloc_info, malloc_trim, mallopt) answered by hakmem, with hak_stats_get's
// figures. Run under LD_PRELOAD=libhakmem.so (malloc_introspection_main:
// hak_stats_get is found with dlsym, so only the preloaded library's code
// runs) or linked with the static override
// (malloc_introspection_static_main).
//   malloc_introspection_main [check]  every check below; prints "ok"
//   malloc_introspection_main info     malloc_info(0, stdout) only
//   malloc_introspection_main stats    malloc_stats() only
// info and stats also run without hakmem: the test compares the shape of
// their output with glibc's.
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "capi/hakmem.h"

namespace {

constexpr size_t kMiB = size_t{1} << 20;
constexpr size_t kBlockSize = 64;
constexpr size_t kBlocks = 32 * kMiB / kBlockSize;

// Static, so that the array of pointers is not itself a hakmem block.
void* g_blocks[kBlocks];

int g_failures = 0;

#define CHECK(cond, ...)                                              \
  do {                                                                \
    if (!(cond)) {                                                    \
      fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
      fprintf(stderr, __VA_ARGS__);                                   \
      fprintf(stderr, "\n");                                          \
      ++g_failures;                                                   \
    }                                                                 \
  } while (0)

struct hak_stats Stats() {
  struct hak_stats s;
  memset(&s, 0, sizeof(s));
  s.version = HAK_STATS_VERSION;
  s.size = sizeof(s);
#ifdef HAKMEM_STATIC_OVERRIDE
  int rc = hak_stats_get(&s);
#else
  using StatsGetFn = int (*)(struct hak_stats*);
  auto get = reinterpret_cast<StatsGetFn>(dlsym(RTLD_DEFAULT, "hak_stats_get"));
  if (get == nullptr) {
    fprintf(stderr, "FAIL: hak_stats_get not found (LD_PRELOAD missing?)\n");
    exit(2);
  }
  int rc = get(&s);
#endif
  if (rc != 0) {
    fprintf(stderr, "FAIL: hak_stats_get: %d\n", rc);
    exit(2);
  }
  return s;
}

// mallinfo2 and hak_stats_get taken back to back (nothing allocates
// between them in this single-threaded program) tell the same story.
void CheckSameFigures(const char* when) {
  const struct mallinfo2 m = mallinfo2();
  const struct hak_stats s = Stats();
  CHECK(m.hblkhd == s.large_live_bytes, "%s: hblkhd %zu, large_live_bytes %llu",
        when, m.hblkhd, (unsigned long long)s.large_live_bytes);
  CHECK(m.hblks == s.large_live, "%s: hblks %zu, large_live %llu", when,
        m.hblks, (unsigned long long)s.large_live);
  CHECK(m.arena + m.hblkhd == s.os_mapped_bytes,
        "%s: arena %zu + hblkhd %zu, os_mapped_bytes %llu", when, m.arena,
        m.hblkhd, (unsigned long long)s.os_mapped_bytes);
  CHECK(m.uordblks + m.hblkhd == s.bytes_in_use_estimate,
        "%s: uordblks %zu + hblkhd %zu, bytes_in_use_estimate %llu", when,
        m.uordblks, m.hblkhd, (unsigned long long)s.bytes_in_use_estimate);
  CHECK(m.uordblks + m.fordblks == m.arena,
        "%s: uordblks %zu + fordblks %zu, arena %zu", when, m.uordblks,
        m.fordblks, m.arena);
  CHECK(m.usmblks == s.os_mapped_peak_bytes, "%s: usmblks %zu, peak %llu", when,
        m.usmblks, (unsigned long long)s.os_mapped_peak_bytes);
  CHECK(m.smblks == 0 && m.fsmblks == 0, "%s: smblks %zu fsmblks %zu", when,
        m.smblks, m.fsmblks);
}

// The whole of `f` from its start.
std::string ReadAll(FILE* f) {
  std::string text;
  rewind(f);
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), f)) > 0) text.append(buf, n);
  return text;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

// `line` with each run of digits replaced by N; the numbers in `numbers`.
std::string Shape(const std::string& line,
                  std::vector<unsigned long long>* numbers) {
  std::string shape;
  for (size_t i = 0; i < line.size();) {
    if (line[i] >= '0' && line[i] <= '9') {
      numbers->push_back(strtoull(line.c_str() + i, nullptr, 10));
      while (i < line.size() && line[i] >= '0' && line[i] <= '9') ++i;
      shape += 'N';
    } else {
      shape += line[i++];
    }
  }
  return shape;
}

// glibc 2.36's malloc_info with one arena and no free chunks listed in
// <sizes>: what hakmem writes.
const char* const kInfoShape[] = {
    "<malloc version=\"N\">",
    "<heap nr=\"N\">",
    "<sizes>",
    "</sizes>",
    "<total type=\"fast\" count=\"N\" size=\"N\"/>",
    "<total type=\"rest\" count=\"N\" size=\"N\"/>",
    "<system type=\"current\" size=\"N\"/>",
    "<system type=\"max\" size=\"N\"/>",
    "<aspace type=\"total\" size=\"N\"/>",
    "<aspace type=\"mprotect\" size=\"N\"/>",
    "</heap>",
    "<total type=\"fast\" count=\"N\" size=\"N\"/>",
    "<total type=\"rest\" count=\"N\" size=\"N\"/>",
    "<total type=\"mmap\" count=\"N\" size=\"N\"/>",
    "<system type=\"current\" size=\"N\"/>",
    "<system type=\"max\" size=\"N\"/>",
    "<aspace type=\"total\" size=\"N\"/>",
    "<aspace type=\"mprotect\" size=\"N\"/>",
    "</malloc>",
};
constexpr size_t kInfoLines = sizeof(kInfoShape) / sizeof(kInfoShape[0]);

void CheckMallocInfo() {
  FILE* f = tmpfile();
  CHECK(f != nullptr, "tmpfile: %s", strerror(errno));
  if (f == nullptr) return;
  const struct mallinfo2 before = mallinfo2();
  int rc = malloc_info(0, f);
  const struct mallinfo2 after = mallinfo2();
  CHECK(rc == 0, "malloc_info(0) = %d", rc);
  const std::string text = ReadAll(f);
  std::vector<std::string> lines = Lines(text);
  CHECK(lines.size() == kInfoLines, "%zu lines:\n%s", lines.size(),
        text.c_str());
  std::vector<std::vector<unsigned long long>> numbers(lines.size());
  for (size_t i = 0; i < lines.size() && i < kInfoLines; ++i) {
    std::string shape = Shape(lines[i], &numbers[i]);
    CHECK(shape == kInfoShape[i], "line %zu '%s', expected '%s'", i + 1,
          lines[i].c_str(), kInfoShape[i]);
  }
  if (lines.size() != kInfoLines || g_failures != 0) return;
  CHECK(numbers[0][0] == 1, "version %llu", numbers[0][0]);
  // The totals: system current is all that hakmem has mapped (arena +
  // hblkhd), the mmap line the large blocks. The snapshot was taken between
  // `before` and `after`; the slack is a SuperSlab.
  const unsigned long long current = numbers[14][0];
  const size_t low = before.arena + before.hblkhd < after.arena + after.hblkhd
                         ? before.arena + before.hblkhd
                         : after.arena + after.hblkhd;
  const size_t high = before.arena + before.hblkhd < after.arena + after.hblkhd
                          ? after.arena + after.hblkhd
                          : before.arena + before.hblkhd;
  CHECK(current + 2 * kMiB >= low && current <= high + 2 * kMiB,
        "system current %llu, mallinfo2 arena + hblkhd %zu .. %zu", current,
        low, high);
  CHECK(numbers[13][1] == before.hblkhd, "mmap size %llu, hblkhd %zu",
        numbers[13][1], before.hblkhd);
  CHECK(numbers[13][0] == before.hblks, "mmap count %llu, hblks %zu",
        numbers[13][0], before.hblks);
  CHECK(numbers[6][0] + 2 * kMiB >= before.arena &&
            numbers[6][0] <= before.arena + 2 * kMiB,
        "heap 0 system current %llu, arena %zu", numbers[6][0], before.arena);
  CHECK(numbers[15][0] >= current, "system max %llu < current %llu",
        numbers[15][0], current);
  fclose(f);

  // Options other than 0: EINVAL, nothing written.
  f = tmpfile();
  if (f == nullptr) return;
  errno = 0;
  rc = malloc_info(1, f);
  int error = errno;
  CHECK(rc == -1 && error == EINVAL, "malloc_info(1) = %d, errno %d", rc,
        error);
  CHECK(ReadAll(f).empty(), "malloc_info(1) wrote something");
  fclose(f);
}

// malloc_stats() into a file in place of fd 2.
std::string CaptureMallocStats() {
  FILE* f = tmpfile();
  if (f == nullptr) return "";
  fflush(stderr);
  int saved = dup(STDERR_FILENO);
  dup2(fileno(f), STDERR_FILENO);
  malloc_stats();
  fflush(stderr);
  dup2(saved, STDERR_FILENO);
  close(saved);
  std::string text = ReadAll(f);
  fclose(f);
  return text;
}

void CheckMallocStats() {
  const struct hak_stats s = Stats();
  const std::string text = CaptureMallocStats();
  const std::vector<std::string> lines = Lines(text);
  CHECK(lines.size() == 8, "malloc_stats printed %zu lines:\n%s", lines.size(),
        text.c_str());
  if (lines.size() != 8) return;
  const char* const shape[] = {
      "Arena N:",
      "system bytes = N",
      "in use bytes = N",
      "Total (incl. mmap):",
      "system bytes = N",
      "in use bytes = N",
      "max mmap regions = N",
      "max mmap bytes = N",
  };
  std::vector<unsigned long long> numbers;
  for (size_t i = 0; i < 8; ++i) {
    std::string squeezed;
    for (char c : lines[i]) {
      if (c != ' ' || squeezed.empty() || squeezed.back() != ' ') squeezed += c;
    }
    std::string got = Shape(squeezed, &numbers);
    CHECK(got == shape[i], "line %zu '%s', expected '%s'", i + 1,
          lines[i].c_str(), shape[i]);
  }
  if (numbers.size() != 7) return;
  // Total (incl. mmap): hak_stats's mapped and in-use bytes (taken just
  // before; only the capture file's buffer was allocated since).
  CHECK(numbers[3] + 2 * kMiB >= s.os_mapped_bytes &&
            numbers[3] <= s.os_mapped_bytes + 2 * kMiB,
        "total system bytes %llu, os_mapped_bytes %llu", numbers[3],
        (unsigned long long)s.os_mapped_bytes);
  CHECK(numbers[4] >= s.bytes_in_use_estimate &&
            numbers[4] <= s.bytes_in_use_estimate + 2 * kMiB,
        "total in use bytes %llu, bytes_in_use_estimate %llu", numbers[4],
        (unsigned long long)s.bytes_in_use_estimate);
  CHECK(numbers[4] >= 32 * kMiB, "in use bytes %llu with 32 MiB live",
        numbers[4]);
}

int Check() {
  // mallopt: glibc's options are accepted, unknown ones are not.
  CHECK(mallopt(M_MMAP_THRESHOLD, 1 << 20) == 1, "M_MMAP_THRESHOLD");
  CHECK(mallopt(M_TRIM_THRESHOLD, 128 << 10) == 1, "M_TRIM_THRESHOLD");
  CHECK(mallopt(M_ARENA_MAX, 1) == 1, "M_ARENA_MAX");
  CHECK(mallopt(M_PERTURB, 0xa5) == 1, "M_PERTURB");
  CHECK(mallopt(M_MXFAST, 64) == 1, "M_MXFAST 64");
  CHECK(mallopt(M_MXFAST, 161) == 0, "M_MXFAST 161 (above glibc's limit)");
  CHECK(mallopt(-12345, 0) == 0, "unknown parameter");

  CheckSameFigures("at start");
  const struct mallinfo2 start = mallinfo2();
  CHECK(start.uordblks < 16 * kMiB, "uordblks %zu at start", start.uordblks);

  // 32 MiB of live 64 B blocks.
  for (size_t i = 0; i < kBlocks; ++i) {
    g_blocks[i] = malloc(kBlockSize);
    if (g_blocks[i] == nullptr) {
      fprintf(stderr, "FAIL: malloc(64) failed\n");
      return 1;
    }
    memset(g_blocks[i], static_cast<int>(i), kBlockSize);
  }
  const struct mallinfo2 live = mallinfo2();
  CHECK(live.uordblks >= 32 * kMiB && live.uordblks < 48 * kMiB,
        "uordblks %zu with 32 MiB of 64 B blocks live", live.uordblks);
  CHECK(live.arena >= live.uordblks, "arena %zu < uordblks %zu", live.arena,
        live.uordblks);
  CheckSameFigures("32 MiB live");

  // A large block: hblkhd and hblks.
  void* big = malloc(8 * kMiB);
  CHECK(big != nullptr, "malloc(8 MiB)");
  memset(big, 1, 8 * kMiB);
  // The block escapes: -c opt must not drop the malloc/free pair.
  asm volatile("" : : "r"(big) : "memory");
  const struct mallinfo2 with_big = mallinfo2();
  CHECK(with_big.hblkhd >= live.hblkhd + 8 * kMiB,
        "hblkhd %zu -> %zu after 8 MiB", live.hblkhd, with_big.hblkhd);
  CHECK(with_big.hblks == live.hblks + 1, "hblks %zu -> %zu", live.hblks,
        with_big.hblks);
  CheckSameFigures("8 MiB block live");

  // mallinfo: the same figures, in ints.
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wdeprecated-declarations"
  const struct mallinfo old = mallinfo();
#pragma clang diagnostic pop
  const struct mallinfo2 now = mallinfo2();
  CHECK(old.hblkhd == static_cast<int>(now.hblkhd), "mallinfo hblkhd %d, %zu",
        old.hblkhd, now.hblkhd);
  CHECK(old.uordblks == static_cast<int>(now.uordblks),
        "mallinfo uordblks %d, %zu", old.uordblks, now.uordblks);
  CHECK(old.arena == static_cast<int>(now.arena), "mallinfo arena %d, %zu",
        old.arena, now.arena);
  CHECK(old.hblks == static_cast<int>(now.hblks), "mallinfo hblks %d, %zu",
        old.hblks, now.hblks);

  CheckMallocInfo();
  CheckMallocStats();

  // Everything back: malloc_trim gives memory to the OS and says so.
  free(big);
  for (size_t i = 0; i < kBlocks; ++i) free(g_blocks[i]);
  const struct mallinfo2 freed = mallinfo2();
  const struct hak_stats before_trim = Stats();
  CHECK(freed.uordblks < live.uordblks,
        "uordblks %zu after freeing all, %zu before", freed.uordblks,
        live.uordblks);
  int trimmed = malloc_trim(0);
  CHECK(trimmed == 1, "malloc_trim(0) = %d after freeing 40 MiB", trimmed);
  const struct mallinfo2 after = mallinfo2();
  const struct hak_stats after_trim = Stats();
  CHECK(after_trim.os_mapped_bytes < before_trim.os_mapped_bytes,
        "os_mapped_bytes %llu -> %llu",
        (unsigned long long)before_trim.os_mapped_bytes,
        (unsigned long long)after_trim.os_mapped_bytes);
  CHECK(after.arena + after.hblkhd < freed.arena + freed.hblkhd,
        "mallinfo2 mapped %zu -> %zu", freed.arena + freed.hblkhd,
        after.arena + after.hblkhd);
  CHECK(after_trim.os_unmap_calls > before_trim.os_unmap_calls ||
            after_trim.os_decommit_calls > before_trim.os_decommit_calls,
        "malloc_trim made no munmap or madvise call");
  CheckSameFigures("after malloc_trim");
  // Nothing is left to give back: 0, as glibc.
  trimmed = malloc_trim(0);
  CHECK(trimmed == 0, "a second malloc_trim(0) = %d", trimmed);

  if (g_failures != 0) return 1;
  printf(
      "ok: uordblks %zu with 32 MiB live, mapped %zu -> %zu by malloc_trim\n",
      live.uordblks, freed.arena + freed.hblkhd, after.arena + after.hblkhd);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const char* mode = argc > 1 ? argv[1] : "check";
  if (strcmp(mode, "info") == 0) {
    void* p = malloc(100);
    int rc = malloc_info(0, stdout);
    free(p);
    return rc == 0 ? 0 : 1;
  }
  if (strcmp(mode, "stats") == 0) {
    void* p = malloc(100);
    malloc_stats();
    free(p);
    return 0;
  }
  if (strcmp(mode, "check") == 0) return Check();
  fprintf(stderr, "usage: %s [check|info|stats]\n", argv[0]);
  return 2;
}

#include "capi/stats_print.h"

#include <cinttypes>
#include <cstdarg>
#include <cstdint>

#include "hakmem/core/stats.h"

namespace hakmem::internal {
namespace {

// Appends to a fixed buffer, truncating (never overflowing).
class Appender {
 public:
  Appender(char* buf, size_t size) : buf_(buf), size_(size) {
    if (size_ != 0) buf_[0] = '\0';
  }
  void Add(const char* format, ...) __attribute__((format(printf, 2, 3))) {
    if (len_ + 1 >= size_) return;
    va_list args;
    va_start(args, format);
    int n = std::vsnprintf(buf_ + len_, size_ - len_, format, args);
    va_end(args);
    if (n > 0) len_ = len_ + n < size_ ? len_ + n : size_ - 1;
  }
  size_t length() const { return len_; }

 private:
  char* buf_;
  size_t size_;
  size_t len_ = 0;
};

}  // namespace

size_t FormatStats(char* buf, size_t size, bool json) {
  const AllocatorStats s = GetAllocatorStats();
  const struct {
    const char* name;
    uint64_t value;
  } rows[] = {
#define HAKMEM_STATS_ROW(name) {#name, s.name},
      HAKMEM_STATS_FIELDS(HAKMEM_STATS_ROW)
#undef HAKMEM_STATS_ROW
  };
  CounterValue counters[64];
  size_t n = GetCounters(counters, 64);
  if (n > 64) n = 64;

  Appender out(buf, size);
  if (json) out.Add("{\"hakmem\":{");
  for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); ++i) {
    if (json) {
      out.Add("%s\"%s\":%" PRIu64, i ? "," : "", rows[i].name, rows[i].value);
    } else {
      out.Add("hakmem: %-22s %" PRIu64 "\n", rows[i].name, rows[i].value);
    }
  }
  // Slabs per class: the classes in use only, named by block size.
  uint64_t slabs[64];
  size_t classes = CopySlabsPerClass(slabs, 64);
  if (classes > 64) classes = 64;
  if (json) out.Add("},\"slabs_per_class\":{");
  bool first = true;
  for (size_t c = 0; c < classes; ++c) {
    if (slabs[c] == 0) continue;
    if (json) {
      out.Add("%s\"%zu\":%" PRIu64, first ? "" : ",", SizeClassBlockSize(c),
              slabs[c]);
    } else {
      out.Add("hakmem: slabs_class_%-11zu %" PRIu64 "\n", SizeClassBlockSize(c),
              slabs[c]);
    }
    first = false;
  }
  if (json && n != 0) out.Add("},\"counters\":{");
  for (size_t i = 0; i < n; ++i) {
    if (json) {
      out.Add("%s\"%s\":%" PRIu64, i ? "," : "", counters[i].name,
              counters[i].value);
    } else {
      out.Add("hakmem: counter %-22s %" PRIu64 "\n", counters[i].name,
              counters[i].value);
    }
  }
  if (json) out.Add("}}\n");
  return out.length();
}

int PrintStats(FILE* out, bool json) {
  char buf[8192];
  FormatStats(buf, sizeof(buf), json);
  return std::fputs(buf, out) >= 0 && std::fflush(out) == 0 ? 0 : -1;
}

}  // namespace hakmem::internal

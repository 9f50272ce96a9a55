#include "hakmem/platform/fatal_report.h"

#include <unistd.h>

#include <cstdarg>
#include <cstdint>
#include <cstdlib>

namespace hakmem::internal {
namespace {

// A fixed-size line builder: the reporter runs inside the allocator and must
// not allocate.
class LineBuffer {
 public:
  void Put(char c) {
    if (len_ < sizeof(buf_) - 1) buf_[len_++] = c;
  }
  void Put(const char* s) {
    while (s != nullptr && *s != '\0') Put(*s++);
  }
  void PutUnsigned(uint64_t v, unsigned base) {
    char digits[24];
    int n = 0;
    do {
      digits[n++] = "0123456789abcdef"[v % base];
      v /= base;
    } while (v != 0);
    while (n > 0) Put(digits[--n]);
  }
  void VFormat(const char* format, va_list args) {
    for (const char* f = format; *f != '\0'; ++f) {
      if (*f != '%') {
        Put(*f);
        continue;
      }
      ++f;
      if (*f == 'z') ++f;  // %zu
      switch (*f) {
        case 's':
          Put(va_arg(args, const char*));
          break;
        case 'p':
          Put("0x");
          PutUnsigned(reinterpret_cast<uintptr_t>(va_arg(args, void*)), 16);
          break;
        case 'u':
          PutUnsigned(f[-1] == 'z' ? va_arg(args, size_t)
                                   : va_arg(args, unsigned),
                      10);
          break;
        case 'd': {
          int v = va_arg(args, int);
          if (v < 0) Put('-');
          PutUnsigned(v < 0 ? -static_cast<int64_t>(v) : v, 10);
          break;
        }
        case '%':
          Put('%');
          break;
        default:
          return;
      }
    }
  }
  void WriteLine() {
    buf_[len_++] = '\n';
    size_t off = 0;
    while (off < len_) {
      ssize_t n = write(STDERR_FILENO, buf_ + off, len_ - off);
      if (n <= 0) return;
      off += static_cast<size_t>(n);
    }
  }

 private:
  char buf_[512];
  size_t len_ = 0;
};

// Writes "hakmem: <formatted>\n" to stderr.
void WriteReport(const char* format, va_list args) {
  LineBuffer line;
  line.Put("hakmem: ");
  line.VFormat(format, args);
  line.WriteLine();
}

}  // namespace

void FatalError(const char* format, ...) {
  va_list args;
  va_start(args, format);
  WriteReport(format, args);
  va_end(args);
  abort();
}

void Warn(const char* format, ...) {
  va_list args;
  va_start(args, format);
  WriteReport(format, args);
  va_end(args);
}

void FatalInvariant(const char* condition, const char* file, int line) {
  FatalError("invariant failed: %s at %s:%d", condition, file, line);
}

}  // namespace hakmem::internal

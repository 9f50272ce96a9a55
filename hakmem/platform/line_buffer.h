// A fixed-size line builder for reports: formats into its own array and
// writes with write(2). It never allocates and calls nothing but write, so
// it is async-signal-safe and may run inside the allocator with its locks
// held. Text beyond the capacity is cut.
#ifndef HAKMEM_PLATFORM_LINE_BUFFER_H_
#define HAKMEM_PLATFORM_LINE_BUFFER_H_

#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstddef>
#include <cstdint>

namespace hakmem::internal {

template <size_t kCapacity>
class BasicLineBuffer {
  static_assert(kCapacity >= 2, "room for a newline and a terminator");

 public:
  void Put(char c) {
    // Keeps one byte for WriteLine's newline and one for c_str's NUL.
    if (len_ < kCapacity - 2) buf_[len_++] = c;
  }
  void Put(const char* s) {
    while (s != nullptr && *s != '\0') Put(*s++);
  }
  void PutUnsigned(uint64_t v, unsigned base = 10) {
    char digits[24];
    int n = 0;
    do {
      digits[n++] = "0123456789abcdef"[v % base];
      v /= base;
    } while (v != 0);
    while (n > 0) Put(digits[--n]);
  }
  void PutSigned(int64_t v) {
    if (v < 0) Put('-');
    PutUnsigned(v < 0 ? 0 - static_cast<uint64_t>(v) : static_cast<uint64_t>(v),
                10);
  }
  // "0x" and lowercase hex digits.
  void PutHex(uint64_t v) {
    Put("0x");
    PutUnsigned(v, 16);
  }

  // printf-style, with only %s, %p, %zu, %u, %d and %%. A null %s prints
  // nothing and %p prints 0x0 for a null pointer. An unknown conversion
  // ends the formatting.
  void Format(const char* format, ...) {
    va_list args;
    va_start(args, format);
    VFormat(format, args);
    va_end(args);
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
          PutHex(reinterpret_cast<uintptr_t>(va_arg(args, void*)));
          break;
        case 'u':
          PutUnsigned(
              f[-1] == 'z' ? va_arg(args, size_t) : va_arg(args, unsigned), 10);
          break;
        case 'd':
          PutSigned(va_arg(args, int));
          break;
        case '%':
          Put('%');
          break;
        default:
          return;
      }
    }
  }

  // The text so far, NUL-terminated, without a newline.
  const char* c_str() {
    buf_[len_] = '\0';
    return buf_;
  }
  size_t size() const { return len_; }
  void Clear() { len_ = 0; }

  // Writes the text and a newline to `fd` (retrying short writes and
  // EINTR, giving up on other errors), then clears the buffer. errno is
  // left as it was.
  void WriteLine(int fd) {
    int saved_errno = errno;
    buf_[len_++] = '\n';
    size_t off = 0;
    while (off < len_) {
      ssize_t n = write(fd, buf_ + off, len_ - off);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      off += static_cast<size_t>(n);
    }
    len_ = 0;
    errno = saved_errno;
  }

 private:
  char buf_[kCapacity];
  size_t len_ = 0;
};

using LineBuffer = BasicLineBuffer<512>;

}  // namespace hakmem::internal

#endif  // HAKMEM_PLATFORM_LINE_BUFFER_H_

#include "hakmem/platform/fatal_report.h"

#include <unistd.h>

#include <cstdarg>
#include <cstdlib>

#include "hakmem/platform/line_buffer.h"

namespace hakmem::internal {
namespace {

// Writes "hakmem: <formatted>\n" to stderr.
void WriteReport(const char* format, va_list args) {
  LineBuffer line;
  line.Put("hakmem: ");
  line.VFormat(format, args);
  line.WriteLine(STDERR_FILENO);
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

// Observes hakmem's memory-error reports through hak_set_error_handler.
//
// Outside an expectation window every report is a false positive: the
// handler prints hakmem's report line and aborts at once, so the crash stack
// shows the valid operation that was reported. Inside a window (an injected
// error is under way) reports are recorded into a fixed array and the
// injector checks them: exactly one, of the expected kind, for the expected
// pointer, tier and class, from the erring thread.
//
// The handler runs inside hakmem (possibly inside malloc or free): it only
// copies the report into the array.
#ifndef HAKMEM_FUZZ_ERROR_LOG_H_
#define HAKMEM_FUZZ_ERROR_LOG_H_

#include "capi/hakmem.h"

namespace fuzz {

// Installs the handler (once per process; idempotent).
void InstallErrorLog();

// One recorded report.
struct ErrorRecord {
  hak_error_kind kind;
  const void* ptr;
  const char* tier;
  int size_class;
  unsigned thread;
  char line[192];
};

inline constexpr unsigned KindBit(hak_error_kind kind) { return 1u << kind; }
inline constexpr int kAnyClass = -2;

// What an injected error must produce.
struct ExpectedError {
  const void* ptr;
  unsigned kinds;              // KindBit()s of the acceptable kinds
  const char* tier = nullptr;  // nullptr: any tier
  int size_class = kAnyClass;  // also checked when tier is set
};

// Opens an expectation window: clears the record and makes reports
// non-fatal until the window closes. Windows do not nest.
class ErrorWindow {
 public:
  ErrorWindow();
  ~ErrorWindow();
  ErrorWindow(const ErrorWindow&) = delete;
  ErrorWindow& operator=(const ErrorWindow&) = delete;

  // Reports recorded since the window opened.
  int count() const;
  const ErrorRecord& operator[](int i) const;

  // Fails unless exactly one report was recorded, on the calling thread,
  // matching `expected`. `what` describes the injected error.
  void ExpectOne(const ExpectedError& expected, const char* what) const;
};

const char* KindName(hak_error_kind kind);

}  // namespace fuzz

#endif  // HAKMEM_FUZZ_ERROR_LOG_H_

// For tests: while an ErrorLog lives, reported memory errors are recorded
// in `errors` instead of following the error policy, and the operations
// that erred do nothing (their blocks are left alone).
#ifndef HAKMEM_ERROR_ERROR_LOG_FOR_TESTS_H_
#define HAKMEM_ERROR_ERROR_LOG_FOR_TESTS_H_

#include <vector>

#include "hakmem/error/memory_error.h"

namespace hakmem::internal {

class ErrorLog {
 public:
  ErrorLog() { SetMemoryErrorHandler(&ErrorLog::Record, this); }
  ~ErrorLog() { SetMemoryErrorHandler(nullptr, nullptr); }
  ErrorLog(const ErrorLog&) = delete;
  ErrorLog& operator=(const ErrorLog&) = delete;

  std::vector<MemoryError> errors;

 private:
  static void Record(const MemoryErrorReport& report, void* self) {
    static_cast<ErrorLog*>(self)->errors.push_back(report.error);
  }
};

}  // namespace hakmem::internal

#endif  // HAKMEM_ERROR_ERROR_LOG_FOR_TESTS_H_

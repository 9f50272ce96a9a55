// Command-line flags of the benchmarks: `--name=value`, integers or
// comma-separated integer lists. An unknown flag, a malformed value or a
// positional argument prints the usage and exits with status 2.
#ifndef HAKMEM_BENCH_FLAGS_H_
#define HAKMEM_BENCH_FLAGS_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace bench {

class Flags {
 public:
  // `usage` is printed (after the program name) on any error.
  Flags(int argc, char** argv, std::string usage);

  // The value of --name, or `fallback` when absent. Must be >= `min`.
  int64_t Int(const std::string& name, int64_t fallback, int64_t min = 0);
  std::vector<int64_t> IntList(const std::string& name,
                               const std::vector<int64_t>& fallback,
                               int64_t min = 0);

  // Call after reading every flag: fails on flags nobody asked for.
  void RejectUnknown() const;

 private:
  [[noreturn]] void Fail(const std::string& message) const;

  std::string program_;
  std::string usage_;
  std::map<std::string, std::string> values_;
  std::map<std::string, bool> used_;
};

}  // namespace bench

#endif  // HAKMEM_BENCH_FLAGS_H_

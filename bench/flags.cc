#include "bench/flags.h"

#include <cstdio>
#include <cstdlib>
#include <sstream>

namespace bench {

Flags::Flags(int argc, char** argv, std::string usage)
    : program_(argc > 0 ? argv[0] : "bench"), usage_(std::move(usage)) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    size_t eq = arg.find('=');
    if (arg.rfind("--", 0) != 0 || eq == std::string::npos || eq == 2) {
      Fail("expected --name=value, got '" + arg + "'");
    }
    values_[arg.substr(2, eq - 2)] = arg.substr(eq + 1);
  }
}

int64_t Flags::Int(const std::string& name, int64_t fallback, int64_t min) {
  std::vector<int64_t> list = IntList(name, {fallback}, min);
  if (list.size() != 1) Fail("--" + name + " takes one integer");
  return list[0];
}

std::vector<int64_t> Flags::IntList(const std::string& name,
                                    const std::vector<int64_t>& fallback,
                                    int64_t min) {
  used_[name] = true;
  auto it = values_.find(name);
  if (it == values_.end()) return fallback;
  std::vector<int64_t> list;
  std::stringstream items(it->second);
  std::string item;
  while (std::getline(items, item, ',')) {
    char* end = nullptr;
    long long value = std::strtoll(item.c_str(), &end, 10);
    if (item.empty() || *end != '\0' || value < min) {
      Fail("--" + name + ": '" + item +
           "' is not an integer >= " + std::to_string(min));
    }
    list.push_back(value);
  }
  if (list.empty()) Fail("--" + name + " is empty");
  return list;
}

void Flags::RejectUnknown() const {
  for (const auto& [name, value] : values_) {
    if (!used_.count(name)) Fail("unknown flag --" + name);
  }
}

void Flags::Fail(const std::string& message) const {
  std::fprintf(stderr, "%s: %s\nusage: %s %s\n", program_.c_str(),
               message.c_str(), program_.c_str(), usage_.c_str());
  std::exit(2);
}

}  // namespace bench

#include "kv_service.h"

#include <cstring>
#include <memory_resource>
#include <string>
#include <string_view>
#include <vector>

namespace consumer {
namespace {

// One parsed request: views into the request text.
struct Request {
  std::string_view verb, key, value;
};

Request Parse(std::string_view line) {
  Request r;
  size_t sp = line.find(' ');
  r.verb = line.substr(0, sp);
  if (sp == std::string_view::npos) return r;
  line.remove_prefix(sp + 1);
  sp = line.find(' ');
  r.key = line.substr(0, sp);
  if (sp != std::string_view::npos) r.value = line.substr(sp + 1);
  return r;
}

}  // namespace

std::vector<std::string> KvService::HandleBatch(
    const std::vector<std::string>& requests) {
  // Scratch memory for the batch lives in its own heap: the parsed
  // requests go into a pmr vector on it, and the whole heap is released at
  // once when the batch is done.
  hakmem::Heap scratch = hakmem::Heap::Create().value();
  std::vector<std::string> responses;
  {
    hakmem::HeapResource resource(scratch);
    std::pmr::vector<Request> parsed(&resource);
    parsed.reserve(requests.size());
    for (const std::string& line : requests) parsed.push_back(Parse(line));
    responses.reserve(parsed.size());
    for (const Request& r : parsed) {
      responses.push_back(Handle(r.verb, r.key, r.value));
    }
  }
  return responses;
}

std::string KvService::Handle(std::string_view verb, std::string_view key,
                              std::string_view value) {
  if (verb == "SET" && !key.empty()) {
    hakmem::Box<char[]> v = hakmem::MakeBox<char[]>(value.size());
    if (!value.empty()) std::memcpy(v.data(), value.data(), value.size());
    store_.insert_or_assign(Key(key.data(), key.size()), std::move(v));
    return "OK";
  }
  if (verb == "GET") {
    auto it = store_.find(Key(key.data(), key.size()));
    if (it == store_.end()) return "NOT_FOUND";
    return std::string(it->second.data(), it->second.size());
  }
  if (verb == "DEL") {
    return store_.erase(Key(key.data(), key.size())) ? "DELETED" : "NOT_FOUND";
  }
  if (verb == "COUNT") return std::to_string(store_.size());
  return "ERROR unknown request";
}

}  // namespace consumer

// A tiny in-memory key-value "service": the kind of program that takes
// hakmem as its allocator. Requests are text lines:
//
//   SET <key> <value>   -> "OK"
//   GET <key>           -> the value, or "NOT_FOUND"
//   DEL <key>           -> "DELETED" or "NOT_FOUND"
//   COUNT               -> the number of keys
//
// Memory: the store keeps keys in hakmem::Allocator strings and values in
// hakmem::Box<char[]>; each batch of requests is parsed into a
// hakmem::Heap that is dropped, with everything in it, when the batch is
// done. The binary also replaces malloc with hakmem, so everything else
// (std::string, iostreams) is served by hakmem too.
#ifndef CONSUMER_KV_SERVICE_H_
#define CONSUMER_KV_SERVICE_H_

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "hakmem/hakmem.h"

namespace consumer {

class KvService {
 public:
  // Handles the requests in order; returns one response per request.
  // Must be called on one thread at a time (the batch heap is owned by the
  // calling thread).
  std::vector<std::string> HandleBatch(
      const std::vector<std::string>& requests);

  size_t size() const { return store_.size(); }

 private:
  using Key =
      std::basic_string<char, std::char_traits<char>, hakmem::Allocator<char>>;
  struct KeyHash {
    size_t operator()(const Key& k) const {
      return std::hash<std::string_view>()(
          std::string_view(k.data(), k.size()));
    }
  };
  using Store = std::unordered_map<
      Key, hakmem::Box<char[]>, KeyHash, std::equal_to<Key>,
      hakmem::Allocator<std::pair<const Key, hakmem::Box<char[]>>>>;

  std::string Handle(std::string_view verb, std::string_view key,
                     std::string_view value);

  Store store_;
};

}  // namespace consumer

#endif  // CONSUMER_KV_SERVICE_H_

// The service binary: reads requests from stdin (one per line), or makes
// `--synthetic N` of them, answers them, and reports on stderr what hakmem
// served. Linked with @hakmem//:hakmem_override, so hakmem is its
// malloc and operator new.
//
//   bazel run //:kv_service -- --synthetic 100000
//   printf 'SET a 1\nGET a\n' | bazel-bin/kv_service
#include <malloc.h>

#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "capi/hakmem.h"
#include "kv_service.h"

namespace {

int g_errors = 0;
void CountError(const hak_error*, void*) { ++g_errors; }

std::vector<std::string> Synthetic(size_t n, size_t seed) {
  std::vector<std::string> out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    const size_t k = (i * 2654435761u + seed) % 5000;
    const std::string key = "key" + std::to_string(k);
    switch (i % 4) {
      case 0:
      case 1:
        out.push_back("SET " + key + " value-" + std::to_string(i) +
                      std::string(k % 200, 'v'));
        break;
      case 2:
        out.push_back("GET " + key);
        break;
      default:
        out.push_back(k % 3 == 0 ? "DEL " + key : "GET " + key);
    }
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  consumer::KvService service;
  size_t answered = 0;
  if (argc == 3 && std::strcmp(argv[1], "--synthetic") == 0) {
    const size_t n = std::strtoull(argv[2], nullptr, 10);
    const size_t kBatch = 1000;
    for (size_t done = 0; done < n; done += kBatch) {
      answered += service
                      .HandleBatch(Synthetic(
                          n - done < kBatch ? n - done : kBatch, done))
                      .size();
    }
    std::cout << "answered " << answered << " requests; keys "
              << service.HandleBatch({"COUNT"}).front() << "\n";
  } else {
    std::vector<std::string> batch;
    for (std::string line; std::getline(std::cin, line);) batch.push_back(line);
    for (const std::string& r : service.HandleBatch(batch)) {
      std::cout << r << "\n";
      ++answered;
    }
  }

  // Show that hakmem, not glibc, served this process: a plain malloc is a
  // hakmem block (hak_usable_size would report a foreign pointer), and
  // hakmem's counters moved.
  void* probe = std::malloc(100);
  hak_error_handler previous = hak_set_error_handler(CountError, nullptr);
  const bool hakmem_malloc =
      probe != nullptr && malloc_usable_size(probe) == hak_usable_size(probe) &&
      g_errors == 0;
  hak_set_error_handler(previous, nullptr);
  std::free(probe);
  hak_stats s;
  std::memset(&s, 0, sizeof s);
  s.version = HAK_STATS_VERSION;
  s.size = sizeof s;
  if (hak_stats_get(&s) != 0) return 1;
  std::fprintf(stderr,
               "hakmem %u.%u.%u served this process: malloc is hakmem: %s; "
               "slab_blocks_served=%" PRIu64 " os_mapped_peak_bytes=%" PRIu64
               "\n",
               hak_version() >> 16, (hak_version() >> 8) & 0xFF,
               hak_version() & 0xFF, hakmem_malloc ? "yes" : "NO",
               s.slab_blocks_served, s.os_mapped_peak_bytes);
  return hakmem_malloc && s.slab_blocks_served > 0 ? 0 : 1;
}

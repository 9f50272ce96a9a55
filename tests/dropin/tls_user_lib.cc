// A shared library, loaded with dlopen while hakmem is preloaded, that uses
// thread-local storage of both kinds and allocates:
//   - initial-exec TLS (DF_STATIC_TLS): dlopen must find room for it in the
//     static TLS block's surplus, which a preloaded allocator must not eat;
//   - dynamic TLS (thread_local with constructors and destructors): glibc
//     allocates these blocks with malloc on first access in each thread
//     and frees them at thread exit, after hakmem's own exit hook.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

namespace {

// 1 KiB: glibc leaves about 1.6 KiB of static TLS for dlopen'ed libraries.
__thread char ie_buffer[1024] __attribute__((tls_model("initial-exec")));
__thread uint64_t ie_calls __attribute__((tls_model("initial-exec")));

thread_local std::string gd_log;
thread_local std::vector<std::string> gd_history(3, std::string(100, 'h'));

uint64_t Mix(uint64_t h, uint64_t v) { return (h ^ v) * 0x100000001B3ull; }

}  // namespace

// Deterministic for a given seed and call number in the thread.
extern "C" __attribute__((visibility("default"))) uint64_t tls_user_work(
    int seed) {
  ++ie_calls;
  snprintf(ie_buffer, sizeof(ie_buffer), "seed=%d call=%llu", seed,
           static_cast<unsigned long long>(ie_calls));
  memset(ie_buffer + 512, seed & 0x7F, 512);
  gd_log += ie_buffer;
  gd_history.push_back(gd_log);

  char* copy = strdup(ie_buffer);
  std::map<int, std::string> table;
  for (int i = 0; i < 500; ++i) table[i] = std::to_string(i * seed) + copy;
  void* big = malloc(300000);
  memset(big, seed, 300000);

  uint64_t h = 0xCBF29CE484222325ull;
  for (const auto& [k, v] : table) h = Mix(h, k + v.size() + v[0]);
  h = Mix(h, static_cast<unsigned char>(ie_buffer[1023]));
  h = Mix(h, gd_history.size());
  h = Mix(h, static_cast<unsigned char*>(big)[299999]);
  free(big);
  free(copy);
  return h;
}

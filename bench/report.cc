#include "bench/report.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "capi/hakmem.h"

namespace bench {
namespace {

// Looked up at run time, not linked: present only when hakmem is loaded.
void PrintHakmemBlocksServed() {
  using StatsGet = int (*)(hak_stats*);
  auto stats_get =
      reinterpret_cast<StatsGet>(dlsym(RTLD_DEFAULT, "hak_stats_get"));
  hak_stats stats{};
  stats.version = HAK_STATS_VERSION;
  stats.size = sizeof(stats);
  if (stats_get == nullptr || stats_get(&stats) != 0) {
    std::printf("hakmem_blocks_served absent\n");
    return;
  }
  std::printf("hakmem_blocks_served %" PRIu64 "\n", stats.slab_blocks_served);
}

void PrintMallocProvider() {
  Dl_info info{};
  void* malloc_symbol = dlsym(RTLD_DEFAULT, "malloc");
  bool found = malloc_symbol != nullptr && dladdr(malloc_symbol, &info) != 0 &&
               info.dli_fname != nullptr;
  std::printf("malloc_from %s\n", found ? info.dli_fname : "unknown");
}

}  // namespace

// Read with read(2) into the stack, not stdio: fopen would allocate through
// the allocator measured.
long StatusKib(const char* field) {
  int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  char text[4096];
  ssize_t length = read(fd, text, sizeof(text) - 1);
  close(fd);
  if (length <= 0) return -1;
  text[length] = '\0';
  const char* line = std::strstr(text, field);
  if (line == nullptr) return -1;
  return std::strtol(line + std::strlen(field), nullptr, 10);
}

void PrintResult(const std::string& name, double value, const char* unit) {
  std::printf("result %s %.6g %s\n", name.c_str(), value, unit);
}

void PrintProcessReport() {
  // Read first: what follows may allocate (dlsym, dladdr).
  long final_kib = StatusKib("VmRSS:");
  std::printf("peak_rss_kib %ld\n", StatusKib("VmHWM:"));
  std::printf("final_rss_kib %ld\n", final_kib);
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  std::printf("minor_faults %ld\n", usage.ru_minflt);
  PrintMallocProvider();
  PrintHakmemBlocksServed();
  std::fflush(stdout);
}

}  // namespace bench

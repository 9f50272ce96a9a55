#include "bench/report.h"

#include <dlfcn.h>
#include <sys/resource.h>

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

// VmHWM in KiB, or -1 when /proc cannot be read.
long PeakRssKib() {
  FILE* status = std::fopen("/proc/self/status", "r");
  if (status == nullptr) return -1;
  long kib = -1;
  char line[256];
  while (std::fgets(line, sizeof(line), status) != nullptr) {
    if (std::strncmp(line, "VmHWM:", 6) == 0) {
      kib = std::strtol(line + 6, nullptr, 10);
      break;
    }
  }
  std::fclose(status);
  return kib;
}

}  // namespace

void PrintResult(const std::string& name, double value, const char* unit) {
  std::printf("result %s %.6g %s\n", name.c_str(), value, unit);
}

void PrintProcessReport() {
  std::printf("peak_rss_kib %ld\n", PeakRssKib());
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  std::printf("minor_faults %ld\n", usage.ru_minflt);
  PrintMallocProvider();
  PrintHakmemBlocksServed();
  std::fflush(stdout);
}

}  // namespace bench

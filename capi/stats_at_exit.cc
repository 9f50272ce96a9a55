// HAKMEM_STATS=1 (or json) prints hakmem's statistics to stderr when the
// program exits, so that anyone can confirm that hakmem really was the
// allocator: an LD_PRELOAD that silently failed shows no output at all.
//
// Many programs close stderr in an exit handler of their own (gnulib's
// close_stdout: sort, xz, coreutils) that runs before this one, so the
// report goes to a duplicate of fd 2 taken at start-up.
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>

#include "capi/stats_print.h"
#include "hakmem/config/config.h"

namespace {

int g_stats_fd = -1;

void PrintStatsAtExit() {
  char buf[4096];
  size_t len = hakmem::internal::FormatStats(
      buf, sizeof(buf),
      hakmem::internal::GetConfig().stats_at_exit ==
          hakmem::internal::StatsOutput::kJson);
  for (size_t off = 0; off < len;) {
    ssize_t n = write(g_stats_fd, buf + off, len - off);
    if (n <= 0) break;
    off += static_cast<size_t>(n);
  }
}

// Reading the configuration here also reports bad HAKMEM_* variables at
// start-up rather than at the first allocation that needs them.
__attribute__((constructor)) void RegisterStatsAtExit() {
  if (hakmem::internal::GetConfig().stats_at_exit ==
      hakmem::internal::StatsOutput::kNone)
    return;
  g_stats_fd = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
  if (g_stats_fd >= 0) std::atexit(PrintStatsAtExit);
}

}  // namespace

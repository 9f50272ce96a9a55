// What every benchmark prints, one `key value...` line each, for people and
// for tools/bench_runner.py:
//
//   result <name> <value> <unit>     one measurement; unit ops/s or ns/pair
//   peak_rss_kib <n>                 peak resident set: VmHWM (see below)
//   final_rss_kib <n>                resident set (VmRSS) once the
//                                    benchmark has freed every block and
//                                    joined its threads: the program's own
//                                    pages plus what the allocator keeps
//                                    unasked (no call makes it give back)
//   minor_faults <n>                 page faults served without I/O
//                                    (getrusage ru_minflt)
//   malloc_from <path>               the object whose malloc the program uses
//   hakmem_blocks_served <n>|absent  hakmem's slab_blocks_served, or absent
//                                    when no hak_stats_get is loaded
//
// The last two prove which allocator did the work: the benchmarks call
// plain malloc/free, and the allocator is chosen with LD_PRELOAD.
//
// Peak RSS is VmHWM from /proc/self/status, not getrusage's ru_maxrss: Linux
// keeps ru_maxrss across execve, so a benchmark started by a big process
// (python's subprocess forks the interpreter) would report the parent's
// peak. VmHWM belongs to the address space, which execve replaces.
#ifndef HAKMEM_BENCH_REPORT_H_
#define HAKMEM_BENCH_REPORT_H_

#include <string>

namespace bench {

void PrintResult(const std::string& name, double value, const char* unit);

// A field of /proc/self/status in KiB ("VmHWM:", "VmRSS:"), or -1 when it
// cannot be read. Allocates nothing.
long StatusKib(const char* field);

// The process lines (all but `result`); call once, after the measurements,
// with every block freed and every thread joined (final_rss_kib).
void PrintProcessReport();

}  // namespace bench

#endif  // HAKMEM_BENCH_REPORT_H_

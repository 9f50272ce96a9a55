// CPU-time timers (user and system time, page faults included). Unlike
// wall time, CPU time does not grow while other processes hold the CPU,
// which on a small shared machine is most of a benchmark's noise; on an
// idle machine the two agree for threads that never sleep.
//   ThreadCpuTimer   the calling thread's CPU time
//   ProcessCpuTimer  all threads of the process, exited ones included
#ifndef HAKMEM_BENCH_CPU_TIMER_H_
#define HAKMEM_BENCH_CPU_TIMER_H_

#include <time.h>

namespace bench {

template <clockid_t kClock>
class CpuTimer {
 public:
  CpuTimer() : start_(Now()) {}

  double Seconds() const { return Now() - start_; }

 private:
  static double Now() {
    timespec t{};
    clock_gettime(kClock, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
  }

  double start_;
};

using ThreadCpuTimer = CpuTimer<CLOCK_THREAD_CPUTIME_ID>;
using ProcessCpuTimer = CpuTimer<CLOCK_PROCESS_CPUTIME_ID>;

}  // namespace bench

#endif  // HAKMEM_BENCH_CPU_TIMER_H_

// A test-and-test-and-set lock for the allocator's slow paths. It cannot
// use a pthread mutex safely before libc is initialised, and it must never
// allocate. Holders keep it for short, bounded work only.
#ifndef HAKMEM_PLATFORM_SPIN_LOCK_H_
#define HAKMEM_PLATFORM_SPIN_LOCK_H_

#include <sched.h>

#include <atomic>

namespace hakmem::internal {

inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

class SpinLock {
 public:
  constexpr SpinLock() = default;
  SpinLock(const SpinLock&) = delete;
  SpinLock& operator=(const SpinLock&) = delete;

  void Lock() {
    while (locked_.exchange(true, std::memory_order_acquire)) {
      int spins = 0;
      while (locked_.load(std::memory_order_relaxed)) {
        if (++spins < 64) {
          CpuRelax();
        } else {
          sched_yield();  // the holder may be descheduled (2-core machines)
        }
      }
    }
  }
  // For a fault handler, which must not wait on a holder it interrupted.
  bool TryLock() {
    return !locked_.load(std::memory_order_relaxed) &&
           !locked_.exchange(true, std::memory_order_acquire);
  }
  void Unlock() { locked_.store(false, std::memory_order_release); }

 private:
  std::atomic<bool> locked_{false};
};

class SpinLockHolder {
 public:
  explicit SpinLockHolder(SpinLock& lock) : lock_(lock) { lock_.Lock(); }
  ~SpinLockHolder() { lock_.Unlock(); }
  SpinLockHolder(const SpinLockHolder&) = delete;
  SpinLockHolder& operator=(const SpinLockHolder&) = delete;

 private:
  SpinLock& lock_;
};

}  // namespace hakmem::internal

#endif  // HAKMEM_PLATFORM_SPIN_LOCK_H_

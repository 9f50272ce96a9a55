// A deterministic schedule for several threads: each step runs on exactly
// one designated thread while the others wait on a condition variable, so
// a fuzzer input replays the same interleaving every time, and the model
// the steps share needs no locks (the mutex hand-over orders every step
// after the previous one).
//
// Threads sit in numbered slots. Restart(slot) ends the slot's thread (its
// thread-exit work, hakmem's heap teardown included, is done before
// Restart returns) and starts a fresh one in its place.
#ifndef HAKMEM_FUZZ_STEP_SCHEDULER_H_
#define HAKMEM_FUZZ_STEP_SCHEDULER_H_

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace fuzz {

class StepScheduler {
 public:
  explicit StepScheduler(int slots);
  // Ends every thread.
  ~StepScheduler();
  StepScheduler(const StepScheduler&) = delete;
  StepScheduler& operator=(const StepScheduler&) = delete;

  int slots() const { return static_cast<int>(threads_.size()); }

  // Runs `step` on the thread in `slot` and returns when it is done.
  void Run(int slot, const std::function<void()>& step);

  // Ends the thread in `slot` (joined) and starts a new one there.
  void Restart(int slot);

 private:
  void Start(int slot);
  void Stop(int slot);
  void Loop(int slot);

  std::mutex mu_;
  std::condition_variable cv_;
  int turn_ = -1;  // slot whose thread runs *step_; -1: none
  const std::function<void()>* step_ = nullptr;
  std::vector<bool> stop_;
  std::vector<std::thread> threads_;
};

}  // namespace fuzz

#endif  // HAKMEM_FUZZ_STEP_SCHEDULER_H_

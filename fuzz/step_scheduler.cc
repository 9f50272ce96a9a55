#include "fuzz/step_scheduler.h"

namespace fuzz {

StepScheduler::StepScheduler(int slots) : stop_(slots, false), threads_(slots) {
  for (int s = 0; s < slots; ++s) Start(s);
}

StepScheduler::~StepScheduler() {
  for (int s = 0; s < slots(); ++s) Stop(s);
}

void StepScheduler::Start(int slot) {
  stop_[slot] = false;
  threads_[slot] = std::thread([this, slot] { Loop(slot); });
}

void StepScheduler::Stop(int slot) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_[slot] = true;
  }
  cv_.notify_all();
  threads_[slot].join();
}

void StepScheduler::Restart(int slot) {
  Stop(slot);
  Start(slot);
}

void StepScheduler::Run(int slot, const std::function<void()>& step) {
  std::unique_lock<std::mutex> lock(mu_);
  step_ = &step;
  turn_ = slot;
  cv_.notify_all();
  cv_.wait(lock, [&] { return turn_ == -1; });
  step_ = nullptr;
}

void StepScheduler::Loop(int slot) {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return turn_ == slot || stop_[slot]; });
    if (turn_ == slot) {
      lock.unlock();
      (*step_)();
      lock.lock();
      turn_ = -1;
      cv_.notify_all();
    } else {
      return;
    }
  }
}

}  // namespace fuzz

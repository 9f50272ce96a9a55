// Blocks cross threads: producers hand blocks to consumers that free them;
// threads exit with live blocks that other threads free later, after which
// new threads allocate again; 32 threads run a mixed workload that trades
// blocks among themselves. Contents are verified by whoever frees a block.
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "capi/hakmem.h"
#include "gtest/gtest.h"
#include "tests/test_util.h"

namespace hakmem_test {
namespace {

// Collects failed checks from any thread, reporting only the first few.
class Failures {
 public:
  bool Ok(const ::testing::AssertionResult& r) {
    if (r) return true;
    if (count_.fetch_add(1) < 5) ADD_FAILURE() << r.message();
    return false;
  }
  int count() const { return count_.load(); }

 private:
  std::atomic<int> count_{0};
};

// Allocates a block of `size`, checks it and fills it (sampled pattern).
// Returns a block with p == nullptr on failure.
Block NewBlock(size_t size, uint64_t seed, Failures& failures) {
  void* p = hak_malloc(size);
  if (!failures.Ok(WellFormed(p, size))) return {nullptr, 0, 0};
  FillSampled(p, size, seed);
  return {p, size, seed};
}

// Verifies a block's pattern and frees it, with hak_free_sized for odd seeds.
void CheckAndFree(const Block& b, Failures& failures) {
  failures.Ok(SampledIntact(b.p, b.size, b.seed));
  if (b.seed % 2 == 1) {
    hak_free_sized(b.p, b.size);
  } else {
    hak_free(b.p);
  }
}

// A bounded multi-producer, multi-consumer queue.
class BlockQueue {
 public:
  explicit BlockQueue(size_t capacity) : capacity_(capacity) {}

  void Push(const Block& b) {
    std::unique_lock<std::mutex> lock(mu_);
    not_full_.wait(lock, [&] { return queue_.size() < capacity_; });
    queue_.push_back(b);
    not_empty_.notify_one();
  }

  // False once the queue is closed and drained.
  bool Pop(Block* out) {
    std::unique_lock<std::mutex> lock(mu_);
    not_empty_.wait(lock, [&] { return !queue_.empty() || closed_; });
    if (queue_.empty()) return false;
    *out = queue_.front();
    queue_.pop_front();
    not_full_.notify_one();
    return true;
  }

  void Close() {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
    not_empty_.notify_all();
  }

 private:
  const size_t capacity_;
  std::mutex mu_;
  std::condition_variable not_full_, not_empty_;
  std::deque<Block> queue_;
  bool closed_ = false;
};

TEST(CrossThreadTest, ConsumersFreeProducersBlocks) {
  constexpr int kProducers = 2, kConsumers = 2;
  const size_t per_producer = Scaled(20000);
  BlockQueue queue(256);
  Failures failures;
  std::atomic<size_t> consumed{0};

  std::vector<std::thread> producers, consumers;
  for (int t = 0; t < kProducers; ++t) {
    producers.emplace_back([&, t] {
      Rng rng(t + 1);
      const uint64_t seed0 = uint64_t(t + 1) << 40;
      for (size_t i = 0; i < per_producer; ++i) {
        Block b = NewBlock(RandomSize(rng), seed0 + 2 * i, failures);
        if (b.p == nullptr) return;
        queue.Push(b);
        if (i % 4 == 0) {  // Local frees on the same heap, in between.
          Block own = NewBlock(RandomSize(rng), seed0 + 2 * i + 1, failures);
          if (own.p != nullptr) CheckAndFree(own, failures);
        }
      }
    });
  }
  for (int t = 0; t < kConsumers; ++t) {
    consumers.emplace_back([&, t] {
      // Consumers also allocate: a window of their own recent blocks.
      Rng rng(100 + t);
      std::deque<Block> own;
      uint64_t seed = uint64_t(100 + t) << 40;
      Block b{};
      while (queue.Pop(&b)) {
        CheckAndFree(b, failures);
        consumed.fetch_add(1);
        own.push_back(NewBlock(RandomSize(rng), seed++, failures));
        if (own.back().p == nullptr) own.pop_back();
        if (own.size() > 32) {
          CheckAndFree(own.front(), failures);
          own.pop_front();
        }
      }
      for (const Block& o : own) CheckAndFree(o, failures);
    });
  }
  for (auto& t : producers) t.join();
  queue.Close();
  for (auto& t : consumers) t.join();
  EXPECT_EQ(failures.count(), 0);
  EXPECT_EQ(consumed.load(), kProducers * per_producer);
}

TEST(CrossThreadTest, BlocksOutliveTheThreadThatAllocatedThem) {
  constexpr size_t kOwners = 8, kFreers = 4;
  // Block i of each owner goes to freer i % kShares; share kFreers is freed
  // by main, share kFreers + 1 stays live until the end of the cycle.
  constexpr size_t kShares = kFreers + 2;
  const size_t per_thread = Scaled(2000);
  Failures failures;

  for (uint64_t cycle = 0; cycle < 3; ++cycle) {
    // Phase 1: owners allocate and exit with all their blocks live.
    std::vector<std::vector<Block>> owned(kOwners);
    std::vector<std::thread> threads;
    for (size_t t = 0; t < kOwners; ++t) {
      threads.emplace_back([&, t] {
        Rng rng(cycle * 100 + t);
        for (size_t i = 0; i < per_thread; ++i) {
          const uint64_t seed = (cycle << 48) | (t << 32) | i;
          owned[t].push_back(NewBlock(RandomSize(rng), seed, failures));
        }
      });
    }
    for (auto& t : threads) t.join();
    threads.clear();
    ASSERT_EQ(failures.count(), 0);

    // Phase 2: other threads and main free them, concurrently.
    auto free_share = [&](size_t share) {
      for (const auto& blocks : owned) {
        for (size_t i = share; i < blocks.size(); i += kShares) {
          CheckAndFree(blocks[i], failures);
        }
      }
    };
    for (size_t f = 0; f < kFreers; ++f) {
      threads.emplace_back([&, f] { free_share(f); });
    }
    free_share(kFreers);
    for (auto& t : threads) t.join();
    threads.clear();

    // Phase 3: new threads allocate on the recycled memory, free half of
    // their blocks and leave the other half live.
    std::vector<std::vector<Block>> fresh(kOwners);
    for (size_t t = 0; t < kOwners; ++t) {
      threads.emplace_back([&, t] {
        Rng rng(cycle * 100 + 50 + t);
        for (size_t i = 0; i < per_thread; ++i) {
          const uint64_t seed = (cycle << 48) | ((t + 16) << 32) | i;
          Block b = NewBlock(RandomSize(rng), seed, failures);
          if (b.p == nullptr) continue;
          if (i % 2 == 0) {
            CheckAndFree(b, failures);
          } else {
            fresh[t].push_back(b);
          }
        }
      });
    }
    for (auto& t : threads) t.join();
    threads.clear();

    // Survivors of phase 1 and live blocks of phase 3 are intact and
    // disjoint; main frees them all.
    std::vector<Block> live;
    for (const auto& blocks : owned) {
      for (size_t i = kShares - 1; i < blocks.size(); i += kShares) {
        live.push_back(blocks[i]);
      }
    }
    for (const auto& blocks : fresh) {
      live.insert(live.end(), blocks.begin(), blocks.end());
    }
    EXPECT_TRUE(Disjoint(live)) << "cycle " << cycle;
    for (const Block& b : live) CheckAndFree(b, failures);
    ASSERT_EQ(failures.count(), 0) << "cycle " << cycle;
  }
}

TEST(CrossThreadTest, ManyThreadsMixedWorkload) {
  constexpr int kThreads = 32;
  constexpr size_t kSlots = 64, kParking = 64;
  const size_t ops = Scaled(10000);
  // Blocks parked here are adopted (and later resized or freed) by whichever
  // thread swaps in next.
  std::vector<std::atomic<Block*>> parking(kParking);
  for (auto& slot : parking) slot.store(nullptr);
  Failures failures;

  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Rng rng(1000 + t);
      uint64_t seed = uint64_t(t + 1) << 40;
      std::vector<Block> slots(kSlots, Block{nullptr, 0, 0});
      for (size_t op = 0; op < ops; ++op) {
        Block& b = slots[rng.Below(kSlots)];
        const size_t action = rng.Below(16);
        if (b.p == nullptr) {
          b = NewBlock(RandomSize(rng), seed++, failures);
        } else if (action == 0) {  // Resize; the kept prefix survives.
          const size_t size = std::max<size_t>(RandomSize(rng), 1);
          void* q = hak_realloc(b.p, size);
          if (!failures.Ok(WellFormed(q, size))) {
            b.p = nullptr;  // Lost; nothing safe to do with it.
            continue;
          }
          const size_t kept = std::min(b.size, size);
          // The sampled pattern always covers the head of the old block.
          const size_t checked =
              b.size <= kSampleFullMax ? kept : std::min(kept, kSampleEdge);
          failures.Ok(RangeIntact(q, size, b.seed, 0, checked));
          b = {q, size, seed++};
          FillSampled(b.p, b.size, b.seed);
        } else if (action == 1) {  // Park it, adopting whatever was there.
          Block* old = parking[rng.Below(kParking)].exchange(new Block(b));
          b = old != nullptr ? *old : Block{nullptr, 0, 0};
          delete old;
        } else {
          CheckAndFree(b, failures);
          b.p = nullptr;
        }
      }
      for (const Block& b : slots) {
        if (b.p != nullptr) CheckAndFree(b, failures);
      }
    });
  }
  for (auto& t : threads) t.join();
  for (auto& slot : parking) {
    if (Block* b = slot.exchange(nullptr)) {
      CheckAndFree(*b, failures);
      delete b;
    }
  }
  EXPECT_EQ(failures.count(), 0);
}

}  // namespace
}  // namespace hakmem_test

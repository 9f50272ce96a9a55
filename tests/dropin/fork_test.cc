// fork() in a multi-threaded process while other threads allocate hard
// (static override): neither the parent nor the child may deadlock on an
// allocator lock that a vanished thread held, and both keep allocating and
// freeing correctly afterwards: the child in a loop, in new threads, and by
// freeing blocks that the parent's (now absent) threads allocated.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "capi/hakmem.h"
#include "gtest/gtest.h"

namespace {

constexpr int kWorkers = 3;
constexpr int kRounds = 12;
constexpr int kChildTimeoutSeconds = 20;
constexpr int kExchangeSlots = 64;

// Every block starts with its size and a seed; the rest is filled with a
// byte derived from the seed.
struct Header {
  size_t size;
  uint64_t seed;
};

uint8_t Fill(uint64_t seed) { return static_cast<uint8_t>(seed * 131 + 7); }

// The bytes of a block that carry the pattern: all of a small block, the
// first 512 and the last 64 bytes of a bigger one (keeps the loops fast).
template <typename F>
void ForPatternBytes(size_t n, F f) {
  if (n <= 576) {
    for (size_t i = 0; i < n; ++i) f(i);
    return;
  }
  for (size_t i = 0; i < 512; ++i) f(i);
  for (size_t i = n - 64; i < n; ++i) f(i);
}

void* NewBlock(size_t size, uint64_t seed) {
  if (size < sizeof(Header)) size = sizeof(Header);
  auto* h = static_cast<Header*>(malloc(size));
  if (h == nullptr) abort();
  h->size = size;
  h->seed = seed;
  auto* bytes = reinterpret_cast<uint8_t*>(h + 1);
  uint8_t fill = Fill(seed);
  ForPatternBytes(size - sizeof(Header), [&](size_t i) { bytes[i] = fill; });
  return h;
}

// False if the block was corrupted (or is not hakmem's: that aborts).
bool CheckAndFree(void* p) {
  auto* h = static_cast<Header*>(p);
  const auto* bytes = reinterpret_cast<const uint8_t*>(h + 1);
  uint8_t want = Fill(h->seed);
  bool ok = hak_usable_size(p) >= h->size;
  ForPatternBytes(h->size - sizeof(Header),
                  [&](size_t i) { ok &= bytes[i] == want; });
  free(p);
  return ok;
}

// Mostly small, some pool-sized, a few large blocks.
size_t RandomSize(std::mt19937_64& rng) {
  uint32_t r = rng() % 1000;
  if (r < 900) return 1 + rng() % 1024;
  if (r < 995) return 1025 + rng() % (256 * 1024 - 1025);
  return 256 * 1024 + rng() % (1 << 20);
}

// Blocks passed between threads (and inherited by the children).
std::atomic<void*> g_exchange[kExchangeSlots];
std::atomic<uint64_t> g_corrupt{0};

// Allocation churn that exercises the slow paths (span refills and
// releases, the large tier's lock and cache) as often as possible.
void Churn(int id, const std::atomic<bool>* stop) {
  std::mt19937_64 rng(id * 7919 + 1);
  std::vector<void*> live;
  uint64_t seed = uint64_t(id) << 40;
  while (!stop->load(std::memory_order_relaxed)) {
    for (int i = 0; i < 32; ++i)
      live.push_back(NewBlock(RandomSize(rng), ++seed));
    // A burst of one pool class: takes and gives back whole spans.
    size_t burst = 2048 + rng() % 30000;
    for (int i = 0; i < 16; ++i) live.push_back(NewBlock(burst, ++seed));
    // Hand some blocks to other threads, free what they left.
    for (int i = 0; i < 8; ++i) {
      void* mine = live.back();
      live.pop_back();
      void* theirs = g_exchange[rng() % kExchangeSlots].exchange(mine);
      if (theirs != nullptr && !CheckAndFree(theirs)) g_corrupt++;
    }
    std::shuffle(live.begin(), live.end(), rng);
    while (live.size() > 48) {
      if (!CheckAndFree(live.back())) g_corrupt++;
      live.pop_back();
    }
  }
  for (void* p : live) {
    if (!CheckAndFree(p)) g_corrupt++;
  }
}

// Exit codes of the child.
enum ChildResult {
  kChildOk = 0,
  kChildCorrupt = 10,
  kChildStatsWrong = 11,
  kChildThreadCorrupt = 12,
  kChildNotServed = 13,
  kChildGrandchildFailed = 14,
};

uint64_t BlocksServed() {
  hak_stats s;
  s.version = HAK_STATS_VERSION;
  s.size = sizeof(s);
  if (hak_stats_get(&s) != 0) return 0;
  return s.slab_blocks_served;
}

// Allocates and frees in a loop; false on corruption.
bool AllocLoop(uint64_t seed, int ops) {
  std::mt19937_64 rng(seed);
  std::vector<void*> live;
  bool ok = true;
  for (int i = 0; i < ops; ++i) {
    if (live.size() < 200 && (rng() % 3 != 0 || live.empty())) {
      live.push_back(NewBlock(RandomSize(rng), seed + i));
    } else {
      size_t k = rng() % live.size();
      ok &= CheckAndFree(live[k]);
      live[k] = live.back();
      live.pop_back();
    }
  }
  // Containers and strings go through operator new.
  std::vector<std::string> strings;
  for (int i = 0; i < 1000; ++i) strings.push_back(std::string(i % 300, 'c'));
  for (size_t i = 0; i < strings.size(); ++i) {
    ok &= strings[i] == std::string(i % 300, 'c');
  }
  for (void* p : live) ok &= CheckAndFree(p);
  return ok;
}

// Runs in the child: only the forking thread exists.
int ChildMain(int round, bool fork_again) {
  alarm(kChildTimeoutSeconds);  // a deadlock kills us with SIGALRM
  hak_stats s;
  s.version = HAK_STATS_VERSION;
  s.size = sizeof(s);
  // Only this thread's cache survives the fork (checked last, so that a
  // deadlock in the loops below is found first).
  bool stats_ok = hak_stats_get(&s) == 0 && s.threads_live == 1;
  // Free what the parent's threads left in the exchange: their heaps do not
  // exist here.
  for (auto& slot : g_exchange) {
    if (void* p = slot.exchange(nullptr)) {
      if (!CheckAndFree(p)) return kChildCorrupt;
    }
  }
  uint64_t served_before = BlocksServed();
  for (int loop = 0; loop < 2; ++loop) {
    if (!AllocLoop(round * 1000 + loop, 10000)) return kChildCorrupt;
  }
  // New threads in the child set up fresh heaps.
  std::atomic<bool> threads_ok{true};
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      if (!AllocLoop(round * 1000 + 100 + t, 5000)) threads_ok = false;
    });
  }
  for (auto& t : threads) t.join();
  if (!threads_ok) return kChildThreadCorrupt;
  if (BlocksServed() <= served_before) return kChildNotServed;
  if (fork_again) {
    pid_t pid = fork();
    if (pid == 0) _exit(AllocLoop(round, 10000) ? kChildOk : kChildCorrupt);
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0) {
      return kChildGrandchildFailed;
    }
  }
  return stats_ok ? kChildOk : kChildStatsWrong;
}

std::string DescribeStatus(int status) {
  if (WIFEXITED(status)) {
    const char* what = "";
    switch (WEXITSTATUS(status)) {
      case kChildCorrupt:
        what = " (corrupted block)";
        break;
      case kChildStatsWrong:
        what = " (threads_live != 1 after fork)";
        break;
      case kChildThreadCorrupt:
        what = " (corruption in a new thread)";
        break;
      case kChildNotServed:
        what = " (hakmem served nothing)";
        break;
      case kChildGrandchildFailed:
        what = " (fork from the child failed)";
        break;
    }
    return "exit code " + std::to_string(WEXITSTATUS(status)) + what;
  }
  if (WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    return std::string("killed by signal ") + strsignal(sig) +
           (sig == SIGALRM ? " (hung: deadlock after fork?)" : "");
  }
  return "status " + std::to_string(status);
}

// Forks `rounds` times from the calling thread while kWorkers threads churn.
void ForkRepeatedly(int rounds) {
  std::atomic<bool> stop{false};
  std::vector<std::thread> workers;
  for (int i = 0; i < kWorkers; ++i) workers.emplace_back(Churn, i, &stop);
  for (int round = 0; round < rounds; ++round) {
    // Let the workers get going (and into their slow paths) first.
    usleep(2000 + 1000 * (round % 5));
    pid_t pid = fork();
    ASSERT_GE(pid, 0) << strerror(errno);
    if (pid == 0) _exit(ChildMain(round, round % 8 == 0));
    // The parent carries on allocating while the child runs.
    EXPECT_TRUE(AllocLoop(round, 5000)) << "round " << round;
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
        << "round " << round << ": child " << DescribeStatus(status);
  }
  stop = true;
  for (auto& w : workers) w.join();
  for (auto& slot : g_exchange) {
    if (void* p = slot.exchange(nullptr)) {
      if (!CheckAndFree(p)) g_corrupt++;
    }
  }
  EXPECT_EQ(g_corrupt.load(), 0u);
}

TEST(ForkTest, ParentAndChildKeepAllocatingAfterForkFromMainThread) {
  ForkRepeatedly(kRounds);
}

TEST(ForkTest, ForkFromASecondaryThread) {
  std::thread forker([] { ForkRepeatedly(kRounds / 2); });
  // The main thread allocates too while the secondary one forks.
  EXPECT_TRUE(AllocLoop(99, 50000));
  forker.join();
}

}  // namespace

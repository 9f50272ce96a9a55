// Thread exit with pthread_key destructors (and C++ thread_local
// destructors) that still allocate and free, after hakmem may already have
// torn the thread's cache down (static override). The blocks they allocate
// must be valid, freeable from other threads, and the exited threads' heaps
// must not be leaked.
#include <limits.h>  // PTHREAD_DESTRUCTOR_ITERATIONS
#include <pthread.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "capi/hakmem.h"
#include "gtest/gtest.h"

namespace {

constexpr int kKeys = 5;
constexpr int kThreadsPerBatch = 12;
constexpr int kBatches = 4;

hak_stats Stats() {
  hak_stats s;
  s.version = HAK_STATS_VERSION;
  s.size = sizeof(s);
  EXPECT_EQ(hak_stats_get(&s), 0);
  return s;
}

// Blocks allocated by destructors, freed later by the main thread.
std::mutex g_mu;
std::vector<std::pair<char*, size_t>> g_left_behind;
std::atomic<int> g_destructor_calls{0};
std::atomic<int> g_bad{0};

// Allocates in all tiers, checks the blocks and frees most of them; one
// block of each call outlives the thread.
void AllocateInDestructor(int salt) {
  const size_t sizes[] = {16, 200, 1000, 5000, 70000, 300000};
  std::vector<char*> blocks;
  for (size_t size : sizes) {
    char* p = static_cast<char*>(malloc(size));
    if (p == nullptr) {
      g_bad++;
      continue;
    }
    // Both ends (writing all of the large ones costs page faults).
    memset(p, 'a' + salt % 26, size < 128 ? size : 64);
    memset(p + size - (size < 128 ? size : 64), 'a' + salt % 26,
           size < 128 ? size : 64);
    blocks.push_back(p);
  }
  std::string s(300, 'x');  // operator new too
  s += std::to_string(salt);
  auto* v = new std::vector<int>(1000, salt);
  for (size_t i = 0; i < blocks.size(); ++i) {
    if (blocks[i][0] != 'a' + salt % 26 ||
        blocks[i][sizes[i] - 1] != 'a' + salt % 26)
      g_bad++;
  }
  if ((*v)[999] != salt) g_bad++;
  delete v;
  // Keep one block alive past the thread's exit.
  {
    std::lock_guard<std::mutex> lock(g_mu);
    g_left_behind.emplace_back(blocks.back(), sizes[blocks.size() - 1]);
  }
  blocks.pop_back();
  for (char* p : blocks) free(p);
}

// Each key's value is the number of rounds it still wants: the destructor
// allocates, then re-arms the key with one round less, so destructors run
// (and allocate) in several of pthread's destructor rounds.
pthread_key_t g_keys[kKeys];

template <int K>
void KeyDestructor(void* value) {
  auto rounds_left = reinterpret_cast<uintptr_t>(value);
  g_destructor_calls++;
  AllocateInDestructor(static_cast<int>(K * 10 + rounds_left));
  if (rounds_left > 1) {
    pthread_setspecific(g_keys[K], reinterpret_cast<void*>(rounds_left - 1));
  }
}

constexpr void (*kDestructors[kKeys])(void*) = {
    KeyDestructor<0>, KeyDestructor<1>, KeyDestructor<2>, KeyDestructor<3>,
    KeyDestructor<4>};

struct ThreadLocalWithDestructor {
  std::vector<std::string>* strings = nullptr;
  ~ThreadLocalWithDestructor() {
    AllocateInDestructor(7);
    delete strings;
  }
};
thread_local ThreadLocalWithDestructor t_object;

void ThreadBody(int rounds) {
  t_object.strings = new std::vector<std::string>(100, std::string(50, 's'));
  std::vector<void*> blocks;
  for (int i = 0; i < 1000; ++i) blocks.push_back(malloc(1 + i * 37 % 3000));
  for (void* p : blocks) free(p);
  for (pthread_key_t key : g_keys) {
    pthread_setspecific(key, reinterpret_cast<void*>(uintptr_t(rounds)));
  }
}

void FreeLeftBehind() {
  std::lock_guard<std::mutex> lock(g_mu);
  for (auto& [p, size] : g_left_behind) {
    EXPECT_GE(hak_usable_size(p), size);
    if (p[0] != p[size - 1]) g_bad++;
    free(p);
  }
  g_left_behind.clear();
}

class ThreadExitTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    for (int k = 0; k < kKeys; ++k) {
      ASSERT_EQ(pthread_key_create(&g_keys[k], kDestructors[k]), 0);
    }
  }
  void SetUp() override {
    g_destructor_calls = 0;
    g_bad = 0;
  }
  // Runs kBatches batches of kThreadsPerBatch threads whose key
  // destructors allocate for `rounds` rounds.
  void RunThreads(int rounds) {
    for (int batch = 0; batch < kBatches; ++batch) {
      std::vector<std::thread> threads;
      for (int i = 0; i < kThreadsPerBatch; ++i)
        threads.emplace_back(ThreadBody, rounds);
      for (auto& t : threads) t.join();
      FreeLeftBehind();
    }
    EXPECT_EQ(g_destructor_calls.load(),
              kBatches * kThreadsPerBatch * kKeys * rounds);
    EXPECT_EQ(g_bad.load(), 0);
  }
};

TEST_F(ThreadExitTest, DestructorsAllocateInOneRound) {
  uint64_t threads_before = Stats().threads_live;
  RunThreads(1);
  EXPECT_EQ(Stats().threads_live, threads_before);
}

// Three rounds: destructors re-arm their keys twice, so they allocate after
// hakmem's own thread-exit hook has run, and hakmem must set the heap up
// and tear it down again each time.
TEST_F(ThreadExitTest, DestructorsAllocateInThreeRounds) {
  uint64_t threads_before = Stats().threads_live;
  RunThreads(3);
  EXPECT_EQ(Stats().threads_live, threads_before);
}

// Memory must not grow with the number of threads that exited: exited
// heaps' spans are reused (adopted or released), not stranded.
// The left-behind blocks are large (300 KB, up to 75 MB per batch): freed
// together, they fill the large cache up to its budget (64 MiB), which is
// not a leak. MappedWithoutLargeCache empties it before it measures; a heap
// that is never torn down keeps its spans, which this does not release.
uint64_t MappedWithoutLargeCache() {
  hak_collect(0);
  return Stats().os_mapped_bytes;
}

TEST_F(ThreadExitTest, ExitedThreadsDoNotLeakHeaps) {
  RunThreads(2);  // warm up: caches, SuperSlabs
  uint64_t mapped_before = MappedWithoutLargeCache();
  uint64_t threads_before = Stats().threads_live;
  for (int i = 0; i < 3; ++i) {
    SetUp();
    RunThreads(2);
  }
  EXPECT_EQ(Stats().threads_live, threads_before);
  // 144 more threads exited; allow some slack, but not a heap per thread.
  uint64_t mapped_after = MappedWithoutLargeCache();
  EXPECT_LE(mapped_after, mapped_before + (uint64_t{32} << 20))
      << "before " << mapped_before << " after " << mapped_after;
}

// PTHREAD_DESTRUCTOR_ITERATIONS (4) rounds: the destructors also allocate
// in pthread's last round, after which no destructor runs again, hakmem's
// included. The heap that this allocation sets up again must not be
// stranded (it holds a span per class used: over a megabyte per thread).
TEST_F(ThreadExitTest, DestructorsAllocatingInTheLastRoundDoNotLeakHeaps) {
  static_assert(PTHREAD_DESTRUCTOR_ITERATIONS == 4, "glibc");
  RunThreads(2);  // warm up
  uint64_t mapped_before = MappedWithoutLargeCache();
  uint64_t threads_before = Stats().threads_live;
  for (int i = 0; i < 2; ++i) {
    SetUp();
    RunThreads(PTHREAD_DESTRUCTOR_ITERATIONS);
  }
  EXPECT_EQ(Stats().threads_live, threads_before)
      << "heaps set up by the last round of destructors were never torn down";
  uint64_t mapped_after = MappedWithoutLargeCache();
  EXPECT_LE(mapped_after, mapped_before + (uint64_t{32} << 20))
      << "before " << mapped_before << " after " << mapped_after;
}

// Threads that only free (blocks of other threads) and never allocate.
TEST_F(ThreadExitTest, ThreadThatOnlyFreesExits) {
  std::vector<void*> blocks;
  for (int i = 0; i < 5000; ++i) blocks.push_back(malloc(1 + i % 2000));
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&blocks, t] {
      for (size_t i = t; i < blocks.size(); i += 4) free(blocks[i]);
    });
  }
  for (auto& t : threads) t.join();
  // The main thread's cache gets its blocks back from the remote frees.
  std::vector<void*> again;
  for (int i = 0; i < 5000; ++i) again.push_back(malloc(1 + i % 2000));
  for (void* p : again) free(p);
}

}  // namespace

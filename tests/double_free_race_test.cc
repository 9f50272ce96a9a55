// Two frees of one block at the same instant, one on the thread that owns
// the block's span and one on another thread: a stress test that runs a
// bounded number of such races and counts those that nothing reported.
//
// What is guaranteed (capi/hakmem.h): the owner checks and sets a block's
// free key with plain loads and stores (an atomic read-modify-write on
// every free would cost the fast path ~20 cycles), so both racing frees can
// pass. The block is then on the owner's list and on the other thread's
// remote-free stack at once; it is never handed out twice, and it is
// reported as the double free it is, with its pointer, when hakmem next
// meets it there (here: hak_collect(0) on the other thread, which pushes
// the remote frees it holds back, then hak_collect(1) on the owner, which
// pops the owner's caches and drains its remote frees). Either way, no
// race may go unreported.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

#include "capi/hakmem.h"
#include "gtest/gtest.h"

namespace hakmem_test {
namespace {

constexpr int kMaxLogged = 64;

struct ErrorLog {
  std::atomic<int> count{0};
  const void* ptr[kMaxLogged];
  hak_error_kind kind[kMaxLogged];
};

void Record(const hak_error* e, void* context) {
  auto* log = static_cast<ErrorLog*>(context);
  int i = log->count.fetch_add(1);
  if (i < kMaxLogged) {
    log->ptr[i] = e->ptr;
    log->kind[i] = e->kind;
  }
}

// Spins, yielding once it has spun a while: with more runnable threads
// than CPUs (parallel test runs), the thread it waits for may be off-CPU.
template <typename Done>
void SpinUntil(Done done) {
  for (int spins = 0; !done(); ++spins) {
    if (spins > 1000) std::this_thread::yield();
  }
}

// Lets two threads start their frees at the same instant, round after
// round.
class Barrier {
 public:
  void Wait(int round) {
    arrived_.fetch_add(1);
    SpinUntil([&] { return arrived_.load() >= 2 * round; });
  }

 private:
  std::atomic<int> arrived_{0};
};

struct Outcome {
  int races = 0;
  int unreported = 0;   // nothing named the block
  int double_free = 0;  // named as a double free (at once or later)
  int other_kind = 0;   // named, but as another error
  int late = 0;         // both frees passed; reported when met later
};

// Races `rounds` pairs of frees of blocks from `alloc` (on this, the
// owner's, thread) by `owner_free` here and hak_free on another thread;
// after each, `meet` makes hakmem walk the lists the block may be on.
template <typename Alloc, typename OwnerFree, typename Meet>
Outcome Race(int rounds, Alloc alloc, OwnerFree owner_free, Meet meet) {
  ErrorLog log;
  hak_error_handler previous = hak_set_error_handler(Record, &log);
  Barrier barrier;
  std::atomic<void*> shared{nullptr};
  std::atomic<bool> stop{false};
  std::thread other([&] {
    for (int round = 1;; ++round) {
      void* p = nullptr;
      SpinUntil([&] { return (p = shared.load()) != nullptr || stop.load(); });
      if (p == nullptr) return;
      barrier.Wait(round);
      hak_free(p);
      // A remote free may wait in this thread's batch (thread_cache/
      // remote_free.h): hak_collect pushes it where the owner meets it.
      hak_collect(0);
      shared.store(nullptr);
    }
  });
  Outcome out;
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(20);
  for (int round = 1; round <= rounds; ++round) {
    if (std::chrono::steady_clock::now() > deadline) break;
    void* p = alloc();
    EXPECT_NE(p, nullptr);
    log.count.store(0);
    shared.store(p);
    barrier.Wait(round);
    owner_free(p);
    SpinUntil([&] { return shared.load() == nullptr; });
    int before_meet = log.count.load();
    meet();
    if (before_meet == 0) ++out.late;
    ++out.races;
    int n = log.count.load();
    bool named = false, as_double = false;
    for (int i = 0; i < n && i < kMaxLogged; ++i) {
      if (log.ptr[i] != p) continue;
      named = true;
      as_double = as_double || log.kind[i] == HAK_ERROR_DOUBLE_FREE;
    }
    if (!named) ++out.unreported;
    if (as_double) ++out.double_free;
    if (named && !as_double) ++out.other_kind;
  }
  stop.store(true);
  other.join();
  hak_set_error_handler(previous, nullptr);
  return out;
}

void ExpectAllReported(const Outcome& out, const char* what) {
  std::printf(
      "%s: %d races; in %d both frees passed and the block was reported "
      "when met later; %d unreported, %d reported as another error\n",
      what, out.races, out.late, out.unreported, out.other_kind);
  EXPECT_GT(out.races, 1000) << what;
  EXPECT_EQ(out.unreported, 0) << what << ": " << out.unreported << " of "
                               << out.races << " races went unreported";
  EXPECT_EQ(out.double_free, out.races)
      << what << ": " << out.other_kind << " of " << out.races
      << " races were reported as another error";
}

// The owner's caches and free lists, and its spans' remote-free stacks.
void CollectOwnCache() { hak_collect(1); }

TEST(DoubleFreeRaceTest, OwnerAndAnotherThreadFreeATinyBlock) {
  ExpectAllReported(Race(
                        20000, [] { return hak_malloc(64); },
                        [](void* p) { hak_free(p); }, CollectOwnCache),
                    "64 B");
}

TEST(DoubleFreeRaceTest, OwnerAndAnotherThreadFreeAPoolBlock) {
  ExpectAllReported(Race(
                        5000, [] { return hak_malloc(5000); },
                        [](void* p) { hak_free(p); }, CollectOwnCache),
                    "5000 B");
}

TEST(DoubleFreeRaceTest, HeapFreeOfTheOwnerRacesAnotherThreadsFree) {
  hak_heap* heap = hak_heap_create();
  ASSERT_NE(heap, nullptr);
  // An arena hands out its free list first, then the remote frees of its
  // span: a few allocations, kept (hak_heap_destroy frees them), walk both.
  std::vector<void*> kept;
  ExpectAllReported(Race(
                        20000, [heap] { return hak_heap_malloc(heap, 64); },
                        [heap](void* p) { hak_heap_free(heap, p); },
                        [&] {
                          for (int i = 0; i < 3; ++i) {
                            kept.push_back(hak_heap_malloc(heap, 64));
                          }
                        }),
                    "hak_heap_free against hak_free");
  hak_heap_destroy(heap);
}

}  // namespace
}  // namespace hakmem_test

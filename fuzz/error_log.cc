#include "fuzz/error_log.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "fuzz/fuzz_support.h"
#include "fuzz/guarded_blocks.h"

namespace fuzz {
namespace {

constexpr int kCapacity = 16;

struct Log {
  std::atomic<bool> window_open{false};
  std::atomic<int> count{0};
  ErrorRecord records[kCapacity];
  // Reports verified, by kind and by whether tier and class were checked;
  // and those of them that named the tier "arena".
  std::atomic<uint64_t> verified[8][2] = {};
  std::atomic<uint64_t> verified_arena[8] = {};
};
Log g_log;

// With FUZZ_ERROR_STATS set, prints at exit how many injected errors of
// each kind were verified: proof that the oracles ran.
void PrintVerified() {
  std::fprintf(stderr,
               "verified reports (kind: exact tier+class / kind only):\n");
  for (int k = 1; k < 8; ++k) {
    uint64_t exact = g_log.verified[k][1].load(std::memory_order_relaxed);
    uint64_t loose = g_log.verified[k][0].load(std::memory_order_relaxed);
    uint64_t arena = g_log.verified_arena[k].load(std::memory_order_relaxed);
    if (exact + loose == 0) continue;
    std::fprintf(stderr, "  %-20s %10llu / %llu",
                 KindName(static_cast<hak_error_kind>(k)),
                 static_cast<unsigned long long>(exact),
                 static_cast<unsigned long long>(loose));
    if (arena != 0) {
      std::fprintf(stderr, "  (tier arena: %llu)",
                   static_cast<unsigned long long>(arena));
    }
    std::fprintf(stderr, "\n");
  }
}

void OnError(const hak_error* error, void* context) {
  Log& log = *static_cast<Log*>(context);
  if (!log.window_open.load(std::memory_order_acquire)) {
    Fail("hakmem reported an error for a valid operation: %s", error->message);
  }
  int i = log.count.fetch_add(1, std::memory_order_acq_rel);
  if (i >= kCapacity) return;  // count() still tells
  ErrorRecord& r = log.records[i];
  r.kind = error->kind;
  r.ptr = error->ptr;
  r.tier = error->tier;
  r.size_class = error->size_class;
  r.thread = error->thread;
  std::snprintf(r.line, sizeof(r.line), "%s", error->message);
}

unsigned CurrentThread() { return static_cast<unsigned>(syscall(SYS_gettid)); }

}  // namespace

void InstallErrorLog() {
  hak_set_error_handler(OnError, &g_log);
  if (std::getenv("FUZZ_ERROR_STATS") != nullptr) std::atexit(PrintVerified);
}

const char* KindName(hak_error_kind kind) {
  switch (kind) {
    case HAK_ERROR_DOUBLE_FREE:
      return "DOUBLE_FREE";
    case HAK_ERROR_INVALID_FREE:
      return "INVALID_FREE";
    case HAK_ERROR_INTERIOR_FREE:
      return "INTERIOR_FREE";
    case HAK_ERROR_INVALID_POINTER:
      return "INVALID_POINTER";
    case HAK_ERROR_SIZE_MISMATCH:
      return "SIZE_MISMATCH";
    case HAK_ERROR_CORRUPTED_FREE_LIST:
      return "CORRUPTED_FREE_LIST";
    case HAK_ERROR_WRONG_HEAP:
      return "WRONG_HEAP";
    default:
      return "another kind";
  }
}

ErrorWindow::ErrorWindow() {
  g_log.count.store(0, std::memory_order_relaxed);
  g_log.window_open.store(true, std::memory_order_release);
}

ErrorWindow::~ErrorWindow() {
  g_log.window_open.store(false, std::memory_order_release);
}

int ErrorWindow::count() const {
  return g_log.count.load(std::memory_order_acquire);
}

const ErrorRecord& ErrorWindow::operator[](int i) const {
  return g_log.records[i];
}

void ErrorWindow::ExpectOne(const ExpectedError& expected,
                            const char* what) const {
  int n = count();
  if (n != 1) {
    Fail("%s of %p: %d reports instead of 1%s%s", what, expected.ptr, n,
         n > 0 ? "; first: " : "", n > 0 ? g_log.records[0].line : "");
  }
  const ErrorRecord& r = g_log.records[0];
  if (r.ptr != expected.ptr) {
    Fail("%s of %p: report names another pointer: %s", what, expected.ptr,
         r.line);
  }
  if ((KindBit(r.kind) & expected.kinds) == 0) {
    Fail("%s of %p: reported as %s: %s", what, expected.ptr, KindName(r.kind),
         r.line);
  }
  // A block that hakmem sampled (HAKMEM_GUARD_RATE, on by default) is
  // reported by the guarded pool, with the class it was sampled for; but
  // a wrong-heap free is reported by the arena asked to free it, whatever
  // the pointer is (fuzz/README.md).
  bool by_block_owner = expected.kinds != KindBit(HAK_ERROR_WRONG_HEAP);
  const char* tier =
      expected.tier != nullptr && by_block_owner && IsGuarded(expected.ptr)
          ? "guarded"
          : expected.tier;
  if (tier != nullptr &&
      (std::strcmp(r.tier, tier) != 0 || r.size_class != expected.size_class)) {
    Fail("%s of %p: expected tier=%s class=%d: %s", what, expected.ptr, tier,
         expected.size_class, r.line);
  }
  if (r.thread != CurrentThread()) {
    Fail("%s of %p: report names thread %u, erring thread is %u: %s", what,
         expected.ptr, r.thread, CurrentThread(), r.line);
  }
  g_log.verified[r.kind & 7][expected.tier != nullptr].fetch_add(
      1, std::memory_order_relaxed);
  if (std::strcmp(r.tier, "arena") == 0) {
    g_log.verified_arena[r.kind & 7].fetch_add(1, std::memory_order_relaxed);
  }
}

}  // namespace fuzz

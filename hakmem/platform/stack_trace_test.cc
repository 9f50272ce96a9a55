#include "hakmem/platform/stack_trace.h"

#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <regex>
#include <string>
#include <vector>

#include "absl/base/attributes.h"
#include "gtest/gtest.h"

// Functions whose names the tests look for, at global scope and extern "C"
// so that their symbols are plain. noinline and the empty asm statements
// keep their frames (no inlining, no tail calls).
namespace {
uintptr_t g_frames[hakmem::internal::kMaxStackFrames];
int g_depth = 0;
volatile char* g_fault_page = nullptr;
}  // namespace

extern "C" ABSL_ATTRIBUTE_NOINLINE void StackTraceTestDistinctCapture() {
  g_depth = hakmem::internal::CaptureStack(
      g_frames, hakmem::internal::kMaxStackFrames, 0);
  asm volatile("" ::: "memory");
}

extern "C" ABSL_ATTRIBUTE_NOINLINE void StackTraceTestDistinctCaller() {
  StackTraceTestDistinctCapture();
  asm volatile("" ::: "memory");
}

extern "C" ABSL_ATTRIBUTE_NOINLINE void StackTraceTestSignalHandler(int) {
  g_depth = hakmem::internal::CaptureStack(
      g_frames, hakmem::internal::kMaxStackFrames, 0);
  asm volatile("" ::: "memory");
}

extern "C" ABSL_ATTRIBUTE_NOINLINE void StackTraceTestRaiser() {
  raise(SIGUSR1);
  asm volatile("" ::: "memory");
}

extern "C" ABSL_ATTRIBUTE_NOINLINE void StackTraceTestSegvHandler(int) {
  g_depth = hakmem::internal::CaptureStack(
      g_frames, hakmem::internal::kMaxStackFrames, 0);
  // Let the faulting store go through when the handler returns.
  mprotect(const_cast<char*>(g_fault_page), 4096, PROT_READ | PROT_WRITE);
  asm volatile("" ::: "memory");
}

// The store is the function's first instruction: the interrupted frame
// must still be attributed to it.
extern "C" ABSL_ATTRIBUTE_NOINLINE void StackTraceTestFaultingStore(
    volatile char* p) {
  *p = 1;
}

extern "C" ABSL_ATTRIBUTE_NOINLINE void StackTraceTestFaultingCaller() {
  StackTraceTestFaultingStore(g_fault_page + 8);
  asm volatile("" ::: "memory");
}

namespace hakmem::internal {
namespace {

struct Frame {
  int index;
  uintptr_t address;
  std::string function;  // "name+0xOFF" or "??"
  std::string module;
  uintptr_t module_offset;
};

// Writes `frames` through a pipe and returns the text.
std::string Print(const uintptr_t* frames, int count) {
  int fds[2];
  if (pipe(fds) != 0) return "pipe failed";
  WriteStack(fds[1], frames, count);
  close(fds[1]);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof(buf))) > 0) out.append(buf, n);
  close(fds[0]);
  return out;
}

// Parses WriteStack's lines; fails the test on a line of another shape.
std::vector<Frame> Parse(const std::string& text) {
  static const std::regex kLine(
      R"(#([0-9]+) 0x([0-9a-f]+) ([^ ]+\+0x[0-9a-f]+|\?\?) \((.+)\+0x([0-9a-f]+)\))");
  std::vector<Frame> frames;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    EXPECT_NE(end, std::string::npos) << "unterminated line in:\n" << text;
    if (end == std::string::npos) break;
    std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    std::smatch m;
    if (!std::regex_match(line, m, kLine)) {
      ADD_FAILURE() << "unexpected line: " << line;
      continue;
    }
    frames.push_back({std::stoi(m[1]),
                      static_cast<uintptr_t>(std::stoull(m[2], nullptr, 16)),
                      m[3], m[4],
                      static_cast<uintptr_t>(std::stoull(m[5], nullptr, 16))});
  }
  return frames;
}

std::string Hex(uintptr_t v) {
  char hex[32];
  snprintf(hex, sizeof(hex), "%lx", static_cast<unsigned long>(v));
  return hex;
}

// The index of the first frame whose function contains `name`, or -1.
int Find(const std::vector<Frame>& frames, const char* name) {
  for (size_t i = 0; i < frames.size(); ++i) {
    if (frames[i].function.find(name) != std::string::npos) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

TEST(StackTraceTest, LinesHaveTheDocumentedShape) {
  StackTraceTestDistinctCaller();
  ASSERT_GE(g_depth, 3);
  std::string text = Print(g_frames, g_depth);
  std::vector<Frame> frames = Parse(text);
  ASSERT_EQ(frames.size(), static_cast<size_t>(g_depth)) << text;
  for (int i = 0; i < g_depth; ++i) {
    EXPECT_EQ(frames[i].index, i);
    EXPECT_EQ(frames[i].address, g_frames[i]);
  }
  // #0 is the caller of CaptureStack, #1 its caller, then this test.
  EXPECT_EQ(frames[0].function.rfind("StackTraceTestDistinctCapture+0x", 0), 0u)
      << text;
  EXPECT_EQ(frames[1].function.rfind("StackTraceTestDistinctCaller+0x", 0), 0u)
      << text;
  EXPECT_NE(frames[2].function.find("LinesHaveTheDocumentedShape"),
            std::string::npos)
      << text;
  // The offset in the function: the return address less its start.
  uintptr_t start = reinterpret_cast<uintptr_t>(&StackTraceTestDistinctCapture);
  EXPECT_EQ(frames[0].function,
            "StackTraceTestDistinctCapture+0x" + Hex(g_frames[0] - start));

  // The module is this executable, and its offset the one addr2line
  // takes: the address less the load base for a position-independent
  // executable, the address itself for ET_EXEC.
  char exe[PATH_MAX];
  ASSERT_NE(realpath("/proc/self/exe", exe), nullptr);
  EXPECT_EQ(frames[0].module, exe);
  Dl_info info;
  ASSERT_NE(dladdr(reinterpret_cast<void*>(start), &info), 0);
  Elf64_Ehdr eh;
  FILE* f = fopen(exe, "rb");
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(fread(&eh, sizeof(eh), 1, f), 1u);
  fclose(f);
  uintptr_t base =
      eh.e_type == ET_EXEC ? 0 : reinterpret_cast<uintptr_t>(info.dli_fbase);
  EXPECT_EQ(frames[0].module_offset, g_frames[0] - base);
}

TEST(StackTraceTest, Addr2lineResolvesTheModuleOffset) {
  if (system("addr2line --version >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "no addr2line";
  }
  StackTraceTestDistinctCaller();
  std::vector<Frame> frames = Parse(Print(g_frames, g_depth));
  ASSERT_GE(frames.size(), 2u);
  for (int i = 0; i < 2; ++i) {
    std::string command = "addr2line -f -e '" + frames[i].module + "' 0x" +
                          Hex(frames[i].module_offset);
    FILE* p = popen(command.c_str(), "r");
    ASSERT_NE(p, nullptr);
    char out[512] = "";
    ASSERT_NE(fgets(out, sizeof(out), p), nullptr) << command;
    pclose(p);
    const char* expected = i == 0 ? "StackTraceTestDistinctCapture"
                                  : "StackTraceTestDistinctCaller";
    EXPECT_EQ(std::string(out), std::string(expected) + "\n") << command;
  }
}

TEST(StackTraceTest, SharedLibraryFramesHaveTheirModule) {
  // qsort calls back into this executable from libc.
  static int (*compare)(const void*, const void*) = [](const void* a,
                                                       const void* b) {
    StackTraceTestDistinctCapture();
    return *static_cast<const int*>(a) - *static_cast<const int*>(b);
  };
  int values[2] = {2, 1};
  g_depth = 0;
  qsort(values, 2, sizeof(int), compare);
  ASSERT_GT(g_depth, 0);
  std::string text = Print(g_frames, g_depth);
  std::vector<Frame> frames = Parse(text);
  Dl_info info;
  ASSERT_NE(dladdr(reinterpret_cast<void*>(&qsort), &info), 0);
  char libc[PATH_MAX];
  ASSERT_NE(realpath(info.dli_fname, libc), nullptr);
  bool found = false;
  for (const Frame& frame : frames) {
    if (frame.module != libc) continue;
    found = true;
    EXPECT_EQ(frame.module_offset,
              frame.address - reinterpret_cast<uintptr_t>(info.dli_fbase))
        << text;
  }
  EXPECT_TRUE(found) << "no frame in " << libc << ":\n" << text;
  EXPECT_LT(Find(frames, "StackTraceTestDistinctCapture"),
            Find(frames, "SharedLibraryFramesHaveTheirModule"))
      << text;
}

}  // namespace
}  // namespace hakmem::internal

extern "C" void StackTraceTestLibraryCall(void (*callback)());

namespace hakmem::internal {
namespace {

TEST(StackTraceTest, ModuleWithCodeInItsFirstPage) {
  g_depth = 0;
  StackTraceTestLibraryCall(&StackTraceTestDistinctCapture);
  std::string text = Print(g_frames, g_depth);
  std::vector<Frame> frames = Parse(text);
  ASSERT_GE(frames.size(), 3u) << text;
  EXPECT_EQ(frames[0].function.rfind("StackTraceTestDistinctCapture+0x", 0), 0u)
      << text;
  const Frame& lib = frames[1];
  EXPECT_EQ(lib.function.rfind("StackTraceTestLibraryCall+0x", 0), 0u) << text;
  Dl_info info;
  ASSERT_NE(dladdr(reinterpret_cast<void*>(&StackTraceTestLibraryCall), &info),
            0);
  char path[PATH_MAX];
  ASSERT_NE(realpath(info.dli_fname, path), nullptr);
  EXPECT_EQ(lib.module, path);
  EXPECT_EQ(lib.module_offset,
            lib.address - reinterpret_cast<uintptr_t>(info.dli_fbase))
      << text;
  if (system("addr2line --version >/dev/null 2>&1") == 0) {
    char command[PATH_MAX + 64];
    snprintf(command, sizeof(command), "addr2line -f -e '%s' 0x%lx", path,
             static_cast<unsigned long>(lib.module_offset));
    FILE* p = popen(command, "r");
    ASSERT_NE(p, nullptr);
    char out[512] = "";
    ASSERT_NE(fgets(out, sizeof(out), p), nullptr) << command;
    pclose(p);
    EXPECT_STREQ(out, "StackTraceTestLibraryCall\n") << command;
  }
}

TEST(StackTraceTest, UnknownAddressesAndEmptyStacks) {
  uintptr_t frames[] = {16};
  EXPECT_EQ(Print(frames, 1), "#0 0x10 ?\? (?\?)\n");
  EXPECT_EQ(Print(frames, 0), "");
}

TEST(StackTraceTest, SkipAndMaxFrames) {
  uintptr_t all[kMaxStackFrames];
  uintptr_t fewer[kMaxStackFrames];
  int n_all = CaptureStack(all, kMaxStackFrames, 0);
  int n_skip = CaptureStack(fewer, kMaxStackFrames, 1);
  ASSERT_GE(n_all, 2);
  // The same frames from #1 on (the first is each call's return address).
  ASSERT_GE(n_skip, 1);
  EXPECT_EQ(fewer[0], all[1]);
  EXPECT_EQ(CaptureStack(fewer, 1, 0), 1);
  EXPECT_EQ(CaptureStack(fewer, 0, 0), 0);
}

// ---- In a signal handler ----

TEST(StackTraceTest, ThroughTheSignalFrameOfRaise) {
  struct sigaction sa = {}, old;
  sa.sa_handler = StackTraceTestSignalHandler;
  sigemptyset(&sa.sa_mask);
  ASSERT_EQ(sigaction(SIGUSR1, &sa, &old), 0);
  g_depth = 0;
  StackTraceTestRaiser();
  sigaction(SIGUSR1, &old, nullptr);
  std::string text = Print(g_frames, g_depth);
  std::vector<Frame> frames = Parse(text);
  ASSERT_FALSE(frames.empty());
  EXPECT_EQ(frames[0].function.rfind("StackTraceTestSignalHandler+0x", 0), 0u)
      << text;
  int raiser = Find(frames, "StackTraceTestRaiser");
  ASSERT_GT(raiser, 0) << text;
  EXPECT_GT(Find(frames, "ThroughTheSignalFrameOfRaise"), raiser) << text;
}

TEST(StackTraceTest, ThroughTheSignalFrameOfAFault) {
  void* page =
      mmap(nullptr, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(page, MAP_FAILED);
  g_fault_page = static_cast<char*>(page);
  struct sigaction sa = {}, old;
  sa.sa_handler = StackTraceTestSegvHandler;
  sigemptyset(&sa.sa_mask);
  ASSERT_EQ(sigaction(SIGSEGV, &sa, &old), 0);
  g_depth = 0;
  StackTraceTestFaultingCaller();
  sigaction(SIGSEGV, &old, nullptr);
  EXPECT_EQ(g_fault_page[8], 1);
  munmap(page, 4096);
  std::string text = Print(g_frames, g_depth);
  std::vector<Frame> frames = Parse(text);
  ASSERT_FALSE(frames.empty());
  EXPECT_EQ(frames[0].function.rfind("StackTraceTestSegvHandler+0x", 0), 0u)
      << text;
  int store = Find(frames, "StackTraceTestFaultingStore+0x");
  ASSERT_GT(store, 0) << text;
  EXPECT_EQ(Find(frames, "StackTraceTestFaultingCaller+0x"), store + 1) << text;
  EXPECT_GT(Find(frames, "ThroughTheSignalFrameOfAFault"), store + 1) << text;
}

}  // namespace
}  // namespace hakmem::internal

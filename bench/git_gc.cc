// A real program: `git gc --aggressive` of a generated repository, timed
// under whatever allocator LD_PRELOAD names (git's malloc is the preloaded
// one; this wrapper only starts it and reads what it reports).
//
// The repository is made once and kept in $TMPDIR (or /tmp), named after
// its parameters: --commits commits on one branch, each changing 1-4 of
// --files generated source files (about 200 lines each, in 10 directories)
// by replacing, inserting and deleting a few lines, written with `git
// fast-import` (so as one pack of poorly deltified objects). Every run
// copies it to a scratch directory and times `git gc --aggressive --quiet`
// there: git repacks every object from scratch (`repack -a -d -f --depth=50
// --window=250`: the delta search, zlib, the object hash tables), prunes,
// writes the commit graph, all in child processes of `git gc`. User and
// system configuration are ignored (GIT_CONFIG_NOSYSTEM, GIT_CONFIG_GLOBAL
// =/dev/null); --pack-threads sets pack.threads (0: git's default, one
// thread per CPU).
//
// Prints the lines of bench/report.h, about git rather than this wrapper:
//   result git_gc S s          wall time of `git gc`
//   result git_gc_cpu S s      user + system time of git gc and every
//                              process it ran
//   peak_rss_kib N             the largest peak RSS of those processes
//                              (wait4's ru_maxrss: the whole tree)
//   final_rss_kib absent       the processes have exited: there is none
//   minor_faults N             of the whole tree
//   measured_program git       the proof below is about git, not us
//   malloc_from PATH           the object that git's own calls to malloc
//                              bind to: from a run of the same git with
//                              the same environment under LD_DEBUG=bindings
//   hakmem_processes N         git processes of the timed run that printed
//                              hakmem's statistics at exit (HAKMEM_STATS=1
//                              is set for them: only hakmem prints any)
//   hakmem_blocks_served N|absent   the sum of their slab_blocks_served
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "bench/flags.h"
#include "bench/rng.h"

extern char** environ;

namespace {

[[noreturn]] void Die(const std::string& message) {
  std::fprintf(stderr, "git_gc: %s\n", message.c_str());
  std::exit(1);
}

std::string FindOnPath(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path != nullptr ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  Die(name + " is not on PATH");
}

using Env = std::vector<std::string>;

// This process's environment without the variables named (prefixes ending
// in '_' match every variable that starts with them), plus `add`.
Env MakeEnv(const std::vector<std::string>& drop, const Env& add) {
  Env env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string var = *e;
    std::string name = var.substr(0, var.find('='));
    bool dropped = false;
    for (const std::string& d : drop) {
      dropped |= d.back() == '_' ? name.rfind(d, 0) == 0 : name == d;
    }
    for (const std::string& a : add) {
      dropped |= name == a.substr(0, a.find('='));
    }
    if (!dropped) env.push_back(var);
  }
  env.insert(env.end(), add.begin(), add.end());
  return env;
}

struct Outcome {
  int status = 0;
  rusage usage{};
  double seconds = 0;
};

// Runs argv with env; stdin from `stdin_fd` (-1: /dev/null), stdout and
// stderr into the files named ("" : /dev/null). Waits for it.
Outcome Run(const std::vector<std::string>& argv, const Env& env, int stdin_fd,
            const std::string& out, const std::string& err) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (stdin_fd >= 0) {
    posix_spawn_file_actions_adddup2(&actions, stdin_fd, 0);
  } else {
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  }
  posix_spawn_file_actions_addopen(&actions, 1,
                                   out.empty() ? "/dev/null" : out.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 2,
                                   err.empty() ? "/dev/null" : err.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::vector<char*> args, vars;
  for (const std::string& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  for (const std::string& v : env) vars.push_back(const_cast<char*>(v.c_str()));
  vars.push_back(nullptr);
  Outcome outcome;
  auto start = std::chrono::steady_clock::now();
  pid_t pid;
  int rc =
      posix_spawn(&pid, args[0], &actions, nullptr, args.data(), vars.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) Die("cannot start " + argv[0] + ": " + std::strerror(rc));
  if (wait4(pid, &outcome.status, 0, &outcome.usage) != pid) {
    Die("wait4 failed");
  }
  outcome.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  return outcome;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void MustSucceed(const Outcome& o, const std::string& what,
                 const std::string& err_path) {
  if (WIFEXITED(o.status) && WEXITSTATUS(o.status) == 0) return;
  Die(what + " failed (status " + std::to_string(o.status) + "):\n" +
      ReadFile(err_path));
}

void RemoveTree(const std::string& path) {
  nftw(
      path.c_str(),
      [](const char* p, const struct stat*, int, FTW*) { return remove(p); },
      16, FTW_DEPTH | FTW_PHYS);
}

// ------------------------------------------------- the generated history

struct Generator {
  bench::Rng rng;
  std::vector<std::string> paths;
  std::vector<std::vector<std::string>> files;

  explicit Generator(uint64_t seed) : rng(seed) {}

  std::string Line() {
    static const char* kWords[] = {
        "buffer", "count", "index", "node",  "value", "result", "state",
        "offset", "limit", "entry", "table", "cache", "block",  "size",
        "next",   "prev",  "key",   "hash",  "flags", "mask"};
    auto word = [&] { return kWords[rng.Below(20)]; };
    char line[160];
    switch (rng.Below(6)) {
      case 0:
        std::snprintf(line, sizeof(line), "  if (%s_%u > %s) {", word(),
                      rng.Below(64), word());
        break;
      case 1:
        std::snprintf(line, sizeof(line), "    %s = %s(%s, %u);", word(),
                      word(), word(), rng.Below(4096));
        break;
      case 2:
        std::snprintf(line, sizeof(line), "  // %s the %s of the %s %s", word(),
                      word(), word(), word());
        break;
      case 3:
        std::snprintf(line, sizeof(line), "  }");
        break;
      case 4:
        std::snprintf(line, sizeof(line), "  %s->%s[%u] = %s_%u + %u;", word(),
                      word(), rng.Below(16), word(), rng.Below(64),
                      rng.Below(1000));
        break;
      default:
        std::snprintf(line, sizeof(line), "  return %s_%s(%s);", word(), word(),
                      word());
    }
    return line;
  }

  void Init(int count) {
    for (int f = 0; f < count; ++f) {
      char path[64];
      std::snprintf(path, sizeof(path), "src/dir%02d/file%03d.c", f % 10, f);
      paths.push_back(path);
      std::vector<std::string> lines;
      int n = 150 + static_cast<int>(rng.Below(100));
      for (int i = 0; i < n; ++i) lines.push_back(Line());
      files.push_back(lines);
    }
  }

  void Edit(std::vector<std::string>& lines) {
    int edits = 1 + static_cast<int>(rng.Below(6));
    for (int e = 0; e < edits; ++e) {
      uint32_t at = rng.Below(static_cast<uint32_t>(lines.size()));
      switch (rng.Below(3)) {
        case 0:
          lines[at] = Line();
          break;
        case 1:
          lines.insert(lines.begin() + at, Line());
          break;
        default:
          if (lines.size() > 50) lines.erase(lines.begin() + at);
      }
    }
  }
};

void AppendData(std::string& out, const std::string& data) {
  out += "data " + std::to_string(data.size()) + "\n" + data + "\n";
}

void WriteAll(int fd, const std::string& text) {
  for (size_t off = 0; off < text.size();) {
    ssize_t n = write(fd, text.data() + off, text.size() - off);
    if (n <= 0) Die("writing to git fast-import failed");
    off += static_cast<size_t>(n);
  }
}

// Feeds the history to `git fast-import` in `dir` (a bare repository).
void Generate(const std::string& git, const std::string& dir, int commits,
              int file_count, uint64_t seed, const Env& env,
              const std::string& log) {
  int pipe_fds[2];
  if (pipe(pipe_fds) != 0) Die("pipe failed");
  fcntl(pipe_fds[1], F_SETFD, FD_CLOEXEC);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[0], 0);
  posix_spawn_file_actions_addclose(&actions, pipe_fds[0]);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, log.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::vector<std::string> argv = {git, "--git-dir=" + dir, "fast-import",
                                   "--quiet"};
  std::vector<char*> args, vars;
  for (const std::string& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  for (const std::string& v : env) vars.push_back(const_cast<char*>(v.c_str()));
  vars.push_back(nullptr);
  pid_t pid;
  int rc = posix_spawn(&pid, git.c_str(), &actions, nullptr, args.data(),
                       vars.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) Die("cannot start git fast-import");
  close(pipe_fds[0]);

  Generator gen(seed);
  gen.Init(file_count);
  const long kEpoch = 1600000000;
  for (int k = 1; k <= commits; ++k) {
    std::string chunk;
    chunk += "commit refs/heads/main\nmark :" + std::to_string(k) + "\n";
    std::string when = std::to_string(kEpoch + 600L * k) + " +0000\n";
    chunk += "author A U Thor <author@example.com> " + when;
    chunk += "committer C O Mitter <committer@example.com> " + when;
    AppendData(chunk, "Change " + std::to_string(k) + ": " + gen.Line() + "\n");
    if (k > 1) chunk += "from :" + std::to_string(k - 1) + "\n";
    std::vector<int> changed;
    if (k == 1) {
      for (int f = 0; f < file_count; ++f) changed.push_back(f);
    } else {
      int n = 1 + static_cast<int>(gen.rng.Below(4));
      for (int i = 0; i < n; ++i) {
        changed.push_back(
            static_cast<int>(gen.rng.Below(static_cast<uint32_t>(file_count))));
      }
    }
    for (int f : changed) {
      if (k > 1) gen.Edit(gen.files[f]);
      std::string content;
      for (const std::string& line : gen.files[f]) content += line + "\n";
      chunk += "M 100644 inline " + gen.paths[f] + "\n";
      AppendData(chunk, content);
    }
    WriteAll(pipe_fds[1], chunk);
  }
  close(pipe_fds[1]);
  int status;
  if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
      WEXITSTATUS(status) != 0) {
    Die("git fast-import failed:\n" + ReadFile(log));
  }
}

// The repository for these parameters, made if it is not there yet.
std::string Template(const std::string& git, const std::string& tmp,
                     int commits, int files, uint64_t seed, const Env& env) {
  std::string dir = tmp + "/hakmem-git-gc-v1-c" + std::to_string(commits) +
                    "-f" + std::to_string(files) + "-s" + std::to_string(seed);
  if (access((dir + "/complete").c_str(), F_OK) == 0) return dir;
  std::string staging_pattern = dir + ".XXXXXX";
  std::vector<char> staging(staging_pattern.begin(), staging_pattern.end());
  staging.push_back('\0');
  if (mkdtemp(staging.data()) == nullptr) Die("mkdtemp failed in " + tmp);
  std::string stage = staging.data();
  std::string log = stage + ".log";
  std::fprintf(stderr, "git_gc: generating %s (once)\n", dir.c_str());
  MustSucceed(Run({git, "init", "-q", "--bare", stage}, env, -1, "", log),
              "git init", log);
  Generate(git, stage, commits, files, seed, env, log);
  std::ofstream(stage + "/complete") << "made by bench/git_gc\n";
  unlink(log.c_str());
  if (rename(stage.c_str(), dir.c_str()) != 0) {
    RemoveTree(stage);  // another run made it meanwhile
    if (access((dir + "/complete").c_str(), F_OK) != 0) {
      Die("cannot create " + dir);
    }
  }
  return dir;
}

}  // namespace

int main(int argc, char** argv) {
  bench::Flags flags(argc, argv,
                     "[--commits=5000] [--files=200] [--seed=1] "
                     "[--pack-threads=0]");
  int commits = static_cast<int>(flags.Int("commits", 5000, 1));
  int files = static_cast<int>(flags.Int("files", 200, 1));
  uint64_t seed = flags.Int("seed", 1);
  int pack_threads = static_cast<int>(flags.Int("pack-threads", 0));
  flags.RejectUnknown();
  const char* tmpdir = std::getenv("TMPDIR");
  std::string tmp = tmpdir != nullptr && *tmpdir != '\0' ? tmpdir : "/tmp";
  std::string git = FindOnPath("git");

  // Git's own configuration only; no allocator for the helpers (making
  // and copying the repository).
  Env isolated = {"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
                  "LC_ALL=C"};
  Env helper_env = MakeEnv({"LD_PRELOAD", "HAKMEM_", "GIT_"}, isolated);
  std::string repo = Template(git, tmp, commits, files, seed, helper_env);

  std::string scratch_pattern = tmp + "/hakmem-git-gc-run.XXXXXX";
  std::vector<char> scratch_name(scratch_pattern.begin(),
                                 scratch_pattern.end());
  scratch_name.push_back('\0');
  if (mkdtemp(scratch_name.data()) == nullptr) Die("mkdtemp failed");
  std::string scratch = scratch_name.data();
  std::string copy = scratch + "/repo.git";
  std::string out = scratch + "/stdout", err = scratch + "/stderr";
  MustSucceed(Run({"/bin/cp", "-a", repo, copy}, helper_env, -1, "", err),
              "copying the repository", err);

  // The measured environment: ours, LD_PRELOAD included, git isolated.
  Env git_env = MakeEnv({"GIT_", "HAKMEM_STATS", "LD_DEBUG"}, isolated);
  std::vector<std::string> probe_env = git_env;
  probe_env.push_back("LD_DEBUG=bindings");
  MustSucceed(Run({git, "--git-dir=" + copy, "rev-list", "--count", "--all"},
                  probe_env, -1, out, err),
              "git rev-list", err);
  long counted = std::strtol(ReadFile(out).c_str(), nullptr, 10);
  if (counted != commits) {
    Die("the repository has " + std::to_string(counted) + " commits, not " +
        std::to_string(commits));
  }
  // "binding file /usr/bin/git [0] to /usr/lib/.../libX.so [0]: normal
  // symbol `malloc' [GLIBC_2.2.5]": what git's own malloc calls reach.
  std::string malloc_from;
  std::stringstream bindings(ReadFile(err));
  for (std::string line; std::getline(bindings, line);) {
    std::string from = "binding file " + git + " [0] to ";
    size_t at = line.find(from);
    if (at == std::string::npos ||
        line.find("symbol `malloc'") == std::string::npos) {
      continue;
    }
    size_t start = at + from.size();
    std::string target = line.substr(start, line.find(" [", start) - start);
    if (!malloc_from.empty() && malloc_from != target) {
      Die("git's malloc binds to both " + malloc_from + " and " + target);
    }
    malloc_from = target;
  }
  if (malloc_from.empty()) Die("LD_DEBUG showed no binding of git's malloc");

  git_env.push_back("HAKMEM_STATS=1");
  std::vector<std::string> gc = {git, "--git-dir=" + copy};
  if (pack_threads > 0) {
    gc.push_back("-c");
    gc.push_back("pack.threads=" + std::to_string(pack_threads));
  }
  for (const char* a : {"gc", "--aggressive", "--quiet"}) gc.push_back(a);
  Outcome run = Run(gc, git_env, -1, "", err);
  MustSucceed(run, "git gc --aggressive", err);
  std::string report = ReadFile(err);
  RemoveTree(scratch);

  long processes = 0;
  long long served = 0;
  std::stringstream lines(report);
  for (std::string line; std::getline(lines, line);) {
    const std::string key = "hakmem: slab_blocks_served";
    if (line.rfind(key, 0) == 0) {
      ++processes;
      served += std::strtoll(line.c_str() + key.size(), nullptr, 10);
    }
  }
  double cpu = run.usage.ru_utime.tv_sec + run.usage.ru_utime.tv_usec * 1e-6 +
               run.usage.ru_stime.tv_sec + run.usage.ru_stime.tv_usec * 1e-6;
  std::printf(
      "git_gc commits=%d files=%d seed=%llu pack_threads=%d "
      "git=%s repository=%s\n",
      commits, files, static_cast<unsigned long long>(seed), pack_threads,
      git.c_str(), repo.c_str());
  std::printf("result git_gc %.6g s\n", run.seconds);
  std::printf("result git_gc_cpu %.6g s\n", cpu);
  std::printf("peak_rss_kib %ld\n", run.usage.ru_maxrss);
  std::printf("final_rss_kib absent\n");
  std::printf("minor_faults %ld\n", run.usage.ru_minflt);
  std::printf("measured_program git\n");
  std::printf("malloc_from %s\n", malloc_from.c_str());
  std::printf("hakmem_processes %ld\n", processes);
  if (processes > 0) {
    std::printf("hakmem_blocks_served %lld\n", served);
  } else {
    std::printf("hakmem_blocks_served absent\n");
  }
  return 0;
}

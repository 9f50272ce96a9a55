#include "hakmem/config/config.h"

#include <atomic>
#include <cstring>

#include "hakmem/platform/fatal_report.h"
#include "hakmem/platform/spin_lock.h"

extern char** environ;

namespace hakmem::internal {
namespace {

// Parses a decimal count with an optional K, M or G suffix (powers of 1024).
bool ParseSize(const char* s, uint64_t* out) {
  if (*s == '\0') return false;
  uint64_t v = 0;
  for (; *s >= '0' && *s <= '9'; ++s) {
    if (v > (UINT64_MAX - 9) / 10) return false;
    v = v * 10 + static_cast<uint64_t>(*s - '0');
  }
  unsigned shift = 0;
  switch (*s) {
    case '\0':
      break;
    case 'k':
    case 'K':
      shift = 10;
      break;
    case 'm':
    case 'M':
      shift = 20;
      break;
    case 'g':
    case 'G':
      shift = 30;
      break;
    default:
      return false;
  }
  if (shift != 0 && *++s != '\0') return false;
  if (v > (UINT64_MAX >> shift)) return false;
  *out = v << shift;
  return true;
}

struct Parser {
  Config* config;
  int warnings = 0;

  void Invalid(const char* name, const char* value, const char* expected) {
    Warn("%s=%s is invalid (expected %s); using the default", name, value,
         expected);
    ++warnings;
  }

  template <typename T>
  void Range(const char* name, const char* value, uint64_t lo, uint64_t hi,
             const char* expected, T* field) {
    uint64_t v;
    if (ParseSize(value, &v) && v >= lo && v <= hi) {
      *field = static_cast<T>(v);
    } else {
      Invalid(name, value, expected);
    }
  }

  void Profile(const char* value) {
    Config& c = *config;
    if (std::strcmp(value, "default") == 0) {
      c = Config{};
    } else if (std::strcmp(value, "tput") == 0) {
      c.thread_cache_bytes = 256 * 1024;
      c.large_cache_bytes = size_t{256} << 20;
      c.cached_empty_superslabs = 8;
      c.decommit_bytes = uint64_t{64} << 20;
    } else if (std::strcmp(value, "pf") == 0) {
      // Fewer page faults: keep freed memory mapped for reuse.
      c.cached_empty_superslabs = 32;
      c.large_cache_bytes = size_t{512} << 20;
      c.decommit_bytes = uint64_t{256} << 20;
    } else if (std::strcmp(value, "lean") == 0) {
      c.thread_cache_bytes = 16 * 1024;
      c.large_cache_bytes = size_t{8} << 20;
      c.cached_empty_superslabs = 0;
      c.decommit_bytes = 0;
    } else if (std::strcmp(value, "debug") == 0) {
      c.stats_at_exit = StatsOutput::kText;
    } else {
      Invalid("HAKMEM_PROFILE", value, "default, tput, pf, lean or debug");
    }
  }

  void Variable(const char* name, const char* value) {
    Config& c = *config;
    if (std::strcmp(name, "HAKMEM_PROFILE") == 0) {
      // Applied first, before any other variable (see ParseConfig).
    } else if (std::strcmp(name, "HAKMEM_ON_ERROR") == 0) {
      if (std::strcmp(value, "abort") == 0) {
        c.abort_on_error = true;
      } else if (std::strcmp(value, "report") == 0) {
        c.abort_on_error = false;
      } else {
        Invalid(name, value, "abort or report");
      }
    } else if (std::strcmp(name, "HAKMEM_STATS") == 0) {
      if (std::strcmp(value, "0") == 0) {
        c.stats_at_exit = StatsOutput::kNone;
      } else if (std::strcmp(value, "1") == 0) {
        c.stats_at_exit = StatsOutput::kText;
      } else if (std::strcmp(value, "json") == 0) {
        c.stats_at_exit = StatsOutput::kJson;
      } else {
        Invalid(name, value, "0, 1 or json");
      }
    } else if (std::strcmp(name, "HAKMEM_TCACHE_BYTES") == 0) {
      Range(name, value, 4096, 16 << 20, "4K..16M", &c.thread_cache_bytes);
    } else if (std::strcmp(name, "HAKMEM_LARGE_CACHE_BYTES") == 0) {
      Range(name, value, 0, uint64_t{4} << 30, "0..4G", &c.large_cache_bytes);
    } else if (std::strcmp(name, "HAKMEM_SS_CACHE") == 0) {
      Range(name, value, 0, 1024, "0..1024", &c.cached_empty_superslabs);
    } else if (std::strcmp(name, "HAKMEM_DECOMMIT_BYTES") == 0) {
      Range(name, value, 0, uint64_t{1} << 40, "0..1024G", &c.decommit_bytes);
    } else if (std::strcmp(name, "HAKMEM_GUARD_RATE") == 0) {
      Range(name, value, 0, uint64_t{1} << 31, "0..2147483648 (2^31)",
            &c.guard_rate);
    } else if (std::strcmp(name, "HAKMEM_GUARD_ALIGN") == 0) {
      if (std::strcmp(value, "end") == 0) {
        c.guard_align_start = false;
      } else if (std::strcmp(value, "start") == 0) {
        c.guard_align_start = true;
      } else {
        Invalid(name, value, "end or start");
      }
    } else if (std::strcmp(name, "HAKMEM_TINY_MAX_SIZE") == 0) {
      // The tiny and pool tiers share size classes and thread caches; the
      // boundary only decides which code computes the class (the inline
      // lookup table, kTinyMaxSize entries, or the pool's formula), so it
      // is a compile-time constant the malloc fast path compares with.
      if (std::strcmp(value, "1024") != 0 && std::strcmp(value, "1K") != 0) {
        Invalid(name, value, "1024: the boundary is fixed at compile time");
      }
    } else if (std::strcmp(name, "HAKMEM_TINY_USE_SUPERSLAB") == 0) {
      // SuperSlabs are the only backend of the tiny tier; the variable is
      // accepted for upstream scripts that set it to 1.
      if (std::strcmp(value, "1") != 0) {
        Invalid(name, value, "1: the tiny tier always uses SuperSlabs");
      }
    } else {
      Warn("unknown variable %s ignored", name);
      ++warnings;
    }
  }
};

const char* const kVariableNames[] = {
    "HAKMEM_PROFILE",
    "HAKMEM_ON_ERROR",
    "HAKMEM_STATS",
    "HAKMEM_TCACHE_BYTES",
    "HAKMEM_LARGE_CACHE_BYTES",
    "HAKMEM_SS_CACHE",
    "HAKMEM_TINY_USE_SUPERSLAB",
    "HAKMEM_DECOMMIT_BYTES",
    "HAKMEM_TINY_MAX_SIZE",
    "HAKMEM_GUARD_RATE",
    "HAKMEM_GUARD_ALIGN",
    nullptr,
};

// Splits "NAME=value" into a NUL-terminated name in `name` (up to its
// size) and a pointer to the value. False for entries that are not ours.
bool SplitHakmemEntry(const char* entry, char (&name)[64], const char** value) {
  if (std::strncmp(entry, "HAKMEM_", 7) != 0) return false;
  const char* eq = std::strchr(entry, '=');
  if (eq == nullptr) return false;
  size_t len = static_cast<size_t>(eq - entry);
  if (len >= sizeof(name)) len = sizeof(name) - 1;
  std::memcpy(name, entry, len);
  name[len] = '\0';
  *value = eq + 1;
  return true;
}

struct ConfigState {
  SpinLock lock;
  std::atomic<bool> ready{false};
  Config config;
};
ABSL_CONST_INIT ConfigState g_config_state;

}  // namespace

int ParseConfig(const char* const* env, Config* out) {
  *out = Config{};
  Parser parser{out};
  char name[64];
  const char* value;
  if (env == nullptr) return 0;
  // The profile sets defaults that the other variables then override.
  for (const char* const* e = env; *e != nullptr; ++e) {
    if (SplitHakmemEntry(*e, name, &value) &&
        std::strcmp(name, "HAKMEM_PROFILE") == 0) {
      parser.Profile(value);
    }
  }
  for (const char* const* e = env; *e != nullptr; ++e) {
    if (SplitHakmemEntry(*e, name, &value)) parser.Variable(name, value);
  }
  return parser.warnings;
}

const Config& GetConfig() {
  if (!g_config_state.ready.load(std::memory_order_acquire)) {
    // Before libc has set up `environ` (allocations from .preinit_array or
    // the dynamic loader), the defaults apply but are not kept: the first
    // call after that reads the environment.
    static constexpr Config kDefaults{};
    if (environ == nullptr) return kDefaults;
    SpinLockHolder hold(g_config_state.lock);
    if (!g_config_state.ready.load(std::memory_order_relaxed)) {
      ParseConfig(environ, &g_config_state.config);
      g_config_state.ready.store(true, std::memory_order_release);
    }
  }
  return g_config_state.config;
}

const char* const* ConfigVariableNames() { return kVariableNames; }

}  // namespace hakmem::internal

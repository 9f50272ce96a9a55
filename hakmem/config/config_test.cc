#include "hakmem/config/config.h"

#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace hakmem::internal {
namespace {

Config Parse(std::initializer_list<const char*> entries, int* warnings) {
  std::vector<const char*> env(entries);
  env.push_back(nullptr);
  Config c;
  *warnings = ParseConfig(env.data(), &c);
  return c;
}

TEST(ConfigTest, DefaultsWithoutVariables) {
  int warnings;
  Config c = Parse({"PATH=/bin", "HOME=/root"}, &warnings);
  EXPECT_EQ(warnings, 0);
  Config defaults;
  EXPECT_TRUE(c.abort_on_error);
  EXPECT_EQ(c.stats_at_exit, StatsOutput::kNone);
  EXPECT_EQ(c.thread_cache_bytes, defaults.thread_cache_bytes);
  EXPECT_EQ(c.large_cache_bytes, defaults.large_cache_bytes);
}

TEST(ConfigTest, ValuesAreParsed) {
  int warnings;
  Config c = Parse({"HAKMEM_ON_ERROR=report", "HAKMEM_STATS=json",
                    "HAKMEM_TCACHE_BYTES=128K", "HAKMEM_LARGE_CACHE_BYTES=1G",
                    "HAKMEM_SS_CACHE=5", "HAKMEM_TINY_USE_SUPERSLAB=1",
                    "HAKMEM_TINY_MAX_SIZE=1024"},
                   &warnings);
  EXPECT_EQ(warnings, 0);
  EXPECT_FALSE(c.abort_on_error);
  EXPECT_EQ(c.stats_at_exit, StatsOutput::kJson);
  EXPECT_EQ(c.thread_cache_bytes, 128u * 1024);
  EXPECT_EQ(c.large_cache_bytes, size_t{1} << 30);
  EXPECT_EQ(c.cached_empty_superslabs, 5u);
}

TEST(ConfigTest, ProfilesSetDefaultsThatVariablesOverride) {
  int warnings;
  Config c = Parse({"HAKMEM_SS_CACHE=3", "HAKMEM_PROFILE=lean"}, &warnings);
  EXPECT_EQ(warnings, 0);
  EXPECT_EQ(c.thread_cache_bytes, 16u * 1024);
  EXPECT_EQ(c.cached_empty_superslabs, 3u);
  Config d = Parse({"HAKMEM_PROFILE=debug"}, &warnings);
  EXPECT_EQ(d.stats_at_exit, StatsOutput::kText);
}

TEST(ConfigTest, BadValuesWarnAndKeepTheDefault) {
  int warnings;
  Config defaults;
  Config c = Parse({"HAKMEM_TCACHE_BYTES=lots", "HAKMEM_SS_CACHE=999999",
                    "HAKMEM_ON_ERROR=maybe",
                    "HAKMEM_STATS=", "HAKMEM_LARGE_CACHE_BYTES=99999999999G",
                    "HAKMEM_PROFILE=fast", "HAKMEM_TINY_USE_SUPERSLAB=0",
                    "HAKMEM_NO_SUCH_THING=1", "HAKMEM_TINY_MAX_SIZE=512"},
                   &warnings);
  EXPECT_EQ(warnings, 9);
  EXPECT_EQ(c.thread_cache_bytes, defaults.thread_cache_bytes);
  EXPECT_EQ(c.cached_empty_superslabs, defaults.cached_empty_superslabs);
  EXPECT_EQ(c.large_cache_bytes, defaults.large_cache_bytes);
  EXPECT_TRUE(c.abort_on_error);
  EXPECT_EQ(c.stats_at_exit, StatsOutput::kNone);
}

TEST(ConfigTest, GuardedPoolVariables) {
  int warnings;
  Config defaults;
  EXPECT_EQ(defaults.guard_rate, 100000u);
  EXPECT_FALSE(defaults.guard_align_start);
  Config c =
      Parse({"HAKMEM_GUARD_RATE=1000", "HAKMEM_GUARD_ALIGN=start"}, &warnings);
  EXPECT_EQ(warnings, 0);
  EXPECT_EQ(c.guard_rate, 1000u);
  EXPECT_TRUE(c.guard_align_start);
  c = Parse({"HAKMEM_GUARD_RATE=2147483648", "HAKMEM_GUARD_ALIGN=end"},
            &warnings);
  EXPECT_EQ(warnings, 0);
  EXPECT_EQ(c.guard_rate, uint32_t{1} << 31);
  EXPECT_FALSE(c.guard_align_start);
  c = Parse({"HAKMEM_GUARD_RATE=0"}, &warnings);
  EXPECT_EQ(warnings, 0);
  EXPECT_EQ(c.guard_rate, 0u);
  c = Parse({"HAKMEM_GUARD_RATE=2147483649", "HAKMEM_GUARD_ALIGN=middle"},
            &warnings);
  EXPECT_EQ(warnings, 2);
  EXPECT_EQ(c.guard_rate, defaults.guard_rate);
  EXPECT_FALSE(c.guard_align_start);
  c = Parse({"HAKMEM_GUARD_RATE=-1", "HAKMEM_GUARD_RATE=4G"}, &warnings);
  EXPECT_EQ(warnings, 2);
  EXPECT_EQ(c.guard_rate, defaults.guard_rate);
}

TEST(ConfigTest, EveryVariableIsDocumentedAndEveryDocumentedOneExists) {
  std::ifstream doc("docs/CONFIG.md");
  ASSERT_TRUE(doc.good()) << "docs/CONFIG.md not found";
  std::stringstream text;
  text << doc.rdbuf();
  // Documented variables: table rows starting with "| `HAKMEM_".
  std::set<std::string> documented;
  std::istringstream lines(text.str());
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("| `HAKMEM_", 0) != 0) continue;
    documented.insert(line.substr(3, line.find('`', 3) - 3));
  }
  std::set<std::string> read;
  for (const char* const* n = ConfigVariableNames(); *n != nullptr; ++n) {
    read.insert(*n);
  }
  EXPECT_EQ(documented, read);
}

}  // namespace
}  // namespace hakmem::internal

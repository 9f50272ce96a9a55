// A short demonstration that allocates through hakmem's C ABI in every tier
// and from several threads, checks what it got, and prints what hakmem
// served (from hakmem's own statistics, so the numbers cannot come from
// another allocator).
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <thread>
#include <vector>

#include "capi/hakmem.h"

namespace {

hak_stats Stats() {
  hak_stats s{};
  s.version = HAK_STATS_VERSION;
  s.size = sizeof(s);
  if (hak_stats_get(&s) != 0) std::perror("hak_stats_get");
  return s;
}

// Allocates `count` blocks of `size`, fills, verifies and frees them.
bool Exercise(size_t size, int count) {
  std::vector<unsigned char*> blocks;
  for (int i = 0; i < count; ++i) {
    auto* p = static_cast<unsigned char*>(hak_malloc(size));
    if (p == nullptr) return false;
    std::memset(p, i & 0xff, size);
    blocks.push_back(p);
  }
  bool ok = true;
  for (int i = 0; i < count; ++i) {
    for (size_t j = 0; j < size; j += 64) ok &= blocks[i][j] == (i & 0xff);
    hak_free(blocks[i]);
  }
  return ok;
}

}  // namespace

int main() {
  std::printf("hakmem %u.%u.%u\n", hak_version() >> 16,
              (hak_version() >> 8) & 0xff, hak_version() & 0xff);
  struct Tier {
    const char* name;
    size_t size;
    int count;
  } tiers[] = {{"tiny", 32, 100000},
               {"tiny", 1000, 20000},
               {"pool", 4096, 5000},
               {"pool", 200 * 1024, 200},
               {"large", 4 << 20, 20}};
  bool ok = true;
  for (const Tier& t : tiers) {
    hak_stats before = Stats();
    ok &= Exercise(t.size, t.count);
    hak_stats after = Stats();
    std::printf("%-5s %8zu B x %6d: blocks served by slabs +%" PRIu64
                ", OS maps +%" PRIu64 "\n",
                t.name, t.size, t.count,
                after.slab_blocks_served - before.slab_blocks_served,
                after.os_map_calls - before.os_map_calls);
  }
  // Producer/consumer: blocks allocated on one thread, freed on another.
  std::vector<void*> handoff(50000);
  std::thread producer([&] {
    for (void*& p : handoff) p = hak_malloc(48);
  });
  producer.join();
  std::thread consumer([&] {
    for (void* p : handoff) hak_free(p);
  });
  consumer.join();

  hak_stats s = Stats();
  std::printf("served %" PRIu64
              " slab blocks; mapped %.1f MiB now, %.1f MiB peak; "
              "%" PRIu64 " mmap / %" PRIu64 " munmap calls; %" PRIu64
              " SuperSlabs live, %" PRIu64 " cached; %" PRIu64 " large live\n",
              s.slab_blocks_served, s.os_mapped_bytes / 1048576.0,
              s.os_mapped_peak_bytes / 1048576.0, s.os_map_calls,
              s.os_unmap_calls, s.superslabs_live, s.superslabs_cached,
              s.large_live);
  std::printf("%s\n", ok ? "all blocks verified" : "CONTENT MISMATCH");
  return ok && s.slab_blocks_served > 0 ? 0 : 1;
}

// Time per malloc/free pair of tiny blocks (8 to 64 B by default).
//
// For each size, batches of --batch blocks are allocated (each gets one
// byte written) and then freed, either in LIFO order (the reverse of
// allocation) or in a random order (one of a few fixed permutations, chosen
// before timing so that no random numbers are drawn in the timed loop).
// Prints ns of CPU time per pair for every size and order, and each
// order's mean over the sizes.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "bench/cpu_timer.h"
#include "bench/flags.h"
#include "bench/report.h"
#include "bench/rng.h"

namespace {

constexpr int kPermutations = 16;

enum class FreeOrder { kLifo, kRandom };

// Free orders of one batch: kPermutations shuffles of 0..batch-1, back to back.
std::vector<uint32_t> RandomOrders(uint32_t batch, uint64_t seed) {
  bench::Rng rng(seed);
  std::vector<uint32_t> orders;
  for (int k = 0; k < kPermutations; ++k) {
    std::vector<uint32_t> order(batch);
    for (uint32_t i = 0; i < batch; ++i) order[i] = i;
    for (uint32_t i = batch; i > 1; --i)
      std::swap(order[i - 1], order[rng.Below(i)]);
    orders.insert(orders.end(), order.begin(), order.end());
  }
  return orders;
}

void AllocateBatch(std::vector<char*>& blocks, size_t size) {
  for (size_t i = 0; i < blocks.size(); ++i) {
    auto* block = static_cast<char*>(std::malloc(size));
    if (block == nullptr) {
      std::fprintf(stderr, "bench_tiny: malloc(%zu) failed\n", size);
      std::exit(1);
    }
    block[0] = static_cast<char>(i);
    blocks[i] = block;
  }
}

void FreeBatch(std::vector<char*>& blocks, FreeOrder order,
               const uint32_t* permutation) {
  size_t n = blocks.size();
  if (order == FreeOrder::kLifo) {
    for (size_t i = n; i > 0; --i) std::free(blocks[i - 1]);
  } else {
    for (size_t i = 0; i < n; ++i) std::free(blocks[permutation[i]]);
  }
}

// ns per pair over `batches` batches, after one untimed warm-up batch.
double NsPerPair(size_t size, FreeOrder order, uint32_t batch, int64_t batches,
                 const std::vector<uint32_t>& orders) {
  std::vector<char*> blocks(batch);
  AllocateBatch(blocks, size);
  FreeBatch(blocks, order, orders.data());
  bench::ThreadCpuTimer timer;
  for (int64_t b = 0; b < batches; ++b) {
    AllocateBatch(blocks, size);
    FreeBatch(blocks, order, &orders[(b % kPermutations) * batch]);
  }
  return timer.Seconds() * 1e9 / (static_cast<double>(batches) * batch);
}

}  // namespace

int main(int argc, char** argv) {
  bench::Flags flags(argc, argv,
                     "[--sizes=8,16,32,64] [--batch=100] [--pairs=2000000] "
                     "[--seed=1]");
  std::vector<int64_t> sizes = flags.IntList("sizes", {8, 16, 32, 64}, 1);
  uint32_t batch = flags.Int("batch", 100, 1);
  int64_t pairs = flags.Int("pairs", 2000000, 1);
  uint64_t seed = flags.Int("seed", 1);
  flags.RejectUnknown();
  int64_t batches = std::max<int64_t>(1, pairs / batch);
  std::printf("bench_tiny batch=%u pairs=%lld per size and order\n", batch,
              static_cast<long long>(batches * batch));

  std::vector<uint32_t> orders = RandomOrders(batch, seed);
  for (FreeOrder order : {FreeOrder::kLifo, FreeOrder::kRandom}) {
    std::string name = order == FreeOrder::kLifo ? "lifo" : "random";
    double sum = 0;
    for (int64_t size : sizes) {
      double ns = NsPerPair(size, order, batch, batches, orders);
      bench::PrintResult(name + "_" + std::to_string(size) + "B", ns,
                         "ns/pair");
      sum += ns;
    }
    bench::PrintResult(name + "_mean", sum / sizes.size(), "ns/pair");
  }
  // Each batch is freed as it is timed; free the orders too, so that
  // final_rss_kib is measured with nothing held.
  orders = std::vector<uint32_t>();
  bench::PrintProcessReport();
  return 0;
}

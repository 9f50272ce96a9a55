#include "fuzz/size_model.h"

namespace fuzz {
namespace {

// clang-format off
constexpr size_t kSpecialSizes[] = {
    0, 1, 8, 15, 16, 17, 127, 128, 129, 1023, 1024, 1025, 4095, 4096, 4097,
    65535, 65536, 65537, kPoolMax - 1, kPoolMax, kPoolMax + 1,
    kPoolMax + kPage, 1 << 20, (1 << 20) + 1, kMaxFuzzSize,
};
// clang-format on
constexpr size_t kNumSpecialSizes = sizeof(kSpecialSizes) / sizeof(size_t);

// A size in class `cls`'s neighbourhood: its edge +-2, just under it, or
// anywhere in (previous edge, edge].
size_t NearClass(int cls, ByteReader& in) {
  size_t edge = ClassSize(cls);
  size_t prev = cls == 0 ? 0 : ClassSize(cls - 1);
  uint8_t how = in.Byte();
  if (how < 96) {
    size_t delta = how % 5;  // edge-2 .. edge+2
    return edge + delta < 2 ? 0 : edge + delta - 2;
  }
  if (how < 160) return edge - how % 16;  // never below 0: edges >= 16
  return prev + 1 + in.U16() % (edge - prev);
}

}  // namespace

size_t DecodeSize(ByteReader& in) {
  uint8_t tier = in.Byte() % 16;
  if (tier < 8) return NearClass(in.Byte() % kNumTinyClasses, in);
  if (tier < 13) {
    return NearClass(
        kNumTinyClasses + in.Byte() % (kNumClasses - kNumTinyClasses), in);
  }
  if (tier == 13) return kSpecialSizes[in.Byte() % kNumSpecialSizes];
  if (tier == 14) {
    // Pages just above the pool limit, mostly up to 1 MiB, +-2 bytes.
    uint16_t r = in.U16();
    size_t range = (r & 0x8000 ? kMaxFuzzSize : size_t{1} << 20) - kPoolMax;
    size_t pages = kPoolMax / kPage + 1 + r % (range / kPage);
    size_t delta = in.Byte() % 5;  // -2 .. +2
    return pages * kPage + delta - 2;
  }
  // Anywhere below 2^k for k in 1..20: log-uniform up to 1 MiB.
  size_t limit = size_t{2} << in.Byte() % 20;
  return in.U32() % limit;
}

size_t DecodeAlignment(ByteReader& in) {
  uint8_t b = in.Byte();
  unsigned log2 = b < 192 ? b % 13 : b % 21;  // up to 4 KiB, else 1 MiB
  return size_t{1} << log2;
}

}  // namespace fuzz

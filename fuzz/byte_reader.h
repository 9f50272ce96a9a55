// Reads a fuzzer input front to back as a stream of small integers. Past the
// end every read yields 0, so any input decodes to some operation sequence,
// and a byte keeps its meaning when the bytes after it change (friendly to
// libFuzzer's mutations and to hand-written seeds, see gen_seeds.py).
#ifndef HAKMEM_FUZZ_BYTE_READER_H_
#define HAKMEM_FUZZ_BYTE_READER_H_

#include <cstddef>
#include <cstdint>

namespace fuzz {

class ByteReader {
 public:
  ByteReader(const uint8_t* data, size_t size) : data_(data), size_(size) {}

  bool empty() const { return pos_ >= size_; }

  uint8_t Byte() { return pos_ < size_ ? data_[pos_++] : 0; }

  // Little-endian.
  uint16_t U16() {
    uint16_t lo = Byte();
    return static_cast<uint16_t>(lo | (uint16_t{Byte()} << 8));
  }
  uint32_t U32() {
    uint32_t lo = U16();
    return lo | (uint32_t{U16()} << 16);
  }
  uint64_t U64() {
    uint64_t lo = U32();
    return lo | (uint64_t{U32()} << 32);
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

}  // namespace fuzz

#endif  // HAKMEM_FUZZ_BYTE_READER_H_

#include "hakmem/superslab/free_block.h"

#include <cstdint>

#include "gtest/gtest.h"

namespace hakmem::internal {
namespace {

// xorshift64*: a fixed stream of test words.
uint64_t Next(uint64_t& state) {
  state ^= state >> 12;
  state ^= state << 25;
  state ^= state >> 27;
  return state * 0x2545F4914F6CDD1Dull;
}

TEST(FreeBlockTest, ShapedSecretsKeepTheirRandomBitsAndEndInTheTag) {
  uint64_t state = 0x853c49e6748fea9b;
  for (int i = 0; i < 1000; ++i) {
    uint64_t r = Next(state);
    uint64_t secret = FreeKeySecretFrom(r);
    uint64_t multiplier = LinkMultiplierFrom(r);
    EXPECT_EQ(secret & kFreeKeyTagMask, kFreeKeyTag);
    EXPECT_EQ(secret & 1, 1u);  // a free key is never an aligned pointer
    EXPECT_EQ(multiplier & kFreeKeyTagMask, 1u);  // odd: invertible
    EXPECT_EQ(secret >> 4, r >> 4);
    EXPECT_EQ(multiplier >> 4, r >> 4);
  }
}

TEST(FreeBlockTest, EveryFreeKeyWordPassesTheTagTestAndTheLiveMarkFails) {
  if (!kDetection) GTEST_SKIP() << "no key words without detection";
  alignas(16) FreeBlock blocks[64];
  uint64_t state = 0x9e3779b97f4a7c15;
  int user_words_passing = 0;
  for (int i = 0; i < 4000; ++i) {
    uint64_t secret = FreeKeySecretFrom(Next(state));
    uint64_t multiplier = LinkMultiplierFrom(Next(state));
    FreeBlock* b = &blocks[Next(state) % 64];
    FreeBlock* next = i % 5 == 0 ? nullptr : &blocks[Next(state) % 64];
    uint64_t key = FreeKey(secret, b);
    // On a remote-free stack or in a pending batch: the free key.
    b->key = key;
    EXPECT_TRUE(MayHoldFreeKeyWord(b, key));
    EXPECT_TRUE(HoldsFreeKeyWord(b, key, multiplier));
    // On an owner list: the seal of the link.
    SetOwnerListLink(b, next, key, multiplier);
    EXPECT_TRUE(MayHoldFreeKeyWord(b, key));
    EXPECT_TRUE(HoldsFreeKeyWord(b, key, multiplier));
    // Live, as malloc hands it out.
    MarkLive(b);
    EXPECT_FALSE(MayHoldFreeKeyWord(b, key));
    // Live, with the program's data in its word 1: the tag test passes
    // about once in 16, and the exact test never does.
    b->key = Next(state);
    if (MayHoldFreeKeyWord(b, key)) {
      ++user_words_passing;
      EXPECT_EQ(b->key & kFreeKeyTagMask, kFreeKeyTag);
      EXPECT_FALSE(HoldsFreeKeyWord(b, key, multiplier));
    }
  }
  EXPECT_GT(user_words_passing, 4000 / 16 / 2);
  EXPECT_LT(user_words_passing, 4000 / 16 * 2);
}

}  // namespace
}  // namespace hakmem::internal

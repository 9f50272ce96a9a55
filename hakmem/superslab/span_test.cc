#include "hakmem/superslab/span.h"

#include <vector>

#include "gtest/gtest.h"
#include "hakmem/error/error_log_for_tests.h"
#include "hakmem/superslab/remote_free_stack.h"
#include "hakmem/superslab/span_allocator.h"

namespace hakmem::internal {
namespace {

constexpr uint64_t kOwner = 42;
constexpr unsigned kClass = 3;

class SpanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // What process set-up draws (thread_cache/process.cc): both odd.
    g_free_key_secret = FreeKeySecretFrom(0x9e3779b97f4a7c15);
    g_link_multiplier = LinkMultiplierFrom(0xd1342543de82ef95);
    span_ = AcquireSpan(kClass, kOwner);
    ASSERT_NE(span_, nullptr);
  }
  void TearDown() override {
    SpanDiscardBlocks(span_);
    ReleaseSpan(span_);
  }

  // The blocks of an owner list, checking every link on the way.
  static std::vector<FreeBlock*> Walk(FreeBlock* b) {
    std::vector<FreeBlock*> blocks;
    while (b != nullptr) {
      blocks.push_back(b);
      FreeBlock* next;
      EXPECT_TRUE(DecodeIntactLink(b, &next));
      b = next;
    }
    return blocks;
  }

  FreeBlock* Block(uint32_t i) const {
    return reinterpret_cast<FreeBlock*>(span_->start +
                                        uintptr_t{i} * span_->block_size);
  }

  // As the thread cache's refill does before handing a block out.
  static void MarkAllLive(const std::vector<FreeBlock*>& blocks) {
    for (FreeBlock* b : blocks) MarkLive(b);
  }

  SpanMeta* span_ = nullptr;
};

TEST_F(SpanTest, CarvesFreshBlocksInAddressOrder) {
  SpanBatch batch = SpanTakeBatch(span_, 5, "tiny");
  EXPECT_EQ(batch.source, BatchSource::kFreshSpace);
  ASSERT_EQ(batch.count, 5u);
  EXPECT_EQ(Walk(batch.head),
            (std::vector<FreeBlock*>{Block(0), Block(1), Block(2), Block(3),
                                     Block(4)}));
  EXPECT_EQ(span_->used, 5u);
  EXPECT_EQ(span_->carved.load(), 5u);
  for (unsigned i = 0; i < SlabsOfSpan(span_); ++i) {
    EXPECT_EQ(span_[i].carved.load(), 5u) << "tail " << i << " mirrors";
  }
  EXPECT_TRUE(IsCarvedBlockStart(span_, Block(4)));
  EXPECT_FALSE(IsCarvedBlockStart(span_, Block(5)));
}

TEST_F(SpanTest, FreedBlocksComeBackBeforeFreshOnesLastFreedFirst) {
  std::vector<FreeBlock*> out = Walk(SpanTakeBatch(span_, 5, "tiny").head);
  MarkAllLive(out);
  for (int i : {1, 3, 4}) SpanPushFree(span_, out[i], FreeKey(out[i]));
  EXPECT_EQ(span_->used, 2u);
  EXPECT_EQ(span_->free_count, 3u);
  EXPECT_TRUE(HoldsFreeKeyWord(out[3], FreeKey(out[3]), g_link_multiplier));

  // Part of the list: cut after two blocks, the cut link sealed again.
  SpanBatch batch = SpanTakeBatch(span_, 2, "tiny");
  EXPECT_EQ(batch.source, BatchSource::kFreeList);
  ASSERT_EQ(batch.count, 2u);
  EXPECT_EQ(Walk(batch.head), (std::vector<FreeBlock*>{out[4], out[3]}));
  EXPECT_EQ(span_->free_count, 1u);
  EXPECT_EQ(span_->used, 4u);
  // The rest of it, whole, before anything fresh.
  batch = SpanTakeBatch(span_, 8, "tiny");
  EXPECT_EQ(batch.source, BatchSource::kFreeList);
  EXPECT_EQ(Walk(batch.head), std::vector<FreeBlock*>{out[1]});
  EXPECT_EQ(span_->used, 5u);
  EXPECT_EQ(span_->carved.load(), 5u);
}

TEST_F(SpanTest, RemoteFreesAreTakenInWhenTheFreeListIsEmpty) {
  std::vector<FreeBlock*> out = Walk(SpanTakeBatch(span_, 3, "tiny").head);
  MarkAllLive(out);
  for (FreeBlock* b : out) {
    b->key = FreeKey(b);  // what RemoteFree's claim writes
    RemoteFreePush(span_, b);
  }
  EXPECT_EQ(span_->used, 3u);  // pending remote frees stay counted
  SpanBatch batch = SpanTakeBatch(span_, 2, "tiny");
  EXPECT_EQ(batch.source, BatchSource::kRemoteFrees);
  ASSERT_EQ(batch.count, 2u);
  EXPECT_EQ(span_->remote_head.load(), nullptr);
  EXPECT_EQ(span_->free_count, 1u);
  EXPECT_EQ(span_->used, 2u);
  // Drained blocks are on an owner list: sealed, every one.
  std::vector<FreeBlock*> taken = Walk(batch.head);
  EXPECT_EQ(taken.size(), 2u);
  EXPECT_EQ(Walk(span_->free_list).size(), 1u);
}

TEST_F(SpanTest, ABrokenLinkEndsTheBatchAndLeaksTheRestOfTheList) {
  std::vector<FreeBlock*> out = Walk(SpanTakeBatch(span_, 4, "tiny").head);
  MarkAllLive(out);
  for (FreeBlock* b : out) SpanPushFree(span_, b, FreeKey(b));
  // The list runs out[3], out[2], out[1], out[0]: a write into out[2]'s
  // link after its free.
  out[2]->link ^= 0x100;
  ErrorLog log;
  SpanBatch batch = SpanTakeBatch(span_, 3, "tiny");
  EXPECT_EQ(log.errors,
            std::vector<MemoryError>{MemoryError::kCorruptedFreeList});
  EXPECT_EQ(batch.source, BatchSource::kFreeList);
  EXPECT_EQ(Walk(batch.head), std::vector<FreeBlock*>{out[3]});
  // out[2] and what follows it stay counted as used: never handed out, and
  // the span never released under them.
  EXPECT_EQ(span_->free_list, nullptr);
  EXPECT_EQ(span_->free_count, 0u);
  EXPECT_EQ(span_->used, 4u);
  batch = SpanTakeBatch(span_, 1, "tiny");
  EXPECT_EQ(batch.source, BatchSource::kFreshSpace);
  EXPECT_EQ(batch.head, Block(4));
}

TEST_F(SpanTest, TakeOneChecksTheBlockItHandsOut) {
  FreeBlock* b = SpanTakeOne(span_, "arena");
  ASSERT_EQ(b, Block(0));
  MarkLive(b);
  SpanPushFree(span_, b, FreeKey(b));
  EXPECT_EQ(SpanTakeOne(span_, "arena"),
            b);  // the freed block again, not block 1
  MarkLive(b);
  SpanPushFree(span_, b, FreeKey(b));
  b->link = reinterpret_cast<uintptr_t>(Block(7));  // written after its free
  ErrorLog log;
  EXPECT_EQ(SpanTakeOne(span_, "arena"), nullptr);
  EXPECT_EQ(log.errors,
            std::vector<MemoryError>{MemoryError::kCorruptedFreeList});
  EXPECT_EQ(span_->used, 1u);  // leaked
  EXPECT_EQ(SpanTakeOne(span_, "arena"), Block(1));
}

TEST_F(SpanTest, ABrokenRemoteLinkLeaksTheRestOfTheStack) {
  std::vector<FreeBlock*> out = Walk(SpanTakeBatch(span_, 3, "tiny").head);
  MarkAllLive(out);
  for (FreeBlock* b : out) {
    b->key = FreeKey(b);
    RemoteFreePush(span_, b);
  }
  // The stack runs out[2], out[1], out[0]: out[1]'s link is overwritten.
  out[1]->link ^= 8;
  ErrorLog log;
  SpanDrainRemoteFrees(span_);
  EXPECT_EQ(log.errors,
            std::vector<MemoryError>{MemoryError::kCorruptedFreeList});
  EXPECT_EQ(Walk(span_->free_list), std::vector<FreeBlock*>{out[2]});
  EXPECT_EQ(span_->used, 2u);
}

TEST_F(SpanTest, AnAdoptedSpansFreeListIsOfferedWholeOnceWhenItFits) {
  std::vector<FreeBlock*> out = Walk(SpanTakeBatch(span_, 6, "tiny").head);
  MarkAllLive(out);
  for (FreeBlock* b : out) SpanPushFree(span_, b, FreeKey(b));
  EXPECT_EQ(InheritedListToTake(span_, 100), 0u);  // never adopted
  constexpr uint64_t kAdopter = 44;
  auto abandon_and_adopt = [this] {
    span_->owner.store(kNoOwner, std::memory_order_relaxed);
    ASSERT_TRUE(TryClaimSpan(span_, kAdopter));
    AdoptClaimedSpan(span_, kAdopter);
  };
  abandon_and_adopt();
  EXPECT_EQ(span_->owner.load(std::memory_order_relaxed), kAdopter);
  EXPECT_EQ(InheritedListToTake(span_, 5), 0u);    // 6 blocks: too long
  EXPECT_EQ(InheritedListToTake(span_, 100), 0u);  // the first take only
  abandon_and_adopt();
  EXPECT_EQ(InheritedListToTake(span_, 6), 6u);
  EXPECT_EQ(InheritedListToTake(span_, 6), 0u);
  // Asked for all six, the take hands the whole list over, links intact.
  SpanBatch batch = SpanTakeBatch(span_, 6, "tiny");
  EXPECT_EQ(batch.source, BatchSource::kFreeList);
  EXPECT_EQ(Walk(batch.head).size(), 6u);
  EXPECT_EQ(span_->free_list, nullptr);
  EXPECT_EQ(span_->used, 6u);
}

TEST_F(SpanTest, DiscardingForgetsEveryBlock) {
  std::vector<FreeBlock*> out = Walk(SpanTakeBatch(span_, 6, "tiny").head);
  MarkAllLive(out);
  SpanPushFree(span_, out[0], FreeKey(out[0]));
  out[1]->key = FreeKey(out[1]);
  RemoteFreePush(span_, out[1]);
  SpanDiscardBlocks(span_);
  EXPECT_EQ(span_->used, 0u);
  EXPECT_EQ(span_->free_list, nullptr);
  EXPECT_EQ(span_->free_count, 0u);
  EXPECT_EQ(span_->remote_head.load(), nullptr);
}

}  // namespace
}  // namespace hakmem::internal

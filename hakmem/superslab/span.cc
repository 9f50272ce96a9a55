#include "hakmem/superslab/span.h"

#include "hakmem/error/memory_error.h"
#include "hakmem/platform/asan.h"
#include "hakmem/size_class/size_class.h"
#include "hakmem/superslab/chunk_map.h"
#include "hakmem/superslab/remote_free_stack.h"

namespace hakmem::internal {
namespace {

// Sets block_size and block_multiplier for `block_size`.
void SetBlockSize(SpanMeta* m, uint32_t block_size) {
  unsigned shift = __builtin_ctz(block_size);
  HAK_DCHECK(shift <= kBlockStartRotate);
  m->block_size = block_size;
  m->block_multiplier = InverseModulo2To64(block_size >> shift)
                        << (kBlockStartRotate - shift);
}

// Copies the head's start, block size and class into its tails.
void MirrorSpanShape(SpanMeta* head) {
  for (unsigned i = 1, n = SlabsOfSpan(head); i < n; ++i) {
    head[i].start = head->start;
    head[i].block_multiplier = head->block_multiplier;
    head[i].block_size = head->block_size;
    head[i].size_class = head->size_class;
  }
}

// The end of the span's last slab.
uintptr_t SpanEnd(const SpanMeta* head) {
  return reinterpret_cast<uintptr_t>(SuperSlabOf(head)) +
         (SlabIndexOf(head) + SlabsOfSpan(head)) * kSlabSize;
}

void ReportBrokenBlock(const SpanMeta* m, const FreeBlock* b,
                       const char* tier) {
  ReportMemoryError(BrokenLinkError(b), b, tier, m->size_class);
}

// Moves up to `want` blocks of the span's (non-empty) free list into
// *head; returns how many. Each link is checked before it is followed
// unless the whole list is taken: its seal proves it is the link the list
// stored (free_block.h), so it names a block of this span. A corrupted
// block ends the batch before it, and it and the rest of the list are
// leaked (counted in `used`).
uint32_t TakeFromFreeList(SpanMeta* m, uint32_t want, FreeBlock** head,
                          const char* tier) {
  if (m->free_count <= want) {
    uint32_t n = m->free_count;
    *head = m->free_list;
    m->free_list = nullptr;
    m->free_count = 0;
    return n;
  }
  FreeBlock* last = nullptr;
  FreeBlock* b = m->free_list;
  uint32_t n = 0;
  while (n < want) {
    FreeBlock* next;
    if (!DecodeIntactLink(b, &next)) {
      ReportBrokenBlock(m, b, tier);
      m->used += m->free_count - n;  // leaked: b and everything after it
      m->free_count = n;
      b = nullptr;
      break;
    }
    last = b;
    b = next;
    ++n;
  }
  if (n != 0) {
    *head = m->free_list;
    SetOwnerListLink(last, nullptr, FreeKey(last));
  }
  m->free_list = b;
  m->free_count -= n;
  return n;
}

// Carves up to `want` fresh blocks into *head, linked in address order,
// each with its free key (as every block on an owner list); returns how
// many.
uint32_t CarveFresh(SpanMeta* m, uint32_t want, FreeBlock** head) {
  uint32_t carved =
      static_cast<uint32_t>(m->carved.load(std::memory_order_relaxed));
  uint32_t n = m->capacity - carved < want ? m->capacity - carved : want;
  if (n == 0) return 0;
  FreeBlock* b = reinterpret_cast<FreeBlock*>(m->start + uintptr_t{carved} *
                                                             m->block_size);
  *head = b;
  for (uint32_t i = 0; i < n; ++i) {
    FreeBlock* next = i + 1 < n
                          ? reinterpret_cast<FreeBlock*>(
                                reinterpret_cast<char*>(b) + m->block_size)
                          : nullptr;
    AsanUnpoison(b, sizeof(FreeBlock));
    SetOwnerListLink(b, next, FreeKey(b));
    b = next;
  }
  SetCarved(m, carved + n);
  return n;
}

}  // namespace

void InitFreeSlab(SpanMeta* m) {
  m->owner.store(kNoOwner, std::memory_order_relaxed);
  m->head = m;
}

void FormSpan(SpanMeta* head, unsigned slabs, unsigned cls, uintptr_t start,
              uintptr_t end, uint64_t owner) {
  for (unsigned i = 1; i < slabs; ++i) {
    // A dissolved span left its tails with nothing carved and no owner.
    HAK_DCHECK(head[i].carved.load(std::memory_order_relaxed) == 0);
    HAK_DCHECK(head[i].owner.load(std::memory_order_relaxed) == kNoOwner);
    head[i].head = head;
  }
  uint32_t block_size = ClassBlockSize(cls);
  head->head = head;
  head->span_slabs = static_cast<uint8_t>(slabs);
  head->start = start;
  SetBlockSize(head, block_size);
  head->capacity = static_cast<uint32_t>((end - start) / block_size);
  head->size_class = static_cast<uint8_t>(cls);
  MirrorSpanShape(head);
  SetCarved(head, 0);
  head->list = SlabList::kNone;
  head->free_list = nullptr;
  head->free_count = 0;
  head->used = 0;
  head->inherited_list = false;
  head->prev = head->next = nullptr;
  HAK_DCHECK(head->remote_head.load(std::memory_order_relaxed) == nullptr);
  HAK_DCHECK(head->pins.load(std::memory_order_relaxed) == 0);
  // Nothing in the span is handed out yet (see platform/asan.h).
  AsanPoison(reinterpret_cast<void*>(start), end - start);
  SetSpanOwner(head, owner, std::memory_order_release);
}

void DissolveSpan(SpanMeta* head) {
  HAK_DCHECK(head->used == 0 && head->list == SlabList::kNone);
  HAK_DCHECK(head->remote_head.load(std::memory_order_relaxed) == nullptr);
  AsanUnpoison(reinterpret_cast<void*>(head->start),
               SpanEnd(head) - head->start);
  SetSpanOwner(head, kNoOwner, std::memory_order_relaxed);
  SetCarved(head, 0);
  unsigned n = SlabsOfSpan(head);
  head->span_slabs = 0;
  for (unsigned i = 1; i < n; ++i) head[i].head = &head[i];
}

SpanBatch SpanTakeBatch(SpanMeta* m, uint32_t want, const char* tier) {
  HAK_DCHECK(want > 0);
  SpanBatch batch = {nullptr, 0, BatchSource::kFreeList};
  if (m->free_list == nullptr) {
    SpanDrainRemoteFrees(m);
    batch.source = BatchSource::kRemoteFrees;
  }
  if (m->free_list != nullptr) {
    batch.count = TakeFromFreeList(m, want, &batch.head, tier);
  }
  if (batch.count == 0) {
    batch.count = CarveFresh(m, want, &batch.head);
    batch.source =
        batch.count != 0 ? BatchSource::kFreshSpace : BatchSource::kNone;
  }
  m->used += batch.count;
  return batch;
}

FreeBlock* SpanTakeOne(SpanMeta* m, const char* tier) {
  FreeBlock* b = SpanTakeBatch(m, 1, tier).head;
  if (b == nullptr) return nullptr;
  FreeBlock* next;
  if (!DecodeIntactLink(b, &next) || next != nullptr) {
    ReportBrokenBlock(m, b, tier);  // leaked: it stays counted in `used`
    return nullptr;
  }
  return b;
}

void SpanDrainRemoteFrees(SpanMeta* m) {
  FreeBlock* b = RemoteFreeTakeAll(m);
  while (b != nullptr) {
    FreeBlock* next;
    if (!DecodeIntactRemoteLink(b, &next) || !IsSpanLink(m, next)) {
      // The rest of the stack is leaked with it (still counted in `used`).
      ReportBrokenBlock(m, b, ClassTierName(m->size_class));
      return;
    }
    SpanPushFree(m, b, FreeKey(b));
    b = next;
  }
}

void SpanDiscardBlocks(SpanMeta* m) {
  RemoteFreeTakeAll(m);
  m->used = 0;
  m->free_list = nullptr;
  m->free_count = 0;
}

}  // namespace hakmem::internal

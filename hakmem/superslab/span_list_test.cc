#include "hakmem/superslab/span_list.h"

#include <vector>

#include "gtest/gtest.h"

namespace hakmem::internal {
namespace {

using TestList = SpanList<SlabList::kAvailable>;

// The spans of `list` from head to tail, after checking that the back links
// and the tail agree with the forward links.
std::vector<SpanMeta*> Walk(const TestList& list) {
  std::vector<SpanMeta*> spans;
  SpanMeta* prev = nullptr;
  for (SpanMeta* m = list.head; m != nullptr; m = m->next) {
    EXPECT_EQ(m->prev, prev);
    spans.push_back(m);
    prev = m;
  }
  EXPECT_EQ(list.tail, prev);
  return spans;
}

// All zero is the empty list: ThreadCache relies on it in static TLS.
TestList g_zero_list;

TEST(SpanListTest, ZeroIsEmpty) {
  EXPECT_EQ(g_zero_list.head, nullptr);
  EXPECT_EQ(g_zero_list.tail, nullptr);
  EXPECT_EQ(g_zero_list.PopFront(), nullptr);
}

TEST(SpanListTest, PushFrontIsAStackAndPushBackAQueue) {
  SpanMeta m[4] = {};
  TestList list = {};
  list.PushFront(&m[0]);
  list.PushFront(&m[1]);
  list.PushBack(&m[2]);
  list.PushFront(&m[3]);
  EXPECT_EQ(Walk(list), (std::vector<SpanMeta*>{&m[3], &m[1], &m[0], &m[2]}));
  EXPECT_EQ(list.PopFront(), &m[3]);
  EXPECT_EQ(list.PopFront(), &m[1]);
  EXPECT_EQ(list.PopFront(), &m[0]);
  EXPECT_EQ(list.PopFront(), &m[2]);
  EXPECT_EQ(list.PopFront(), nullptr);
  EXPECT_EQ(list.tail, nullptr);
}

TEST(SpanListTest, RemoveAnywhereClearsTheLinks) {
  SpanMeta m[4] = {};
  TestList list = {};
  for (SpanMeta& s : m) list.PushBack(&s);
  list.Remove(&m[1]);  // middle
  EXPECT_EQ(Walk(list), (std::vector<SpanMeta*>{&m[0], &m[2], &m[3]}));
  list.Remove(&m[3]);  // tail
  EXPECT_EQ(Walk(list), (std::vector<SpanMeta*>{&m[0], &m[2]}));
  list.Remove(&m[0]);  // head
  EXPECT_EQ(Walk(list), (std::vector<SpanMeta*>{&m[2]}));
  list.Remove(&m[2]);  // last
  EXPECT_EQ(Walk(list), std::vector<SpanMeta*>{});
  for (SpanMeta& s : m) {
    EXPECT_EQ(s.prev, nullptr);
    EXPECT_EQ(s.next, nullptr);
    EXPECT_EQ(s.list, SlabList::kNone);
  }
  // Usable again after emptying.
  list.PushBack(&m[1]);
  list.PushBack(&m[0]);
  EXPECT_EQ(Walk(list), (std::vector<SpanMeta*>{&m[1], &m[0]}));
}

// A list records itself in the tag of every span it holds, and kNone in
// that of a span it lets go, whichever way.
TEST(SpanListTest, TagsTheSpansItHolds) {
  SpanMeta m[3] = {};
  TestList list = {};
  SpanList<SlabList::kFull> other = {};
  list.PushFront(&m[0]);
  list.PushBack(&m[1]);
  other.PushBack(&m[2]);
  EXPECT_EQ(m[0].list, SlabList::kAvailable);
  EXPECT_EQ(m[1].list, SlabList::kAvailable);
  EXPECT_EQ(m[2].list, SlabList::kFull);
  EXPECT_EQ(list.PopFront(), &m[0]);
  EXPECT_EQ(m[0].list, SlabList::kNone);
  list.Remove(&m[1]);
  EXPECT_EQ(m[1].list, SlabList::kNone);
  other.PushFront(&m[1]);
  other.RotateTo(&m[2]);
  EXPECT_EQ(Walk(list), std::vector<SpanMeta*>{});
  EXPECT_EQ(m[1].list, SlabList::kFull);
  EXPECT_EQ(m[2].list, SlabList::kFull);
}

}  // namespace
}  // namespace hakmem::internal

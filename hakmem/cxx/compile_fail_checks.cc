// Compile-time guarantees of hakmem's C++ API, checked by
// compile_fail_test.sh with clang's -verify mode: the line after each
// "expected-error@+1" or "expected-warning@+1" comment must produce that
// diagnostic, and nothing else may produce any. (The comments stand on
// lines of their own so that clang-format cannot move them off their line.
// Not compiled by Bazel.)
#include <optional>
#include <utility>

#include "hakmem/hakmem.h"

struct Base {
  int b;
};
struct Derived : Base {
  int d;
};

// Correct use: no diagnostics.
void Control() {
  std::optional<hakmem::Layout> l = hakmem::Layout::FromSizeAlign(64, 64);
  hakmem::Result<void*> r = hakmem::Allocate(*l);
  if (r.ok()) hakmem::Deallocate(*r, *l);
  hakmem::Box<int> b = hakmem::MakeBox<int>(1);
  hakmem::Box<int> c = std::move(b);
  hakmem::Box<int[]> a = hakmem::MakeBox<int[]>(3);
  hakmem::Result<hakmem::Heap> h = hakmem::Heap::Create();
  (void)c;
  (void)a;
  (void)h;
}

// Fallible allocation cannot be ignored ([[nodiscard]]; -Werror in real
// builds makes these errors).
hakmem::Result<int> MakesAResult() { return 1; }
void DiscardedResults() {
  // expected-warning@+1 {{ignoring return value}}
  hakmem::Allocate(hakmem::Layout::Of<int>());
  // expected-warning@+1 {{ignoring return value}}
  MakesAResult();
  // expected-warning@+1 {{ignoring return value}}
  hakmem::TryMakeBox<int>(1);
  // expected-warning@+1 {{ignoring return value}}
  hakmem::MakeBox<int>(1);
  // expected-warning@+1 {{ignoring return value}}
  hakmem::Heap::Create();
}

// Invalid layouts cannot be constructed.
void Layouts() {
  // expected-error@+1 {{private constructor}}
  hakmem::Layout a(8, 3);
  // expected-error@+1 {{no matching constructor}}
  hakmem::Layout b;
  (void)a;
  (void)b;
}

// Boxes own uniquely, are never null by accident, and never change type.
void Boxes() {
  hakmem::Box<int> b = hakmem::MakeBox<int>(1);
  // expected-error@+1 {{deleted constructor}}
  hakmem::Box<int> copy = b;
  int x = 0;
  // expected-error@+1 {{no matching constructor}}
  hakmem::Box<int> from_pointer(&x);
  // expected-error@+1 {{no matching constructor}}
  hakmem::Box<int> null;
  // expected-error@+1 {{no viable conversion}}
  hakmem::Box<Base> up = hakmem::MakeBox<Derived>();
  // expected-error@+1 {{deleted function}}
  hakmem::MakeBox<int[3]>();
  // expected-error@+1 {{no viable conversion}}
  int v = hakmem::Result<int>(1);
  (void)copy;
  (void)from_pointer;
  (void)null;
  (void)up;
  (void)v;
}

// Heaps own uniquely; a heap's boxes are not global boxes.
void Heaps() {
  hakmem::Heap h = hakmem::Heap::Create().value();
  // expected-error@+1 {{deleted constructor}}
  hakmem::Heap copy = h;
  // expected-error@+1 {{no viable conversion}}
  hakmem::Box<int> b = h.MakeBox<int>(1);
  (void)copy;
  (void)b;
}

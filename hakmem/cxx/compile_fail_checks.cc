// Compile-time guarantees of hakmem's C++ API, checked by
// compile_fail_test.sh with clang's -verify mode: every line marked
// "expected-error" or "expected-warning" must produce that diagnostic, and
// nothing else may produce any. (Not compiled by Bazel.)
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
  hakmem::Allocate(hakmem::Layout::Of<int>());  // expected-warning {{ignoring return value}}
  MakesAResult();  // expected-warning {{ignoring return value}}
  hakmem::TryMakeBox<int>(1);  // expected-warning {{ignoring return value}}
  hakmem::MakeBox<int>(1);  // expected-warning {{ignoring return value}}
  hakmem::Heap::Create();  // expected-warning {{ignoring return value}}
}

// Invalid layouts cannot be constructed.
void Layouts() {
  hakmem::Layout a(8, 3);  // expected-error {{private constructor}}
  hakmem::Layout b;  // expected-error {{no matching constructor}}
  (void)a;
  (void)b;
}

// Boxes own uniquely, are never null by accident, and never change type.
void Boxes() {
  hakmem::Box<int> b = hakmem::MakeBox<int>(1);
  hakmem::Box<int> copy = b;  // expected-error {{deleted constructor}}
  int x = 0;
  hakmem::Box<int> from_pointer(&x);  // expected-error {{no matching constructor}}
  hakmem::Box<int> null;  // expected-error {{no matching constructor}}
  hakmem::Box<Base> up = hakmem::MakeBox<Derived>();  // expected-error {{no viable conversion}}
  hakmem::MakeBox<int[3]>();  // expected-error {{deleted function}}
  int v = hakmem::Result<int>(1);  // expected-error {{no viable conversion}}
  (void)copy;
  (void)from_pointer;
  (void)null;
  (void)up;
  (void)v;
}

// Heaps own uniquely; a heap's boxes are not global boxes.
void Heaps() {
  hakmem::Heap h = hakmem::Heap::Create().value();
  hakmem::Heap copy = h;  // expected-error {{deleted constructor}}
  hakmem::Box<int> b = h.MakeBox<int>(1);  // expected-error {{no viable conversion}}
  (void)copy;
  (void)b;
}

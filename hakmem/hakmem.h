// hakmem's C++ API: a safe, typed layer over the C ABI (capi/hakmem.h),
// in the spirit of Rust's allocator APIs. Include this header, or only the
// part you need:
//
//   hakmem/cxx/result.h           hakmem::Error, hakmem::Result<T>
//   hakmem/cxx/layout.h           hakmem::Layout (size + alignment, validated)
//   hakmem/cxx/alloc.h            Allocate / AllocateZeroed / Reallocate /
//                                 Deallocate by Layout
//   hakmem/cxx/box.h              hakmem::Box<T>, Box<T[]>, MakeBox, TryMakeBox
//   hakmem/cxx/allocator.h        hakmem::Allocator<T> for standard containers
//   hakmem/cxx/heap.h             hakmem::Heap (first-class arena), HeapBox<T>
//   hakmem/cxx/memory_resource.h  GlobalResource(), HeapResource (std::pmr)
//
// Bazel: depend on //:hakmem (this header and the C ABI; it links the
// runtime). The contract, thread-safety and stability rules are in
// docs/API.md; each header states the rules of its types.
#ifndef HAKMEM_HAKMEM_H_
#define HAKMEM_HAKMEM_H_

#include "capi/hakmem.h"
#include "hakmem/cxx/alloc.h"
#include "hakmem/cxx/allocator.h"
#include "hakmem/cxx/box.h"
#include "hakmem/cxx/heap.h"
#include "hakmem/cxx/layout.h"
#include "hakmem/cxx/memory_resource.h"
#include "hakmem/cxx/result.h"

#endif  // HAKMEM_HAKMEM_H_

// The TLS model of hakmem's thread-local state (the thread cache).
//
// Initial-exec by default: every access is one %fs-relative load, with no
// call, in the executable, in the static override and in libhakmem.so
// (which is loaded at startup, LD_PRELOAD or DT_NEEDED, so its TLS is part
// of the static block). A library loaded later with dlopen gets
// initial-exec TLS only from glibc's small static surplus, which the
// thread cache (kilobytes) does not fit: "cannot allocate memory in static
// TLS block". The build of the C ABI for dlopen (//:libhakmem_capi.so)
// therefore compiles everything with HAKMEM_DYNAMIC_TLS=1 (see
// capi/dynamic_tls.bzl): global-dynamic TLS, which glibc allocates when a
// thread first touches it, at the price of a __tls_get_addr call in each
// function that reaches the heap. That library does not replace malloc, so
// the allocation glibc may make there never comes back into hakmem.
#ifndef HAKMEM_PLATFORM_TLS_H_
#define HAKMEM_PLATFORM_TLS_H_

#include "absl/base/attributes.h"

#ifndef HAKMEM_DYNAMIC_TLS
#define HAKMEM_DYNAMIC_TLS 0
#endif

#if HAKMEM_DYNAMIC_TLS
#define HAKMEM_TLS_MODEL __attribute__((tls_model("global-dynamic")))
#else
#define HAKMEM_TLS_MODEL ABSL_ATTRIBUTE_INITIAL_EXEC
#endif

#endif  // HAKMEM_PLATFORM_TLS_H_

// Formatting of hak_stats for people (one "hakmem: name value" line each)
// and for tools (one JSON object on one line).
#ifndef HAKMEM_CAPI_STATS_PRINT_H_
#define HAKMEM_CAPI_STATS_PRINT_H_

#include <cstddef>
#include <cstdio>

namespace hakmem::internal {

// Writes the statistics (and the debug counters, in a build that has them)
// into `buf`, NUL-terminated and truncated to `size`; returns the length.
// Allocates nothing.
size_t FormatStats(char* buf, size_t size, bool json);

// Returns 0, or -1 if writing failed.
int PrintStats(FILE* out, bool json);

}  // namespace hakmem::internal

#endif  // HAKMEM_CAPI_STATS_PRINT_H_

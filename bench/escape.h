// Escape(p): tells the compiler that `p` and the memory it points to are
// used, so that a malloc whose block is written and freed without being
// read, or a store into it, is not optimised away (clang removes such
// malloc/free pairs).
#ifndef HAKMEM_BENCH_ESCAPE_H_
#define HAKMEM_BENCH_ESCAPE_H_

namespace bench {

inline void Escape(const void* p) { asm volatile("" : : "r"(p) : "memory"); }

}  // namespace bench

#endif  // HAKMEM_BENCH_ESCAPE_H_

// Cache hints that the compiler keeps. GCC 12 drops a __builtin_prefetch
// whose address comes out of a loop with an early exit (the staged flow
// lookup's tag scan lost its prefetches that way, silently), so on x86 the
// instruction is written out; elsewhere the builtin is the best there is.
#pragma once

namespace rstguard {

inline void prefetch_line(const void* p) {
#if defined(__x86_64__) || defined(__i386__)
  asm volatile("prefetcht0 %0" : : "m"(*static_cast<const char*>(p)));
#else
  __builtin_prefetch(p, 0, 3);
#endif
}

}  // namespace rstguard

// Sequence-number arithmetic, wrap-aware everywhere (RFC 9293 3.4: all
// comparisons are modulo 2^32). Never compare sequence numbers with raw `<`.
#pragma once

#include <cstdint>

namespace rstguard {

constexpr int32_t seq_diff(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b); }
constexpr bool seq_lt(uint32_t a, uint32_t b) { return seq_diff(a, b) < 0; }
constexpr bool seq_leq(uint32_t a, uint32_t b) { return seq_diff(a, b) <= 0; }
constexpr bool seq_gt(uint32_t a, uint32_t b) { return seq_diff(a, b) > 0; }
constexpr bool seq_geq(uint32_t a, uint32_t b) { return seq_diff(a, b) >= 0; }
constexpr uint32_t seq_max(uint32_t a, uint32_t b) { return seq_gt(a, b) ? a : b; }
// True when left <= s < left + size (size may be 0: then never).
constexpr bool seq_in_window(uint32_t s, uint32_t left, uint32_t size) {
  return static_cast<uint32_t>(s - left) < size;
}

static_assert(seq_lt(0xFFFFFFF0u, 0x10u), "wraps");
static_assert(seq_in_window(5, 0xFFFFFFFEu, 10));
static_assert(!seq_in_window(5, 6, 0));

}  // namespace rstguard

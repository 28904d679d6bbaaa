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

// The worker clock is 32-bit milliseconds, wrap-aware like sequence
// numbers, with 0 meaning "never". True when `then_ms` is set, not after
// `now_ms`, and at most `limit_ns` before it.
constexpr bool ms_within(uint32_t now_ms, uint32_t then_ms, uint64_t limit_ns) {
  if (then_ms == 0) return false;
  const int32_t d = seq_diff(now_ms, then_ms);
  return d >= 0 && static_cast<uint64_t>(d) * 1'000'000u <= limit_ns;
}

static_assert(seq_lt(0xFFFFFFF0u, 0x10u), "wraps");
static_assert(seq_in_window(5, 0xFFFFFFFEu, 10));
static_assert(!seq_in_window(5, 6, 0));

}  // namespace rstguard

// Tables shared by many flows, keyed by host: the TTL each server used in
// its last SYN/ACK, non-exact resets toward each destination (sweeps), and
// events per (rule, source) for rate limits. A hashed direct-mapped table
// is the right structure for each: bounded, one probe, and losing an entry
// costs little. What losing one may cost, at worst:
//   - a TTL baseline: a reset is judged without it (one piece of evidence
//     fewer; never more evidence, so never a drop it would not get anyway);
//   - a destination count: a sweep is seen later (it restarts at 1);
//   - a rate window: the source gets a fresh second, so more events, never
//     fewer (the action applies whatever the rate limit says).
// An attacker flooding one of them can make rstguard say less about a
// sweep, never drop a genuine reset or release a held one. Every overwrite
// of another key's live entry is counted (host.*.overwritten).
//
// Not thread-safe: one set per worker. Sizes are powers of two.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>

#include "core/counters.h"
#include "core/packet_view.h"

namespace rstguard {

// 64-bit mix of an address and a 16-bit discriminator (port, rule), never 0.
uint64_t host_tag(const IpAddr& a, uint16_t extra);

// A count of events of one key (host_tag) within a window of packet time.
struct CountWindow {
  uint64_t tag = 0;
  uint32_t window_start_ms = 0;
  uint32_t count = 0;
};

class HostTtlTable {
 public:
  HostTtlTable(uint32_t slots, Counters* counters);
  // The TTL `a` last used in a SYN/ACK, or -1.
  int get(const IpAddr& a) const;
  void set(const IpAddr& a, uint8_t ttl);

 private:
  struct Slot {
    uint64_t tag = 0;
    uint8_t ttl = 0;
  };
  uint32_t mask_;
  std::unique_ptr<Slot[]> slots_;
  Counters* counters_;
};

// Non-exact resets toward a destination (address, port) within a window.
class DestinationTable {
 public:
  DestinationTable(uint32_t slots, uint64_t window_ns, Counters* counters);
  // Resets counted toward (dst, port) in the window now open.
  uint32_t count(const IpAddr& dst, uint16_t port, uint32_t now_ms) const;
  // Counts one more; returns the new count.
  uint32_t add(const IpAddr& dst, uint16_t port, uint32_t now_ms);

 private:
  using Slot = CountWindow;
  bool live(const Slot& s, uint64_t tag, uint32_t now_ms) const;
  uint32_t mask_;
  uint64_t window_ns_;
  std::unique_ptr<Slot[]> slots_;
  Counters* counters_;
};

// Events per (rule, source address) per second of packet time.
class SourceRateLimiter {
 public:
  SourceRateLimiter(uint32_t slots, Counters* counters);
  // Counts one event of `src` under `rule`; false past `per_second`.
  bool allows(const IpAddr& src, uint32_t rule, uint32_t per_second, uint32_t now_ms);

 private:
  using Slot = CountWindow;
  uint32_t mask_;
  std::unique_ptr<Slot[]> slots_;
  Counters* counters_;
};

// The worker's events per second of packet time, whatever their source.
class EventBudget {
 public:
  explicit EventBudget(uint32_t per_second) : per_second_(per_second) {}
  // Counts one event; false past the budget. A budget of 0 allows all.
  bool allows(uint32_t now_ms);

 private:
  uint32_t per_second_;
  uint32_t window_ms_ = 0;  // start of the current second (0: none yet)
  uint32_t used_ = 0;
};

}  // namespace rstguard

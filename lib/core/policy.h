// Parameters of tracking, judging and deciding. Plain values filled by
// lib/config from YAML (or defaults); read-only on the packet path.
// All durations are in nanoseconds of packet time.
#pragma once

#include <array>
#include <cstdint>

#include "core/verdict.h"

namespace rstguard {

inline constexpr uint64_t kNsPerMs = 1'000'000;
inline constexpr uint64_t kNsPerSec = 1'000'000'000;

struct FlowTimeouts {
  uint64_t embryonic_ns = 30 * kNsPerSec;     // SYN seen, handshake not done
  uint64_t established_ns = 8100 * kNsPerSec;  // > Linux keepalive (2 h + 9 x 75 s)
  uint64_t closing_ns = 120 * kNsPerSec;      // FIN seen in one or both ways
  uint64_t time_wait_ns = 60 * kNsPerSec;     // both FINs acknowledged
  uint64_t closed_ns = 10 * kNsPerSec;        // after an accepted reset
};

struct FlowTableParams {
  uint32_t capacity = 1u << 16;  // concurrent flows per worker
  FlowTimeouts timeouts;
  uint64_t hash_seed = 0;  // 0: the fixed flow hash (see FlowHasher)
};

// What the judge weighs. Defaults are the documented reference
// (config/rstguard.yaml explains each).
struct JudgeParams {
  uint8_t ttl_tolerance = 1;            // hops of TTL drift still "the same sender"
  uint8_t ttl_gap = 16;                 // hops no route change explains (0 = off)
  uint8_t insertion_max_ttl = 0;        // RST TTL at or below: would not arrive (0 = off)
  bool verify_checksums = true;         // bad-checksum RST = insertion evidence
  uint64_t race_window_ns = 2 * kNsPerSec;      // data_after_rst look-ahead
  uint64_t both_directions_ns = 500 * kNsPerMs;  // resets to both ends within
  uint64_t seq_change_ns = 2 * kNsPerSec;        // resets with other seqs within
  uint32_t sweep_resets = 8;                     // resets toward one target ...
  uint64_t sweep_window_ns = 10 * kNsPerSec;     // ... within this time
  uint64_t idle_gap_ns = 300 * kNsPerSec;        // silence that makes idle_timeout
  uint64_t quick_close_ns = 2 * kNsPerSec;       // FIN then RST within (after_fin)
  uint32_t retransmit_threshold = 3;             // retransmissions before RST
  uint32_t keepalive_threshold = 2;              // unanswered keepalive probes
  uint8_t forged_score = 3;      // evidence points that make "forged"
  uint8_t suspicious_score = 2;  // evidence points that make "suspicious"
  bool lossy_tap = false;        // mirror port: gaps downgrade forged to suspicious
};

struct ActionPolicy {
  // Indexed by Label.
  std::array<Action, 3> by_label = {Action::pass, Action::alert, Action::drop};
  Action for_label(Label l) const { return by_label[static_cast<int>(l)]; }
};

enum class EventVerbosity : uint8_t { kAll, kSuspiciousAndForged };

// The hold queue (action "hold"): a reset waits for its connection's next
// packets; if its supposed sender keeps talking it is dropped as forged,
// otherwise it is released after max_time.
// Bounds of the per-flow pools and per-host tables (entries). Pools may be
// any size from 1; host tables are rounded up to a power of two.
struct PoolParams {
  uint32_t reset_history = 4096;  // connections with a reset in memory
  uint32_t triggers = 4096;       // connections with a trigger match or reassembly
  uint32_t reassembly = 64;       // ClientHellos / request headers being joined (4 KiB each)
  uint32_t host_ttl = 4096;       // servers' SYN/ACK TTLs
  uint32_t destinations = 4096;   // reset counts per destination (sweeps)
  uint32_t rate_limit = 4096;     // per-(rule, source) event rate windows
  friend bool operator==(const PoolParams&, const PoolParams&) = default;
};

// Incidents (core/incidents.h).
struct IncidentParams {
  uint64_t interval_ns = 10 * kNsPerSec;  // ongoing reports at most this often
  uint64_t idle_ns = 30 * kNsPerSec;      // no new member this long: it ends
  uint32_t sample_first = 5;  // member events written per incident, then ...
  uint32_t sample_every = 0;  // ... one in this many (0: none, 1: all)
  uint32_t capacity = 128;    // open at once per worker (1 .. 1024)
  friend bool operator==(const IncidentParams&, const IncidentParams&) = default;
};

struct HoldParams {
  uint64_t max_time_ns = 200 * kNsPerMs;
  uint32_t max_packets = 1024;  // held at once per worker; beyond: forwarded, counted
};

}  // namespace rstguard

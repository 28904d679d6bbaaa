// rstguard's configuration: YAML (yaml-cpp) -> validated, immutable structs.
// This library is the only user of yaml-cpp. Loading is not on the packet
// path; the result is read-only once built and safe to share across lcores.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/policy.h"
#include "core/policy_set.h"

namespace rstguard::config {

struct OutputConfig {
  std::string events = "rstguard-events.json";  // "-" writes to stdout
  EventVerbosity verbosity = EventVerbosity::kAll;
  std::string stats_json;  // empty: no machine-readable summary file
  std::string flagged;     // pcap of every suspicious or forged reset; empty: none
  std::string metrics;     // Prometheus text file of the counters; empty: none
  uint32_t max_events_per_second = 0;  // reset events written per second, all sources; 0: no limit
  uint64_t metrics_interval_ns = 10'000'000'000;  // live: rewritten this often
  // Events and flagged files: rotated past this size (0: never), keeping
  // rotate_files old ones.
  uint64_t rotate_bytes = 0;
  uint32_t rotate_files = 5;
  std::string log_level = "info";
  // An output file that fails (a full disk, a reader gone): "stop" ends the
  // run (exit 1); "continue" goes on without it (still exit 1 at the end).
  std::string on_error = "stop";
};

// Live modes (DPDK ports). Offline mode ignores this section.
struct LiveConfig {
  std::string mode = "inline";      // inline | mirror
  std::vector<uint16_t> ports;      // empty: inline 0 and 1, mirror every port
  uint32_t workers = 0;             // 0: one per worker lcore EAL was given
  uint32_t rx_desc = 1024;          // descriptors per rx queue
  uint32_t tx_desc = 1024;          // descriptors per tx queue
  uint64_t tx_flush_ns = 100'000;   // buffered tx is sent at least this often
  uint64_t idle_sleep_ns = 0;       // sleep when a poll finds nothing (0: spin)
  uint32_t event_ring = 4096;       // events per worker ring (power of two)
  bool alert_only = false;          // inline: forward everything, only alert
  // auto: re-hash in software only where the devices cannot keep both
  // directions of a connection on one queue; software: always (several
  // workers), whatever the devices say.
  std::string rehash = "auto";
  bool drop_held_on_exit = false;   // at shutdown: drop held resets (else release)
};

// A named trigger pattern (matched with Hyperscan, lib/match).
struct PatternConfig {
  std::string name;
  std::string expression;
  bool literal = false;  // expression is a plain string, not a regex
  bool caseless = true;
  std::vector<std::string> fields;  // "sni", "host", "payload"; empty: all
  int line = 0;  // where it was defined, for compile errors (1-based)
  int column = 0;
};

struct TriggerConfig {
  uint32_t window_segments = 4;  // payload segments scanned per direction
  uint32_t window_bytes = 2048;  // bytes scanned of each
  std::vector<PatternConfig> patterns;
};

struct Config {
  FlowTableParams flow;
  // flow_table.hash_seed: unset ("auto") means random for a live run and 0
  // (the fixed hash, reproducible flow ids) for a capture file.
  std::optional<uint64_t> flow_hash_seed;
  JudgeParams judge;
  ActionPolicy actions;
  HoldParams hold;
  IncidentParams incidents;
  PoolParams pools;
  OutputConfig output;
  LiveConfig live;
  TriggerConfig triggers;
  // The default rule's evidence actions and event rate limit (per source).
  std::array<int8_t, kEvidenceCount> evidence_actions = make_no_evidence_actions();
  uint32_t rate_limit = 0;
  // Rules (first match wins; the top-level settings are the default rule),
  // built into the policy that workers read. Always set after loading.
  std::shared_ptr<const PolicySet> policy = default_policy();

  static std::array<int8_t, kEvidenceCount> make_no_evidence_actions() {
    std::array<int8_t, kEvidenceCount> a;
    a.fill(-1);
    return a;
  }
  static std::shared_ptr<const PolicySet> default_policy();
  uint32_t burst_size = 32;  // packets per rx burst, 1..256
};

// A configuration that cannot be used. what() reads
// "FILE:LINE:COLUMN: message" (line and column 1-based) so editors jump to it.
class ConfigError : public std::runtime_error {
 public:
  ConfigError(const std::string& file, int line, int column, const std::string& message);
  const std::string& file() const { return file_; }
  int line() const { return line_; }
  int column() const { return column_; }

 private:
  std::string file_;
  int line_;
  int column_;
};

// Both throw ConfigError on a missing/unreadable file, a YAML syntax error,
// an unknown key, a wrong type or an impossible value. `name` is used in
// messages in place of a file path.
Config load_config_file(const std::string& path);
Config load_config_string(std::string_view yaml, const std::string& name);

// The default rule as the top-level settings describe it.
RuleActions default_rule_actions(const Config& c);

// Parses a duration: a number of seconds ("2", "0.5") or a number with a unit
// ("500ms", "30s", "5m", "1h", "100us"). Returns nanoseconds, or -1 if bad.
int64_t parse_duration_ns(std::string_view text);

}  // namespace rstguard::config

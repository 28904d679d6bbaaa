// rstguard's configuration: YAML (yaml-cpp) -> validated, immutable structs.
// This library is the only user of yaml-cpp. Loading is not on the packet
// path; the result is read-only once built and safe to share across lcores.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

#include "core/policy.h"

namespace rstguard::config {

struct OutputConfig {
  std::string events = "rstguard-events.json";  // "-" writes to stdout
  EventVerbosity verbosity = EventVerbosity::kAll;
  std::string stats_json;  // empty: no machine-readable summary file
  std::string log_level = "info";
};

struct Config {
  FlowTableParams flow;
  JudgeParams judge;
  ActionPolicy actions;
  OutputConfig output;
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

// Parses a duration: a number of seconds ("2", "0.5") or a number with a unit
// ("500ms", "30s", "5m", "1h", "100us"). Returns nanoseconds, or -1 if bad.
int64_t parse_duration_ns(std::string_view text);

}  // namespace rstguard::config

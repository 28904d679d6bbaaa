// Command line of the rstguard executable. Options override the
// configuration file.
#pragma once

#include <optional>
#include <string>

#include "config/config.h"

namespace rstguard::app {

struct Options {
  std::string mode;              // offline | inline | mirror; empty: from -r / config
  std::string read_path;         // -r
  std::string write_path;        // -w
  std::string config_path;       // -c
  std::optional<std::string> events_path;
  std::optional<std::string> stats_json_path;
  std::optional<std::string> flagged_path;
  std::optional<std::string> metrics_path;
  std::optional<std::string> verbosity;
  std::optional<std::string> log_level;
  std::optional<uint64_t> flow_capacity;
  std::optional<uint64_t> workers;
  std::optional<std::string> ports;       // "0,1"
  std::optional<std::string> idle_sleep;  // duration
  bool alert_only = false;
  bool software_rehash = false;
  bool quiet = false;
  bool help = false;
  bool version = false;
};

// Parses argv (after any EAL arguments). On a usage error returns nullopt
// and sets *error.
std::optional<Options> parse_options(int argc, char** argv, std::string* error);
const char* usage_text();

// Applies command-line overrides to a loaded configuration; throws
// config::ConfigError (file "command line") on an impossible value.
void apply_overrides(const Options& o, config::Config& c);

}  // namespace rstguard::app

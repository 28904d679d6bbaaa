// Counters in the Prometheus text exposition format (version 0.0.4), for a
// file that node_exporter's textfile collector (or any scraper of such
// files) picks up. Main lcore only.
#pragma once

#include <string>

#include "core/counters.h"
#include "output/summary.h"

namespace rstguard::output {

// Every scalar counter as rstguard_<name>_total (dots become '_'), the
// reset breakdowns and parse results as labelled counters, flows and
// uptime as gauges, and per-worker figures labelled by worker and lcore.
std::string format_metrics(const Counters& c, const RunInfo& info);

// Writes `text` to `path` through a temporary file and a rename, so that a
// reader never sees half a file. False (and `error` set) on failure.
bool write_file_atomically(const std::string& path, const std::string& text, std::string* error);

// format_metrics() into `path`, atomically. False (and `error` set) on failure.
inline bool write_metrics(const std::string& path, const Counters& c, const RunInfo& info,
                          std::string* error) {
  return write_file_atomically(path, format_metrics(c, info), error);
}

}  // namespace rstguard::output

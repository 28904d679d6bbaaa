// End-of-run summary: a readable table for the terminal and a JSON object
// for machines (--stats-json). Main lcore only.
#pragma once

#include <string>

#include "core/counters.h"

namespace rstguard::output {

struct RunInfo {
  std::string input;   // capture path or port list
  std::string mode;    // offline | inline | mirror
  double seconds = 0;  // wall time
  uint64_t flows_active = 0;
  size_t flow_bytes = 0;  // flow table memory
  size_t flow_capacity = 0;
  std::string error;   // non-empty when the run ended on an error
};

std::string format_summary_text(const Counters& c, const RunInfo& info);
std::string format_summary_json(const Counters& c, const RunInfo& info);

}  // namespace rstguard::output

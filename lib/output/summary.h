// End-of-run summary: a readable table for the terminal and a JSON object
// for machines (--stats-json). Main lcore only.
#pragma once

#include <string>
#include <vector>

#include "core/counters.h"

namespace rstguard::output {

struct WorkerInfo {
  unsigned lcore = 0;
  uint64_t packets = 0;
  uint64_t flows_created = 0;
  uint64_t flows_active = 0;
  uint64_t tx = 0;
  uint64_t tx_dropped = 0;
  uint64_t handoff_in = 0;
  uint64_t handoff_out = 0;
  uint64_t event_overflow = 0;
};

// One output file: what reached it, what never will, and why.
struct OutputInfo {
  std::string name;  // "events", "write" (-w), "flagged"
  std::string path;
  uint64_t written = 0;   // records (lines, packets) that reached the file
  uint64_t lost = 0;      // handed to it, never written (it failed)
  uint64_t rejected = 0;  // -w, flagged: packets pcap cannot hold (a timestamp past 2106)
  std::string error;      // non-empty: it failed, and why
};

struct RunInfo {
  std::string input;   // capture path or port list
  std::string mode;    // offline | inline | mirror
  double seconds = 0;  // wall time
  bool running = false;  // a summary asked for during the run (so far)
  uint64_t flows_active = 0;
  size_t flow_bytes = 0;  // flow table memory
  size_t flow_capacity = 0;
  std::string error;   // non-empty when the run ended on an error
  std::vector<WorkerInfo> workers;  // live modes
  int64_t flows_split = -1;  // flows found in more than one worker (-1: not checked)
  std::vector<OutputInfo> outputs;  // the files written as it ran (not the summary's own)
};

std::string format_summary_text(const Counters& c, const RunInfo& info);
std::string format_summary_json(const Counters& c, const RunInfo& info);

}  // namespace rstguard::output

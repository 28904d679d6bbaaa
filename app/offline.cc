#include "app/offline.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <memory>

#include "app/signals.h"
#include "core/worker.h"
#include "dpdk/capture_file.h"
#include "output/event_json.h"
#include "output/event_sink.h"
#include "output/summary.h"

namespace rstguard::app {
namespace {

// pcap link types that carry raw IP under another number (DLT_RAW on
// some platforms).
uint16_t normalize_link_type(uint16_t lt) { return (lt == 12 || lt == 14) ? 101 : lt; }

}  // namespace

int run_offline(const Options& options, const config::Config& cfg) {
  std::string error;
  auto reader = CaptureReader::open(options.read_path, &error);
  if (!reader) {
    spdlog::error("{}", error);
    return 1;
  }
  std::unique_ptr<CaptureWriter> writer;
  if (!options.write_path.empty()) {
    writer = CaptureWriter::open(options.write_path, reader->link_type(), &error);
    if (!writer) {
      spdlog::error("{}", error);
      return 1;
    }
  }
  std::unique_ptr<output::EventSink> sink;
  try {
    sink = std::make_unique<output::EventSink>(cfg.output.events);
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return 1;
  }
  const bool print = !options.quiet && cfg.output.events != "-";

  WorkerParams wp;
  wp.flow = cfg.flow;
  wp.judge = cfg.judge;
  wp.actions = cfg.actions;
  wp.verbosity = cfg.output.verbosity;
  auto worker = std::make_unique<Worker>(wp);

  const uint16_t burst = static_cast<uint16_t>(std::min<uint32_t>(cfg.burst_size, kMaxBurst));
  CaptureRecord records[kMaxBurst];
  Frame frames[kMaxBurst];
  Disposition dispositions[kMaxBurst];
  const auto start = std::chrono::steady_clock::now();
  install_stop_handlers();
  bool write_failed = false;

  while (!stop_requested()) {
    const size_t n = reader->read_burst(records, burst);
    for (size_t i = 0; i < n; ++i) {
      frames[i] = Frame{records[i].data, records[i].caplen, records[i].wire_len, records[i].ts_ns,
                        normalize_link_type(records[i].link_type)};
    }
    worker->process_burst(frames, static_cast<uint16_t>(n), dispositions);
    if (writer) {
      for (size_t i = 0; i < n && !write_failed; ++i) {
        if (dispositions[i] == Disposition::kDrop) continue;
        if (!writer->write(records[i].data, records[i].caplen, records[i].wire_len,
                           records[i].ts_ns)) {
          spdlog::error("{}", writer->error());
          write_failed = true;
        }
      }
    }
    for (const RstEvent& e : worker->events()) {
      sink->write(e);
      if (print) std::fputs((output::format_event_text(e) + "\n").c_str(), stdout);
    }
    worker->clear_events();
    if (n < burst) break;
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  sink->flush();
  if (writer && !writer->flush()) {
    spdlog::error("{}", writer->error());
    write_failed = true;
  }

  output::RunInfo info;
  info.input = options.read_path;
  info.mode = "offline";
  info.seconds = seconds;
  info.flows_active = worker->flows().size();
  info.flow_bytes = worker->flows().memory_bytes();
  info.flow_capacity = worker->flows().capacity();
  const auto status = reader->status();
  if (status == CaptureReader::Status::kTruncated || status == CaptureReader::Status::kCorrupt) {
    info.error = reader->error();
  }
  if (stop_requested()) info.error = "interrupted";
  std::fflush(stdout);
  std::fputs(output::format_summary_text(worker->counters(), info).c_str(), stdout);
  std::fflush(stdout);
  if (!cfg.output.stats_json.empty()) {
    std::ofstream f(cfg.output.stats_json);
    f << output::format_summary_json(worker->counters(), info) << "\n";
    if (!f) {
      spdlog::error("cannot write stats to '{}'", cfg.output.stats_json);
      return 1;
    }
  }
  if (!info.error.empty() && !stop_requested()) {
    spdlog::error("{} (events judged before it are written to {})", info.error,
                  cfg.output.events);
    return 1;
  }
  return write_failed ? 1 : 0;
}

}  // namespace rstguard::app

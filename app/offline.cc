#include "app/offline.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <climits>
#include <memory>
#include <vector>

#include "app/flagged.h"
#include "app/reload.h"
#include "app/signals.h"
#include "core/worker.h"
#include "capture/capture_file.h"
#include "output/event_json.h"
#include "output/event_sink.h"
#include "output/metrics.h"
#include "output/summary.h"

namespace rstguard::app {
namespace {

// pcap link types that carry raw IP under another number (DLT_RAW on
// some platforms).
uint16_t normalize_link_type(uint16_t lt) { return (lt == 12 || lt == 14) ? 101 : lt; }

}  // namespace

int run_offline(const Options& options, const config::Config& cfg) {
  // Before the capture is opened: a stream's header may be a long time
  // coming, and SIGINT must end that wait (SIGUSR1 and SIGHUP must not
  // kill the process).
  install_stop_handlers();
  std::string error;
  auto reader = CaptureReader::open(options.read_path, &error, &stop_requested);
  if (!reader) {
    spdlog::error("{}", error);
    return 1;
  }
  // A capture of a link type rstguard cannot read is refused, not "judged"
  // as 0 resets. (In pcapng, records of another interface's unsupported
  // type are counted: parse.unsupported_link, in the summary.)
  if (!link_type_supported(normalize_link_type(reader->link_type()))) {
    spdlog::error("{}: link type {} is not one rstguard reads (Ethernet 1, raw IP 101/12/14, "
                  "Linux cooked 113 and 276, BSD loopback 0 and 108)",
                  options.read_path, reader->link_type());
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
  std::unique_ptr<CaptureWriter> flagged;
  if (!cfg.output.flagged.empty()) {
    flagged = CaptureWriter::open(cfg.output.flagged, reader->link_type(), &error,
                                  Rotation{cfg.output.rotate_bytes, cfg.output.rotate_files});
    if (!flagged) {
      spdlog::error("{}", error);
      return 1;
    }
  }
  std::unique_ptr<output::EventSink> sink;
  try {
    sink = std::make_unique<output::EventSink>(cfg.output.events, cfg.output.rotate_bytes,
                                               cfg.output.rotate_files);
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return 1;
  }
  const bool print = !options.quiet && cfg.output.events != "-";

  WorkerParams wp;
  wp.flow = cfg.flow;
  wp.flow.hash_seed = cfg.flow_hash_seed.value_or(0);  // auto: reproducible flow ids
  wp.judge = cfg.judge;
  wp.actions = cfg.actions;
  wp.max_events_per_second = cfg.output.max_events_per_second;
  wp.verbosity = cfg.output.verbosity;
  wp.hold = cfg.hold;
  wp.pools = cfg.pools;
  wp.incidents = cfg.incidents;
  auto worker = std::make_unique<Worker>(wp);
  // The policy in force; SIGHUP swaps it between bursts (one thread here,
  // so the swap needs no grace period).
  std::shared_ptr<const PolicySet> policy = cfg.policy;
  policy->prepare_scanners(1);
  worker->set_policy(policy.get());

  const uint16_t burst = static_cast<uint16_t>(std::min<uint32_t>(cfg.burst_size, kMaxBurst));
  CaptureRecord records[kMaxBurst];
  Frame frames[kMaxBurst];
  Disposition dispositions[kMaxBurst];
  const auto start = std::chrono::steady_clock::now();
  bool write_failed = false;
  // Held frames point into the capture's mapping, so parking one is
  // keeping its record. A stream's records last one burst: a held one is
  // copied (holds are resets, rare).
  std::vector<CaptureRecord> held(worker->hold_capacity());
  std::vector<std::vector<uint8_t>> held_bytes(reader->is_stream() ? held.size() : 0);
  const auto emit_frame = [&](const CaptureRecord& r) {
    if (!writer || write_failed) return;
    if (!writer->write(r.data, r.caplen, r.wire_len, r.ts_ns)) {
      spdlog::error("{}", writer->error());
      write_failed = true;
    }
  };
  const auto apply_releases = [&](size_t& next, uint16_t before_frame) {
    const auto& rel = worker->releases();
    for (; next < rel.size() && rel[next].before_frame <= before_frame; ++next) {
      if (rel[next].disposition == Disposition::kForward) emit_frame(held[rel[next].slot]);
    }
  };
  // Events name their packet by number; the burst's records are still
  // mapped, so a flagged reset is written from them.
  uint64_t burst_first = 1;
  size_t burst_size = 0;
  const auto drain_events = [&]() {
    for (const RstEvent& e : worker->events()) {
      if (flagged && e.type == EventType::kRst && e.label != Label::legit &&
          e.packet_number >= burst_first && e.packet_number < burst_first + burst_size) {
        const CaptureRecord& r = records[e.packet_number - burst_first];
        write_flagged(flagged, r.data, r.caplen, r.wire_len, r.ts_ns);
      }
      sink->write(e);
      if (print) std::fputs((output::format_event_text(e) + "\n").c_str(), stdout);
    }
    worker->clear_events();
  };

  // Events, -w and --flagged to disk; a file that fails is reported once.
  const auto flush_outputs = [&]() {
    sink->flush();
    if (writer && !write_failed && !writer->flush()) {
      spdlog::error("{}", writer->error());
      write_failed = true;
    }
    if (flagged && !flagged->flush()) {
      spdlog::error("{}", flagged->error());
      flagged.reset();
    }
  };

  const auto run_info = [&](bool running) {
    output::RunInfo info;
    info.input = options.read_path;
    info.mode = "offline";
    info.running = running;
    info.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    info.flows_active = worker->flows().size();
    info.flow_bytes = worker->flows().memory_bytes();
    info.flow_capacity = worker->flows().capacity();
    return info;
  };

  while (!stop_requested()) {
    if (take_stats_request()) {  // SIGUSR1: the summary so far
      std::fflush(stdout);
      std::fputs(output::format_summary_text(worker->counters(), run_info(true)).c_str(), stdout);
      std::fflush(stdout);
    }
    if (take_reload_request()) {
      std::string status;
      if (auto next = reload_policy(options, cfg, *policy, &status)) {
        next->prepare_scanners(1);
        policy = std::move(next);
        worker->set_policy(policy.get());
      }
    }
    const size_t n = reader->read_burst(records, burst);
    if (n > 0) {
      // Holds whose time ran out before this burst's first packet go first.
      worker->expire_holds(records[0].ts_ns);
      size_t next = 0;
      apply_releases(next, UINT16_MAX);
      worker->clear_releases();
    }
    for (size_t i = 0; i < n; ++i) {
      frames[i] = Frame{records[i].data, records[i].caplen, records[i].wire_len, records[i].ts_ns,
                        normalize_link_type(records[i].link_type)};
    }
    burst_first = worker->counters().pkt_total + 1;
    burst_size = n;
    worker->process_burst(frames, static_cast<uint16_t>(n), dispositions);
    size_t next = 0;
    for (size_t i = 0; i < n; ++i) {
      apply_releases(next, static_cast<uint16_t>(i));
      if (dispositions[i] == Disposition::kForward) emit_frame(records[i]);
      if (dispositions[i] == Disposition::kHold) {
        const uint32_t slot = worker->hold_slot(static_cast<uint16_t>(i));
        held[slot] = records[i];
        if (!held_bytes.empty()) {
          held_bytes[slot].assign(records[i].data, records[i].data + records[i].caplen);
          held[slot].data = held_bytes[slot].data();
        }
      }
    }
    apply_releases(next, UINT16_MAX);
    worker->clear_releases();
    drain_events();
    if (reader->status() != CaptureReader::Status::kOk) break;
    if (n < burst) {
      // Only a stream returns short bursts without ending: what it has
      // brought so far is judged, so make it visible while it is quiet.
      flush_outputs();
      if (print) std::fflush(stdout);
    }
  }
  // End of input: what is still held goes through as judged.
  burst_size = 0;
  worker->flush_holds(false);
  size_t next = 0;
  apply_releases(next, UINT16_MAX);
  worker->clear_releases();
  drain_events();
  output::RunInfo info = run_info(false);
  flush_outputs();

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
  if (!cfg.output.metrics.empty()) {
    std::string error;
    if (!output::write_metrics(cfg.output.metrics, worker->counters(), info, &error)) {
      spdlog::error("cannot write metrics: {}", error);
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

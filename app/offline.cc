#include "app/offline.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <csignal>
#include <cstdio>
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

// An offline run stopped by SIGINT or SIGTERM before its input ended.
constexpr int kExitInterrupted = 3;

// What one output file did, for the summary.
output::OutputInfo output_info(const char* name, const std::string& path, uint64_t written,
                               uint64_t lost, uint64_t rejected, bool failed,
                               const std::string& error) {
  output::OutputInfo o;
  o.name = name;
  o.path = path;
  o.written = written;
  o.lost = lost;
  o.rejected = rejected;
  if (failed) o.error = error;
  return o;
}

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
    return stop_requested() ? kExitInterrupted : 1;
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
  // Files written only at the end are checked now, not found unwritable
  // after the whole capture was judged.
  for (const std::string* p : {&cfg.output.stats_json, &cfg.output.metrics}) {
    if (!p->empty() && !check_output_path(*p, &error)) {
      spdlog::error("cannot write {}: {}", p == &cfg.output.stats_json ? "stats" : "metrics",
                    error);
      return 1;
    }
  }
  const auto stop = [] { return stop_requested(); };
  const auto interrupted_open = [&](const std::string& what) {
    spdlog::error("{}", what);
    return stop_requested() ? kExitInterrupted : 1;
  };
  std::unique_ptr<CaptureWriter> writer;
  if (!options.write_path.empty()) {
    writer = CaptureWriter::open(options.write_path, reader->link_type(), &error, {}, stop);
    if (!writer) return interrupted_open(error);
  }
  std::unique_ptr<CaptureWriter> flagged;
  if (!cfg.output.flagged.empty()) {
    flagged = CaptureWriter::open(cfg.output.flagged, reader->link_type(), &error,
                                  Rotation{cfg.output.rotate_bytes, cfg.output.rotate_files}, stop);
    if (!flagged) return interrupted_open(error);
  }
  std::unique_ptr<output::EventSink> sink;
  try {
    sink = std::make_unique<output::EventSink>(
        cfg.output.events, cfg.output.rotate_bytes, cfg.output.rotate_files, stop, [&] {
          spdlog::info("events: waiting for a reader of the FIFO '{}' (SIGINT stops)",
                       cfg.output.events);
        });
  } catch (const std::exception& e) {
    return interrupted_open(e.what());
  }
  const bool print = !options.quiet && cfg.output.events != "-";
  // With the events on standard output the summary goes to standard error,
  // so that `-e - | jq` reads JSON lines only.
  std::FILE* const summary_out = cfg.output.events == "-" ? stderr : stdout;

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
  // An output that fails is said once; with output.on_error "stop" the run
  // ends there (exit 1), with "continue" it goes on without that file.
  const bool stop_on_error = cfg.output.on_error == "stop";
  bool output_failed = false;
  bool stop_for_output = false;
  const auto output_fault = [&](const std::string& what) {
    spdlog::error("{}{}", what,
                  stop_requested()  ? ""
                  : stop_on_error ? "; stopping (output.on_error: stop)"
                                  : "; going on without it (output.on_error: continue)");
    output_failed = true;
    if (stop_on_error) stop_for_output = true;
  };
  bool write_failed = false;
  bool said_rejected = false;
  // Held frames point into the capture's mapping, so parking one is
  // keeping its record. A stream's records last one burst: a held one is
  // copied (holds are resets, rare).
  std::vector<CaptureRecord> held(worker->hold_capacity());
  std::vector<std::vector<uint8_t>> held_bytes(reader->is_stream() ? held.size() : 0);
  std::vector<uint64_t> held_number(held.size());
  // -w: a packet pcap cannot hold (a timestamp past 2106) is left out and
  // counted, and the first is named; a failing file is an output fault.
  const auto emit_frame = [&](const CaptureRecord& r, uint64_t number) {
    if (!writer || write_failed) return;
    if (writer->write(r.data, r.caplen, r.wire_len, r.ts_ns)) return;
    if (writer->failed()) {
      write_failed = true;
      output_fault(writer->error());
    } else if (!said_rejected) {
      said_rejected = true;
      spdlog::warn("packet {}: {}: left out of it (later ones too are counted in the summary)",
                   number, writer->error());
    }
  };
  const auto apply_releases = [&](size_t& next, uint16_t before_frame) {
    const auto& rel = worker->releases();
    for (; next < rel.size() && rel[next].before_frame <= before_frame; ++next) {
      if (rel[next].disposition == Disposition::kForward) {
        emit_frame(held[rel[next].slot], held_number[rel[next].slot]);
      }
    }
  };
  // Events name their packet by number; the burst's records are still
  // mapped, so a flagged reset is written from them.
  uint64_t burst_first = 1;
  size_t burst_size = 0;
  bool events_failed = false;
  bool said_flagged_rejected = false;
  const auto drain_events = [&]() {
    for (const RstEvent& e : worker->events()) {
      if (flagged && e.type == EventType::kRst && e.label != Label::legit &&
          e.packet_number >= burst_first && e.packet_number < burst_first + burst_size) {
        const CaptureRecord& r = records[e.packet_number - burst_first];
        if (!write_flagged(flagged.get(), &said_flagged_rejected, r.data, r.caplen, r.wire_len,
                           r.ts_ns)) {
          output_fault(flagged->error());
        }
      }
      if (!sink->write(e) && !events_failed) {
        events_failed = true;
        output_fault(sink->error());
      }
      if (print) std::fputs((output::format_event_text(e) + "\n").c_str(), stdout);
    }
    worker->clear_events();
  };

  // Events, -w and --flagged to disk; a file that fails is reported once.
  const auto flush_outputs = [&](bool last) {
    if (!events_failed && !(last ? sink->close() : sink->flush())) {
      events_failed = true;
      output_fault(sink->error());
    }
    if (writer && !write_failed && !(last ? writer->close() : writer->flush())) {
      write_failed = true;
      output_fault(writer->error());
    }
    if (flagged && !flagged->failed() && !(last ? flagged->close() : flagged->flush())) {
      output_fault(flagged->error());
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

  while (!stop_requested() && !stop_for_output) {
    if (take_stats_request()) {  // SIGUSR1: the summary so far
      std::fflush(stdout);
      std::fputs(output::format_summary_text(worker->counters(), run_info(true)).c_str(),
                 summary_out);
      std::fflush(summary_out);
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
      if (dispositions[i] == Disposition::kForward) emit_frame(records[i], burst_first + i);
      if (dispositions[i] == Disposition::kHold) {
        const uint32_t slot = worker->hold_slot(static_cast<uint16_t>(i));
        held[slot] = records[i];
        held_number[slot] = burst_first + i;
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
      flush_outputs(false);
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
  flush_outputs(true);
  output::RunInfo info = run_info(false);
  info.outputs.push_back(output_info("events", cfg.output.events, sink->written(), sink->lost(), 0,
                                     sink->failed(), sink->error()));
  if (writer) {
    info.outputs.push_back(output_info("write", options.write_path, writer->records_written(),
                                       writer->records_lost(), writer->records_rejected(),
                                       writer->failed(), writer->error()));
  }
  if (flagged) {
    info.outputs.push_back(output_info("flagged", cfg.output.flagged, flagged->records_written(),
                                       flagged->records_lost(), flagged->records_rejected(),
                                       flagged->failed(), flagged->error()));
  }

  const auto status = reader->status();
  if (status == CaptureReader::Status::kTruncated || status == CaptureReader::Status::kCorrupt) {
    info.error = reader->error();
  }
  if (stop_requested()) info.error = "interrupted";
  if (stop_for_output && !stop_requested()) info.error = "an output failed";
  std::fflush(stdout);
  std::fputs(output::format_summary_text(worker->counters(), info).c_str(), summary_out);
  std::fflush(summary_out);
  if (!cfg.output.stats_json.empty()) {
    std::string error;
    if (!output::write_file_atomically(cfg.output.stats_json,
                                       output::format_summary_json(worker->counters(), info) + "\n",
                                       &error)) {
      spdlog::error("cannot write stats: {}", error);
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
  // Interrupted wins: outputs that gave up waiting for a reader did so
  // because of the stop (the summary says what they lost).
  if (stop_requested()) return kExitInterrupted;
  if (output_failed) return 1;
  if (!info.error.empty()) {
    spdlog::error("{} (events judged before it are written to {})", info.error,
                  cfg.output.events);
    return 1;
  }
  return 0;
}

}  // namespace rstguard::app

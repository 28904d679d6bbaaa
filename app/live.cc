#include "app/live.h"

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring_elem.h>
#include <rte_telemetry.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <new>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <unordered_map>
#include <vector>

#include "app/flagged.h"
#include "app/reload.h"
#include "app/signals.h"
#include "capture/capture_file.h"
#include "dpdk/eal.h"
#include "dpdk/live_worker.h"
#include "dpdk/port.h"
#include "output/event_json.h"
#include "output/event_sink.h"
#include "output/metrics.h"
#include "output/summary.h"

namespace rstguard::app {
namespace {

constexpr int kExitSetup = 2;
constexpr int kExitInterrupted = 3;  // stopped before it was ready

// What telemetry may ask and read (it runs on DPDK's telemetry thread).
struct TelemetryState {
  std::atomic<uint64_t> generation{0};
  std::atomic<uint64_t> rules{0};
  std::mutex mutex;
  std::string last_reload = "none";
  // Fills a reply with the counters so far; empty while no workers run.
  std::function<void(rte_tel_data*)> stats;
} g_telemetry;

// A flow-hash seed nobody outside can know (flow_table.hash_seed: auto).
uint64_t random_seed() {
  std::random_device rd;
  const uint64_t seed = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  return seed != 0 ? seed : 1;  // 0 is the fixed hash
}

int telemetry_reload(const char*, const char*, rte_tel_data* d) {
  request_reload();
  rte_tel_data_start_dict(d);
  rte_tel_data_add_dict_string(d, "reload", "requested");
  return 0;
}

// /rstguard/stats: every counter summed over the workers as of their last
// publication (at most 100 ms old), and per-reset breakdowns as nested
// dictionaries.
int telemetry_stats(const char*, const char*, rte_tel_data* d) {
  std::lock_guard<std::mutex> lock(g_telemetry.mutex);
  if (!g_telemetry.stats) return -1;
  g_telemetry.stats(d);
  return 0;
}

template <typename E, size_t N>
void add_breakdown(rte_tel_data* d, const char* name, const std::array<uint64_t, N>& v) {
  rte_tel_data* sub = rte_tel_data_alloc();
  if (sub == nullptr) return;
  rte_tel_data_start_dict(sub);
  for (size_t i = 0; i < N; ++i) {
    rte_tel_data_add_dict_u64(sub, std::string(name_of(static_cast<E>(i))).c_str(), v[i]);
  }
  if (rte_tel_data_add_dict_container(d, name, sub, 0) != 0) rte_tel_data_free(sub);
}

int telemetry_policy(const char*, const char*, rte_tel_data* d) {
  rte_tel_data_start_dict(d);
  rte_tel_data_add_dict_u64(d, "generation", g_telemetry.generation.load());
  rte_tel_data_add_dict_u64(d, "rules", g_telemetry.rules.load());
  std::lock_guard<std::mutex> lock(g_telemetry.mutex);
  rte_tel_data_add_dict_string(d, "last_reload", g_telemetry.last_reload.c_str());
  return 0;
}
constexpr unsigned kHandoffRing = 1024;
constexpr unsigned kMbufCache = 256;

uint64_t wall_ns() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

// Flows that more than one worker has an entry for: 0 when every
// connection's packets stayed on one worker. Runs after workers stopped.
int64_t count_split_flows(const std::vector<std::unique_ptr<dpdk::LiveWorker>>& workers) {
  int64_t split = 0;
  for (size_t i = 0; i < workers.size(); ++i) {
    workers[i]->core().flows().for_each([&](const FlowEntry& e) {
      for (size_t j = i + 1; j < workers.size(); ++j) {
        if (workers[j]->core().flows().contains(e.key)) {
          ++split;
          break;
        }
      }
    });
  }
  return split;
}

// Owners of what setup makes from DPDK, each freeing its own on every path
// out (declared in the order things are made, so freed in reverse).
struct EalSession {
  ~EalSession() { dpdk::eal_cleanup(); }  // the last DPDK call
};
struct FreeMempool {
  void operator()(rte_mempool* p) const { rte_mempool_free(p); }
};
struct FreeRcu {
  void operator()(rte_rcu_qsbr* p) const { rte_free(p); }
};
struct FreeRing {
  void operator()(rte_ring* r) const { rte_ring_free(r); }
};
using RingPtr = std::unique_ptr<rte_ring, FreeRing>;
// Ports set up so far: stopped and closed when it goes (before the
// mempool their queues draw from).
struct OpenPorts {
  std::vector<dpdk::PortState> states;
  ~OpenPorts() {
    for (const dpdk::PortState& st : states) {
      rte_eth_dev_stop(st.port_id);
      rte_eth_dev_close(st.port_id);
    }
  }
};

// One live run: setup() makes everything (false: a setup error, already
// reported; what was made is freed by the members' owners), main_loop()
// runs the main lcore until a stop, shutdown() stops the workers and
// drains, report() writes the final summary and files.
class LiveRun {
 public:
  LiveRun(const Options& options, const config::Config& cfg)
      : options_(options), cfg_(cfg), live_(cfg.live), inline_(live_.mode == "inline") {}
  ~LiveRun() {
    std::lock_guard<std::mutex> lock(g_telemetry.mutex);
    g_telemetry.stats = nullptr;  // it refers to this run
  }

  bool setup() {
    return choose_ports() && make_mempool() && make_rcu() && open_ports() && make_handoff() &&
           open_outputs() && make_workers();
  }
  void main_loop();
  void shutdown();
  int report();

 private:
  bool choose_ports();
  bool make_mempool();
  bool make_rcu();
  bool open_ports();
  bool make_handoff();
  bool open_outputs();
  bool make_workers();
  void register_telemetry();
  void reload();
  bool drain(size_t budget);
  std::pair<Counters, output::RunInfo> summarize(bool running);

  // What the main loop drains per ring per pass, so that under a flood it
  // still gets round to signals, reload, telemetry, metrics and links.
  static constexpr size_t kDrainBudget = 16384;

  const Options& options_;
  const config::Config& cfg_;
  const config::LiveConfig& live_;
  const bool inline_;
  std::vector<uint16_t> ports_;
  uint16_t nworkers_ = 0;
  std::shared_ptr<const PolicySet> policy_;
  std::atomic<const PolicySet*> policy_ptr_{nullptr};
  std::atomic<bool> stop_workers_{false};
  std::atomic<uint16_t> rx_stopped_{0};  // the workers' two-phase stop
  dpdk::LiveShared shared_;
  std::chrono::steady_clock::time_point start_;
  // Owners, in the order made.
  std::unique_ptr<rte_mempool, FreeMempool> pool_;
  std::unique_ptr<rte_rcu_qsbr, FreeRcu> rcu_;
  OpenPorts ports_open_;
  std::vector<RingPtr> handoff_;
  std::unique_ptr<output::EventSink> sink_;
  std::unique_ptr<CaptureWriter> flagged_writer_;
  std::vector<RingPtr> event_rings_;
  std::vector<RingPtr> flagged_rings_;
  std::vector<std::unique_ptr<dpdk::LiveWorker>> workers_;  // use the rings: freed first
  std::vector<RstEvent> drained_ = std::vector<RstEvent>(256);
  // Output faults: said once per file; with output.on_error "stop" the run
  // stops (exit 1), with "continue" it goes on without that file.
  bool events_failed_ = false;
  bool said_flagged_rejected_ = false;
  bool output_failed_ = false;
  bool stop_for_output_ = false;
  void output_fault(const std::string& what);
  // Standard error when the events go to standard output (`-e - | jq`).
  std::FILE* summary_out() const { return cfg_.output.events == "-" ? stderr : stdout; }
  void flush_outputs(bool last);
};

void LiveRun::output_fault(const std::string& what) {
  const bool stop = cfg_.output.on_error == "stop";
  spdlog::error("{}{}", what,
                stop_requested() ? ""
                : stop           ? "; stopping (output.on_error: stop)"
                                 : "; going on without it (output.on_error: continue)");
  output_failed_ = true;
  if (stop) stop_for_output_ = true;
}

// Events and flagged packets to disk (last: and closed, close errors too).
void LiveRun::flush_outputs(bool last) {
  if (!events_failed_ && !(last ? sink_->close() : sink_->flush())) {
    events_failed_ = true;
    output_fault(sink_->error());
  }
  if (flagged_writer_ && !flagged_writer_->failed() &&
      !(last ? flagged_writer_->close() : flagged_writer_->flush())) {
    output_fault(flagged_writer_->error());
  }
}

bool LiveRun::choose_ports() {
  ports_ = live_.ports;
  if (ports_.empty()) {
    if (inline_) {
      ports_ = {0, 1};
    } else {
      uint16_t p;
      RTE_ETH_FOREACH_DEV(p) { ports_.push_back(p); }
    }
  }
  if (inline_ && ports_.size() != 2) {
    spdlog::error("inline mode forwards between exactly two ports, got {}", ports_.size());
    return false;
  }
  if (ports_.empty()) {
    spdlog::error("mirror mode found no ports (give devices with --vdev or -a)");
    return false;
  }
  // Workers: as configured, or one per lcore EAL has besides the main one.
  nworkers_ = static_cast<uint16_t>(live_.workers != 0 ? live_.workers
                                                       : std::max(1u, rte_lcore_count() - 1));
  if (rte_lcore_count() < static_cast<unsigned>(nworkers_) + 1) {
    spdlog::error("{} workers need {} lcores (one main, one per worker), EAL has {}: use -l or "
                  "--lcores",
                  nworkers_, nworkers_ + 1, rte_lcore_count());
    return false;
  }
  return true;
}

// Every rx and tx descriptor, tx buffers, held resets, the re-hash rings,
// and per-lcore caches, with headroom.
bool LiveRun::make_mempool() {
  const size_t per_worker = 4 * 32 + cfg_.hold.max_packets + nworkers_ * kHandoffRing;
  const size_t mbufs = ports_.size() * nworkers_ * (live_.rx_desc + live_.tx_desc) +
                       nworkers_ * per_worker + (nworkers_ + 1) * kMbufCache + 4096;
  pool_.reset(rte_pktmbuf_pool_create("rstguard_mbufs", static_cast<unsigned>(mbufs), kMbufCache,
                                      0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                      static_cast<int>(rte_socket_id())));
  if (!pool_) {
    spdlog::error("cannot allocate {} mbufs: {} (give EAL more memory with -m)", mbufs,
                  rte_strerror(rte_errno));
    return false;
  }
  return true;
}

// The policy's RCU: reload frees an old policy only once every worker has
// passed a quiescent point.
bool LiveRun::make_rcu() {
  policy_ = cfg_.policy;
  policy_->prepare_scanners(nworkers_);  // scratch per worker, before it is shared
  policy_ptr_.store(policy_.get());
  const size_t bytes = rte_rcu_qsbr_get_memsize(nworkers_);
  rcu_.reset(static_cast<rte_rcu_qsbr*>(rte_zmalloc("rstguard_rcu", bytes, RTE_CACHE_LINE_SIZE)));
  if (!rcu_ || rte_rcu_qsbr_init(rcu_.get(), nworkers_) != 0) {
    spdlog::error("cannot set up RCU for {} workers", nworkers_);
    return false;
  }
  shared_.policy = &policy_ptr_;
  shared_.rcu = rcu_.get();
  shared_.forward = inline_;
  shared_.workers = nworkers_;
  shared_.stop = &stop_workers_;
  shared_.rx_stopped = &rx_stopped_;
  shared_.tsc_hz = rte_get_tsc_hz();
  shared_.tsc_base = rte_rdtsc();
  shared_.wall_base_ns = wall_ns();
  shared_.tx_flush_cycles = live_.tx_flush_ns * shared_.tsc_hz / 1'000'000'000ull;
  shared_.idle_sleep_us = (live_.idle_sleep_ns + 999) / 1000;
  shared_.drop_held_on_exit = live_.drop_held_on_exit;
  return true;
}

bool LiveRun::open_ports() {
  uint16_t max_port = 0;
  for (uint16_t p : ports_) max_port = std::max(max_port, p);
  shared_.peer.assign(max_port + 1u, 0);
  for (uint16_t p : ports_) {
    dpdk::PortRequest req;
    req.port_id = p;
    req.queues = nworkers_;
    req.tx_queues = inline_ ? nworkers_ : 0;
    req.rx_desc = static_cast<uint16_t>(live_.rx_desc);
    req.tx_desc = static_cast<uint16_t>(live_.tx_desc);
    dpdk::PortState st;
    std::string error;
    if (!dpdk::setup_port(req, pool_.get(), &st, &error)) {
      spdlog::error("{}", error);
      return false;
    }
    ports_open_.states.push_back(st);
    spdlog::info("port {} ({}, {}): {} rx queue(s), {}; link {}", p, st.name, st.driver,
                 st.rx_queues, st.how, dpdk::link_text(p));
    if (!st.symmetric || st.rx_queues < nworkers_) shared_.software_rehash = nworkers_ > 1;
  }
  if (inline_) {
    shared_.peer[ports_[0]] = ports_[1];
    shared_.peer[ports_[1]] = ports_[0];
  }
  return true;
}

// The software re-hash's rings, one per ordered pair of workers.
bool LiveRun::make_handoff() {
  const bool forced = live_.rehash == "software" && nworkers_ > 1;
  if (forced) {
    spdlog::info("live.rehash: software: re-hashing in software whatever the devices offer "
                 "(packets move between workers through rings)");
  } else if (shared_.software_rehash) {
    spdlog::warn("a port cannot give every worker its own symmetric queue: re-hashing in "
                 "software (packets move between workers through rings)");
  }
  if (forced) shared_.software_rehash = true;
  if (!shared_.software_rehash) return true;
  shared_.handoff.assign(nworkers_ * nworkers_, nullptr);
  for (uint16_t a = 0; a < nworkers_; ++a) {
    for (uint16_t b = 0; b < nworkers_; ++b) {
      if (a == b) continue;
      const std::string name = "rg_hand_" + std::to_string(a) + "_" + std::to_string(b);
      RingPtr r(rte_ring_create(name.c_str(), kHandoffRing, rte_socket_id(),
                                RING_F_SP_ENQ | RING_F_SC_DEQ));
      if (!r) {
        spdlog::error("cannot create ring {}: {}", name, rte_strerror(rte_errno));
        return false;
      }
      shared_.handoff[a * nworkers_ + b] = r.get();
      handoff_.push_back(std::move(r));
    }
  }
  return true;
}

bool LiveRun::open_outputs() {
  // Files written only now and then are checked before traffic flows.
  std::string error;
  for (const std::string* p : {&cfg_.output.stats_json, &cfg_.output.metrics}) {
    if (!p->empty() && !check_output_path(*p, &error)) {
      spdlog::error("cannot write {}: {}", p == &cfg_.output.stats_json ? "stats" : "metrics",
                    error);
      return false;
    }
  }
  const auto stop = [] { return stop_requested(); };
  try {
    sink_ = std::make_unique<output::EventSink>(
        cfg_.output.events, cfg_.output.rotate_bytes, cfg_.output.rotate_files, stop, [this] {
          spdlog::info("events: waiting for a reader of the FIFO '{}' (SIGINT stops)",
                       cfg_.output.events);
        });
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return false;
  }
  if (!cfg_.output.flagged.empty()) {
    flagged_writer_ = CaptureWriter::open(cfg_.output.flagged, 1, &error,
                                          Rotation{cfg_.output.rotate_bytes, cfg_.output.rotate_files},
                                          stop);
    if (!flagged_writer_) {
      spdlog::error("{}", error);
      return false;
    }
  }
  return true;
}

// Per worker: its event ring, its flagged-packet ring, and the worker.
bool LiveRun::make_workers() {
  WorkerParams wp;
  wp.flow = cfg_.flow;
  // One seed for every worker's table: the software re-hash picks the same
  // owner whichever worker received the packet.
  wp.flow.hash_seed = cfg_.flow_hash_seed ? *cfg_.flow_hash_seed : random_seed();
  wp.judge = cfg_.judge;
  wp.actions = cfg_.actions;
  // The run's event budget, split between the workers (rounded up).
  wp.max_events_per_second = static_cast<uint32_t>(
      (static_cast<uint64_t>(cfg_.output.max_events_per_second) + nworkers_ - 1) / nworkers_);
  // A mirror port cannot drop or hold, and alert-only inline must not:
  // events say what really happened to the reset (alert).
  wp.can_drop = inline_ && !live_.alert_only;
  wp.verbosity = cfg_.output.verbosity;
  wp.hold = cfg_.hold;
  wp.pools = cfg_.pools;
  wp.incidents = cfg_.incidents;
  for (uint16_t w = 0; w < nworkers_; ++w) {
    const std::string name = "rg_events_" + std::to_string(w);
    RingPtr r(rte_ring_create_elem(name.c_str(), sizeof(RstEvent), live_.event_ring,
                                   rte_socket_id(), RING_F_SP_ENQ | RING_F_SC_DEQ));
    if (!r) {
      spdlog::error("cannot create ring {}: {}", name, rte_strerror(rte_errno));
      return false;
    }
    rte_ring* events = r.get();
    event_rings_.push_back(std::move(r));
    rte_ring* flagged = nullptr;
    if (flagged_writer_) {
      const std::string fname = "rg_flagged_" + std::to_string(w);
      RingPtr fr(rte_ring_create_elem(fname.c_str(), sizeof(dpdk::FlaggedPacket), 1024,
                                      rte_socket_id(), RING_F_SP_ENQ | RING_F_SC_DEQ));
      if (!fr) {
        spdlog::error("cannot create ring {}: {}", fname, rte_strerror(rte_errno));
        return false;
      }
      flagged = fr.get();
      flagged_rings_.push_back(std::move(fr));
    }
    std::vector<dpdk::RxSource> sources;
    for (const dpdk::PortState& st : ports_open_.states) {
      // Queue w of every port; with fewer queues than workers, the low
      // workers read them and re-hash (software_rehash).
      if (w < st.rx_queues) sources.push_back({st.port_id, w});
    }
    wp.index = w;  // its own trigger scanner
    try {
      workers_.push_back(std::make_unique<dpdk::LiveWorker>(
          w, shared_, wp, std::move(sources), events, static_cast<int>(rte_socket_id()), flagged));
    } catch (const CapacityError& e) {
      spdlog::error("{}", e.what());
      return false;
    } catch (const std::bad_alloc&) {
      spdlog::error("cannot allocate worker {}'s flow table, pools and hold queue: lower "
                    "flow_table.capacity, pools or hold.max_packets", w);
      return false;
    }
  }
  return true;
}

// Drains the rings, at most `budget` events (or flagged packets) from each.
// True when a ring may hold more.
bool LiveRun::drain(size_t budget) {
  const bool print = !options_.quiet && cfg_.output.events != "-";
  bool more = false;
  dpdk::FlaggedPacket fp;
  for (const RingPtr& r : flagged_rings_) {
    for (size_t taken = 0;; ++taken) {
      if (taken >= budget) {
        more = true;
        break;
      }
      if (rte_ring_dequeue_elem(r.get(), &fp, sizeof(fp)) != 0) break;
      if (!write_flagged(flagged_writer_.get(), &said_flagged_rejected_, fp.data, fp.caplen,
                         fp.wire_len, fp.ts_ns)) {
        output_fault(flagged_writer_->error());
      }
    }
  }
  for (const RingPtr& r : event_rings_) {
    for (size_t taken = 0;;) {
      if (taken >= budget) {
        more = true;
        break;
      }
      const unsigned n = rte_ring_dequeue_burst_elem(r.get(), drained_.data(), sizeof(RstEvent),
                                                     static_cast<unsigned>(drained_.size()),
                                                     nullptr);
      for (unsigned i = 0; i < n; ++i) {
        if (!sink_->write(drained_[i]) && !events_failed_) {
          events_failed_ = true;
          output_fault(sink_->error());
        }
        if (print) std::fputs((output::format_event_text(drained_[i]) + "\n").c_str(), stdout);
      }
      taken += n;
      if (n < drained_.size()) break;
    }
  }
  return more;
}

// The counters summed over the workers, from their published copies (the
// final ones once they have stopped). Main lcore and telemetry.
std::pair<Counters, output::RunInfo> LiveRun::summarize(bool running) {
  std::pair<Counters, output::RunInfo> out;
  auto& [total, info] = out;
  info.mode = live_.mode;
  info.running = running;
  for (const dpdk::PortState& st : ports_open_.states) {
    info.input += (info.input.empty() ? "" : ",") + st.name;
  }
  info.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  for (auto& w : workers_) {
    const dpdk::LiveSnapshot snap = w->snapshot();
    const Counters& c = snap.counters;
    total.add(c);
    const dpdk::LiveStats& st = snap.stats;
    total.event_overflow += st.event_overflow;
    output::WorkerInfo wi;
    wi.lcore = w->lcore();
    wi.packets = c.pkt_total;
    wi.flows_created = c.flow_created;
    wi.flows_active = snap.flows_active;
    wi.tx = st.tx;
    wi.tx_dropped = st.tx_dropped;
    wi.handoff_in = st.handoff_in;
    wi.handoff_out = st.handoff_out;
    wi.event_overflow = st.event_overflow;
    info.workers.push_back(wi);
    info.flows_active += snap.flows_active;
    info.flow_bytes += w->core().flows().memory_bytes();
    info.flow_capacity += w->core().flows().capacity();
  }
  return out;
}

void LiveRun::register_telemetry() {
  g_telemetry.generation = policy_->generation();
  g_telemetry.rules = policy_->rules().size();
  rte_telemetry_register_cmd("/rstguard/reload", telemetry_reload,
                             "Reloads the configuration file. No parameters.");
  rte_telemetry_register_cmd("/rstguard/policy", telemetry_policy,
                             "The policy in force: generation, rules, last reload. No parameters.");
  rte_telemetry_register_cmd("/rstguard/stats", telemetry_stats,
                             "Counters so far, summed over the workers (at most 100 ms old)");
  std::lock_guard<std::mutex> lock(g_telemetry.mutex);
  g_telemetry.stats = [this](rte_tel_data* d) {
    const auto [total, info] = summarize(true);
    rte_tel_data_start_dict(d);
    rte_tel_data_add_dict_string(d, "mode", info.mode.c_str());
    rte_tel_data_add_dict_u64(d, "uptime_ms", static_cast<uint64_t>(info.seconds * 1e3));
    rte_tel_data_add_dict_u64(d, "workers", info.workers.size());
    rte_tel_data_add_dict_u64(d, "flows_active", info.flows_active);
    rte_tel_data_add_dict_u64(d, "flows_capacity", info.flow_capacity);
    // Telemetry names take letters, digits and '_' only: "pkt.total" is
    // "pkt_total" here.
    total.for_each_scalar([&](std::string_view name, uint64_t v) {
      std::string key(name);
      std::replace(key.begin(), key.end(), '.', '_');
      rte_tel_data_add_dict_u64(d, key.c_str(), v);
    });
    add_breakdown<Label>(d, "rst_label", total.rst_label);
    add_breakdown<Validity>(d, "rst_validity", total.rst_validity);
    add_breakdown<Cause>(d, "rst_cause", total.rst_cause);
    add_breakdown<Evidence>(d, "rst_evidence", total.rst_evidence);
  };
}

void LiveRun::reload() {
  std::string status;
  if (auto next = reload_policy(options_, cfg_, *policy_, &status)) {
    next->prepare_scanners(nworkers_);
    policy_ptr_.store(next.get(), std::memory_order_release);
    // Every worker passes a quiescent point (between bursts) before the old
    // policy is freed: none is judged against a freed one.
    rte_rcu_qsbr_synchronize(rcu_.get(), RTE_QSBR_THRID_INVALID);
    policy_ = std::move(next);
    g_telemetry.generation = policy_->generation();
    g_telemetry.rules = policy_->rules().size();
  }
  std::lock_guard<std::mutex> lock(g_telemetry.mutex);
  g_telemetry.last_reload = status;
}

// The main lcore until a stop is asked for: drains the workers' rings and
// answers signals, reloads, telemetry, metrics and link changes.
void LiveRun::main_loop() {
  start_ = std::chrono::steady_clock::now();
  register_telemetry();
  install_stop_handlers();
  unsigned lcore = rte_get_next_lcore(-1, 1, 0);
  for (auto& w : workers_) {
    rte_eal_remote_launch(dpdk::LiveWorker::launch, w.get(), lcore);
    lcore = rte_get_next_lcore(lcore, 1, 0);
  }
  spdlog::info("ready: {} mode, {} worker(s), ports {}", live_.mode, nworkers_,
               fmt::join(ports_, ","));
  std::vector<bool> up;
  for (uint16_t p : ports_) up.push_back(dpdk::link_up(p));
  auto last_link_check = std::chrono::steady_clock::now();
  const auto metrics_interval = std::chrono::nanoseconds(cfg_.output.metrics_interval_ns);
  auto last_metrics = last_link_check - metrics_interval;  // the first file at once
  bool metrics_ok = true;
  while (!stop_requested() && !stop_for_output_) {
    const bool more = drain(kDrainBudget);
    flush_outputs(false);
    std::fflush(stdout);
    const auto now = std::chrono::steady_clock::now();
    if (now - last_link_check > std::chrono::milliseconds(500)) {
      last_link_check = now;
      for (size_t i = 0; i < ports_.size(); ++i) {
        const bool u = dpdk::link_up(ports_[i]);
        if (u != up[i]) {
          spdlog::warn("port {}: link {}", ports_[i], dpdk::link_text(ports_[i]));
          up[i] = u;
        }
      }
    }
    if (!cfg_.output.metrics.empty() && now - last_metrics >= metrics_interval) {
      last_metrics = now;
      const auto [total, info] = summarize(true);
      std::string error;
      const bool written = output::write_metrics(cfg_.output.metrics, total, info, &error);
      if (written != metrics_ok) {  // said once per change, not every interval
        if (written) {
          spdlog::info("metrics: writing '{}' again", cfg_.output.metrics);
        } else {
          output_fault("cannot write metrics: " + error);
        }
        metrics_ok = written;
      }
    }
    if (take_stats_request()) {  // SIGUSR1: the summary so far
      std::fflush(stdout);
      const auto [total, info] = summarize(true);
      std::fputs(output::format_summary_text(total, info).c_str(), summary_out());
      std::fflush(summary_out());
    }
    if (take_reload_request()) reload();
    if (!more) rte_delay_us_sleep(1000);
  }
}

// Stops the workers (rx first, then held resets go as configured) and
// drains every event they made: a full ring never loses what they judged
// last.
void LiveRun::shutdown() {
  spdlog::info("stopping: rx stops, held resets are {}, events drain",
               live_.drop_held_on_exit ? "dropped" : "released");
  stop_workers_.store(true, std::memory_order_relaxed);
  for (;;) {
    drain(kDrainBudget);
    bool all = true;
    for (auto& w : workers_) all = all && w->finished();
    if (all) break;
    rte_delay_us_sleep(200);
  }
  rte_eal_mp_wait_lcore();
  while (drain(kDrainBudget)) {
  }
  flush_outputs(true);
}

// The final summary, metrics and stats file: 0, or 1 if a file failed.
int LiveRun::report() {
  int status = 0;
  auto [total, info] = summarize(false);
  info.flows_split = count_split_flows(workers_);
  output::OutputInfo ev;
  ev.name = "events";
  ev.path = cfg_.output.events;
  ev.written = sink_->written();
  ev.lost = sink_->lost();
  if (sink_->failed()) ev.error = sink_->error();
  info.outputs.push_back(ev);
  if (flagged_writer_) {
    output::OutputInfo fl;
    fl.name = "flagged";
    fl.path = cfg_.output.flagged;
    fl.written = flagged_writer_->records_written();
    fl.lost = flagged_writer_->records_lost();
    fl.rejected = flagged_writer_->records_rejected();
    if (flagged_writer_->failed()) fl.error = flagged_writer_->error();
    info.outputs.push_back(fl);
  }
  std::fflush(stdout);
  std::fputs(output::format_summary_text(total, info).c_str(), summary_out());
  std::fflush(summary_out());
  if (!cfg_.output.metrics.empty()) {
    std::string error;
    if (!output::write_metrics(cfg_.output.metrics, total, info, &error)) {
      spdlog::error("cannot write metrics: {}", error);
      status = 1;
    }
  }
  if (!cfg_.output.stats_json.empty()) {
    std::string error;
    if (!output::write_file_atomically(cfg_.output.stats_json,
                                       output::format_summary_json(total, info) + "\n", &error)) {
      spdlog::error("cannot write stats: {}", error);
      status = 1;
    }
  }
  return output_failed_ ? 1 : status;
}

}  // namespace

int run_live(int eal_argc, char** eal_argv, const Options& options, const config::Config& cfg) {
  if (rte_eal_init(eal_argc, eal_argv) < 0) {
    spdlog::error("EAL initialisation failed: {}", rte_strerror(rte_errno));
    return kExitSetup;
  }
  EalSession eal;  // outlives the run: everything DPDK-owned goes first
  LiveRun run(options, cfg);
  install_stop_handlers();  // a wait in setup (a FIFO's reader) answers SIGINT
  if (!run.setup()) return stop_requested() ? kExitInterrupted : kExitSetup;
  run.main_loop();
  run.shutdown();
  return run.report();
}

}  // namespace rstguard::app

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

}  // namespace

int run_live(int eal_argc, char** eal_argv, const Options& options, const config::Config& cfg) {
  const config::LiveConfig& live = cfg.live;
  const bool inline_mode = live.mode == "inline";
  if (rte_eal_init(eal_argc, eal_argv) < 0) {
    spdlog::error("EAL initialisation failed: {}", rte_strerror(rte_errno));
    return kExitSetup;
  }
  int status = 0;
  // Everything DPDK-owned is released before rte_eal_cleanup().
  {
    std::vector<uint16_t> ports = live.ports;
    if (ports.empty()) {
      if (inline_mode) {
        ports = {0, 1};
      } else {
        uint16_t p;
        RTE_ETH_FOREACH_DEV(p) { ports.push_back(p); }
      }
    }
    if (inline_mode && ports.size() != 2) {
      spdlog::error("inline mode forwards between exactly two ports, got {}", ports.size());
      dpdk::eal_cleanup();
      return kExitSetup;
    }
    if (ports.empty()) {
      spdlog::error("mirror mode found no ports (give devices with --vdev or -a)");
      dpdk::eal_cleanup();
      return kExitSetup;
    }
    // Workers: as configured, or one per lcore EAL has besides the main one.
    const uint16_t nworkers = static_cast<uint16_t>(
        live.workers != 0 ? live.workers : std::max(1u, rte_lcore_count() - 1));
    if (rte_lcore_count() < static_cast<unsigned>(nworkers) + 1) {
      spdlog::error("{} workers need {} lcores (one main, one per worker), EAL has {}: use -l or "
                    "--lcores",
                    nworkers, nworkers + 1, rte_lcore_count());
      dpdk::eal_cleanup();
      return kExitSetup;
    }

    // Mempool: every rx and tx descriptor, tx buffers, held resets, the
    // re-hash rings, and per-lcore caches, with headroom.
    const size_t per_worker = 4 * 32 + cfg.hold.max_packets + nworkers * kHandoffRing;
    const size_t mbufs = ports.size() * nworkers * (live.rx_desc + live.tx_desc) +
                         nworkers * per_worker + (nworkers + 1) * kMbufCache + 4096;
    rte_mempool* pool = rte_pktmbuf_pool_create("rstguard_mbufs", static_cast<unsigned>(mbufs),
                                                kMbufCache, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                                static_cast<int>(rte_socket_id()));
    if (pool == nullptr) {
      spdlog::error("cannot allocate {} mbufs: {} (give EAL more memory with -m)", mbufs,
                    rte_strerror(rte_errno));
      dpdk::eal_cleanup();
      return kExitSetup;
    }

    dpdk::LiveShared shared;
    std::atomic<bool> stop_workers{false};
    std::shared_ptr<const PolicySet> policy = cfg.policy;
    policy->prepare_scanners(nworkers);  // scratch per worker, before it is shared
    std::atomic<const PolicySet*> policy_ptr{policy.get()};
    shared.policy = &policy_ptr;
    const size_t rcu_bytes = rte_rcu_qsbr_get_memsize(nworkers);
    auto* rcu = static_cast<rte_rcu_qsbr*>(
        rte_zmalloc("rstguard_rcu", rcu_bytes, RTE_CACHE_LINE_SIZE));
    if (rcu == nullptr || rte_rcu_qsbr_init(rcu, nworkers) != 0) {
      spdlog::error("cannot set up RCU for {} workers", nworkers);
      rte_free(rcu);
      rte_mempool_free(pool);  // before the EAL goes
      dpdk::eal_cleanup();
      return kExitSetup;
    }
    shared.rcu = rcu;
    g_telemetry.generation = policy->generation();
    g_telemetry.rules = policy->rules().size();
    rte_telemetry_register_cmd("/rstguard/reload", telemetry_reload,
                               "Reloads the configuration file. No parameters.");
    rte_telemetry_register_cmd("/rstguard/policy", telemetry_policy,
                               "The policy in force: generation, rules, last reload. No parameters.");
    rte_telemetry_register_cmd("/rstguard/stats", telemetry_stats,
                               "Counters so far, summed over the workers (at most 100 ms old)");
    shared.forward = inline_mode;
    shared.workers = nworkers;
    shared.stop = &stop_workers;
    shared.tsc_hz = rte_get_tsc_hz();
    shared.tsc_base = rte_rdtsc();
    shared.wall_base_ns = wall_ns();
    shared.tx_flush_cycles = live.tx_flush_ns * shared.tsc_hz / 1'000'000'000ull;
    shared.idle_sleep_us = (live.idle_sleep_ns + 999) / 1000;
    shared.drop_held_on_exit = live.drop_held_on_exit;

    std::vector<dpdk::PortState> states;
    uint16_t max_port = 0;
    for (uint16_t p : ports) max_port = std::max(max_port, p);
    shared.peer.assign(max_port + 1u, 0);
    bool ok = true;
    for (uint16_t p : ports) {
      dpdk::PortRequest req;
      req.port_id = p;
      req.queues = nworkers;
      req.tx_queues = inline_mode ? nworkers : 0;
      req.rx_desc = static_cast<uint16_t>(live.rx_desc);
      req.tx_desc = static_cast<uint16_t>(live.tx_desc);
      dpdk::PortState st;
      std::string error;
      if (!dpdk::setup_port(req, pool, &st, &error)) {
        spdlog::error("{}", error);
        ok = false;
        break;
      }
      spdlog::info("port {} ({}, {}): {} rx queue(s), {}; link {}", p, st.name, st.driver,
                   st.rx_queues, st.how, dpdk::link_text(p));
      if (!st.symmetric || st.rx_queues < nworkers) shared.software_rehash = nworkers > 1;
      states.push_back(st);
    }
    if (inline_mode && ok) {
      shared.peer[ports[0]] = ports[1];
      shared.peer[ports[1]] = ports[0];
    }
    const bool forced = live.rehash == "software" && nworkers > 1;
    if (ok && forced) {
      spdlog::info("live.rehash: software: re-hashing in software whatever the devices offer "
                   "(packets move between workers through rings)");
    } else if (ok && shared.software_rehash) {
      spdlog::warn("a port cannot give every worker its own symmetric queue: re-hashing in "
                   "software (packets move between workers through rings)");
    }
    if (forced) shared.software_rehash = true;
    std::atomic<uint16_t> rx_stopped{0};  // the workers' two-phase stop
    shared.rx_stopped = &rx_stopped;
    if (ok && shared.software_rehash) {
      shared.handoff.assign(nworkers * nworkers, nullptr);
      for (uint16_t a = 0; a < nworkers && ok; ++a) {
        for (uint16_t b = 0; b < nworkers; ++b) {
          if (a == b) continue;
          const std::string name = "rg_hand_" + std::to_string(a) + "_" + std::to_string(b);
          rte_ring* r = rte_ring_create(name.c_str(), kHandoffRing, rte_socket_id(),
                                        RING_F_SP_ENQ | RING_F_SC_DEQ);
          if (r == nullptr) {
            spdlog::error("cannot create ring {}: {}", name, rte_strerror(rte_errno));
            ok = false;
            break;
          }
          shared.handoff[a * nworkers + b] = r;
        }
      }
    }

    std::unique_ptr<output::EventSink> sink;
    if (ok) {
      try {
        sink = std::make_unique<output::EventSink>(cfg.output.events, cfg.output.rotate_bytes,
                                                   cfg.output.rotate_files);
      } catch (const std::exception& e) {
        spdlog::error("{}", e.what());
        ok = false;
      }
    }

    std::vector<rte_ring*> event_rings;
    std::vector<rte_ring*> flagged_rings;
    std::unique_ptr<CaptureWriter> flagged_writer;
    if (ok && !cfg.output.flagged.empty()) {
      std::string error;
      flagged_writer = CaptureWriter::open(cfg.output.flagged, 1, &error,
                                           Rotation{cfg.output.rotate_bytes, cfg.output.rotate_files});
      if (!flagged_writer) {
        spdlog::error("{}", error);
        ok = false;
      }
    }
    std::vector<std::unique_ptr<dpdk::LiveWorker>> workers;
    if (ok) {
      WorkerParams wp;
      wp.flow = cfg.flow;
      // One seed for every worker's table: the software re-hash picks the
      // same owner whichever worker received the packet.
      wp.flow.hash_seed = cfg.flow_hash_seed ? *cfg.flow_hash_seed : random_seed();
      wp.judge = cfg.judge;
      wp.actions = cfg.actions;
      // The run's event budget, split between the workers (rounded up).
      wp.max_events_per_second = static_cast<uint32_t>(
          (static_cast<uint64_t>(cfg.output.max_events_per_second) + nworkers - 1) / nworkers);
      // A mirror port cannot drop or hold, and alert-only inline must not:
      // events say what really happened to the reset (alert).
      wp.can_drop = inline_mode && !live.alert_only;
      wp.verbosity = cfg.output.verbosity;
      wp.hold = cfg.hold;
      wp.pools = cfg.pools;
      for (uint16_t w = 0; w < nworkers; ++w) {
        const std::string name = "rg_events_" + std::to_string(w);
        rte_ring* r = rte_ring_create_elem(name.c_str(), sizeof(RstEvent), live.event_ring,
                                           rte_socket_id(), RING_F_SP_ENQ | RING_F_SC_DEQ);
        if (r == nullptr) {
          spdlog::error("cannot create ring {}: {}", name, rte_strerror(rte_errno));
          ok = false;
          break;
        }
        event_rings.push_back(r);
        rte_ring* fr = nullptr;
        if (flagged_writer) {
          const std::string fname = "rg_flagged_" + std::to_string(w);
          fr = rte_ring_create_elem(fname.c_str(), sizeof(dpdk::FlaggedPacket), 1024,
                                    rte_socket_id(), RING_F_SP_ENQ | RING_F_SC_DEQ);
          if (fr == nullptr) {
            spdlog::error("cannot create ring {}: {}", fname, rte_strerror(rte_errno));
            ok = false;
            break;
          }
          flagged_rings.push_back(fr);
        }
        std::vector<dpdk::RxSource> sources;
        for (const dpdk::PortState& st : states) {
          // Queue w of every port; with fewer queues than workers, the
          // low workers read them and re-hash (software_rehash).
          if (w < st.rx_queues) sources.push_back({st.port_id, w});
        }
        wp.index = w;  // its own trigger scanner
        try {
          workers.push_back(std::make_unique<dpdk::LiveWorker>(
              w, shared, wp, std::move(sources), r, static_cast<int>(rte_socket_id()), fr));
        } catch (const CapacityError& e) {
          // Reported here so that the ports, rings and mempool are freed
          // on the way out like on any other setup error (exit 2).
          spdlog::error("{}", e.what());
          ok = false;
          break;
        } catch (const std::bad_alloc&) {
          spdlog::error("cannot allocate worker {}'s flow table, pools and hold queue: lower "
                        "flow_table.capacity, pools or hold.max_packets", w);
          ok = false;
          break;
        }
      }
    }

    const bool print = !options.quiet && cfg.output.events != "-";
    std::vector<RstEvent> drained(256);
    // Drains the rings, at most `budget` events (or flagged packets) from
    // each: under a flood the main loop still gets round to signals,
    // reload, telemetry, metrics and links. True when a ring may hold more.
    constexpr size_t kDrainBudget = 16384;
    const auto drain = [&](size_t budget) {
      bool more = false;
      dpdk::FlaggedPacket fp;
      for (rte_ring* r : flagged_rings) {
        for (size_t taken = 0;; ++taken) {
          if (taken >= budget) {
            more = true;
            break;
          }
          if (rte_ring_dequeue_elem(r, &fp, sizeof(fp)) != 0) break;
          write_flagged(flagged_writer, fp.data, fp.caplen, fp.wire_len, fp.ts_ns);
        }
      }
      for (rte_ring* r : event_rings) {
        for (size_t taken = 0;;) {
          if (taken >= budget) {
            more = true;
            break;
          }
          const unsigned n = rte_ring_dequeue_burst_elem(r, drained.data(), sizeof(RstEvent),
                                                         static_cast<unsigned>(drained.size()),
                                                         nullptr);
          for (unsigned i = 0; i < n; ++i) {
            sink->write(drained[i]);
            if (print) std::fputs((output::format_event_text(drained[i]) + "\n").c_str(), stdout);
          }
          taken += n;
          if (n < drained.size()) break;
        }
      }
      return more;
    };

    const auto start = std::chrono::steady_clock::now();
    // The counters summed over the workers, from their published copies
    // (the final ones once they have stopped). Main lcore and telemetry.
    const auto summarize = [&](bool running) {
      std::pair<Counters, output::RunInfo> out;
      auto& [total, info] = out;
      info.mode = live.mode;
      info.running = running;
      for (const dpdk::PortState& st : states) {
        info.input += (info.input.empty() ? "" : ",") + st.name;
      }
      info.seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      for (auto& w : workers) {
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
    };
    // The telemetry callback refers to this scope: it goes before the scope
    // does, whichever way it is left.
    struct ClearTelemetryStats {
      ~ClearTelemetryStats() {
        std::lock_guard<std::mutex> lock(g_telemetry.mutex);
        g_telemetry.stats = nullptr;
      }
    } clear_telemetry_stats;
    if (ok) {
      {
        std::lock_guard<std::mutex> lock(g_telemetry.mutex);
        g_telemetry.stats = [&](rte_tel_data* d) {
          const auto [total, info] = summarize(true);
          rte_tel_data_start_dict(d);
          rte_tel_data_add_dict_string(d, "mode", info.mode.c_str());
          rte_tel_data_add_dict_u64(d, "uptime_ms", static_cast<uint64_t>(info.seconds * 1e3));
          rte_tel_data_add_dict_u64(d, "workers", info.workers.size());
          rte_tel_data_add_dict_u64(d, "flows_active", info.flows_active);
          rte_tel_data_add_dict_u64(d, "flows_capacity", info.flow_capacity);
          // Telemetry names take letters, digits and '_' only: "pkt.total"
          // is "pkt_total" here.
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
      install_stop_handlers();
      unsigned lcore = rte_get_next_lcore(-1, 1, 0);
      for (auto& w : workers) {
        rte_eal_remote_launch(dpdk::LiveWorker::launch, w.get(), lcore);
        lcore = rte_get_next_lcore(lcore, 1, 0);
      }
      spdlog::info("ready: {} mode, {} worker(s), ports {}", live.mode, nworkers,
                   fmt::join(ports, ","));
      std::vector<bool> up;
      for (uint16_t p : ports) up.push_back(dpdk::link_up(p));
      auto last_link_check = std::chrono::steady_clock::now();
      const auto metrics_interval = std::chrono::nanoseconds(cfg.output.metrics_interval_ns);
      auto last_metrics = last_link_check - metrics_interval;  // the first file at once
      bool metrics_ok = true;
      while (!stop_requested()) {
        const bool more = drain(kDrainBudget);
        std::fflush(stdout);
        const auto now = std::chrono::steady_clock::now();
        if (now - last_link_check > std::chrono::milliseconds(500)) {
          last_link_check = now;
          for (size_t i = 0; i < ports.size(); ++i) {
            const bool u = dpdk::link_up(ports[i]);
            if (u != up[i]) {
              spdlog::warn("port {}: link {}", ports[i], dpdk::link_text(ports[i]));
              up[i] = u;
            }
          }
        }
        if (!cfg.output.metrics.empty() && now - last_metrics >= metrics_interval) {
          last_metrics = now;
          const auto [total, info] = summarize(true);
          std::string error;
          const bool written = output::write_metrics(cfg.output.metrics, total, info, &error);
          if (written != metrics_ok) {  // said once per change, not every interval
            if (written) {
              spdlog::info("metrics: writing '{}' again", cfg.output.metrics);
            } else {
              spdlog::error("cannot write metrics: {}", error);
            }
            metrics_ok = written;
          }
        }
        if (take_stats_request()) {  // SIGUSR1: the summary so far
          std::fflush(stdout);
          const auto [total, info] = summarize(true);
          std::fputs(output::format_summary_text(total, info).c_str(), stdout);
          std::fflush(stdout);
        }
        if (take_reload_request()) {
          std::string status;
          if (auto next = reload_policy(options, cfg, *policy, &status)) {
            next->prepare_scanners(nworkers);
            policy_ptr.store(next.get(), std::memory_order_release);
            // Every worker passes a quiescent point (between bursts) before
            // the old policy is freed: none is judged against a freed one.
            rte_rcu_qsbr_synchronize(rcu, RTE_QSBR_THRID_INVALID);
            policy = std::move(next);
            g_telemetry.generation = policy->generation();
            g_telemetry.rules = policy->rules().size();
          }
          std::lock_guard<std::mutex> lock(g_telemetry.mutex);
          g_telemetry.last_reload = status;
        }
        if (!more) rte_delay_us_sleep(1000);
      }
      spdlog::info("stopping: rx stops, held resets are {}, events drain",
                   live.drop_held_on_exit ? "dropped" : "released");
      stop_workers.store(true, std::memory_order_relaxed);
      // Keep draining while workers finish, so a full ring never loses what
      // they judged last.
      for (;;) {
        drain(kDrainBudget);
        bool all = true;
        for (auto& w : workers) all = all && w->finished();
        if (all) break;
        rte_delay_us_sleep(200);
      }
      rte_eal_mp_wait_lcore();
      while (drain(kDrainBudget)) {
      }
      sink->flush();
      if (flagged_writer) flagged_writer->flush();
    } else {
      status = kExitSetup;
    }

    if (ok) {
      auto [total, info] = summarize(false);
      info.flows_split = count_split_flows(workers);
      std::fflush(stdout);
      std::fputs(output::format_summary_text(total, info).c_str(), stdout);
      std::fflush(stdout);
      if (!cfg.output.metrics.empty()) {
        std::string error;
        if (!output::write_metrics(cfg.output.metrics, total, info, &error)) {
          spdlog::error("cannot write metrics: {}", error);
          status = 1;
        }
      }
      if (!cfg.output.stats_json.empty()) {
        std::ofstream f(cfg.output.stats_json);
        f << output::format_summary_json(total, info) << "\n";
        if (!f) {
          spdlog::error("cannot write stats to '{}'", cfg.output.stats_json);
          status = 1;
        }
      }
    }
    {
      std::lock_guard<std::mutex> lock(g_telemetry.mutex);
      g_telemetry.stats = nullptr;
    }
    workers.clear();
    for (rte_ring* r : event_rings) rte_ring_free(r);
    for (rte_ring* r : flagged_rings) rte_ring_free(r);
    for (rte_ring* r : shared.handoff) rte_ring_free(r);
    for (const dpdk::PortState& st : states) {
      rte_eth_dev_stop(st.port_id);
      rte_eth_dev_close(st.port_id);
    }
    rte_mempool_free(pool);
    rte_free(rcu);
  }
  dpdk::eal_cleanup();
  return status;
}

}  // namespace rstguard::app

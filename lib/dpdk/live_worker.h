// The live poll loop: one LiveWorker per lcore. It reads its rx queue on
// every port, runs the shared Worker, forwards (inline) or frees (mirror),
// parks and releases held resets, and hands events to the main lcore
// through its own ring. Everything here is owned by one lcore: not
// thread-safe, except `finished()`, `snapshot()` and the stop flag it reads.
#pragma once

#include <rte_spinlock.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "core/worker.h"

struct rte_mbuf;
struct rte_ring;
struct rte_eth_dev_tx_buffer;
struct rte_rcu_qsbr;

namespace rstguard::dpdk {

struct RxSource {
  uint16_t port;
  uint16_t queue;
};

// Shared, read-only once workers start.
struct LiveShared {
  bool forward = true;           // inline: forward to the peer port; mirror: free
  uint16_t workers = 1;
  std::vector<uint16_t> peer;    // peer[port] for inline forwarding
  bool software_rehash = false;  // some port cannot keep both directions together
  // handoff[from * workers + to]: mbufs re-hashed to another worker.
  std::vector<rte_ring*> handoff;
  uint64_t tsc_hz = 0;
  uint64_t tsc_base = 0;
  uint64_t wall_base_ns = 0;
  uint64_t tx_flush_cycles = 0;
  uint64_t idle_sleep_us = 0;
  bool drop_held_on_exit = false;
  const std::atomic<bool>* stop = nullptr;
  // Software re-hash only: workers whose rx is over, for a two-phase stop
  // (no worker takes in its handoff rings for the last time until no
  // worker can add to them any more).
  std::atomic<uint16_t>* rx_stopped = nullptr;
  // The policy in force. Workers pick it up between bursts and report a
  // quiescent state once per loop; reload publishes a new pointer and waits
  // for every worker (rte_rcu_qsbr_synchronize) before freeing the old one.
  const std::atomic<const PolicySet*>* policy = nullptr;
  rte_rcu_qsbr* rcu = nullptr;
};

// A copy of a flagged reset (its first kFlaggedSnap bytes) for the main
// lcore's capture file: the mbuf itself leaves on the wire or is freed.
inline constexpr uint32_t kFlaggedSnap = 256;
struct FlaggedPacket {
  uint64_t ts_ns;
  uint32_t wire_len;
  uint32_t caplen;
  uint8_t data[kFlaggedSnap];
};
static_assert(sizeof(FlaggedPacket) % 4 == 0);

struct LiveStats {
  uint64_t rx = 0;
  uint64_t tx = 0;
  uint64_t tx_dropped = 0;  // the device refused them
  uint64_t freed = 0;       // mirror mode, or dropped by policy
  uint64_t handoff_out = 0;
  uint64_t handoff_in = 0;
  uint64_t handoff_overflow = 0;  // ring full: handled here instead (counted)
  uint64_t event_overflow = 0;    // event ring full: event lost (counted)
  uint64_t flagged_overflow = 0;  // flagged-packet ring full (counted)
};

// What a worker has counted, as of its last publication (every 100 ms
// while it runs, and once more when it stops). Read by the main lcore and
// the telemetry thread while the worker runs.
struct LiveSnapshot {
  Counters counters;
  LiveStats stats;
  uint64_t flows_active = 0;
  uint64_t published_tsc = 0;  // 0: never published
};

class LiveWorker {
 public:
  // `flagged`: a ring of FlaggedPacket for suspicious and forged resets,
  // or nullptr when no capture of them is kept.
  LiveWorker(uint16_t index, const LiveShared& shared, const WorkerParams& params,
             std::vector<RxSource> sources, rte_ring* events, int socket,
             rte_ring* flagged = nullptr);
  ~LiveWorker();
  LiveWorker(const LiveWorker&) = delete;
  LiveWorker& operator=(const LiveWorker&) = delete;

  // The lcore entry point (rte_eal_remote_launch): runs until *shared.stop,
  // then releases or drops what is held, flushes tx and queued events.
  int run();
  static int launch(void* self) { return static_cast<LiveWorker*>(self)->run(); }

  bool finished() const { return finished_.load(std::memory_order_acquire); }
  const Worker& core() const { return core_; }
  const LiveStats& stats() const { return stats_; }
  // A consistent copy of the last published counters; any thread.
  LiveSnapshot snapshot() const;
  uint16_t index() const { return index_; }
  unsigned lcore() const { return lcore_.load(std::memory_order_relaxed); }

 private:
  uint64_t now_ns(uint64_t tsc) const;
  void process(rte_mbuf** pkts, uint16_t n, uint64_t now);
  uint16_t rehash(rte_mbuf** pkts, uint16_t n);
  uint32_t take_handoffs(uint64_t now, bool until_empty);
  void send(rte_mbuf* m);
  void send_all(rte_mbuf** pkts, uint16_t n);
  void apply_releases(size_t& next, uint16_t before_frame);
  void push_events();
  void flush_tx();
  // Copies the counters for snapshot(). Between bursts only; with `wait`
  // false it skips a turn rather than wait for a reader.
  void publish(bool wait);

  uint16_t index_;
  std::atomic<unsigned> lcore_{0};  // set by run(); read by summaries (any thread)
  const LiveShared& shared_;
  Worker core_;
  std::vector<RxSource> sources_;
  rte_ring* events_;
  rte_ring* flagged_;
  std::vector<rte_eth_dev_tx_buffer*> tx_buffers_;  // by port id (inline)
  std::vector<rte_mbuf*> held_;
  LiveStats stats_;
  std::atomic<bool> finished_{false};
  // The published copy and its lock: taken by the worker once per 100 ms
  // (trylock, never on the packet path) and by readers to copy it out.
  mutable rte_spinlock_t snapshot_lock_;
  LiveSnapshot snapshot_;
  Frame frames_[kMaxBurst];
  Disposition dispositions_[kMaxBurst];
  rte_mbuf* forward_[kMaxBurst];
};

}  // namespace rstguard::dpdk

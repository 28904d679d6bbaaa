#include "dpdk/live_worker.h"

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_pause.h>
#include <rte_ring.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring_elem.h>

#include "core/parser.h"

#include <algorithm>
#include <cstring>

namespace rstguard::dpdk {
namespace {

constexpr uint16_t kBurst = 32;
static_assert(sizeof(RstEvent) % 4 == 0, "rte_ring elements are multiples of 4 bytes");

}  // namespace

LiveWorker::LiveWorker(uint16_t index, const LiveShared& shared, const WorkerParams& params,
                       std::vector<RxSource> sources, rte_ring* events, int socket,
                       rte_ring* flagged)
    : index_(index),
      shared_(shared),
      core_(params),
      sources_(std::move(sources)),
      events_(events),
      flagged_(flagged),
      held_(core_.hold_capacity(), nullptr) {
  rte_spinlock_init(&snapshot_lock_);
  if (shared_.forward) {
    tx_buffers_.assign(shared_.peer.size(), nullptr);
    for (size_t port = 0; port < shared_.peer.size(); ++port) {
      auto* buf = static_cast<rte_eth_dev_tx_buffer*>(
          rte_zmalloc_socket("rstguard_txbuf", RTE_ETH_TX_BUFFER_SIZE(kBurst), 0, socket));
      if (buf == nullptr) throw std::bad_alloc();
      rte_eth_tx_buffer_init(buf, kBurst);
      rte_eth_tx_buffer_set_err_callback(buf, rte_eth_tx_buffer_count_callback,
                                         &stats_.tx_dropped);
      tx_buffers_[port] = buf;
    }
  }
}

LiveWorker::~LiveWorker() {
  for (auto* b : tx_buffers_) rte_free(b);
}

void LiveWorker::publish(bool wait) {
  if (wait) {
    rte_spinlock_lock(&snapshot_lock_);
  } else if (rte_spinlock_trylock(&snapshot_lock_) == 0) {
    return;  // a reader is copying: next turn
  }
  snapshot_.counters = core_.counters();
  snapshot_.stats = stats_;
  snapshot_.flows_active = core_.flows().size();
  snapshot_.published_tsc = rte_rdtsc();
  rte_spinlock_unlock(&snapshot_lock_);
}

LiveSnapshot LiveWorker::snapshot() const {
  rte_spinlock_lock(&snapshot_lock_);
  LiveSnapshot copy = snapshot_;
  rte_spinlock_unlock(&snapshot_lock_);
  return copy;
}

uint64_t LiveWorker::now_ns(uint64_t tsc) const {
  const unsigned __int128 d = static_cast<unsigned __int128>(tsc - shared_.tsc_base) * 1'000'000'000u;
  return shared_.wall_base_ns + static_cast<uint64_t>(d / shared_.tsc_hz);
}

void LiveWorker::send(rte_mbuf* m) {
  if (!shared_.forward) {
    rte_pktmbuf_free(m);
    ++stats_.freed;
    return;
  }
  const uint16_t out = shared_.peer[m->port];
  // Workers own queue `index_` on every port: no tx queue is shared.
  stats_.tx += 1;
  rte_eth_tx_buffer(out, index_, tx_buffers_[out], m);
}

// A burst's forwarded packets at once. They came in on one port (a burst
// is one port's, or a handoff ring's, which may mix them): one tx burst to
// its peer, after whatever that port's tx buffer still holds, so the order
// on the wire is the order of arrival. Mixed ports go one by one.
void LiveWorker::send_all(rte_mbuf** pkts, uint16_t n) {
  if (n == 0) return;
  if (!shared_.forward) {
    rte_pktmbuf_free_bulk(pkts, n);
    stats_.freed += n;
    return;
  }
  const uint16_t in = pkts[0]->port;
  for (uint16_t i = 1; i < n; ++i) {
    if (pkts[i]->port != in) {
      for (uint16_t j = 0; j < n; ++j) send(pkts[j]);
      return;
    }
  }
  const uint16_t out = shared_.peer[in];
  rte_eth_dev_tx_buffer* buf = tx_buffers_[out];
  if (n < kBurst / 2) {  // small bursts are better coalesced in the buffer
    for (uint16_t i = 0; i < n; ++i) rte_eth_tx_buffer(out, index_, buf, pkts[i]);
    stats_.tx += n;
    return;
  }
  rte_eth_tx_buffer_flush(out, index_, buf);
  const uint16_t sent = rte_eth_tx_burst(out, index_, pkts, n);
  stats_.tx += n;
  if (sent < n) {  // the device's ring is full: as the tx buffer would
    rte_pktmbuf_free_bulk(pkts + sent, n - sent);
    stats_.tx_dropped += n - sent;
  }
}

void LiveWorker::apply_releases(size_t& next, uint16_t before_frame) {
  const auto& rel = core_.releases();
  for (; next < rel.size() && rel[next].before_frame <= before_frame; ++next) {
    rte_mbuf* m = held_[rel[next].slot];
    held_[rel[next].slot] = nullptr;
    if (m == nullptr) continue;
    if (rel[next].disposition == Disposition::kForward) {
      send(m);
    } else {
      rte_pktmbuf_free(m);
      ++stats_.freed;
    }
  }
}

// Software re-hash: keeps the packets this worker owns (the symmetric flow
// hash picks the worker), hands the rest to their owners' rings.
uint16_t LiveWorker::rehash(rte_mbuf** pkts, uint16_t n) {
  uint16_t kept = 0;
  for (uint16_t i = 0; i < n; ++i) {
    rte_mbuf* m = pkts[i];
    PacketView v;
    uint16_t owner = index_;
    if (parse_frame(rte_pktmbuf_mtod(m, const uint8_t*), rte_pktmbuf_data_len(m),
                    rte_pktmbuf_pkt_len(m), v) == ParseResult::ok) {
      int side;
      // Every worker's table has the run's seed: all pick the same owner.
      owner = static_cast<uint16_t>((core_.flows().hash(make_flow_key(v, side)) >> 32) %
                                    shared_.workers);
    }
    if (owner != index_) {
      rte_ring* r = shared_.handoff[index_ * shared_.workers + owner];
      if (rte_ring_sp_enqueue(r, m) == 0) {
        ++stats_.handoff_out;
        continue;
      }
      ++stats_.handoff_overflow;
    }
    pkts[kept++] = m;
  }
  return kept;
}

// Packets other workers re-hashed to this one: a burst from each ring, or
// (at stop) everything the rings hold. Returns how many.
uint32_t LiveWorker::take_handoffs(uint64_t now, bool until_empty) {
  rte_mbuf* pkts[kBurst];
  uint32_t got = 0;
  for (uint16_t from = 0; from < shared_.workers; ++from) {
    if (from == index_) continue;
    rte_ring* r = shared_.handoff[from * shared_.workers + index_];
    unsigned n;
    do {
      n = rte_ring_sc_dequeue_burst(r, reinterpret_cast<void**>(pkts), kBurst, nullptr);
      got += n;
      stats_.handoff_in += n;
      process(pkts, static_cast<uint16_t>(n), now);
    } while (until_empty && n != 0);
  }
  return got;
}

void LiveWorker::process(rte_mbuf** pkts, uint16_t n, uint64_t now) {
  if (n == 0) return;
  for (uint16_t i = 0; i < n; ++i) {
    rte_mbuf* m = pkts[i];
    frames_[i] = Frame{rte_pktmbuf_mtod(m, const uint8_t*), rte_pktmbuf_data_len(m),
                       rte_pktmbuf_pkt_len(m), now, 1};
  }
  core_.process_burst(frames_, n, dispositions_);
  if (flagged_ != nullptr) {
    // Copy flagged resets before their mbufs leave (resets are rare).
    const uint64_t first = core_.counters().pkt_total - n + 1;
    for (const RstEvent& e : core_.events()) {
      if (e.type != EventType::kRst || e.label == Label::legit) continue;
      if (e.packet_number < first || e.packet_number >= first + n) continue;
      const Frame& fr = frames_[e.packet_number - first];
      FlaggedPacket fp;
      fp.ts_ns = fr.ts_ns;
      fp.wire_len = fr.wire_len;
      fp.caplen = std::min<uint32_t>(fr.len, kFlaggedSnap);
      std::memcpy(fp.data, fr.data, fp.caplen);
      if (rte_ring_enqueue_elem(flagged_, &fp, sizeof(fp)) != 0) ++stats_.flagged_overflow;
    }
  }
  // The common case: nothing held is let go in this burst, so the
  // forwarded packets can leave together (a held one stays behind).
  // Otherwise each goes in turn, after the releases due before it, so that
  // a connection's packets keep their order.
  const bool together = core_.releases().empty();
  uint16_t k = 0;
  size_t next = 0;
  for (uint16_t i = 0; i < n; ++i) {
    if (!together) apply_releases(next, i);
    switch (dispositions_[i]) {
      case Disposition::kForward:
        if (together) {
          forward_[k++] = pkts[i];
        } else {
          send(pkts[i]);
        }
        break;
      case Disposition::kDrop:
        rte_pktmbuf_free(pkts[i]);
        ++stats_.freed;
        break;
      case Disposition::kHold:
        held_[core_.hold_slot(i)] = pkts[i];
        break;
    }
  }
  if (together) {
    send_all(forward_, k);
  } else {
    apply_releases(next, UINT16_MAX);
    core_.clear_releases();
  }
  push_events();
}

void LiveWorker::push_events() {
  const auto& ev = core_.events();
  if (ev.empty()) return;
  const unsigned n = static_cast<unsigned>(ev.size());
  const unsigned done = rte_ring_enqueue_burst_elem(events_, ev.data(), sizeof(RstEvent), n,
                                                    nullptr);
  stats_.event_overflow += n - done;
  core_.clear_events();
}

void LiveWorker::flush_tx() {
  if (!shared_.forward) return;
  for (size_t port = 0; port < tx_buffers_.size(); ++port) {
    rte_eth_tx_buffer_flush(static_cast<uint16_t>(port), index_, tx_buffers_[port]);
  }
}

int LiveWorker::run() {
  lcore_.store(rte_lcore_id(), std::memory_order_relaxed);
  rte_mbuf* pkts[kBurst];
  uint64_t last_flush = rte_rdtsc();
  uint64_t last_publish = last_flush;
  const uint64_t publish_cycles = std::max<uint64_t>(shared_.tsc_hz / 10, 1);  // 100 ms
  publish(true);
  rte_rcu_qsbr_thread_register(shared_.rcu, index_);
  rte_rcu_qsbr_thread_online(shared_.rcu, index_);
  while (!shared_.stop->load(std::memory_order_relaxed)) {
    // Between bursts: the policy for what follows (never mid-burst).
    const PolicySet* policy = shared_.policy->load(std::memory_order_acquire);
    if (policy != core_.policy()) core_.set_policy(policy);
    const uint64_t tsc = rte_rdtsc();
    const uint64_t now = now_ns(tsc);  // one clock read per loop, passed down
    core_.expire_holds(now);
    size_t next = 0;
    apply_releases(next, UINT16_MAX);
    core_.clear_releases();
    push_events();

    uint32_t got = 0;
    for (const RxSource& src : sources_) {
      uint16_t n = rte_eth_rx_burst(src.port, src.queue, pkts, kBurst);
      if (n == 0) continue;
      got += n;
      stats_.rx += n;
      if (shared_.software_rehash) n = rehash(pkts, n);
      process(pkts, n, now);
    }
    if (shared_.software_rehash) got += take_handoffs(now, false);
    if (tsc - last_flush > shared_.tx_flush_cycles) {
      flush_tx();
      last_flush = tsc;
    }
    if (tsc - last_publish > publish_cycles) {
      publish(false);
      last_publish = tsc;
    }
    // Nothing from the previous policy is referenced past this point.
    rte_rcu_qsbr_quiescent(shared_.rcu, index_);
    if (got == 0 && shared_.idle_sleep_us != 0) rte_delay_us_sleep(shared_.idle_sleep_us);
  }
  // Stop: rx is over; held resets go by policy; nothing judged is lost.
  if (shared_.software_rehash && shared_.rx_stopped != nullptr) {
    // Another worker may still be handing packets to this one: wait until
    // every worker is past its last rx, then take in what is left.
    shared_.rx_stopped->fetch_add(1, std::memory_order_acq_rel);
    while (shared_.rx_stopped->load(std::memory_order_acquire) < shared_.workers) rte_pause();
    take_handoffs(now_ns(rte_rdtsc()), true);
  }
  core_.flush_holds(shared_.drop_held_on_exit);
  size_t next = 0;
  apply_releases(next, UINT16_MAX);
  core_.clear_releases();
  flush_tx();
  push_events();
  rte_rcu_qsbr_thread_offline(shared_.rcu, index_);
  rte_rcu_qsbr_thread_unregister(shared_.rcu, index_);
  publish(true);  // the final counters
  finished_.store(true, std::memory_order_release);
  return 0;
}

}  // namespace rstguard::dpdk

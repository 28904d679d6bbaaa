#include "core/worker.h"

#include <algorithm>
#include <cstring>

#include "core/headers.h"
#include "core/parser.h"
#include "core/seq.h"
#include "core/track.h"
#include "core/trigger_fields.h"

namespace rstguard {
namespace {

using wire::tcpflag::kAck;
using wire::tcpflag::kFin;
using wire::tcpflag::kRst;
using wire::tcpflag::kSyn;

// Expired entries freed per burst: enough to keep pace with insertions
// (at most one per packet) with room to spare; bounded work per burst.
// Slots examined per burst by the collector: the table's own lookups treat
// expired entries as absent and inserts reuse them, so collection is only
// hygiene (rstguard-bench: 17-34% of the time at 64 + 4 slots per packet,
// still 6% at 16 + 1). A timer wheel would make it exact and cheaper.
constexpr size_t kCollectMin = 4;  // plus one slot per 4 packets

// How far ahead of the tracker a packet's flow slot is prefetched.
// (rstguard-bench-live at 1M flows: 8 ahead 9.1 Mpps, 16 ahead 9.5, 32
// ahead 9.7; at 10K flows no difference.)
constexpr uint16_t kSlotAhead = 32;

// Worker clock: packet time in ms, 32 bits, wrap-aware; the low bit is
// forced so that 0 always means "never".
uint32_t clock_ms(uint64_t ts_ns) { return static_cast<uint32_t>(ts_ns / kNsPerMs) | 1u; }


uint64_t mix(uint64_t h) {
  h ^= h >> 33;
  h *= 0xFF51AFD7ED558CCDull;
  h ^= h >> 33;
  return h;
}

uint64_t hash_addr(const IpAddr& a, uint16_t port) {
  uint64_t w[2];
  std::memcpy(w, a.bytes, 16);
  return mix(w[0] * 0x9E3779B97F4A7C15ull ^ mix(w[1] ^ port));
}

}  // namespace

struct Worker::DestinationSlot {
  uint64_t tag = 0;
  uint32_t window_start_ms = 0;
  uint32_t count = 0;
};

struct Worker::HostTtlSlot {
  uint64_t tag = 0;
  uint8_t ttl = 0;
};

// The trigger found on a connection, kept apart from the flow entry (which
// has only the pattern id): details are needed only when a reset comes.
struct Worker::TriggerInfo {
  uint64_t flow_id = 0;
  uint64_t generation = 0;  // of the policy whose patterns matched
  uint32_t id = 0;
  uint32_t offset = 0;
  TriggerField field = TriggerField::kPayload;
  char name[24] = {};
};

// The first bytes a client sent, joined in order until the SNI or Host
// they hold is complete (a ClientHello split over segments, on purpose or
// not). Bounded: kReassemblyBytes per connection, reassembly_slots in all.
constexpr uint32_t kReassemblyBytes = 4096;
struct Worker::Reassembly {
  uint64_t flow_id = 0;
  uint32_t next_seq = 0;
  uint32_t length = 0;
  uint8_t side = 0;
  bool tls = false;  // joining a ClientHello (else HTTP request headers)
  uint8_t data[kReassemblyBytes];
};

// Per (rule, source address) event budget: a one-second window.
struct Worker::RateSlot {
  uint64_t tag = 0;
  uint32_t window_start_ms = 0;
  uint32_t count = 0;
};

Worker::Worker(const WorkerParams& params)
    : params_(params),
      table_(params.flow, &counters_),
      history_(params.rst_history_slots),
      destinations_(new DestinationSlot[params.destination_slots]),
      host_ttl_(new HostTtlSlot[params.host_ttl_slots]),
      rate_(new RateSlot[params.rate_limit_slots]),
      trigger_info_(new TriggerInfo[params.trigger_slots]),
      reassembly_(new Reassembly[params.reassembly_slots]),
      events_capacity_(4u * kMaxBurst + params.hold.max_packets),
      held_(std::max<uint32_t>(params.hold.max_packets, 1)) {
  events_.reserve(events_capacity_);
  releases_.reserve(2u * kMaxBurst + held_.size());
}

Worker::~Worker() = default;

void Worker::process_burst(const Frame* frames, uint16_t n, Disposition* out) {
  PacketView* views = views_;
  ParseResult* results = results_;
  FlowKey* keys = keys_;
  uint64_t* hashes = hashes_;
  int* sides = sides_;
  n = std::min<uint16_t>(n, kMaxBurst);

  // Stage 1: parse the burst and prefetch each flow's slot, so that by the
  // time stage 2 reaches a packet its entry is (likely) in cache. Frames are
  // prefetched kFramePrefetch ahead of the parser, both header lines (a
  // TCP header with timestamps ends past byte 64).
  constexpr uint16_t kFramePrefetch = 8;
  for (uint16_t i = 0; i < std::min(n, kFramePrefetch); ++i) {
    __builtin_prefetch(frames[i].data);
    __builtin_prefetch(frames[i].data + 64);
  }
  for (uint16_t i = 0; i < n; ++i) {
    if (i + kFramePrefetch < n) {
      __builtin_prefetch(frames[i + kFramePrefetch].data);
      __builtin_prefetch(frames[i + kFramePrefetch].data + 64);
    }
    const Frame& fr = frames[i];
    results[i] = parse_frame(fr.data, fr.len, fr.wire_len, views[i],
                             static_cast<LinkType>(fr.link_type));
  }
  // Keys, hashes and the tag prefetches in a loop of their own: with the
  // parse out of the way the prefetches go out back to back, so more of
  // them are in flight at once.
  for (uint16_t i = 0; i < n; ++i) {
    if (results[i] != ParseResult::ok) continue;
    keys[i] = make_flow_key(views[i], sides[i]);
    hashes[i] = table_.hash(keys[i]);
    table_.prefetch_tags(hashes[i]);
  }
  // The slots: kSlotAhead packets ahead of the tracker, so that the lines
  // in flight stay within what the core can track while each has several
  // packets' worth of time to arrive.
  uint16_t ahead = 0;
  const auto prefetch_next_slot = [&] {
    for (; ahead < n; ++ahead) {
      if (results[ahead] == ParseResult::ok) {
        table_.prefetch_slot(hashes[ahead++]);
        return;
      }
    }
  };
  for (uint16_t k = 0; k < kSlotAhead; ++k) prefetch_next_slot();

  // Stage 2: track and judge in arrival order. The clock follows every
  // frame, TCP or not, so the collector below never runs on a stale time.
  uint32_t now_ms = last_now_ms_;
  for (uint16_t i = 0; i < n; ++i) {
    const Frame& fr = frames[i];
    ++packet_number_;
    ++counters_.pkt_total;
    counters_.pkt_bytes += fr.wire_len;
    ++counters_.parse[static_cast<int>(results[i])];
    out[i] = Disposition::kForward;
    if (seq_gt(clock_ms(fr.ts_ns), now_ms) || now_ms == 0) now_ms = clock_ms(fr.ts_ns);
    if (results[i] != ParseResult::ok) continue;
    prefetch_next_slot();
    const PacketView& p = views[i];
    frame_index_ = i;
    ++counters_.pkt_tcp;
    if (p.option_error) {
      ++counters_.tcp_option_error;
      ++counters_.parse[static_cast<int>(ParseResult::tcp_bad_option_length)];
    }
    const uint32_t pkt_ms = clock_ms(fr.ts_ns);
    FlowEntry* f = table_.find(keys[i], hashes[i], pkt_ms);
    if (p.has(kRst)) {
      out[i] = handle_rst(p, f, sides[i], pkt_ms, fr.ts_ns);
    } else {
      handle_segment(p, f, keys[i], hashes[i], sides[i], pkt_ms, fr.ts_ns);
    }
  }
  for (uint16_t i = 0; i < n; ++i) {
    if (out[i] == Disposition::kDrop) ++counters_.pkt_dropped;
    if (out[i] == Disposition::kForward) ++counters_.pkt_forwarded;
  }
  // Bounded garbage collection between bursts (moves entries: no pointer
  // from this burst survives it).
  last_now_ms_ = now_ms;
  if (n > 0 && now_ms != 0) table_.collect(now_ms, kCollectMin + n / 4u);
}

void Worker::handle_segment(const PacketView& p, FlowEntry* f, const FlowKey& key,
                            uint64_t hash, int side, uint32_t now_ms, uint64_t now_ns) {
  if (p.has(kSyn)) {
    ++counters_.tcp_syn;
    if (p.has(kAck)) host_ttl_set(p.src, p.ttl);
  }
  if (p.has(kFin)) ++counters_.tcp_fin;
  if (f == nullptr) {
    const bool embryonic = p.has(kSyn) && !p.has(kAck);
    f = table_.insert(key, hash, now_ms, !embryonic);
    if (f == nullptr) return;  // table full of live connections: counted
    track_first(*f, side, p, now_ms, now_ns);
    if (f->has(FlowEntry::kMidstream)) ++counters_.flow_midstream;
    return;
  }
  if (f->has(FlowEntry::kRstHistory)) {
    resolve_hold(p, *f, side, now_ms, now_ns, frame_index_);
    check_race(p, *f, side, now_ms, now_ns);
  }
  const TrackNote note = track_segment(*f, side, p, now_ms, now_ns, params_.judge);
  if (p.payload_len != 0 && f->trigger == 0 && policy_ != nullptr && policy_->has_triggers()) {
    scan_triggers(p, *f, side);
  }
  if (note.retransmit) ++counters_.tcp_retransmit;
  if (note.gap) ++counters_.tcp_gap;
  if (note.reused) ++counters_.flow_reused;
  if (note.syn_in_connection) ++counters_.tcp_syn_in_connection;
}

Disposition Worker::handle_rst(const PacketView& p, FlowEntry* f, int side, uint32_t now_ms,
                               uint64_t now_ns) {
  ++counters_.rst_total;
  if (f != nullptr && f->has(FlowEntry::kRstHistory)) {
    resolve_hold(p, *f, side, now_ms, now_ns, frame_index_);
  }
  RstContext ctx;
  ctx.flow = f;
  ctx.sender_side = side;
  ctx.history = (f != nullptr && f->has(FlowEntry::kRstHistory)) ? history_find(f->flow_id)
                                                                  : nullptr;
  ctx.resets_toward_destination = destination_count(p, now_ms, false);
  if (params_.judge.verify_checksums) {
    ctx.checksum = tcp_checksum(p);
    if (ipv4_header_checksum(p) == Checksum::kBad) ctx.checksum = Checksum::kBad;
  }
  ctx.host_ttl = host_ttl_get(p.src);

  // Decide step 1: the rule for this connection (client -> server when the
  // handshake told us; otherwise the reset's receiver is taken as client).
  const Rule* rule = nullptr;
  uint32_t rule_index = 0;
  JudgeParams judge = params_.judge;
  if (policy_ != nullptr) {
    ConnectionView c;
    const bool origin_known = f != nullptr && f->has(FlowEntry::kOriginKnown);
    const bool rst_from_client = origin_known && side == f->origin_side();
    c.client = rst_from_client ? p.src : p.dst;
    c.server = rst_from_client ? p.dst : p.src;
    c.client_port = rst_from_client ? p.src_port : p.dst_port;
    c.server_port = rst_from_client ? p.dst_port : p.src_port;
    c.vlan = p.vlan_outer;
    const TriggerInfo* t = f != nullptr ? trigger_of(*f) : nullptr;
    if (t != nullptr) {
      // Pattern ids belong to a policy generation; across a reload, by name.
      c.trigger = t->generation == policy_->generation() ? static_cast<int>(t->id)
                                                          : policy_->trigger_index(t->name);
    }
    rule_index = policy_->match_index(c);
    rule = &policy_->rules()[rule_index];
    judge.ttl_tolerance = rule->actions.ttl_tolerance;
  }
  const Verdict v = judge_rst(p, ctx, judge, now_ms);
  if (v.validity != Validity::exact && !v.reply) destination_count(p, now_ms, true);

  // Decide step 2: the action, by label and evidence.
  Action action = rule != nullptr ? rule->actions.decide(v.label, v.evidence)
                                  : params_.actions.for_label(v.label);
  if (!params_.can_drop && (action == Action::drop || action == Action::hold)) {
    action = Action::alert;
  }
  const bool will_hold = action == Action::hold && f != nullptr &&
                         held_count_ < held_.size() && params_.hold.max_packets > 0;
  if (action == Action::hold && !will_hold) {
    ++counters_.hold_overflow;  // no flow to wait on, or the queue is full
    action = Action::alert;
  }
  count_verdict(v, action);

  RstEvent e = make_event(p, f, side, now_ns);
  e.label = v.label;
  e.validity = v.validity;
  e.evidence = v.evidence;
  e.cause = v.cause;
  e.expected_known = v.expected_known;
  e.expected_seq = v.expected_seq;
  e.receiver_window = v.receiver_window;
  e.action = action;
  if (f != nullptr) {
    if (const TriggerInfo* t = trigger_of(*f)) {
      std::memcpy(e.trigger_name, t->name, sizeof(e.trigger_name));
      e.trigger_field = static_cast<uint8_t>(t->field);
      e.trigger_offset = t->offset;
    }
  }
  if (rule != nullptr) {
    const size_t n = std::min(rule->name.size(), sizeof(e.rule) - 1);
    std::memcpy(e.rule, rule->name.data(), n);
    e.policy_generation = static_cast<uint32_t>(policy_->generation());
  }
  const EventVerbosity verbosity = rule != nullptr ? rule->actions.verbosity : params_.verbosity;
  if (verbosity == EventVerbosity::kSuspiciousAndForged && v.label == Label::legit) {
    ++counters_.event_suppressed;
  } else if (rule != nullptr && rule->actions.rate_limit != 0 &&
             !rate_allows(p.src, rule_index, rule->actions.rate_limit, now_ms)) {
    ++counters_.event_rate_limited;  // the action still applies
  } else if (params_.max_events_per_second != 0 && !budget_allows(now_ms)) {
    ++counters_.event_over_budget;  // the action still applies
  } else {
    emit(e);
  }

  if (f != nullptr) {
    RstHistory* prev = history_find(f->flow_id);
    // Resets toward both ends: the earlier one, toward the other end, is
    // revised too (side-path blockers reset client and server at once).
    if (v.evidence.has(Evidence::both_directions) && prev != nullptr &&
        prev->side == 1 - side && prev->event.label != Label::forged) {
      RstEvent u = revise(prev->event, now_ns);
      u.evidence.add(Evidence::both_directions);
      u.label = Label::forged;
      u.cause = Cause::injected;
      u.action = Action::alert;  // it was forwarded already
      prev->event.label = u.label;
      prev->event.evidence = u.evidence;
      prev->event.cause = u.cause;
      emit(u);
      if (prev->closed_flow) {
        f->phase = prev->phase_before;
        prev->closed_flow = false;
      }
    }
    RstHistory& h = history_slot(f->flow_id);
    if (h.flow_id != f->flow_id) {
      h = RstHistory{};
      h.flow_id = f->flow_id;
    }
    if (ms_within(now_ms, h.window_start_ms, params_.judge.sweep_window_ns)) {
      ++h.resets_in_window;
      if (h.seq != p.seq && !v.reply) ++h.seq_changes;
    } else {
      h.window_start_ms = now_ms;
      h.resets_in_window = 1;
      h.seq_changes = 0;
    }
    h.seq = p.seq;
    h.ms = now_ms;
    h.side = static_cast<uint8_t>(side);
    h.side_ms[side] = now_ms;
    h.side_seq[side] = p.seq;
    h.side_reply[side] = v.reply;
    h.side_forged[side] = v.label == Label::forged;
    h.event = e;
    h.race_open = v.label != Label::forged;
    h.closed_flow = false;
    f->set(FlowEntry::kRstHistory);
    // The connection's state follows what the receiver does: only an
    // accepted reset ends it (kept briefly as kClosed to explain what follows).
    if (v.accepted && f->phase != Phase::kClosed) {
      h.closed_flow = true;
      h.phase_before = f->phase;
      f->phase = Phase::kClosed;
    }
    if (seq_gt(now_ms, f->last_seen_ms)) f->last_seen_ms = now_ms;
    if (will_hold) {
      const uint32_t slot = (held_head_ + held_count_) % held_.size();
      Held& held = held_[slot];
      held.event = e;
      const uint64_t hold_ns = rule != nullptr ? rule->actions.hold_time_ns : params_.hold.max_time_ns;
      held.deadline_ms = now_ms + static_cast<uint32_t>(hold_ns / kNsPerMs);
      held.in_use = true;
      ++held_count_;
      h.hold_index = slot + 1;
      hold_slot_[frame_index_] = static_cast<uint16_t>(slot);
      ++counters_.rst_held;
      return Disposition::kHold;
    }
  }
  return action == Action::drop ? Disposition::kDrop : Disposition::kForward;
}

void Worker::release(uint32_t slot, uint16_t before_frame, Disposition d) {
  held_[slot].in_use = false;
  releases_.push_back(HoldRelease{before_frame, static_cast<uint16_t>(slot), d});
  if (d == Disposition::kDrop) {
    ++counters_.hold_dropped;
    ++counters_.pkt_dropped;
  } else {
    ++counters_.hold_released;
    ++counters_.pkt_forwarded;
  }
  while (held_count_ > 0 && !held_[held_head_].in_use) {
    held_head_ = (held_head_ + 1) % held_.size();
    --held_count_;
  }
}

// A held reset's connection spoke again. From the other end: keep waiting
// (that end has not seen the reset). From the reset's supposed sender: a
// second reset releases the first (order kept); anything else means the
// sender is alive, so the held reset was forged: dropped, and said so.
void Worker::resolve_hold(const PacketView& p, FlowEntry& f, int side, uint32_t now_ms,
                          uint64_t now_ns, uint16_t frame) {
  RstHistory* h = history_find(f.flow_id);
  if (h == nullptr || h->hold_index == 0) return;
  const uint32_t slot = h->hold_index - 1;
  Held& held = held_[slot];
  if (!held.in_use || held.event.flow_id != f.flow_id) {
    h->hold_index = 0;
    return;
  }
  if (side != h->side) return;
  h->hold_index = 0;
  if (p.has(kRst)) {
    release(slot, frame, Disposition::kForward);
    return;
  }
  release(slot, frame, Disposition::kDrop);
  h->race_open = false;
  RstEvent u = revise(held.event, now_ns);
  u.evidence.add(Evidence::data_after_rst);
  u.label = Label::forged;
  u.cause = Cause::injected;
  u.action = Action::drop;  // held, so really dropped
  h->event = u;
  ++counters_.rst_evidence[static_cast<int>(Evidence::data_after_rst)];
  emit(u);
  if (h->closed_flow) {
    f.phase = h->phase_before;
    h->closed_flow = false;
  }
}

void Worker::expire_holds(uint64_t now_ns) {
  const uint32_t now_ms = clock_ms(now_ns);
  while (held_count_ > 0) {
    Held& held = held_[held_head_];
    if (held.in_use && seq_lt(now_ms, held.deadline_ms)) break;
    if (held.in_use) {
      // Nobody spoke for the sender: the reset goes through as judged.
      RstHistory* h = history_find(held.event.flow_id);
      if (h != nullptr && h->hold_index == held_head_ + 1) h->hold_index = 0;
      RstEvent u = revise(held.event, now_ns);
      u.action = Action::pass;  // released as judged
      emit(u);
      release(held_head_, 0, Disposition::kForward);
    } else {
      held_head_ = (held_head_ + 1) % held_.size();
      --held_count_;
    }
  }
}

void Worker::flush_holds(bool drop) {
  for (uint32_t n = held_count_, slot = held_head_; n > 0; --n, slot = (slot + 1) % held_.size()) {
    if (held_[slot].in_use) {
      RstHistory* h = history_find(held_[slot].event.flow_id);
      if (h != nullptr && h->hold_index == slot + 1) h->hold_index = 0;
      release(slot, 0, drop ? Disposition::kDrop : Disposition::kForward);
    }
  }
}

// The post-reset check (Weaver et al. 2009 "race"): a reset's supposed
// sender that keeps sending after it never sent the reset.
void Worker::check_race(const PacketView& p, FlowEntry& f, int side, uint32_t now_ms,
                        uint64_t now_ns) {
  RstHistory* h = history_find(f.flow_id);
  if (h == nullptr) {
    f.clear(FlowEntry::kRstHistory);
    return;
  }
  if (!h->race_open || h->side != side || p.has(kSyn)) return;
  if (!ms_within(now_ms, h->ms, params_.judge.race_window_ns)) {
    h->race_open = false;
    return;
  }
  if (p.payload_len == 0 && !p.has(kFin) && !seq_geq(p.seq, h->seq)) return;
  h->race_open = false;
  RstEvent u = revise(h->event, now_ns);
  u.evidence.add(Evidence::data_after_rst);
  u.label = label_for(u.evidence, f.has(FlowEntry::kGapSeen), params_.judge);
  if (u.label == Label::forged) u.cause = Cause::injected;
  u.action = u.label == Label::legit ? h->event.action : Action::alert;  // forwarded already
  h->event = u;
  ++counters_.rst_evidence[static_cast<int>(Evidence::data_after_rst)];
  emit(u);
  if (h->closed_flow) {
    f.phase = h->phase_before;  // the connection lives on
    h->closed_flow = false;
  }
}

RstHistory* Worker::history_find(uint64_t flow_id) {
  RstHistory& h = history_slot(flow_id);
  return h.flow_id == flow_id ? &h : nullptr;
}

RstHistory& Worker::history_slot(uint64_t flow_id) {
  return history_[mix(flow_id) & (history_.size() - 1)];
}

uint32_t Worker::destination_count(const PacketView& p, uint32_t now_ms, bool add) {
  const uint64_t tag = hash_addr(p.dst, p.dst_port) | 1;
  DestinationSlot& d = destinations_[tag & (params_.destination_slots - 1)];
  const bool live = d.tag == tag && ms_within(now_ms, d.window_start_ms,
                                           params_.judge.sweep_window_ns);
  if (!add) return live ? d.count : 0;
  if (!live) {
    d.tag = tag;
    d.window_start_ms = now_ms;
    d.count = 0;
  }
  return ++d.count;
}

// Bounded: a direct-mapped table; a source that collides with another
// starts a fresh window (it may get a few more events, never fewer).
bool Worker::rate_allows(const IpAddr& src, uint32_t rule, uint32_t per_second, uint32_t now_ms) {
  const uint64_t tag = hash_addr(src, static_cast<uint16_t>(rule)) | 1;
  RateSlot& r = rate_[tag & (params_.rate_limit_slots - 1)];
  if (r.tag != tag || !ms_within(now_ms, r.window_start_ms, kNsPerSec)) {
    r.tag = tag;
    r.window_start_ms = now_ms;
    r.count = 0;
  }
  return ++r.count <= per_second;
}

// The worker's own events-per-second budget, over one-second windows of
// packet time.
bool Worker::budget_allows(uint32_t now_ms) {
  if (budget_window_ms_ == 0 || !ms_within(now_ms, budget_window_ms_, kNsPerSec)) {
    budget_window_ms_ = now_ms;
    budget_used_ = 0;
  }
  return ++budget_used_ <= params_.max_events_per_second;
}

// Names the first trigger pattern seen on a connection: the SNI and the
// Host header of the client's first bytes, then the payload of each side's
// first window_segments segments (window_bytes of each). Rare per packet
// (the first few of each connection) and bounded; a virtual call per
// scanned segment, not per packet.
void Worker::scan_triggers(const PacketView& p, FlowEntry& f, int side) {
  const uint32_t shift = side == 0 ? 0 : 4;
  const uint32_t scanned = (f.scanned_segments >> shift) & 0x0f;
  if (scanned >= policy_->window_segments()) return;
  f.scanned_segments = static_cast<uint8_t>(f.scanned_segments + (1u << shift));
  TriggerScanner* scanner = policy_->scanner(params_.index);
  if (scanner == nullptr) return;
  // Only the bytes the capture holds (a short snap length keeps fewer).
  const size_t present = static_cast<size_t>(p.frame + p.frame_len - p.payload);
  const std::span<const uint8_t> payload(p.payload, std::min<size_t>(p.payload_len, present));
  ++counters_.trigger_scanned;

  const bool from_client = !f.has(FlowEntry::kOriginKnown) || side == f.origin_side();
  if (from_client) {
    // Fields first: SNI or Host, from this segment or the joined ones.
    Reassembly& r = reassembly_[mix(f.flow_id) % params_.reassembly_slots];
    std::span<const uint8_t> head = payload;
    bool joining = r.flow_id == f.flow_id && r.side == side;
    if (joining) {
      if (p.seq != r.next_seq || r.length + payload.size() > kReassemblyBytes) {
        if (r.length + payload.size() > kReassemblyBytes) ++counters_.trigger_reassembly_overflow;
        r.flow_id = 0;  // out of order or too long: give up on this one
        joining = false;
        head = {};
      } else {
        std::memcpy(r.data + r.length, payload.data(), payload.size());
        r.length += static_cast<uint32_t>(payload.size());
        r.next_seq += static_cast<uint32_t>(payload.size());
        head = std::span<const uint8_t>(r.data, r.length);
        ++counters_.trigger_reassembled;
      }
    } else if (scanned != 0) {
      head = {};  // fields live at the start of the stream only
    }
    bool incomplete = false, tls = false;
    if (!head.empty()) {
      char name_buf[256];
      const SniResult sni = find_tls_sni(head, std::span<char>(name_buf, sizeof(name_buf)));
      if (sni.status == SniResult::kFound) {
        const auto* name = reinterpret_cast<const uint8_t*>(sni.name.data());
        if (record_trigger(f, scanner->scan({name, sni.name.size()}, TriggerField::kSni),
                           TriggerField::kSni, 0)) {
          r.flow_id = joining ? 0 : r.flow_id;
          return;
        }
      } else if (sni.status == SniResult::kIncomplete) {
        incomplete = tls = true;
      } else if (sni.status == SniResult::kNotTls) {
        const HostResult host = find_http_host(head);
        if (host.status == HostResult::kFound) {
          const auto* name = reinterpret_cast<const uint8_t*>(host.host.data());
          if (record_trigger(f, scanner->scan({name, host.host.size()}, TriggerField::kHost),
                             TriggerField::kHost, 0)) {
            r.flow_id = joining ? 0 : r.flow_id;
            return;
          }
        } else if (host.status == HostResult::kIncomplete) {
          incomplete = true;
        }
      }
    }
    if (incomplete && !joining && payload.size() <= kReassemblyBytes) {
      // Start joining: this slot's previous tenant (if any) loses its place.
      r.flow_id = f.flow_id;
      r.side = static_cast<uint8_t>(side);
      r.tls = tls;
      r.length = static_cast<uint32_t>(payload.size());
      r.next_seq = p.seq + r.length;
      std::memcpy(r.data, payload.data(), payload.size());
    } else if (!incomplete && joining) {
      r.flow_id = 0;
    }
  }
  const std::span<const uint8_t> window =
      payload.first(std::min<size_t>(payload.size(), policy_->window_bytes()));
  record_trigger(f, scanner->scan(window, TriggerField::kPayload), TriggerField::kPayload, 0);
}

bool Worker::record_trigger(FlowEntry& f, const TriggerMatch& m, TriggerField field,
                            uint32_t base) {
  if (!m.found) return false;
  ++counters_.trigger_matched;
  f.trigger = static_cast<uint16_t>(m.id + 1);
  TriggerInfo& t = trigger_info_[mix(f.flow_id) % params_.trigger_slots];
  t.flow_id = f.flow_id;
  t.generation = policy_->generation();
  t.id = m.id;
  t.offset = base + m.offset;
  t.field = field;
  const std::string& name = policy_->trigger_names()[m.id];
  const size_t n = std::min(name.size(), sizeof(t.name) - 1);
  std::memcpy(t.name, name.data(), n);
  t.name[n] = '\0';
  return true;
}

const Worker::TriggerInfo* Worker::trigger_of(const FlowEntry& f) const {
  if (f.trigger == 0) return nullptr;
  const TriggerInfo& t = trigger_info_[mix(f.flow_id) % params_.trigger_slots];
  return t.flow_id == f.flow_id ? &t : nullptr;
}

int Worker::host_ttl_get(const IpAddr& a) const {
  const uint64_t tag = hash_addr(a, 0) | 1;
  const HostTtlSlot& s = host_ttl_[tag & (params_.host_ttl_slots - 1)];
  return s.tag == tag ? s.ttl : -1;
}

void Worker::host_ttl_set(const IpAddr& a, uint8_t ttl) {
  const uint64_t tag = hash_addr(a, 0) | 1;
  HostTtlSlot& s = host_ttl_[tag & (params_.host_ttl_slots - 1)];
  s.tag = tag;
  s.ttl = ttl;
}

// An rst_update of `revised`: the same reset (addresses, direction, rule,
// trigger, tcp.seq), named by its packet number, stamped with the packet
// that revises it. The caller sets the new verdict and action.
RstEvent Worker::revise(const RstEvent& revised, uint64_t now_ns) {
  RstEvent u = revised;
  u.type = EventType::kRstUpdate;
  u.timestamp_ns = now_ns;
  u.packet_number = packet_number_;
  u.revises_packet_number = revised.type == EventType::kRst ? revised.packet_number
                                                             : revised.revises_packet_number;
  u.revises_seq = revised.seq;
  ++counters_.rst_updates;
  return u;
}

void Worker::emit(const RstEvent& e) {
  if (events_.size() >= events_capacity_) {
    ++counters_.event_overflow;
    return;
  }
  events_.push_back(e);
  ++counters_.event_emitted;
}

RstEvent Worker::make_event(const PacketView& p, const FlowEntry* f, int side,
                            uint64_t now_ns) const {
  RstEvent e;
  e.timestamp_ns = now_ns;
  e.packet_number = packet_number_;
  e.flow_id = f != nullptr ? f->flow_id : (hash_flow_key(FlowKey{p.src, p.dst, p.src_port,
                                                                  p.dst_port, p.vlan_outer,
                                                                  p.vlan_inner}) &
                                           kFlowIdMask);
  e.src = p.src;
  e.dst = p.dst;
  e.src_port = p.src_port;
  e.dst_port = p.dst_port;
  e.vlan_outer = p.vlan_outer;
  e.vlan_inner = p.vlan_inner;
  e.vlan_count = p.vlan_count;
  e.ip_version = p.ip_version;
  e.direction_known = f != nullptr && f->has(FlowEntry::kOriginKnown);
  e.to_server = f == nullptr || side == f->origin_side();
  e.seq = p.seq;
  e.ack = p.ack;
  e.tcp_flags = p.tcp_flags;
  e.window = p.window;
  e.ttl = p.ttl;
  e.ip_id = p.ip_id;
  e.payload_len = p.payload_len;
  return e;
}

void Worker::count_verdict(const Verdict& v, Action a) {
  ++counters_.rst_label[static_cast<int>(v.label)];
  ++counters_.rst_validity[static_cast<int>(v.validity)];
  ++counters_.rst_cause[static_cast<int>(v.cause)];
  for (int i = 0; i < kEvidenceCount; ++i) {
    if (v.evidence.has(static_cast<Evidence>(i))) ++counters_.rst_evidence[i];
  }
  if (a == Action::drop) ++counters_.rst_dropped;
  if (a == Action::alert) ++counters_.rst_alerted;
}

}  // namespace rstguard

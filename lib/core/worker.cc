// The worker: the burst pipeline and what it does with each packet. The
// structures it uses each live in their own file: the flow table
// (flow_table), the tracker (track), the judge and the race check (judge),
// the per-flow pools (pool; trigger_state), the per-host tables and event
// limits (host_tables), the hold queue and its timer wheel (hold_queue).
#include "core/worker.h"

#include <algorithm>
#include <bit>
#include <cstring>

#include "core/headers.h"
#include "core/parser.h"
#include "core/seq.h"
#include "core/track.h"

namespace rstguard {
namespace {

using wire::tcpflag::kAck;
using wire::tcpflag::kFin;
using wire::tcpflag::kRst;
using wire::tcpflag::kSyn;

// Expiry timers run per burst, at most this many: a burst inserts at most
// a burst's worth of flows, so expiry keeps pace with any insert rate, and
// a backlog (after a gap in the traffic) drains over the next bursts.
constexpr uint32_t kExpiryBudget = 64;

// How far ahead of the tracker a packet's flow slot is prefetched.
// (rstguard-bench-live at 1M flows: 8 ahead 9.1 Mpps, 16 ahead 9.5, 32
// ahead 9.7; at 10K flows no difference.)
constexpr uint16_t kSlotAhead = 32;

// Worker clock: packet time in ms, 32 bits, wrap-aware; the low bit is
// forced so that 0 always means "never".
uint32_t clock_ms(uint64_t ts_ns) { return static_cast<uint32_t>(ts_ns / kNsPerMs) | 1u; }

}  // namespace

Worker::Worker(const WorkerParams& params)
    : params_(params),
      table_(params.flow, &counters_),
      history_(std::max<uint32_t>(params.pools.reset_history, 1)),
      triggers_(std::max<uint32_t>(params.pools.triggers, 1),
                std::max<uint32_t>(params.pools.reassembly, 1), &counters_),
      host_ttl_(std::bit_ceil(std::max<uint32_t>(params.pools.host_ttl, 1)), &counters_),
      destinations_(std::bit_ceil(std::max<uint32_t>(params.pools.destinations, 1)),
                    params.judge.sweep_window_ns, &counters_),
      rate_(std::bit_ceil(std::max<uint32_t>(params.pools.rate_limit, 1)), &counters_),
      budget_(params.max_events_per_second),
      holds_(params.hold.max_packets, &counters_),
      incidents_(params.incidents, params.index),
      // Per reset at most an evicted incident's end, a start, the reset, a
      // report, and a revision with the same; then expiry's reports.
      events_capacity_(8u * kMaxBurst + params.hold.max_packets +
                       2u * std::clamp<uint32_t>(params.incidents.capacity, 1, 1024)) {
  events_.reserve(events_capacity_);
  incident_events_.reserve(params.incidents.capacity);
  table_.set_release_hook(&Worker::on_flow_freed, this);
}

Worker::~Worker() = default;

void Worker::on_flow_freed(void* self, const FlowEntry& f) {
  static_cast<Worker*>(self)->release_flow_state(f);
}

// A flow is going (expired, evicted, or its tuple reused): what it owns in
// the pools goes back. A flow with a held reset never gets here (pinned).
void Worker::release_flow_state(const FlowEntry& f) {
  history_.release(f.history);
  triggers_.release(f);
}

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
  // frame, TCP or not, so expiry below never runs on a stale time.
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
    const Phase before = f != nullptr ? f->phase : Phase::kEmpty;
    if (p.has(kRst)) {
      out[i] = handle_rst(p, f, keys[i], hashes[i], sides[i], pkt_ms, fr.ts_ns);
    } else {
      handle_segment(p, f, keys[i], hashes[i], sides[i], pkt_ms, fr.ts_ns);
    }
    // A close shortens the flow's timeout: its timer moves up. (A found
    // flow's pointer outlives its packet's handling: only insert() and
    // expire() move entries, and a found flow inserts nothing.)
    if (f != nullptr && f->phase != before) table_.rearm(*f);
  }
  for (uint16_t i = 0; i < n; ++i) {
    if (out[i] == Disposition::kDrop) ++counters_.pkt_dropped;
    if (out[i] == Disposition::kForward) ++counters_.pkt_forwarded;
  }
  // Expiry between bursts (moves entries: no pointer from this burst
  // survives it).
  last_now_ms_ = now_ms;
  if (n > 0) last_now_ns_ = std::max(last_now_ns_, frames[n - 1].ts_ns);
  if (n > 0 && now_ms != 0) table_.expire(now_ms, kExpiryBudget);
  expire_incidents(last_now_ns_);
}

void Worker::handle_segment(const PacketView& p, FlowEntry* f, const FlowKey& key,
                            uint64_t hash, int side, uint32_t now_ms, uint64_t now_ns) {
  if (p.has(kSyn)) {
    ++counters_.tcp_syn;
    if (p.has(kAck)) host_ttl_.set(p.src, p.ttl);
  }
  if (p.has(kFin)) ++counters_.tcp_fin;
  if (f == nullptr) {
    f = table_.insert(key, hash, now_ms);
    if (f == nullptr) return;  // table full of connections worth more: counted
    track_first(*f, side, p, now_ms, now_ns);
    table_.rearm(*f);  // a SYN's flow expires sooner than the insert assumed
    if (f->has(FlowEntry::kMidstream)) ++counters_.flow_midstream;
    return;
  }
  if (f->history != 0) {
    resolve_hold(p, *f, side, now_ns, frame_index_);
    watch_race(p, *f, side, now_ms, now_ns);
  }
  const uint32_t held = f->history != 0 ? history_[f->history].hold : 0;
  const TrackNote note = track_segment(*f, side, p, now_ms, now_ns, params_.judge);
  if (note.reused) {
    // A new connection on the tuple (the tracker saw the old one end): a
    // reset still held for the old one goes through as judged, and the old
    // one's state is not the new one's.
    if (held != 0) release_hold_as_judged(held - 1, now_ns);
    release_flow_state(*f);
    f->history = 0;
    f->trigger = 0;
  }
  if (p.payload_len != 0 && policy_ != nullptr && policy_->has_triggers() &&
      !triggers_.has_match(*f)) {
    if (TriggerScanner* scanner = policy_->scanner(params_.index)) {
      triggers_.scan(p, *f, side, *policy_, *scanner);
    }
  }
  if (f->history != 0 && p.has(kAck) && !p.has(kSyn)) {
    // What this side sent since the newest reset, for an answer to it.
    RstHistory& h = history_[f->history];
    h.after_seen[side] = true;
    h.after_pure[side] = p.payload_len == 0 && !p.has(kFin);
    h.after_ack[side] = p.ack;
    h.after_ms[side] = now_ms;
  }
  if (note.retransmit) ++counters_.tcp_retransmit;
  if (note.gap) ++counters_.tcp_gap;
  if (note.reused) ++counters_.flow_reused;
  if (note.syn_in_connection) ++counters_.tcp_syn_in_connection;
}

// The rule for this connection (client -> server when the handshake told
// us; otherwise the reset's receiver is taken as client).
const Rule* Worker::rule_for(const PacketView& p, const FlowEntry* f, int side,
                             uint32_t* index) const {
  if (policy_ == nullptr) return nullptr;
  ConnectionView c;
  const bool origin_known = f != nullptr && f->has(FlowEntry::kOriginKnown);
  const bool rst_from_client = origin_known && side == f->origin_side();
  c.client = rst_from_client ? p.src : p.dst;
  c.server = rst_from_client ? p.dst : p.src;
  c.client_port = rst_from_client ? p.src_port : p.dst_port;
  c.server_port = rst_from_client ? p.dst_port : p.src_port;
  c.vlan = p.vlan_outer;
  if (const TriggerInfo* t = f != nullptr ? triggers_.found(*f) : nullptr) {
    // Pattern ids belong to a policy generation; across a reload, by name.
    c.trigger = t->generation == policy_->generation() ? static_cast<int>(t->id)
                                                        : policy_->trigger_index(t->name);
  }
  *index = policy_->match_index(c);
  return &policy_->rules()[*index];
}

Disposition Worker::handle_rst(const PacketView& p, FlowEntry* f, const FlowKey& key,
                               uint64_t hash, int side, uint32_t now_ms, uint64_t now_ns) {
  ++counters_.rst_total;

  // Decide step 1: what the judge may look at, and the rule.
  RstContext ctx;
  ctx.flow = f;
  ctx.sender_side = side;
  ctx.history = f != nullptr ? history_of(*f) : nullptr;
  ctx.resets_toward_destination = destinations_.count(p.dst, p.dst_port, now_ms);
  if (params_.judge.verify_checksums) {
    ctx.checksum = tcp_checksum(p);
    if (ipv4_header_checksum(p) == Checksum::kBad) ctx.checksum = Checksum::kBad;
  }
  ctx.host_ttl = host_ttl_.get(p.src);
  uint32_t rule_index = 0;
  const Rule* rule = rule_for(p, f, side, &rule_index);
  JudgeParams judge = params_.judge;
  if (rule != nullptr) judge.ttl_tolerance = rule->actions.ttl_tolerance;
  const Verdict v = judge_rst(p, ctx, judge, now_ms);
  if (v.validity != Validity::exact && !v.reply && !v.discarded) {
    destinations_.add(p.dst, p.dst_port, now_ms);
  }

  // Decide step 2: the action, by label and evidence.
  Action action = rule != nullptr ? rule->actions.decide(v.label, v.evidence)
                                  : params_.actions.for_label(v.label);
  // A reset its receiver discards is not worth waiting on: dropping it
  // changes nothing at the receiver, and it leaves no history to hold it by.
  if (action == Action::hold && v.discarded) action = Action::drop;
  if (!params_.can_drop && (action == Action::drop || action == Action::hold)) {
    action = Action::alert;
  }

  RstEvent e = make_event(p, f, side, now_ns);
  e.label = v.label;
  e.validity = v.validity;
  e.evidence = v.evidence;
  e.cause = v.cause;
  e.imitated = v.imitated;
  e.answers = v.answers;
  e.expected_known = v.expected_known;
  e.expected_seq = v.expected_seq;
  e.receiver_window = v.receiver_window;
  if (f != nullptr) {
    if (const TriggerInfo* t = triggers_.found(*f)) {
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

  // Step 3: remember it on its connection (the race check and any hold
  // hang off this entry), then hold it if asked and possible.
  RstHistory* h = nullptr;
  bool revised_other = false;
  const Phase phase_at_rst = f != nullptr ? f->phase : Phase::kEmpty;
  // Whether the connection already had a member event (incident sampling).
  const bool connection_in_incident =
      f != nullptr && f->history != 0 && history_[f->history].event.incident.id != 0;
  RstEvent other;  // the earlier reset's update, written after this one's event
  Label other_was = Label::legit;
  // A reset held for this sender, and now another from it. Discarded, it
  // changes nothing; tied to the held one (a burst) it shows the held one
  // forged (revised and dropped below); legitimate, it releases the held
  // one first (order kept: a closing stack's second reset); otherwise the
  // hold runs on.
  if (f != nullptr && f->history != 0 && history_[f->history].hold != 0 && !v.discarded &&
      !v.evidence.has(Evidence::burst) && v.label == Label::legit && v.accepted) {
    const RstHistory& held_on = history_[f->history];
    const uint32_t slot = held_on.hold - 1;
    if (holds_[slot].side == side) {
      RstEvent u = revise(holds_[slot].event, now_ns);
      u.action = Action::pass;
      emit(u);
      end_hold(slot, Disposition::kForward, frame_index_, f, now_ms);
    }
  }
  if (f != nullptr && !v.discarded) {
    // Resets toward both ends, or a burst from two stacks: the earlier
    // reset is revised too.
    if (RstHistory* prev = f->history != 0 ? &history_[f->history] : nullptr;
        prev != nullptr && prev->event.label != Label::forged) {
      other_was = prev->event.label;
      if (v.evidence.has(Evidence::both_directions) && prev->side == 1 - side) {
        other = revise_earlier(*f, *prev, Evidence::both_directions, now_ns);
        revised_other = true;
      } else if (v.evidence.has(Evidence::burst) && prev->side == side) {
        other = revise_earlier(*f, *prev, Evidence::burst, now_ns);
        revised_other = true;
      }
    }
    h = record_history(p, *f, key, hash, v, side, now_ms, e);
    if (h == nullptr) e.limits |= kLimitHistoryPool;
  }
  bool will_hold = false;
  if (action == Action::hold && h != nullptr && h->hold != 0) {
    // Another reset of this connection is held already (and this one did
    // not release it): whatever the held one turns out to be, this one is
    // not needed (genuine, the held one ends the connection; forged, so is
    // this): dropped.
    action = Action::drop;
  } else if (action == Action::hold) {
    will_hold = h != nullptr && !holds_.full() && h->hold == 0;
    if (!will_hold) {
      // No flow to wait on, no history to link it, or the queue is full:
      // the reset gets the alert action, and its event says why.
      ++counters_.hold_overflow;
      if (h != nullptr && holds_.full()) e.limits |= kLimitHoldQueue;
      action = Action::alert;
    }
  }
  e.action = action;
  if (action == Action::drop && f != nullptr) {
    // Dropped: the receiver never gets it, so the connection is not closed
    // (record_history closed it for an accepted reset).
    if (h != nullptr && h->closed_flow) {
      f->phase = h->phase_before;
      h->closed_flow = false;
    } else if (h == nullptr && v.accepted) {
      f->phase = phase_at_rst;
    }
  }
  IncidentTable::Join joined, joined_other;
  const bool member = v.label != Label::legit;
  if (member) {
    joined = join_incident(e, f, Label::legit,
                           f != nullptr && !v.discarded && !connection_in_incident,
                           /*may_open=*/!v.discarded);
    e.sampled_out = !joined.write;
  }
  if (revised_other) joined_other = join_update(other, f, other_was);
  if (h != nullptr) h->event = e;
  count_verdict(v, action);
  const bool allowed = (!member || joined.write) && emit_allowed(p, rule, rule_index, v, now_ms);
  if (member) {
    emit_member(e, joined, allowed);
  } else if (allowed) {
    emit(e);
  }
  if (revised_other) emit_member(other, joined_other, true);

  if (f != nullptr && !v.discarded && seq_gt(now_ms, f->last_seen_ms)) f->last_seen_ms = now_ms;
  if (will_hold) {
    Held held;
    held.event = e;
    held.key = key;
    held.hash = hash;
    held.history = f->history;
    held.resets = h->resets;
    held.side = static_cast<uint8_t>(side);
    if (h->closed_flow) {
      // Not closed while held: a SYN on the tuple is then not a new
      // connection the held reset could be released for.
      f->phase = h->phase_before;
      h->closed_flow = false;
      held.closes = true;
    }
    const uint64_t hold_ns = rule != nullptr ? rule->actions.hold_time_ns : params_.hold.max_time_ns;
    const uint32_t slot =
        holds_.push(held, now_ms, now_ms + static_cast<uint32_t>(hold_ns / kNsPerMs));
    h->hold = slot + 1;
    f->set(FlowEntry::kHoldPending);
    hold_slot_[frame_index_] = slot;
    ++counters_.rst_held;
    return Disposition::kHold;
  }
  return action == Action::drop ? Disposition::kDrop : Disposition::kForward;
}

// The earlier reset of a pair the newest one shows forged, with the
// evidence that ties them: both_directions (side-path blockers reset
// client and server at once) or burst (an injector's hedge). If it is
// still held it is dropped now; otherwise it was forwarded already.
RstEvent Worker::revise_earlier(FlowEntry& f, RstHistory& prev, Evidence tie, uint64_t now_ns) {
  RstEvent u = revise(prev.event, now_ns);
  u.evidence.add(tie);
  mark_forged(u);
  // Forwarded already, or dropped by its own action.
  u.action = prev.event.action == Action::drop ? Action::drop : Action::alert;
  // Held: dropped now, if the held one is the reset revised (a later reset
  // may have been recorded since; its hold is left to its own course).
  if (prev.hold != 0 && holds_[prev.hold - 1].resets == prev.resets) {
    end_hold(prev.hold - 1, Disposition::kDrop, frame_index_, &f, clock_ms(u.timestamp_ns));
    u.action = Action::drop;
  }
  prev.event.label = u.label;
  prev.event.evidence = u.evidence;
  prev.event.cause = u.cause;
  prev.event.imitated = u.imitated;
  if (prev.closed_flow) {
    f.phase = prev.phase_before;
    prev.closed_flow = false;
  }
  return u;
}

// The connection's reset history, taken from the pool on its first reset.
// nullptr: the pool is full (counted); the reset is judged and acted on
// all the same, without a race check or a hold.
RstHistory* Worker::record_history(const PacketView& p, FlowEntry& f, const FlowKey& key,
                                   uint64_t hash, const Verdict& v, int side, uint32_t now_ms,
                                   const RstEvent& e) {
  if (f.history == 0) {
    uint32_t ref = history_.acquire();
    if (ref == 0) ref = reclaim_history(f, now_ms);
    if (ref == 0) {
      ++counters_.pool_history_refused;
      // Nothing to remember it by; the connection's state still follows
      // what the receiver does.
      if (v.accepted) f.phase = Phase::kClosed;
      return nullptr;
    }
    f.history = ref;
    history_[ref] = RstHistory{};
    history_[ref].flow_id = f.flow_id;
    history_[ref].key = key;
    history_[ref].hash = hash;
  }
  RstHistory& h = history_[f.history];
  ++h.resets;
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
  h.side_ttl[side] = p.ttl;
  h.side_ipid[side] = p.ip_id;
  {
    // A constant ID would make every later segment a "copy".
    const DirState& d = f.dir[side];
    const bool ids_vary = d.ipid_increments() + d.ipid_others() >= 1;
    h.copy_ipid = p.ip_version == 4 && ids_vary ? d.ipid_last : 0;
  }
  h.side_reply[side] = v.reply;
  h.side_forged[side] = v.label == Label::forged;
  h.event = e;
  h.race_open = v.label != Label::forged;
  h.closed_flow = false;
  h.after_seen[0] = h.after_seen[1] = false;
  // The connection's state follows what the receiver does: only an
  // accepted reset ends it (kept briefly as kClosed to explain what follows).
  if (v.accepted && f.phase != Phase::kClosed) {
    h.closed_flow = true;
    h.phase_before = f.phase;
    f.phase = Phase::kClosed;
  }
  return &h;
}

// A full reset-history pool, for a connection seen both ways: takes back
// the entry of a lesser flow (a one-way pick-up, or a flow already expired
// but not yet freed) among the next few, so that spoofed one-way
// tuples cannot keep the pool from the connections it is for. Never an
// entry with a hold, never one of a live two-way connection. 0: none.
uint32_t Worker::reclaim_history(const FlowEntry& taker, uint32_t now_ms) {
  if (!taker.two_way()) return 0;
  constexpr int kReclaimScan = 16;
  const uint32_t n = history_.capacity();
  for (int looked = 0; looked < kReclaimScan; ++looked) {
    reclaim_cursor_ = reclaim_cursor_ % n + 1;
    const uint32_t ref = reclaim_cursor_;
    if (!history_.in_use(ref)) continue;
    const RstHistory& h = history_[ref];
    if (h.hold != 0) continue;
    FlowEntry* owner = table_.find_any(h.key, h.hash);
    if (owner == nullptr || owner == &taker || owner->history != ref) continue;
    if (owner->two_way() && !table_.expired(*owner, now_ms)) continue;
    owner->history = 0;  // the owner goes on without its reset history
    history_.release(ref);
    ++counters_.pool_history_reclaimed;
    return history_.acquire();
  }
  return 0;
}

// Releases a held reset as judged (its connection is over another way).
void Worker::release_hold_as_judged(uint32_t slot, uint64_t now_ns) {
  RstEvent u = revise(holds_[slot].event, now_ns);
  u.action = Action::pass;
  emit(u);
  holds_.release(slot, frame_index_, Disposition::kForward);
}

// Ends the hold in `slot` with `d`: unpins its flow (`f`, or found by key)
// and unlinks it from the flow's history.
void Worker::end_hold(uint32_t slot, Disposition d, uint16_t before_frame, FlowEntry* f,
                      uint32_t now_ms) {
  const Held& held = holds_[slot];
  if (f == nullptr) f = table_.find(held.key, held.hash, now_ms);
  if (f != nullptr && f->history == held.history && f->history != 0 &&
      history_[f->history].hold == slot + 1) {
    RstHistory& h = history_[f->history];
    h.hold = 0;
    f->clear(FlowEntry::kHoldPending);
    if (d == Disposition::kForward && held.closes && f->phase != Phase::kClosed) {
      // Delivered now: the receiver tears the connection down.
      h.closed_flow = held.resets == h.resets;
      h.phase_before = f->phase;
      f->phase = Phase::kClosed;
    }
    table_.rearm(*f);  // no longer pinned: its own deadline again
  }
  holds_.release(slot, before_frame, d);
}

// A held reset's connection spoke again. From the other end: keep waiting
// (that end has not seen the reset). From the reset's supposed sender: a
// second reset is judged first (handle_rst settles the hold); anything
// else, a SYN too, means the sender is alive, so the held reset was
// forged: dropped, and said so.
void Worker::resolve_hold(const PacketView& p, FlowEntry& f, int side, uint64_t now_ns,
                          uint16_t frame) {
  RstHistory& h = history_[f.history];
  if (h.hold == 0) return;
  const uint32_t slot = h.hold - 1;
  const Held& held = holds_[slot];
  if (side != held.side || p.has(kRst)) return;  // resets: handle_rst, once judged
  const uint32_t now_ms = clock_ms(now_ns);
  // Whether the held reset is still the newest one on the connection (a
  // reset toward the other end may have come since).
  const bool newest = held.resets == h.resets;
  RstEvent u = revise(held.event, now_ns);
  end_hold(slot, Disposition::kDrop, frame, &f, now_ms);
  const Label was = u.label;
  u.evidence.add(Evidence::data_after_rst);
  mark_forged(u);
  u.action = Action::drop;  // held, so really dropped
  ++counters_.rst_evidence[static_cast<int>(Evidence::data_after_rst)];
  emit_member(u, join_update(u, &f, was), true);
  if (newest) {
    h.race_open = false;
    h.event = u;
    if (h.closed_flow) {
      f.phase = h.phase_before;
      h.closed_flow = false;
    }
  }
}

void Worker::expire_holds(uint64_t now_ns) {
  expire_incidents(now_ns);
  const uint32_t now_ms = clock_ms(now_ns);
  holds_.expire(now_ms, [&](uint32_t slot) {
    // Nobody spoke for the sender: the reset goes through as judged.
    RstEvent u = revise(holds_[slot].event, now_ns);
    u.action = Action::pass;
    emit(u);
    end_hold(slot, Disposition::kForward, 0, nullptr, now_ms);
  });
}

void Worker::flush_holds(bool drop) {
  holds_.for_each([&](uint32_t slot) {
    end_hold(slot, drop ? Disposition::kDrop : Disposition::kForward, 0, nullptr, last_now_ms_);
  });
  incidents_.flush(last_now_ns_, incident_events_);
  emit_incident_reports();
}

// Incidents gone quiet end; reports due are written. Cheap when none is open.
void Worker::expire_incidents(uint64_t now_ns) {
  if (incidents_.open() == 0) return;
  incidents_.expire(now_ns, incident_events_);
  emit_incident_reports();
}

void Worker::emit_incident_reports() {
  for (const RstEvent& r : incident_events_) emit(r);
  incident_events_.clear();
}

// A revision to forged: written whenever the event it revises was (a log
// that showed the reset held or passed must show what became of it).
IncidentTable::Join Worker::join_update(RstEvent& u, const FlowEntry* f, Label was) {
  IncidentTable::Join j = join_incident(u, f, was, u.incident.id == 0 || !u.sampled_out, true);
  u.sampled_out = !j.write;
  return j;
}

IncidentTable::Join Worker::join_incident(RstEvent& e, const FlowEntry* f, Label was,
                                          bool first_of_connection, bool may_open) {
  const bool was_member = e.incident.id != 0;
  IncidentTable::Join j = incidents_.join(e, f != nullptr && f->two_way(), was, was_member,
                                          first_of_connection, may_open);
  if (j.started) ++counters_.incident_started;
  if (j.evicted) ++counters_.incident_evicted;
  return j;
}

void Worker::emit_member(const RstEvent& e, const IncidentTable::Join& j, bool allowed) {
  if (j.ended_one) emit(j.ended);
  if (j.started) emit(j.report);
  if (!j.write) {
    ++counters_.event_sampled;
  } else if (allowed) {
    emit(e);
  } else {
    incidents_.unwritten(j, e.incident.id);  // the budget held it back (counted there)
  }
  if (j.report_due) emit(j.report);
}

// The race check (judge.h) on a segment of a flow with reset history.
void Worker::watch_race(const PacketView& p, FlowEntry& f, int side, uint32_t now_ms,
                        uint64_t now_ns) {
  RstHistory& h = history_[f.history];
  switch (check_race(p, h, side, now_ms, params_.judge)) {
    case RaceCheck::kNotApplicable:
    case RaceCheck::kQuiet: return;
    case RaceCheck::kWindowClosed: h.race_open = false; return;
    case RaceCheck::kRevealed: break;
  }
  h.race_open = false;
  RstEvent u = revise(h.event, now_ns);
  const Label was = u.label;
  u.evidence.add(Evidence::data_after_rst);
  if (const Label l = label_for(u.evidence, f.has(FlowEntry::kGapSeen), params_.judge);
      l == Label::forged) {
    mark_forged(u);
  } else {
    u.label = l;
  }
  // Forwarded already (alert), unless its own action dropped it.
  u.action = u.label == Label::legit || h.event.action == Action::drop ? h.event.action
                                                                        : Action::alert;
  IncidentTable::Join joined;
  const bool member = u.label != Label::legit;
  if (member) joined = join_update(u, &f, was);
  h.event = u;
  ++counters_.rst_evidence[static_cast<int>(Evidence::data_after_rst)];
  if (member) {
    emit_member(u, joined, true);
  } else {
    emit(u);
  }
  if (h.closed_flow) {
    f.phase = h.phase_before;  // the connection lives on
    h.closed_flow = false;
  }
}

// Whether the event of a reset is written: verbosity, the rule's
// per-source rate limit, then the worker's budget. Each limit counts what
// it holds back; none changes the action.
bool Worker::emit_allowed(const PacketView& p, const Rule* rule, uint32_t rule_index,
                          const Verdict& v, uint32_t now_ms) {
  const EventVerbosity verbosity = rule != nullptr ? rule->actions.verbosity : params_.verbosity;
  if (verbosity == EventVerbosity::kSuspiciousAndForged && v.label == Label::legit) {
    ++counters_.event_suppressed;
    return false;
  }
  if (rule != nullptr && rule->actions.rate_limit != 0 &&
      !rate_.allows(p.src, rule_index, rule->actions.rate_limit, now_ms)) {
    ++counters_.event_rate_limited;
    return false;
  }
  if (!budget_.allows(now_ms)) {
    ++counters_.event_over_budget;
    return false;
  }
  return true;
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

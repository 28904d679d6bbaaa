#include "core/judge.h"

#include <algorithm>

#include "core/headers.h"
#include "core/seq.h"
#include "core/track.h"

namespace rstguard {
namespace {

using wire::tcpflag::kAck;
using wire::tcpflag::kFin;
using wire::tcpflag::kUrg;
using wire::tcpflag::kSyn;

constexpr uint16_t kIpIdStep = 2048;  // as in track.cc


// IP ID that does not fit the sender's counter (Weaver et al. 2009, 4.2).
// An ID of 0 is what Linux puts in resets sent without a socket, so it is
// never held against a reset.
bool ipid_anomalous(const DirState& s, const PacketView& rst) {
  if (rst.ip_version != 4 || s.packets < 4 || rst.ip_id == 0) return false;
  const int inc = s.ipid_increments(), other = s.ipid_others();
  if (inc >= 3 && inc > 2 * other) {
    const uint16_t step = static_cast<uint16_t>(rst.ip_id - s.ipid_last);
    return step == 0 || step > kIpIdStep;
  }
  return inc == 0 && other == 0 && s.ipid_last == 0;  // the sender always sent 0
}

// A reset whose TCP-MD5 / TCP-AO options do not fit its connection's:
// missing where the connection signs its segments (the receiver drops it
// unsigned, RFC 2385 2.0, RFC 5925 7.3), or present where it never did (an
// evasion: Linux drops an unexpected MD5 option, a looser monitor acts on
// it).
// What the connection signs with is what every segment of both
// directions carried (DirState::auth_all): an injector can clear that, never
// set it, so injected segments with an MD5 option cannot make the genuine
// resets after them "unsigned". A reset carrying an option no segment of
// the connection carried is an evasion.
bool auth_mismatched(const PacketView& rst, const FlowEntry& f) {
  const DirState& a = f.dir[0];
  const DirState& b = f.dir[1];
  if (a.packets == 0 && b.packets == 0) return false;
  const uint8_t signs = a.packets > 0 && b.packets > 0 ? (a.auth_all & b.auth_all) : 0;
  const uint8_t carried = a.auth | b.auth;
  if (signs != 0 && (rst.opt.auth & signs) == 0) return true;  // missing
  return rst.opt.auth != 0 && (rst.opt.auth & carried) == 0;    // unexpected
}

// Two resets from one side with one sequence number within a burst, whose
// TTLs or IP IDs could not come from one stack: an injector's hedge (the
// GFW studies: two or three RST+ACKs, TTLs and IP IDs apart). A duplicate
// (same TTL, same ID) or a counter's next ID is what a real sender's two
// resets look like. IP IDs count only for a sender whose packets show a
// counter: stacks with random IDs (XNU, OpenBSD) give every reset another.
bool burst_from_two_stacks(const PacketView& rst, const RstHistory& h, const DirState& s,
                           int side, uint32_t now_ms, uint8_t ttl_tolerance) {
  if (h.side_ms[side] == 0 || h.side_seq[side] != rst.seq ||
      !ms_within(now_ms, h.side_ms[side], uint64_t{kInjectorBurstMs} * kNsPerMs)) {
    return false;
  }
  const int ttl_apart = rst.ttl > h.side_ttl[side] ? rst.ttl - h.side_ttl[side]
                                                   : h.side_ttl[side] - rst.ttl;
  if (ttl_apart > ttl_tolerance) return true;
  if (rst.ip_version != 4 || rst.ip_id == 0 || h.side_ipid[side] == 0) return false;
  const int inc = s.ipid_increments(), other = s.ipid_others();
  if (s.packets < 4 || inc < 3 || inc <= 2 * other) return false;
  // A counter's IDs a little apart either way (two resets reordered) are
  // one stack's.
  const uint16_t step = static_cast<uint16_t>(rst.ip_id - h.side_ipid[side]);
  const uint16_t back = static_cast<uint16_t>(h.side_ipid[side] - rst.ip_id);
  return step > kIpIdStep && back > kIpIdStep;
}

// Validity of a reset in a synchronized state (RFC 9293 3.10.7.4, first
// check; RFC 5961 3.2): exact when SEG.SEQ = RCV.NXT, in window when
// RCV.NXT < SEG.SEQ < RCV.NXT + RCV.WND (the receiver answers with a
// challenge ACK), otherwise out of window (silently dropped).
void check_synchronized(const PacketView& rst, const FlowEntry& f, int side, Verdict& v) {
  const DirState& s = f.dir[side];
  const DirState& r = f.dir[1 - side];
  // 1. Enough known? A mid-stream flow needs both directions seen.
  if (!s.has(DirState::kSeen) && !r.has(DirState::kAckSeen)) return;
  if (f.has(FlowEntry::kMidstream) && !(s.has(DirState::kSeen) && r.has(DirState::kSeen))) {
    return;
  }
  // 2. RCV.NXT is what the receiver last acknowledged; the sender's
  //    SND.NXT is what a true endpoint puts in its reset (in-flight data
  //    reaches the receiver before the reset does).
  const uint32_t rcv_nxt = r.has(DirState::kAckSeen) ? r.max_ack : s.snd_nxt;
  v.expected_known = true;
  v.expected_seq = s.has(DirState::kSeen) ? s.snd_nxt : rcv_nxt;
  v.receiver_window = advertised_window(f, 1 - side);
  // 3. Classify.
  if (rst.seq == v.expected_seq || rst.seq == rcv_nxt) {
    v.validity = Validity::exact;
  } else if (seq_in_window(rst.seq, rcv_nxt, v.receiver_window) ||
             seq_in_window(rst.seq, v.expected_seq, v.receiver_window)) {
    v.validity = Validity::in_window;
  } else {
    v.validity = Validity::out_of_window;
  }
}

// A bare reset whose seq is what the peer acknowledged, while the peer's
// latest data (or keepalive) went unacknowledged: a kernel with no socket
// for the connection answering the peer's next segment (RFC 9293
// 3.10.7.1): the half-open case. Its marks (no ACK, another IP ID counter)
// are still counted: an injector that fires on the peer's request sends
// the same. Its TTL can be the kernel's default rather than the socket's
// (a BGP session with GTSM sends 255, its kernel's resets 64): no ttl_gap.
bool socketless_answer(const PacketView& rst, const DirState& s, const DirState& r) {
  return !rst.has(kAck) && s.has(DirState::kAckSeen) && r.has(DirState::kSeen) &&
         r.has(DirState::kAckSeen) && rst.seq == r.max_ack &&
         (seq_lt(s.max_ack, r.snd_nxt) || r.keepalives > 0);
}

// A flow begun by a segment with neither SYN nor ACK (FlowEntry::syn_flags)
// is a stealth scan's probe; a closed port answers it with a reset
// (RFC 9293 3.10.7.1), an open one stays silent.
Cause scan_probe_answered(const FlowEntry& f, bool from_server) {
  if (!from_server) return Cause::unknown;
  const uint8_t probe = f.syn_flags & (kFin | wire::tcpflag::kPsh | kUrg);
  if (probe == (kFin | wire::tcpflag::kPsh | kUrg)) return Cause::xmas_scan;
  if (probe == 0) return Cause::null_scan;
  if (probe & kFin) return Cause::fin_scan;
  return Cause::unknown;
}

// The cause a reset's numbers and history tell, the label aside (for a
// forged reset: the one it imitates).
Cause classify(const PacketView& rst, const RstContext& ctx, const Verdict& v,
               const JudgeParams& params, uint32_t now_ms) {
  if (ctx.flow == nullptr) return Cause::unknown;
  const FlowEntry& f = *ctx.flow;
  const int side = ctx.sender_side;
  const DirState& s = f.dir[side];
  const DirState& r = f.dir[1 - side];
  const bool origin_known = f.has(FlowEntry::kOriginKnown);
  const bool from_client = origin_known && side == f.origin_side();
  const bool from_server = origin_known && side != f.origin_side();

  if (f.probe_start()) return scan_probe_answered(f, from_server);
  // A SYN that hit a tuple still in TIME-WAIT, answered by the server.
  if (f.has(FlowEntry::kTimeWaitConflict) && from_server && f.phase <= Phase::kSynReceived) {
    return Cause::time_wait_reuse;
  }

  switch (f.phase) {
    case Phase::kSynSent: {
      if (!from_server) return Cause::unknown;
      // A SYN with FIN or URG set (a scanner's probe, a broken stack):
      // whoever answers it with a reset, that is why.
      if (f.syn_flags & (kFin | kUrg)) return Cause::malformed_syn;
      // A bare reset answering a SYN is a firewall's "reject" (the host
      // ignores it: RFC 9293 3.10.7.3 wants the ACK).
      if (!rst.has(kAck)) return Cause::refused;
      if (v.validity != Validity::exact) return Cause::unknown;
      // A reset from another device than the server (a firewall's
      // "reject"): another TTL than the host showed in its SYN/ACKs, or
      // no ACK. Not forgery evidence: refusing is the device's job.
      const bool other_device =
          ctx.host_ttl >= 0 && (rst.ttl + params.ttl_tolerance < ctx.host_ttl ||
                                rst.ttl > ctx.host_ttl + params.ttl_tolerance);
      return (other_device || !rst.has(kAck)) ? Cause::refused : Cause::port_closed;
    }
    case Phase::kSynReceived:
      // The client drops a connection it asked for right after the SYN/ACK.
      // It had to retransmit its SYN: the SYN/ACK came late, after the
      // application gave up (its socket gone, or closing). Otherwise a
      // half-open scanner's kernel (no socket: RST without ACK), or a
      // client that keeps a parallel connection (RST+ACK).
      if (!from_client) return Cause::unknown;
      if (s.retransmits > 0) return Cause::connect_timeout;
      return rst.has(kAck) ? Cause::duplicate_syn : Cause::syn_scan;
    case Phase::kClosed:
      return Cause::data_after_close;
    default:
      break;
  }
  if (s.retransmits >= params.retransmit_threshold) return Cause::retransmit_exhausted;
  if (s.keepalives >= params.keepalive_threshold) return Cause::keepalive_failure;
  const int32_t silence = seq_diff(now_ms, f.last_seen_ms);
  if ((silence > 0 && static_cast<uint64_t>(silence) * kNsPerMs >= params.idle_gap_ns) ||
      ms_within(now_ms, f.silence_end_ms, params.quick_close_ns)) {
    return Cause::idle_timeout;
  }
  // The handshake completed and nobody sent data: a client that only
  // wanted to know the port is open, or a server whose accept queue was
  // full. Linux with tcp_abort_on_overflow answers the completing ACK at
  // once, from no socket: RST without ACK. A server's RST+ACK, or one after
  // a pause, is an application's abortive close (say, of a preconnect).
  if (origin_known && f.phase == Phase::kEstablished && !f.has(FlowEntry::kMidstream) &&
      !s.has(DirState::kDataSent) && !r.has(DirState::kDataSent)) {
    if (from_client) return Cause::connect_scan;
    if (!rst.has(kAck) && silence >= 0 &&
        static_cast<uint64_t>(silence) * kNsPerMs <= params.quick_close_ns) {
      return Cause::listen_overflow;
    }
  }
  // A FIN, then a reset: within quick_close of the FIN, the fast close of
  // load balancers and security devices; later, an application's abort
  // after a half close (shutdown, then close with SO_LINGER {1, 0} or
  // unread data).
  const bool fast_close = f.fin_ms == 0 || ms_within(now_ms, f.fin_ms, params.quick_close_ns);
  if (s.has(DirState::kFinSeen)) {
    // The sender had closed; data from the peer since then is answered
    // with a reset (RFC 9293 3.10.7.4, data after FIN).
    if (f.last_payload_side == 1 - side) return Cause::data_after_close;
    return fast_close ? Cause::after_fin : Cause::abort_after_half_close;
  }
  if (r.has(DirState::kFinSeen)) {
    return fast_close ? Cause::after_fin : Cause::abort_after_half_close;
  }
  // A socketless answer: the host crashed or rebooted, or the box that held
  // the state failed over. The connection is half-open.
  if (socketless_answer(rst, s, r)) return Cause::half_open;
  // The peer's data came last and the receiver reset instead of FIN: it
  // closed with that data unread (RFC 2525 2.17), or read it and closed
  // with SO_LINGER {1, 0}. The wire shows both alike.
  if (f.last_payload_side == 1 - side) return Cause::abort_unread_or_linger0;
  if (v.validity == Validity::exact) return Cause::abortive_close;
  return Cause::unknown;
}

// The hops between a reset's TTL and the range its direction carried, 0
// when inside it.
int ttl_distance(uint8_t ttl, uint8_t range_min, uint8_t range_max) {
  if (ttl < range_min) return range_min - ttl;
  if (ttl > range_max) return ttl - range_max;
  return 0;
}

// Whether the reset's TTL is above the initial TTL of the direction's stack
// family (64, 128 or 255): no route change lifts a packet above the value
// its sender started it with.
bool ttl_above_family(uint8_t ttl, uint8_t range_max) {
  const int family = range_max <= 64 ? 64 : range_max <= 128 ? 128 : 255;
  return ttl > family;
}

}  // namespace

Label label_for(EvidenceSet evidence, bool gap_seen, const JudgeParams& params) {
  bool strong = false;
  bool strong_beyond_window = false;  // strong evidence a gap cannot explain
  int score = 0;
  for (int i = 0; i < kEvidenceCount; ++i) {
    const auto e = static_cast<Evidence>(i);
    if (!evidence.has(e)) continue;
    int w = evidence_weight(e);
    // A stack that aborts with a bare reset (XNU does) leaves out both ACK
    // and timestamps: one mark, counted once.
    if (e == Evidence::ts_missing && evidence.has(Evidence::rst_without_ack)) w = 0;
    if (w == 0 && evidence_weight(e) == 0) {
      strong = true;
      if (e != Evidence::out_of_window) strong_beyond_window = true;
    }
    score += w;
  }
  Label label = Label::legit;
  if (strong || score >= params.forged_score) {
    label = Label::forged;
  } else if (score >= params.suspicious_score) {
    label = Label::suspicious;
  }
  if (label == Label::forged && params.lossy_tap && gap_seen && !strong_beyond_window) {
    label = Label::suspicious;
  }
  return label;
}

Verdict judge_rst(const PacketView& rst, const RstContext& ctx, const JudgeParams& params,
                  uint32_t now_ms) {
  Verdict v;
  EvidenceSet& ev = v.evidence;
  const FlowEntry* f = ctx.flow;
  const int side = ctx.sender_side;

  // Step 1. Would the end host even see it? A bad checksum (unless this
  // side's packets all look so: a capture taken on the sender with checksum
  // offload) or a TTL too low to arrive makes an insertion packet
  // (Ptacek & Newsham 1998): it must not close anything.
  const bool offload = f != nullptr && f->dir[side].has(DirState::kBadChecksum);
  if ((params.verify_checksums && ctx.checksum == Checksum::kBad && !offload) ||
      (params.insertion_max_ttl != 0 && rst.ttl <= params.insertion_max_ttl)) {
    ev.add(Evidence::insertion);
  }
  if (f != nullptr && auth_mismatched(rst, *f)) ev.add(Evidence::auth_mismatch);
  v.discarded = ev.has(Evidence::insertion) || ev.has(Evidence::auth_mismatch);
  // Step 2. Marks of the segment itself.
  if (rst.payload_len > 0) ev.add(Evidence::with_payload);
  if (f == nullptr) {
    if (ctx.resets_toward_destination + 1 >= params.sweep_resets) ev.add(Evidence::sweep);
    // Step 3a. No connection known: nothing to check the numbers against.
    v.validity = Validity::no_flow;
  } else if (f->phase == Phase::kSynSent) {
    // Step 3b. SYN-SENT (RFC 9293 3.10.7.3; RFC 5961 3.2): the reset is
    // acceptable only if its ACK acknowledges the SYN (ack = ISS + 1).
    const DirState& client = f->dir[1 - side];
    if (side == f->origin_side()) {
      v.validity = Validity::unknown;  // the client resets its own attempt
    } else {
      // What matters here is the ACK, not the sequence number:
      // expected_seq stays unknown.
      if (rst.has(kAck) && rst.ack == client.snd_nxt) {
        v.validity = Validity::exact;
      } else {
        v.validity = Validity::out_of_window;
        ev.add(rst.has(kAck) ? Evidence::ack_mismatch : Evidence::rst_without_ack);
      }

    }
  } else if (f->probe_start()) {
    // Step 3c. A stealth scan's probe, answered by a closed port: exact
    // when it acknowledges the probe (RFC 9293 3.10.7.1: ack = SEG.SEQ +
    // SEG.LEN); the scanner has no connection to check anything else by.
    const DirState& prober = f->dir[f->origin_side()];
    if (side != f->origin_side() && rst.has(kAck) && rst.ack == prober.snd_nxt) {
      v.validity = Validity::exact;
    } else if (ctx.resets_toward_destination + 1 >= params.sweep_resets) {
      ev.add(Evidence::sweep);  // as without a flow: a probe launders nothing
    }
  } else {
    // Step 3d. Synchronized states (RFC 9293 3.10.7.4; RFC 5961 3.2).
    check_synchronized(rst, *f, side, v);
    const DirState& s = f->dir[side];
    const DirState& r = f->dir[1 - side];
    const bool synchronized = f->phase >= Phase::kEstablished;
    // A sender whose socket may be gone (it closed, or the connection was
    // reset) answers each segment still arriving with a bare reset: no
    // ACK, no timestamps, another IP ID counter, and seq = the ACK of the
    // segment it answers (RFC 9293 3.10.7.1), which may lag RCV.NXT. Such a
    // "reply" carries a sequence number the sender really had sent.
    const bool reply_style = f->phase == Phase::kClosed || s.has(DirState::kFinSeen) ||
                             r.has(DirState::kFinSeen);
    const uint32_t rcv_nxt = r.has(DirState::kAckSeen) ? r.max_ack : s.snd_nxt;
    v.reply = reply_style && !rst.has(kAck) && s.has(DirState::kSeen) &&
              seq_leq(rst.seq, seq_max(rcv_nxt, s.snd_nxt)) && seq_gt(rst.seq, s.isn);
    // An answer: a bare reset whose seq is the ACK of what the peer sent
    // since the newest reset. After the sender's own reset, a pure ACK
    // from the peer that falls short of that reset's seq is the challenge
    // ACK for it (RFC 5961 3.2: the reset was past the peer's RCV.NXT), and
    // this is the closed sender's reply to the challenge. Otherwise the
    // sender is a host whose connection is gone, answering the peer's next
    // segment.
    // Not an answer: after a reset that was dropped or is held (its
    // receiver never got it: no dead end, no challenge), from a sender
    // that itself sent since (alive), while resets with other seqs come
    // (a sweep), or at a seq the sender never sent.
    const RstHistory* h = ctx.history;
    const bool delivered = h != nullptr && h->hold == 0 && h->event.action != Action::drop;
    if (delivered && !rst.has(kAck) && h->after_seen[1 - side] && !h->after_seen[side] &&
        h->seq_changes == 0 && h->after_ack[1 - side] == rst.seq && seq_gt(rst.seq, s.isn) &&
        seq_leq(rst.seq, seq_max(rcv_nxt, s.snd_nxt)) &&
        ms_within(now_ms, h->after_ms[1 - side], uint64_t{kAnswerWindowMs} * kNsPerMs)) {
      const bool challenge = h->side == side && h->after_pure[1 - side] &&
                             seq_lt(h->after_ack[1 - side], h->side_seq[side]);
      v.answers = challenge ? Answer::challenge_ack : Answer::segment;
      v.reply = true;
    }

    // Step 4. Evidence against the flow's own history, strongest first.
    if (v.validity == Validity::out_of_window && !v.reply) ev.add(Evidence::out_of_window);
    // In the window but not exact: the receiver challenges it and lives on
    // (RFC 5961 3.2). Weak alone, but an operator sees the attempt.
    if (v.validity == Validity::in_window && !v.reply) ev.add(Evidence::inexact);
    if (ctx.resets_toward_destination + 1 >= params.sweep_resets &&
        v.validity != Validity::exact && !v.reply) {
      ev.add(Evidence::sweep);
    }
    if (h != nullptr && !v.reply) {
      // Resets crossing in a teardown (a FIN already sent, or the other
      // reset a closed socket's reply) are a race between two honest
      // stacks; a blocker resets both ends of a live exchange.
      // After a reset already judged forged (and dropped inline) the
      // connection lives on, and one of its ends may reset it later with
      // its own numbers: only a reset in the same burst as the forged one
      // (kInjectorBurstMs, an injector hedging or hitting both ends) is
      // tied to it.
      const auto window_after = [&](int from, uint64_t limit_ns) {
        return h->side_forged[from] ? std::min<uint64_t>(limit_ns, kInjectorBurstMs * kNsPerMs)
                                    : limit_ns;
      };
      if (ms_within(now_ms, h->side_ms[1 - side],
                 window_after(1 - side, params.both_directions_ns)) &&
          !h->side_reply[1 - side] && !s.has(DirState::kFinSeen) &&
          !r.has(DirState::kFinSeen)) {
        ev.add(Evidence::both_directions);
      }
      if (ms_within(now_ms, h->side_ms[side], window_after(side, params.seq_change_ns)) &&
          h->side_seq[side] != rst.seq) {
        ev.add(Evidence::seq_change);
      }
      if (ms_within(now_ms, h->window_start_ms, params.sweep_window_ns) &&
          h->seq_changes + 2u >= params.sweep_resets && h->seq != rst.seq) {
        ev.add(Evidence::sweep);
      }
    }
    // After a long silence a NAT or load balancer that dropped the
    // connection resets it on the hosts' behalf (field guide 1, idle
    // timeout): another TTL, no timestamps, no ACK are its normal marks.
    const int32_t silence = seq_diff(now_ms, f->last_seen_ms);
    const bool idle_context =
        (silence > 0 && static_cast<uint64_t>(silence) * kNsPerMs >= params.idle_gap_ns) ||
        ms_within(now_ms, f->silence_end_ms, params.quick_close_ns);
    const bool middlebox_marks_expected =
        reply_style || idle_context || v.answers != Answer::none;
    // The TTL against what this direction carried. Beyond `ttl_gap` hops,
    // or above the initial TTL of the sender's stack family, no route
    // change explains it: strong. Not where another device's reset is
    // normal: after an idle gap, in a teardown (a load balancer's fast
    // close), or for a dead end's answer.
    if (!idle_context && s.packets > 0) {
      const int gap = ttl_distance(rst.ttl, s.ttl_min, s.ttl_max);
      const bool far = params.ttl_gap != 0 && gap > params.ttl_tolerance &&
                       (gap >= params.ttl_gap || ttl_above_family(rst.ttl, s.ttl_max));
      // A teardown: a FIN its receiver acknowledged (a spoofed FIN,
      // never acknowledged, does not switch the check off).
      const bool teardown =
          (s.has(DirState::kFinSeen) && r.has(DirState::kAckSeen) && seq_geq(r.max_ack, s.snd_nxt)) ||
          (r.has(DirState::kFinSeen) && s.has(DirState::kAckSeen) && seq_geq(s.max_ack, r.snd_nxt));
      if (far && !v.reply && !teardown && !(synchronized && socketless_answer(rst, s, r))) {
        ev.add(Evidence::ttl_gap);
      } else if (gap > params.ttl_tolerance) {
        ev.add(Evidence::ttl_mismatch);
      }
    }
    if (h != nullptr && !idle_context &&
        burst_from_two_stacks(rst, *h, s, side, now_ms, params.ttl_tolerance)) {
      ev.add(Evidence::burst);
    }
    // TSval 0 is what stacks without a timestamp clock for resets put there.
    if (rst.opt.has_timestamp && rst.opt.tsval != 0 && s.has(DirState::kTsSeen) &&
        seq_lt(rst.opt.tsval, s.ts_last)) {
      ev.add(Evidence::ts_stale);
    }
    if (rst.has(kAck) && r.has(DirState::kSeen) &&
        (seq_gt(rst.ack, r.snd_nxt) ||
         (s.has(DirState::kAckSeen) && seq_lt(rst.ack, s.max_ack) &&
          !f->has(FlowEntry::kGapSeen)))) {
      ev.add(Evidence::ack_mismatch);
    }
    if (synchronized && f->has(FlowEntry::kTsNegotiated) && !rst.opt.has_timestamp &&
        !middlebox_marks_expected) {
      ev.add(Evidence::ts_missing);
    }
    if (!middlebox_marks_expected && ipid_anomalous(s, rst)) ev.add(Evidence::ipid_anomaly);
    if (synchronized && !rst.has(kAck) && !middlebox_marks_expected) {
      ev.add(Evidence::rst_without_ack);
    }
  }

  // Step 5. Label, then cause.
  v.label = label_for(ev, f != nullptr && f->has(FlowEntry::kGapSeen), params);
  v.cause = classify(rst, ctx, v, params, now_ms);
  if (v.label == Label::forged) {
    // What it would have been, had it been real: the cause it imitates.
    v.imitated = v.cause == Cause::injected ? Cause::unknown : v.cause;
    v.cause = Cause::injected;
  }
  if (v.label == Label::forged) v.answers = Answer::none;  // marks beyond the number
  // An answer's cause is what it completes: the sender's own abort that
  // the peer challenged, or a connection already gone.
  if (v.label != Label::forged && v.answers == Answer::challenge_ack &&
      ctx.history->event.cause != Cause::unknown && ctx.history->event.cause != Cause::injected) {
    v.cause = ctx.history->event.cause;
  } else if (v.label != Label::forged && v.answers == Answer::segment) {
    v.cause = Cause::data_after_close;
  }
  // Step 6. Would the receiver accept it and abort (RFC 5961 3.2: only an
  // exact reset is acted on)? Forged or insertion resets never end tracking.
  v.accepted = v.validity == Validity::exact && !v.discarded && v.label != Label::forged;
  return v;
}

RaceCheck check_race(const PacketView& p, const RstHistory& h, int side, uint32_t now_ms,
                     const JudgeParams& params) {
  if (!h.race_open || h.side != side || p.has(kSyn)) return RaceCheck::kNotApplicable;
  if (!ms_within(now_ms, h.ms, params.race_window_ns)) return RaceCheck::kWindowClosed;
  if (p.payload_len == 0 && !p.has(kFin) && !seq_geq(p.seq, h.seq)) return RaceCheck::kQuiet;
  // Old sequence space with an IPv4 ID the sender's counter gave out
  // before the reset's: a copy of a segment sent before the reset,
  // delivered late (a duplicating tap, reordering), not a sign of life. A
  // live sender's retransmission takes a new ID; an injector that copied
  // the counter's next ID makes the sender's next segment repeat it.
  // The ID it is compared with is the sender's own last one before the
  // reset (RstHistory::copy_ipid, kept only for a sender whose IDs vary),
  // never the reset's, which an injector picks: the very same ID is a copy
  // of that segment.
  if (p.ip_version == 4 && h.copy_ipid != 0 && p.ip_id == h.copy_ipid &&
      seq_leq(p.seq + p.seq_len(), h.seq)) {
    return RaceCheck::kQuiet;
  }
  return RaceCheck::kRevealed;
}

}  // namespace rstguard

#include "core/track.h"

#include <algorithm>

#include "core/headers.h"
#include "core/parser.h"
#include "core/seq.h"

namespace rstguard {
namespace {

using wire::tcpflag::kAck;
using wire::tcpflag::kFin;
using wire::tcpflag::kSyn;

constexpr uint8_t kMaxWindowShift = 14;  // RFC 7323 2.3
// An IP ID step this small (mod 2^16) counts as "incrementing".
constexpr uint16_t kIpIdStep = 2048;
constexpr int kChecksumSamples = 4;  // first packets per side verified
constexpr int32_t kMinSynRtoMs = 200;

uint8_t sat_inc(uint8_t v) { return v == 255 ? v : static_cast<uint8_t>(v + 1); }

uint64_t make_flow_id(const FlowKey& key, uint64_t now_ns) {
  uint64_t h = hash_flow_key(key) ^ (now_ns * 0x9E3779B97F4A7C15ull);
  h ^= h >> 29;
  return h & kFlowIdMask;  // fits a JSON number exactly (< 2^53)
}

// Baselines a receiver-independent observer can learn from any segment.
void observe_sender(FlowEntry& f, int side, const PacketView& p) {
  DirState& s = f.dir[side];
  if (s.packets == 0) {
    s.ttl_min = s.ttl_max = p.ttl;
  } else {
    s.ttl_min = std::min(s.ttl_min, p.ttl);
    s.ttl_max = std::max(s.ttl_max, p.ttl);
    if (p.ip_version == 4) {
      // The same ID twice in a row is a copy (a tap that duplicates), a
      // constant, or Linux's 0: no vote either way (none is a counter).
      const uint16_t step = static_cast<uint16_t>(p.ip_id - s.ipid_last);
      if (step != 0 && step <= kIpIdStep) {
        if (s.ipid_increments() < 15) s.ipid_votes += 1;
      } else if (step != 0) {
        if (s.ipid_others() < 15) s.ipid_votes += 0x10;
      }
    }
  }
  s.ipid_last = p.ip_id;
  if (s.packets < kChecksumSamples && tcp_checksum(p) == Checksum::kBad) {
    s.set(DirState::kBadChecksum);
  }
  s.packets = sat_inc(s.packets);
  s.auth |= p.opt.auth;
  s.auth_all = s.packets == 1 ? p.opt.auth : (s.auth_all & p.opt.auth);
  if (p.opt.has_timestamp) {
    if (!s.has(DirState::kTsSeen) || seq_geq(p.opt.tsval, s.ts_last)) s.ts_last = p.opt.tsval;
    s.set(DirState::kTsSeen);
  }
  s.window = p.window;
  if (p.has(kSyn)) {
    f.syn_window |= static_cast<uint8_t>(1u << side);
  } else {
    f.syn_window &= static_cast<uint8_t>(~(1u << side));
  }
  if (p.has(kAck)) {
    if (!s.has(DirState::kAckSeen) || seq_gt(p.ack, s.max_ack)) s.max_ack = p.ack;
    s.set(DirState::kAckSeen);
  }
  s.set(DirState::kSeen);
}

// The handshake segment `p` (SYN or SYN/ACK) starts `s`'s sequence space.
void learn_syn(DirState& s, const PacketView& p) {
  s.isn = p.seq;
  s.snd_nxt = p.seq + p.seq_len();
  s.set(DirState::kSynSeen);
  if (p.opt.has_wscale) {
    s.set(DirState::kWsOffered);
    s.wscale = std::min(p.opt.wscale, kMaxWindowShift);
  }
}

void start_syn(FlowEntry& f, int side, const PacketView& p) {
  DirState& s = f.dir[side];
  s = DirState{};
  f.dir[1 - side] = DirState{};
  f.phase = Phase::kSynSent;
  f.flags = 0;
  f.fin_ms = 0;
  f.silence_end_ms = 0;
  f.syn_window = 0;
  f.last_payload_side = kNoSide;
  if (side == 1) f.set(FlowEntry::kOriginIsB);
  f.set(FlowEntry::kOriginKnown);
  f.syn_flags = p.tcp_flags;
  learn_syn(s, p);
}

}  // namespace

uint32_t advertised_window(const FlowEntry& f, int side) {
  const DirState& d = f.dir[side];
  if (f.syn_window & (1u << side)) return d.window;  // RFC 7323 2.2
  uint32_t shift = 0;
  if (f.has(FlowEntry::kWsNegotiated)) {
    shift = d.wscale;
  } else if (f.has(FlowEntry::kMidstream)) {
    shift = kMaxWindowShift;
  }
  return static_cast<uint32_t>(d.window) << shift;
}

void track_first(FlowEntry& f, int side, const PacketView& p, uint32_t now_ms,
                 uint64_t now_ns) {
  f.flow_id = make_flow_id(f.key, now_ns);
  f.last_seen_ms = now_ms;
  if (p.has(kSyn) && !p.has(kAck)) {
    start_syn(f, side, p);
    observe_sender(f, side, p);
    return;
  }
  // Mid-stream (or a SYN/ACK whose SYN we missed): learn what we can.
  f.phase = Phase::kEstablished;
  f.set(FlowEntry::kMidstream);
  DirState& s = f.dir[side];
  s.isn = p.seq;
  s.snd_nxt = p.seq + p.seq_len();
  if (p.has(kSyn)) {
    // A SYN/ACK: its sender is the responder.
    f.phase = Phase::kSynReceived;
    if (side == 0) f.set(FlowEntry::kOriginIsB);
    f.set(FlowEntry::kOriginKnown);
    s.set(DirState::kSynSeen);
  }
  if (!p.has(kSyn) && !p.has(kAck)) {
    // No connection sends this: a stealth scan's probe (FlowEntry::probe_start).
    f.syn_flags = p.tcp_flags;
    if (side == 1) f.set(FlowEntry::kOriginIsB);
    f.set(FlowEntry::kOriginKnown);
  }
  if (p.has(kFin)) {
    s.set(DirState::kFinSeen);
    f.phase = Phase::kHalfClosed;
    f.fin_ms = now_ms;
  }
  if (p.payload_len) {
    s.set(DirState::kDataSent);
    f.last_payload_side = static_cast<uint8_t>(side);
  }
  observe_sender(f, side, p);
}

TrackNote track_segment(FlowEntry& f, int side, const PacketView& p, uint32_t now_ms,
                        uint64_t now_ns, const JudgeParams& params) {
  TrackNote note;
  DirState& s = f.dir[side];
  DirState& r = f.dir[1 - side];

  // Idle gap: a packet that ends a long silence is remembered, since a
  // middlebox that lost the connection answers it with a reset.
  const int32_t idle = seq_diff(now_ms, f.last_seen_ms);
  if (idle > 0 && static_cast<uint64_t>(idle) * kNsPerMs >= params.idle_gap_ns) {
    f.silence_end_ms = now_ms | 1;
  }
  if (idle > 0) f.last_seen_ms = now_ms;

  if (p.has(kSyn) && !p.has(kAck)) {
    // A SYN on a known tuple. In TIME-WAIT or after a close, a SYN whose
    // sequence number moves past the old connection starts a new one
    // (RFC 9293 3.10.7.4 / RFC 6191); one below it is a conflict the
    // server answers with a reset (or an ACK).
    const bool old_done = f.phase == Phase::kTimeWait || f.phase == Phase::kClosed ||
                          f.phase == Phase::kClosing;
    if (s.has(DirState::kSynSeen) && p.seq == s.isn && f.phase <= Phase::kSynReceived) {
      note.retransmit = true;  // SYN retransmission, or a copy of it
      // Only a resend after a retransmission timeout counts (the SYN RTO
      // is 1 s on Linux, Windows and macOS; no stack goes under 200 ms): a
      // SPAN port that sees the SYN twice makes copies microseconds apart.
      if (idle >= kMinSynRtoMs) s.retransmits = sat_inc(s.retransmits);
      observe_sender(f, side, p);
      return note;
    }
    if ((f.phase == Phase::kEstablished || f.phase == Phase::kHalfClosed) && !f.probe_start()) {
      // A SYN inside a live connection is answered with a challenge ACK
      // and changes nothing (RFC 5961 4.2): restarting tracking here would
      // let a forged SYN launder the forged reset that follows it.
      note.syn_in_connection = true;
      return note;
    }
    const bool conflict = old_done && s.has(DirState::kSeen) && !seq_gt(p.seq, s.snd_nxt);
    const uint64_t id = f.flow_id;
    start_syn(f, side, p);
    if (conflict) f.set(FlowEntry::kTimeWaitConflict);
    f.flow_id = id ^ (now_ns * 0xC2B2AE3D27D4EB4Full & kFlowIdMask);
    observe_sender(f, side, p);
    note.reused = true;
    return note;
  }

  if (p.has(kSyn)) {
    // SYN/ACK from the responder.
    if (!s.has(DirState::kSynSeen) || p.seq != s.isn) {
      learn_syn(s, p);
      if (r.has(DirState::kWsOffered) && s.has(DirState::kWsOffered)) {
        f.set(FlowEntry::kWsNegotiated);
        f.clear(FlowEntry::kMidstream);
      }
      if (r.has(DirState::kTsSeen) && p.opt.has_timestamp) f.set(FlowEntry::kTsNegotiated);
      if (f.phase == Phase::kSynSent) f.phase = Phase::kSynReceived;
    } else {
      note.retransmit = true;
      s.retransmits = sat_inc(s.retransmits);
    }
    observe_sender(f, side, p);
    return note;
  }

  const uint32_t seq_end = p.seq + p.seq_len();
  if (!s.has(DirState::kSeen)) {
    // First packet of this direction on a mid-stream flow.
    s.isn = p.seq;
    s.snd_nxt = seq_end;
  } else {
    const uint32_t len = p.seq_len();
    if (len > 0 && seq_leq(seq_end, s.snd_nxt)) {
      // Keepalive probe: one byte (or none) just below SND.NXT (RFC 9293 3.8.4).
      if (p.payload_len <= 1 && !p.has(kFin) && p.seq + 1 == s.snd_nxt) {
        s.keepalives = sat_inc(s.keepalives);
      } else {
        note.retransmit = true;
        if (seq_end == s.snd_nxt) s.retransmits = sat_inc(s.retransmits);
      }
    } else if (len == 0 && p.seq + 1 == s.snd_nxt && !p.has(kFin) &&
               f.phase >= Phase::kEstablished) {
      s.keepalives = sat_inc(s.keepalives);  // zero-length keepalive probe
    }
    if (seq_gt(p.seq, s.snd_nxt)) {
      note.gap = true;
      f.set(FlowEntry::kGapSeen);
    }
    if (seq_gt(seq_end, s.snd_nxt)) {
      s.snd_nxt = seq_end;
      s.retransmits = 0;
      s.keepalives = 0;
    }
  }
  // Any segment from this side answers the other side's probes.
  r.keepalives = 0;
  if (p.payload_len) {
    s.set(DirState::kDataSent);
    f.last_payload_side = static_cast<uint8_t>(side);
  }
  if (p.opt.has_timestamp && r.has(DirState::kTsSeen) && f.has(FlowEntry::kMidstream)) {
    f.set(FlowEntry::kTsNegotiated);
  }
  observe_sender(f, side, p);

  // Phase transitions.
  if (f.phase == Phase::kSynReceived && side == f.origin_side() && p.has(kAck) &&
      p.ack == r.snd_nxt) {
    f.phase = Phase::kEstablished;
    f.clear(FlowEntry::kTimeWaitConflict);  // the server took the reused tuple
  } else if (f.phase == Phase::kSynSent || f.phase == Phase::kSynReceived) {
    // Traffic beyond the handshake that we did not see complete.
    if (p.payload_len) f.phase = Phase::kEstablished;
  }
  if (p.has(kFin)) {
    if (!s.has(DirState::kFinSeen) && f.fin_ms == 0) f.fin_ms = now_ms | 1;
    s.set(DirState::kFinSeen);
  }
  if (f.phase >= Phase::kEstablished && f.phase <= Phase::kTimeWait) {
    const bool fin_s = s.has(DirState::kFinSeen), fin_r = r.has(DirState::kFinSeen);
    if (fin_s && fin_r) {
      const bool acked_s = r.has(DirState::kAckSeen) && seq_geq(r.max_ack, s.snd_nxt);
      const bool acked_r = s.has(DirState::kAckSeen) && seq_geq(s.max_ack, r.snd_nxt);
      f.phase = (acked_s && acked_r) ? Phase::kTimeWait : Phase::kClosing;
    } else if (fin_s || fin_r) {
      f.phase = Phase::kHalfClosed;
    }
  }
  return note;
}

}  // namespace rstguard

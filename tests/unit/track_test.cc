// TCP tracking tests: segments built as real frames (packet builder, then
// the parser) and fed through track_first/track_segment, checking the
// per-direction state: handshake, window scaling and timestamps
// negotiation, FIN phases, retransmissions and keepalives, sequence wrap,
// mid-stream pick-up, TTL and IP ID baselines, and SYNs on old tuples.
#include "core/track.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <initializer_list>
#include <ostream>
#include <string>
#include <vector>

#include "core/flow.h"
#include "core/headers.h"
#include "builder/packet_builder.h"
#include "core/parser.h"
#include "core/policy.h"

namespace rstguard {

// Readable failure messages (found by ADL).
static void PrintTo(Phase p, std::ostream* os) { *os << phase_name(p); }

namespace {

using wire::tcpflag::kAck;
using wire::tcpflag::kFin;
using wire::tcpflag::kPsh;
using wire::tcpflag::kRst;
using wire::tcpflag::kSyn;

enum End { kClient = 0, kServer = 1 };

constexpr uint32_t kT0 = 7'000'001;  // ms

// A frame built from a spec and parsed; the view points into the frame.
class Seg {
 public:
  explicit Seg(const SegmentSpec& s) : bytes_(build_frame(s)) {
    const auto len = static_cast<uint32_t>(bytes_.size());
    result_ = parse_frame(bytes_.data(), len, len, view_);
  }
  Seg(const Seg&) = delete;
  Seg& operator=(const Seg&) = delete;
  const PacketView& view() const { return view_; }
  ParseResult result() const { return result_; }

 private:
  std::vector<uint8_t> bytes_;
  PacketView view_;
  ParseResult result_;
};

struct ConnSetup {
  uint32_t client_isn = 1'000'000;
  uint32_t server_isn = 3'000'000'000u;
  int client_wscale = 7;  // -1: option absent
  int server_wscale = 9;
  bool client_ts = true;
  bool server_ts = true;
  bool ipv6 = false;
};

// Plays both ends of one connection and tracks every segment it makes.
// The client is 10.0.0.9, above the server's 10.0.0.2, so it is side 1 of
// the key and an originating client sets kOriginIsB.
class Tracked {
 public:
  explicit Tracked(const ConnSetup& setup = ConnSetup()) : setup_(setup) {
    nxt_[kClient] = setup.client_isn;
    nxt_[kServer] = setup.server_isn;
    Seg probe(make(kClient, kAck));
    make_flow_key(probe.view(), client_side_);
  }

  // A segment from `from` carrying the connection's current numbers.
  SegmentSpec make(End from, uint8_t flags, size_t len = 0) const {
    SegmentSpec s;
    const bool v6 = setup_.ipv6;
    const IpAddr client = ip(v6 ? "2001:db8::9" : "10.0.0.9");
    const IpAddr server = ip(v6 ? "2001:db8::2" : "10.0.0.2");
    s.src = from == kClient ? client : server;
    s.dst = from == kClient ? server : client;
    s.src_port = from == kClient ? 40000 : 443;
    s.dst_port = from == kClient ? 443 : 40000;
    s.seq = nxt_[from];
    s.ack = (flags & kAck) ? nxt_[1 - from] : 0;
    s.flags = flags;
    s.ttl = from == kClient ? 64 : 57;
    s.ip_id = ip_id_[from];
    s.window = (flags & kSyn) ? 64240 : 1000;
    const int ws = from == kClient ? setup_.client_wscale : setup_.server_wscale;
    if ((flags & kSyn) && ws >= 0) {
      s.opt.has_wscale = true;
      s.opt.wscale = static_cast<uint8_t>(ws);
    }
    if (from == kClient ? setup_.client_ts : setup_.server_ts) {
      s.opt.has_timestamp = true;
      s.opt.tsval = now_ms + (from == kClient ? 100 : 200);
    }
    s.payload.assign(len, 'x');
    return s;
  }

  // Tracks `s` as the next segment of the flow.
  TrackNote feed(const SegmentSpec& s) {
    Seg seg(s);
    EXPECT_EQ(seg.result(), ParseResult::ok);
    int side = 0;
    const FlowKey key = make_flow_key(seg.view(), side);
    const End from = side == client_side_ ? kClient : kServer;
    ip_id_[from] = static_cast<uint16_t>(s.ip_id + 1);
    if (!started_) {
      started_ = true;
      f = FlowEntry();
      f.key = key;
      track_first(f, side, seg.view(), now_ms, uint64_t{now_ms} * kNsPerMs);
      return TrackNote{};
    }
    EXPECT_TRUE(key == f.key);
    return track_segment(f, side, seg.view(), now_ms, uint64_t{now_ms} * kNsPerMs, params);
  }

  // Makes, tracks and advances that side's sequence number.
  TrackNote send(End from, uint8_t flags, size_t len = 0) {
    const TrackNote n = feed(make(from, flags, len));
    nxt_[from] += static_cast<uint32_t>(len) + ((flags & kSyn) ? 1 : 0) + ((flags & kFin) ? 1 : 0);
    return n;
  }

  void handshake() {
    send(kClient, kSyn);
    send(kServer, kSyn | kAck);
    send(kClient, kAck);
  }
  void establish() {
    handshake();
    send(kClient, kPsh | kAck, 100);
    send(kServer, kPsh | kAck, 1000);
    send(kClient, kAck);
  }

  int side(End e) const { return e == kClient ? client_side_ : 1 - client_side_; }
  DirState& dir(End e) { return f.dir[side(e)]; }
  uint32_t window(End e) const { return advertised_window(f, side(e)); }
  uint32_t nxt(End e) const { return nxt_[e]; }
  void set_nxt(End e, uint32_t v) { nxt_[e] = v; }

  FlowEntry f;
  JudgeParams params;
  uint32_t now_ms = kT0;

 private:
  ConnSetup setup_;
  uint32_t nxt_[2];
  uint16_t ip_id_[2] = {0x1200, 0x5400};
  int client_side_ = 0;
  bool started_ = false;
};

// ---- Handshake ----------------------------------------------------------------

TEST(TrackHandshake, SetsIsnSndNxtAndPhases) {
  ConnSetup setup;
  setup.client_isn = 0xFFFFFFFFu;  // SYN's sequence space wraps to 0
  setup.server_isn = 0x7FFFFFFFu;
  Tracked t(setup);
  ASSERT_EQ(t.side(kClient), 1);

  t.send(kClient, kSyn);
  EXPECT_EQ(Phase{t.f.phase}, Phase::kSynSent);
  EXPECT_TRUE(t.f.has(FlowEntry::kOriginKnown));
  EXPECT_TRUE(t.f.has(FlowEntry::kOriginIsB));
  EXPECT_EQ(t.f.origin_side(), t.side(kClient));
  EXPECT_FALSE(t.f.has(FlowEntry::kMidstream));
  EXPECT_NE(t.f.flow_id, 0u);
  EXPECT_EQ(t.f.last_seen_ms, kT0);
  EXPECT_EQ(t.dir(kClient).isn, 0xFFFFFFFFu);
  EXPECT_EQ(t.dir(kClient).snd_nxt, 0u);
  EXPECT_TRUE(t.dir(kClient).has(DirState::kSynSeen));
  EXPECT_TRUE(t.dir(kClient).has(DirState::kSeen));
  EXPECT_FALSE(t.dir(kClient).has(DirState::kAckSeen));
  EXPECT_TRUE(t.dir(kClient).has(DirState::kWsOffered));
  EXPECT_EQ(t.dir(kClient).wscale, 7);
  EXPECT_EQ(t.dir(kClient).packets, 1);
  EXPECT_EQ(t.dir(kServer).flags, 0);
  EXPECT_FALSE(t.f.has(FlowEntry::kWsNegotiated));

  t.now_ms += 20;
  t.send(kServer, kSyn | kAck);
  EXPECT_EQ(Phase{t.f.phase}, Phase::kSynReceived);
  EXPECT_EQ(t.dir(kServer).isn, 0x7FFFFFFFu);
  EXPECT_EQ(t.dir(kServer).snd_nxt, 0x80000000u);
  EXPECT_TRUE(t.dir(kServer).has(DirState::kAckSeen));
  EXPECT_EQ(t.dir(kServer).max_ack, 0u);
  EXPECT_TRUE(t.f.has(FlowEntry::kWsNegotiated));
  EXPECT_TRUE(t.f.has(FlowEntry::kTsNegotiated));
  EXPECT_EQ(t.f.last_seen_ms, kT0 + 20);

  t.now_ms += 20;
  t.send(kClient, kAck);
  EXPECT_EQ(Phase{t.f.phase}, Phase::kEstablished);
  EXPECT_EQ(t.dir(kClient).max_ack, 0x80000000u);
  EXPECT_EQ(t.dir(kClient).snd_nxt, 0u);

  t.send(kClient, kPsh | kAck, 100);
  EXPECT_EQ(t.dir(kClient).snd_nxt, 100u);
  EXPECT_TRUE(t.dir(kClient).has(DirState::kDataSent));
  EXPECT_FALSE(t.dir(kServer).has(DirState::kDataSent));
  EXPECT_EQ(int{t.f.last_payload_side}, t.side(kClient));
  t.send(kServer, kAck);
  EXPECT_EQ(t.dir(kServer).max_ack, 100u);
  EXPECT_EQ(int{t.f.last_payload_side}, t.side(kClient));
  EXPECT_EQ(Phase{t.f.phase}, Phase::kEstablished);
}

TEST(TrackHandshake, AckThatDoesNotAcknowledgeTheSynAckKeepsSynReceived) {
  Tracked t;
  t.send(kClient, kSyn);
  t.send(kServer, kSyn | kAck);
  SegmentSpec bad_ack = t.make(kClient, kAck);
  bad_ack.ack += 5;
  t.feed(bad_ack);
  EXPECT_EQ(Phase{t.f.phase}, Phase::kSynReceived);
  t.send(kClient, kAck);
  EXPECT_EQ(Phase{t.f.phase}, Phase::kEstablished);
}

TEST(TrackHandshake, DataBeyondAnUnseenHandshakeEstablishes) {
  Tracked t;
  t.send(kClient, kSyn);
  t.send(kServer, kSyn | kAck);
  // The handshake's ACK was missed; the client's data shows it happened.
  SegmentSpec data = t.make(kClient, kPsh | kAck, 50);
  data.ack = t.nxt(kServer) + 7;  // not the exact acknowledgement of the SYN/ACK
  t.feed(data);
  EXPECT_EQ(Phase{t.f.phase}, Phase::kEstablished);
}

// Event consumers read flow_id as a JSON number: exact only below 2^53
// (track.cc make_flow_id: "fits a JSON number exactly (< 2^53)"), for a new
// connection and for one that re-used its tuple.
TEST(TrackFlowId, FitsAJsonNumberExactly) {
  int above = 0;
  for (uint32_t i = 0; i < 200; ++i) {
    Tracked t;
    t.now_ms = kT0 + i * 7919;
    t.handshake();
    above += t.f.flow_id >= (1ull << 53);
    t.send(kClient, kFin | kAck);
    t.send(kServer, kFin | kAck);
    t.send(kClient, kAck);
    t.set_nxt(kClient, t.nxt(kClient) + 100'000);
    t.send(kClient, kSyn);  // a new connection on the tuple
    above += t.f.flow_id >= (1ull << 53);
  }
  EXPECT_EQ(above, 0);
}

TEST(TrackFlowId, StableForAConnectionAndDistinctAcrossConnections) {
  Tracked a;
  a.handshake();
  const uint64_t id = a.f.flow_id;
  a.send(kClient, kPsh | kAck, 10);
  a.send(kServer, kFin | kAck);
  EXPECT_EQ(a.f.flow_id, id);
  Tracked b;
  b.now_ms = kT0 + 1;  // same tuple, another start time
  b.handshake();
  EXPECT_NE(b.f.flow_id, id);
}

// ---- Window scaling -----------------------------------------------------------------

struct WindowRow {
  const char* name;
  int client_wscale;  // -1: not offered
  int server_wscale;
  bool negotiated;
  int client_shift;  // applied to the client's advertised window
  int server_shift;
};

void PrintTo(const WindowRow& r, std::ostream* os) { *os << r.name; }

class TrackWindow : public ::testing::TestWithParam<WindowRow> {};

TEST_P(TrackWindow, ScaledOnlyWhenBothSynsOfferIt) {
  const WindowRow row = GetParam();
  ConnSetup setup;
  setup.client_wscale = row.client_wscale;
  setup.server_wscale = row.server_wscale;
  Tracked t(setup);
  t.handshake();
  t.send(kServer, kAck);  // every window below is 1000, unscaled
  EXPECT_EQ(t.f.has(FlowEntry::kWsNegotiated), row.negotiated);
  EXPECT_EQ(t.dir(kClient).window, 1000);
  EXPECT_EQ(t.window(kClient), 1000u << row.client_shift);
  EXPECT_EQ(t.window(kServer), 1000u << row.server_shift);
  EXPECT_EQ(t.dir(kClient).has(DirState::kWsOffered), row.client_wscale >= 0);
  EXPECT_EQ(t.dir(kServer).has(DirState::kWsOffered), row.server_wscale >= 0);
}

INSTANTIATE_TEST_SUITE_P(TrackRows, TrackWindow,
                         ::testing::Values(WindowRow{"both", 7, 9, true, 7, 9},
                                           WindowRow{"client_only", 7, -1, false, 0, 0},
                                           WindowRow{"server_only", -1, 9, false, 0, 0},
                                           WindowRow{"neither", -1, -1, false, 0, 0},
                                           WindowRow{"zero_shift", 0, 0, true, 0, 0},
                                           WindowRow{"clamped_to_14", 15, 200, true, 14, 14},
                                           WindowRow{"asymmetric", 2, 14, true, 2, 14}),
                         [](const ::testing::TestParamInfo<WindowRow>& info) {
                           return std::string(info.param.name);
                         });

// RFC 7323 2.2: "The window field in a SYN (i.e., a <SYN> or <SYN,ACK>)
// segment itself is never scaled." Until a side sends a segment after its
// SYN, its advertised window is the SYN's, in bytes as it stands.
TEST(TrackWindowSyn, SynWindowIsNeverScaled) {
  Tracked t;  // client offers 7, server 9; SYN windows are 64240
  t.send(kClient, kSyn);
  t.send(kServer, kSyn | kAck);
  ASSERT_TRUE(t.f.has(FlowEntry::kWsNegotiated));
  EXPECT_EQ(t.window(kServer), 64240u);
  EXPECT_EQ(t.window(kClient), 64240u);
  t.send(kClient, kAck);
  EXPECT_EQ(t.window(kClient), 1000u << 7);
  EXPECT_EQ(t.window(kServer), 64240u);
}

// ---- Timestamps ----------------------------------------------------------------------

TEST(TrackTimestamps, NegotiatedOnlyWhenBothSynsCarryThem) {
  for (bool client_ts : {false, true}) {
    for (bool server_ts : {false, true}) {
      SCOPED_TRACE(std::to_string(client_ts) + std::to_string(server_ts));
      ConnSetup setup;
      setup.client_ts = client_ts;
      setup.server_ts = server_ts;
      Tracked t(setup);
      t.establish();
      EXPECT_EQ(t.f.has(FlowEntry::kTsNegotiated), client_ts && server_ts);
      EXPECT_EQ(t.dir(kClient).has(DirState::kTsSeen), client_ts);
      EXPECT_EQ(t.dir(kServer).has(DirState::kTsSeen), server_ts);
    }
  }
}

TEST(TrackTimestamps, NewestTsvalIsKeptAcrossWrap) {
  Tracked t;
  t.now_ms = 0xFFFFFE00u;  // TSvals follow the clock: just below 2^32
  t.establish();
  EXPECT_EQ(t.dir(kServer).ts_last, 0xFFFFFEC8u);
  SegmentSpec s = t.make(kServer, kAck);
  s.opt.tsval = 0xFFFFFFF0u;
  t.feed(s);
  EXPECT_EQ(t.dir(kServer).ts_last, 0xFFFFFFF0u);
  s.opt.tsval = 0x10;  // newer, past the wrap
  t.feed(s);
  EXPECT_EQ(t.dir(kServer).ts_last, 0x10u);
  s.opt.tsval = 0xFFFFFFF8u;  // reordered older segment
  t.feed(s);
  EXPECT_EQ(t.dir(kServer).ts_last, 0x10u);
}

// ---- FIN phases -----------------------------------------------------------------------

TEST(TrackFin, ActiveCloseGoesHalfClosedClosingTimeWait) {
  Tracked t;
  t.establish();
  t.now_ms += 10;
  const uint32_t client_fin_seq = t.nxt(kClient);
  t.send(kClient, kFin | kAck);
  EXPECT_EQ(Phase{t.f.phase}, Phase::kHalfClosed);
  EXPECT_TRUE(t.dir(kClient).has(DirState::kFinSeen));
  EXPECT_EQ(t.dir(kClient).snd_nxt, client_fin_seq + 1);
  EXPECT_EQ(t.f.fin_ms, (kT0 + 10) | 1);
  t.now_ms += 5;
  t.send(kServer, kAck);  // acknowledges the FIN, still sending
  EXPECT_EQ(Phase{t.f.phase}, Phase::kHalfClosed);
  t.send(kServer, kPsh | kAck, 300);
  EXPECT_EQ(Phase{t.f.phase}, Phase::kHalfClosed);
  t.send(kServer, kFin | kAck);
  EXPECT_EQ(Phase{t.f.phase}, Phase::kClosing);
  EXPECT_EQ(t.f.fin_ms, (kT0 + 10) | 1);  // the first FIN's time
  t.send(kClient, kAck);
  EXPECT_EQ(Phase{t.f.phase}, Phase::kTimeWait);
}

TEST(TrackFin, SimultaneousClose) {
  Tracked t;
  t.establish();
  const SegmentSpec server_fin = t.make(kServer, kFin | kAck);  // crosses: no ACK of the FIN
  t.send(kClient, kFin | kAck);
  t.feed(server_fin);
  t.set_nxt(kServer, server_fin.seq + 1);
  EXPECT_EQ(Phase{t.f.phase}, Phase::kClosing);
  t.send(kClient, kAck);  // acknowledges the server's FIN
  EXPECT_EQ(Phase{t.f.phase}, Phase::kClosing);
  t.send(kServer, kAck);  // and the server the client's
  EXPECT_EQ(Phase{t.f.phase}, Phase::kTimeWait);
}

TEST(TrackFin, FinAsFirstPacketIsAHalfClosedPickUp) {
  Tracked t;
  t.now_ms = 1234;
  t.send(kServer, kFin | kAck);
  EXPECT_EQ(Phase{t.f.phase}, Phase::kHalfClosed);
  EXPECT_TRUE(t.f.has(FlowEntry::kMidstream));
  EXPECT_TRUE(t.dir(kServer).has(DirState::kFinSeen));
  EXPECT_NE(t.f.fin_ms, 0u);
}

// ---- Retransmissions and keepalives --------------------------------------------------------

TEST(TrackRetransmit, SameSegmentAgainCountsNewDataResets) {
  Tracked t;
  t.establish();
  const SegmentSpec lost = t.make(kServer, kPsh | kAck, 800);
  EXPECT_FALSE(t.send(kServer, kPsh | kAck, 800).retransmit);
  const uint32_t nxt = t.dir(kServer).snd_nxt;
  for (int i = 1; i <= 3; ++i) {
    t.now_ms += 200 << i;
    const TrackNote n = t.feed(lost);
    EXPECT_TRUE(n.retransmit);
    EXPECT_FALSE(n.gap);
    EXPECT_EQ(t.dir(kServer).retransmits, i);
    EXPECT_EQ(t.dir(kServer).snd_nxt, nxt);
  }
  EXPECT_EQ(t.dir(kServer).keepalives, 0);
  EXPECT_EQ(t.dir(kClient).retransmits, 0);
  t.send(kServer, kPsh | kAck, 100);
  EXPECT_EQ(t.dir(kServer).retransmits, 0);
  // An older segment (not the highest) is a retransmission but does not
  // count toward "the last segment retransmitted N times".
  const TrackNote n = t.feed(lost);
  EXPECT_TRUE(n.retransmit);
  EXPECT_EQ(t.dir(kServer).retransmits, 0);
  EXPECT_EQ(Phase{t.f.phase}, Phase::kEstablished);
}

TEST(TrackRetransmit, SynAndSynAckRetransmissions) {
  Tracked t;
  const SegmentSpec syn = t.make(kClient, kSyn);
  t.send(kClient, kSyn);
  t.now_ms += 1000;
  const uint64_t id = t.f.flow_id;
  TrackNote n = t.feed(syn);
  EXPECT_TRUE(n.retransmit);
  EXPECT_FALSE(n.reused);
  EXPECT_EQ(t.f.flow_id, id);
  EXPECT_EQ(Phase{t.f.phase}, Phase::kSynSent);
  EXPECT_EQ(t.dir(kClient).retransmits, 1);
  EXPECT_EQ(t.dir(kClient).packets, 2);
  const SegmentSpec syn_ack = t.make(kServer, kSyn | kAck);
  t.send(kServer, kSyn | kAck);
  n = t.feed(syn_ack);
  EXPECT_TRUE(n.retransmit);
  EXPECT_EQ(t.dir(kServer).retransmits, 1);
  EXPECT_EQ(Phase{t.f.phase}, Phase::kSynReceived);
  t.send(kClient, kAck);
  EXPECT_EQ(Phase{t.f.phase}, Phase::kEstablished);
}

// A SPAN port that sees the SYN on two mirrored links: copies microseconds
// apart are not a retransmission (connect_timeout rests on one).
TEST(TrackRetransmit, ASynCopyWithoutATimeoutDoesNotCount) {
  Tracked t;
  const SegmentSpec syn = t.make(kClient, kSyn);
  t.send(kClient, kSyn);
  EXPECT_TRUE(t.feed(syn).retransmit);  // a copy, 0 ms later
  EXPECT_EQ(t.dir(kClient).retransmits, 0);
  t.now_ms += 199;
  t.feed(syn);
  EXPECT_EQ(t.dir(kClient).retransmits, 0);
  t.now_ms += 200;
  t.feed(syn);
  EXPECT_EQ(t.dir(kClient).retransmits, 1);  // after a retransmission timeout
}

TEST(TrackKeepalive, ProbesCountUntilThePeerAnswers) {
  Tracked t;
  t.establish();
  SegmentSpec probe = t.make(kClient, kAck);
  probe.seq = t.nxt(kClient) - 1;  // Linux: one below SND.NXT, no data
  for (int i = 1; i <= 2; ++i) {
    t.now_ms += 75'000;
    const TrackNote n = t.feed(probe);
    EXPECT_FALSE(n.retransmit);
    EXPECT_EQ(t.dir(kClient).keepalives, i);
  }
  SegmentSpec one_byte = probe;  // the BSD style: one garbage byte
  one_byte.payload = {0};
  const TrackNote n = t.feed(one_byte);
  EXPECT_FALSE(n.retransmit);
  EXPECT_EQ(t.dir(kClient).keepalives, 3);
  EXPECT_EQ(t.dir(kClient).retransmits, 0);
  EXPECT_EQ(t.dir(kClient).snd_nxt, t.nxt(kClient));
  t.send(kServer, kAck);  // answered
  EXPECT_EQ(t.dir(kClient).keepalives, 0);
  t.feed(probe);
  EXPECT_EQ(t.dir(kClient).keepalives, 1);
  t.send(kClient, kPsh | kAck, 10);  // new data from the prober
  EXPECT_EQ(t.dir(kClient).keepalives, 0);
  for (int i = 0; i < 300; ++i) {
    probe.seq = t.nxt(kClient) - 1;
    t.feed(probe);
  }
  EXPECT_EQ(t.dir(kClient).keepalives, 255);  // saturates
  EXPECT_EQ(t.dir(kClient).packets, 255);
}

TEST(TrackKeepalive, NotCountedBeforeTheHandshakeCompletes) {
  Tracked t;
  t.send(kClient, kSyn);
  t.send(kServer, kSyn | kAck);
  SegmentSpec odd = t.make(kClient, kAck);
  odd.seq = t.nxt(kClient) - 1;
  odd.ack += 3;  // does not complete the handshake
  t.feed(odd);
  EXPECT_EQ(Phase{t.f.phase}, Phase::kSynReceived);
  EXPECT_EQ(t.dir(kClient).keepalives, 0);
}

// ---- Sequence wrap and gaps ----------------------------------------------------------------

TEST(TrackSequence, DataAcrossTwoToThe32) {
  ConnSetup setup;
  setup.server_isn = 0xFFFFFF00u;
  Tracked t(setup);
  t.handshake();
  const SegmentSpec first = t.make(kServer, kPsh | kAck, 0x80);
  TrackNote n = t.send(kServer, kPsh | kAck, 0x80);
  EXPECT_FALSE(n.gap || n.retransmit);
  const SegmentSpec crossing = t.make(kServer, kPsh | kAck, 0x100);
  n = t.send(kServer, kPsh | kAck, 0x100);
  EXPECT_FALSE(n.gap || n.retransmit);
  EXPECT_EQ(t.dir(kServer).snd_nxt, 0x81u);  // 0xFFFFFF01 + 0x180
  EXPECT_EQ(t.dir(kServer).isn, 0xFFFFFF00u);
  n = t.feed(crossing);
  EXPECT_TRUE(n.retransmit);
  EXPECT_EQ(t.dir(kServer).retransmits, 1);
  n = t.feed(first);
  EXPECT_TRUE(n.retransmit);
  EXPECT_EQ(t.dir(kServer).snd_nxt, 0x81u);
  t.send(kClient, kAck);
  EXPECT_EQ(t.dir(kClient).max_ack, 0x81u);
  SegmentSpec old_ack = t.make(kClient, kAck);
  old_ack.ack = 0xFFFFFF81u;  // before the wrap: older
  t.feed(old_ack);
  EXPECT_EQ(t.dir(kClient).max_ack, 0x81u);
  EXPECT_FALSE(t.f.has(FlowEntry::kGapSeen));
}

TEST(TrackSequence, GapIsNotedAndSkipped) {
  Tracked t;
  t.establish();
  SegmentSpec ahead = t.make(kServer, kPsh | kAck, 100);
  ahead.seq += 1460;  // the tap missed a segment
  const TrackNote n = t.feed(ahead);
  EXPECT_TRUE(n.gap);
  EXPECT_FALSE(n.retransmit);
  EXPECT_TRUE(t.f.has(FlowEntry::kGapSeen));
  EXPECT_EQ(t.dir(kServer).snd_nxt, ahead.seq + 100);
}

// ---- Mid-stream pick-up ----------------------------------------------------------------------

TEST(TrackMidstream, LearnsEachDirectionFromItsFirstSegment) {
  Tracked t;
  SegmentSpec first = t.make(kClient, kPsh | kAck, 100);
  first.seq = 5000;
  first.ack = 0xFFFFFFF0u;
  first.window = 300;
  t.feed(first);
  EXPECT_EQ(Phase{t.f.phase}, Phase::kEstablished);
  EXPECT_TRUE(t.f.has(FlowEntry::kMidstream));
  EXPECT_FALSE(t.f.has(FlowEntry::kOriginKnown));
  EXPECT_EQ(t.dir(kClient).isn, 5000u);
  EXPECT_EQ(t.dir(kClient).snd_nxt, 5100u);
  EXPECT_EQ(t.dir(kClient).max_ack, 0xFFFFFFF0u);
  EXPECT_TRUE(t.dir(kClient).has(DirState::kDataSent));
  EXPECT_FALSE(t.dir(kServer).has(DirState::kSeen));
  // Scale unknown: the largest it could be, so nothing is out of window on a guess.
  EXPECT_EQ(t.window(kClient), 300u << 14);
  EXPECT_EQ(t.window(kServer), 0u);
  EXPECT_FALSE(t.f.has(FlowEntry::kTsNegotiated));

  SegmentSpec reply = t.make(kServer, kPsh | kAck, 200);
  reply.seq = 0xFFFFFFF0u;
  reply.ack = 5100;
  const TrackNote n = t.feed(reply);
  EXPECT_FALSE(n.gap || n.retransmit);
  EXPECT_EQ(t.dir(kServer).isn, 0xFFFFFFF0u);
  EXPECT_EQ(t.dir(kServer).snd_nxt, 0xB8u);
  EXPECT_EQ(t.window(kServer), 1000u << 14);
  EXPECT_TRUE(t.f.has(FlowEntry::kTsNegotiated));  // both sides carry timestamps
  EXPECT_EQ(Phase{t.f.phase}, Phase::kEstablished);
  EXPECT_FALSE(t.f.has(FlowEntry::kWsNegotiated));
}

TEST(TrackMidstream, TimestampsFromOneSideOnlyAreNotNegotiated) {
  ConnSetup setup;
  setup.server_ts = false;
  Tracked t(setup);
  t.send(kClient, kPsh | kAck, 10);
  t.send(kServer, kPsh | kAck, 10);
  t.send(kClient, kAck);
  EXPECT_FALSE(t.f.has(FlowEntry::kTsNegotiated));
}

TEST(TrackMidstream, SynAckWithoutItsSynNamesTheClient) {
  Tracked t;
  t.set_nxt(kClient, t.nxt(kClient) + 1);  // the SYN we did not see
  t.send(kServer, kSyn | kAck);
  EXPECT_EQ(Phase{t.f.phase}, Phase::kSynReceived);
  EXPECT_TRUE(t.f.has(FlowEntry::kMidstream));
  EXPECT_TRUE(t.f.has(FlowEntry::kOriginKnown));
  EXPECT_EQ(t.f.origin_side(), t.side(kClient));
  EXPECT_TRUE(t.dir(kServer).has(DirState::kSynSeen));
  t.send(kClient, kAck);
  EXPECT_EQ(Phase{t.f.phase}, Phase::kEstablished);
  EXPECT_EQ(t.window(kClient), 1000u << 14);  // scale still unknown
}

// ---- Baselines: TTL, IP ID, checksums -----------------------------------------------------------

TEST(TrackBaseline, TtlMinAndMax) {
  Tracked t;
  t.establish();  // client TTL 64 so far
  for (uint8_t ttl : {62, 66, 64}) {
    SegmentSpec s = t.make(kClient, kAck);
    s.ttl = ttl;
    t.feed(s);
  }
  EXPECT_EQ(t.dir(kClient).ttl_min, 62);
  EXPECT_EQ(t.dir(kClient).ttl_max, 66);
  EXPECT_EQ(t.dir(kServer).ttl_min, 57);
  EXPECT_EQ(t.dir(kServer).ttl_max, 57);
}

struct IpIdRow {
  const char* name;
  std::vector<uint16_t> ids;  // of one side's packets, first is the baseline
  int increments;
  int others;
};

void PrintTo(const IpIdRow& r, std::ostream* os) { *os << r.name; }

class TrackIpId : public ::testing::TestWithParam<IpIdRow> {};

TEST_P(TrackIpId, VotesOnTheStepBetweenPackets) {
  const IpIdRow& row = GetParam();
  Tracked clean;
  for (uint16_t id : row.ids) {
    SegmentSpec s = clean.make(kClient, kAck);
    s.ip_id = id;
    clean.feed(s);
  }
  EXPECT_EQ(clean.dir(kClient).ipid_increments(), row.increments);
  EXPECT_EQ(clean.dir(kClient).ipid_others(), row.others);
  EXPECT_EQ(clean.dir(kClient).ipid_last, row.ids.back());
}

std::vector<uint16_t> counting(uint16_t from, int n, uint16_t step) {
  std::vector<uint16_t> v;
  for (int i = 0; i < n; ++i) v.push_back(static_cast<uint16_t>(from + i * step));
  return v;
}

INSTANTIATE_TEST_SUITE_P(
    TrackRows, TrackIpId,
    ::testing::Values(IpIdRow{"incrementing", {100, 101, 102, 103, 104}, 4, 0},
                      IpIdRow{"largest_small_step", {100, 2148, 4196}, 2, 0},
                      IpIdRow{"step_2049", {100, 2149, 4198}, 0, 2},
                      IpIdRow{"wraps", {0xFFFE, 0xFFFF, 0, 1}, 3, 0},
                      IpIdRow{"always_zero", {0, 0, 0, 0}, 0, 0},
                      IpIdRow{"constant", {5, 5, 5}, 0, 0},  // a copy or a constant: no vote
                      IpIdRow{"duplicated_counter", {7, 7, 8, 8, 9, 9, 10, 10}, 3, 0},
                      IpIdRow{"backwards", {500, 499, 498}, 0, 2},
                      IpIdRow{"random", {0x1234, 0xBEEF, 0x0042, 0x9999}, 0, 3},
                      IpIdRow{"saturates", counting(7, 21, 1), 15, 0},
                      IpIdRow{"both_saturate", counting(7, 60, 20000), 0, 15}),
    [](const ::testing::TestParamInfo<IpIdRow>& info) { return std::string(info.param.name); });

TEST(TrackBaseline, Ipv6HasNoIpIdVotes) {
  ConnSetup setup;
  setup.ipv6 = true;
  Tracked t(setup);
  t.establish();
  EXPECT_EQ(t.dir(kClient).ipid_votes, 0);
  EXPECT_EQ(t.dir(kServer).ipid_votes, 0);
  EXPECT_EQ(Phase{t.f.phase}, Phase::kEstablished);
}

TEST(TrackBaseline, BadChecksumAmongTheFirstPacketsMarksTheSide) {
  Tracked offload;
  SegmentSpec syn = offload.make(kClient, kSyn);
  syn.corrupt_tcp_checksum = true;  // captured on the sender: tx offload
  offload.feed(syn);
  EXPECT_TRUE(offload.dir(kClient).has(DirState::kBadChecksum));

  Tracked late;
  late.establish();  // client: SYN, ACK, data, ACK = four good packets
  SegmentSpec s = late.make(kClient, kAck);
  s.corrupt_tcp_checksum = true;
  late.feed(s);
  EXPECT_FALSE(late.dir(kClient).has(DirState::kBadChecksum));
  EXPECT_FALSE(late.dir(kServer).has(DirState::kBadChecksum));
}

// ---- Idle gaps
// -----------------------------------------------------------------------------------

TEST(TrackIdle, PacketEndingALongSilenceIsRemembered) {
  Tracked t;
  t.establish();
  t.now_ms += 299'999;
  t.send(kClient, kAck);
  EXPECT_EQ(t.f.silence_end_ms, 0u);
  EXPECT_EQ(t.f.last_seen_ms, t.now_ms);
  t.now_ms += 300'000;  // idle_gap default: 300 s
  t.send(kClient, kPsh | kAck, 20);
  EXPECT_EQ(t.f.silence_end_ms, t.now_ms | 1);
  EXPECT_EQ(t.f.last_seen_ms, t.now_ms);
  // A packet stamped earlier (reordered) does not move last_seen back.
  const uint32_t seen = t.now_ms;
  t.now_ms -= 5;
  t.send(kServer, kAck);
  EXPECT_EQ(t.f.last_seen_ms, seen);
}

// ---- SYN on an old tuple ----------------------------------------------------------------------

struct ReuseRow {
  const char* name;
  Phase phase_before;  // forced after the FIN exchange (kTimeWait: as tracked)
  int64_t seq_offset;  // new SYN's seq relative to the client's old SND.NXT
  uint32_t client_isn;
  bool conflict;
};

void PrintTo(const ReuseRow& r, std::ostream* os) { *os << r.name; }

class TrackReuse : public ::testing::TestWithParam<ReuseRow> {};

TEST_P(TrackReuse, SynOnAnOldTuple) {
  const ReuseRow& row = GetParam();
  ConnSetup setup;
  setup.client_isn = row.client_isn;
  Tracked t(setup);
  t.establish();
  t.send(kServer, kFin | kAck);
  t.send(kClient, kFin | kAck);
  t.send(kServer, kAck);
  ASSERT_EQ(Phase{t.f.phase}, Phase::kTimeWait);
  if (row.phase_before != Phase::kTimeWait) t.f.phase = row.phase_before;
  const uint32_t old_nxt = t.dir(kClient).snd_nxt;
  const uint64_t old_id = t.f.flow_id;
  t.now_ms += 5000;
  const uint32_t syn_seq = old_nxt + static_cast<uint32_t>(row.seq_offset);
  t.set_nxt(kClient, syn_seq);
  const TrackNote n = t.send(kClient, kSyn);
  EXPECT_TRUE(n.reused);
  EXPECT_FALSE(n.retransmit);
  EXPECT_EQ(t.f.has(FlowEntry::kTimeWaitConflict), row.conflict);
  EXPECT_EQ(Phase{t.f.phase}, Phase::kSynSent);
  EXPECT_NE(t.f.flow_id, old_id);
  EXPECT_EQ(t.dir(kClient).isn, syn_seq);
  EXPECT_EQ(t.dir(kClient).snd_nxt, syn_seq + 1);
  EXPECT_FALSE(t.dir(kClient).has(DirState::kFinSeen));
  EXPECT_FALSE(t.dir(kServer).has(DirState::kSeen));  // the old responder is forgotten
  EXPECT_EQ(t.f.fin_ms, 0u);
  EXPECT_EQ(t.f.origin_side(), t.side(kClient));
  // The new connection proceeds normally.
  t.send(kServer, kSyn | kAck);
  t.send(kClient, kAck);
  EXPECT_EQ(Phase{t.f.phase}, Phase::kEstablished);
}

INSTANTIATE_TEST_SUITE_P(
    TrackRows, TrackReuse,
    ::testing::Values(
        ReuseRow{"time_wait_lower", Phase::kTimeWait, -5000, 1'000'000, true},
        ReuseRow{"time_wait_equal", Phase::kTimeWait, 0, 1'000'000, true},
        ReuseRow{"time_wait_higher", Phase::kTimeWait, 100'000, 1'000'000, false},
        // Old SND.NXT near 2^32: the new ISN wraps past it.
        ReuseRow{"time_wait_higher_wrapped", Phase::kTimeWait, 0x40, 0xFFFFFF90u, false},
        ReuseRow{"time_wait_lower_wrapped", Phase::kTimeWait, -0x40, 0xFFFFFF90u, true},
        ReuseRow{"closing_lower", Phase::kClosing, -1, 1'000'000, true},
        ReuseRow{"closed_lower", Phase::kClosed, -70'000, 1'000'000, true},
        ReuseRow{"closed_higher", Phase::kClosed, 70'000, 1'000'000, false}),
    [](const ::testing::TestParamInfo<ReuseRow>& info) { return std::string(info.param.name); });

// RFC 5961 4.2 (RFC 9293 3.10.7.4): a SYN on a synchronized connection is
// answered with a challenge ACK and the connection goes on. A forged SYN on
// an established tuple (field guide 2) must not make the tracker forget the
// connection, or the next forged reset is judged against a made-up SYN-SENT.
TEST(TrackSynOnEstablished, KeepsTheConnection) {
  Tracked t;
  t.establish();
  const uint64_t id = t.f.flow_id;
  const uint32_t client_nxt = t.dir(kClient).snd_nxt;
  const uint32_t server_nxt = t.dir(kServer).snd_nxt;
  SegmentSpec syn = t.make(kClient, kSyn);
  syn.seq = 0x12345678u;
  syn.ttl = 100;
  const TrackNote n = t.feed(syn);
  EXPECT_FALSE(n.reused);
  EXPECT_EQ(Phase{t.f.phase}, Phase::kEstablished);
  EXPECT_EQ(t.f.flow_id, id);
  EXPECT_EQ(t.dir(kClient).snd_nxt, client_nxt);
  EXPECT_EQ(t.dir(kServer).snd_nxt, server_nxt);
  EXPECT_TRUE(t.dir(kServer).has(DirState::kSeen));
  t.send(kServer, kPsh | kAck, 100);  // the connection goes on
  t.send(kClient, kAck);
  EXPECT_EQ(Phase{t.f.phase}, Phase::kEstablished);
  EXPECT_EQ(t.dir(kServer).snd_nxt, server_nxt + 100);
}

}  // namespace
}  // namespace rstguard

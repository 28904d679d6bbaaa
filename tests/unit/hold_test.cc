// The hold queue: a reset with action "hold" waits for its connection's
// next packets; its sender talking drops it, silence releases it.
#include <gtest/gtest.h>

#include <vector>

#include "core/headers.h"
#include "core/worker.h"
#include "scenarios/conversation.h"

namespace rstguard {
namespace {

using scenario::kClient;
using scenario::kServer;
using namespace wire::tcpflag;

WorkerParams hold_params(uint32_t max_packets = 16) {
  WorkerParams p;
  p.flow.capacity = 1024;
  p.actions.by_label = {Action::pass, Action::hold, Action::drop};
  p.hold.max_time_ns = 100 * kNsPerMs;
  p.hold.max_packets = max_packets;
  return p;
}

// Feeds packets one burst each (so releases name frame 0 of the next burst)
// and records, in order, what left the box.
struct Box {
  explicit Box(const WorkerParams& p) : worker(p), held(worker.hold_capacity()) {}

  // Returns the disposition of the packet itself.
  Disposition feed(const scenario::Packet& pkt) {
    Frame f{pkt.frame.data(), static_cast<uint32_t>(pkt.frame.size()),
            static_cast<uint32_t>(pkt.frame.size()), pkt.ts_ns, 1};
    Disposition d;
    worker.process_burst(&f, 1, &d);
    for (const HoldRelease& r : worker.releases()) {
      EXPECT_EQ(r.before_frame, 0);  // before the packet that resolved it
      if (r.disposition == Disposition::kForward) sent.push_back(held[r.slot]);
      if (r.disposition == Disposition::kDrop) dropped.push_back(held[r.slot]);
    }
    worker.clear_releases();
    if (d == Disposition::kForward) sent.push_back(&pkt);
    if (d == Disposition::kDrop) dropped.push_back(&pkt);
    if (d == Disposition::kHold) held[worker.hold_slot(0)] = &pkt;
    for (const RstEvent& e : worker.events()) events.push_back(e);
    worker.clear_events();
    return d;
  }
  void expire(uint64_t now_ns) {
    worker.expire_holds(now_ns);
    for (const HoldRelease& r : worker.releases()) {
      if (r.disposition == Disposition::kForward) sent.push_back(held[r.slot]);
      if (r.disposition == Disposition::kDrop) dropped.push_back(held[r.slot]);
    }
    worker.clear_releases();
    for (const RstEvent& e : worker.events()) events.push_back(e);
    worker.clear_events();
  }

  Worker worker;
  std::vector<const scenario::Packet*> held;
  std::vector<const scenario::Packet*> sent;
  std::vector<const scenario::Packet*> dropped;
  std::vector<RstEvent> events;
};

// An established connection (no timestamps, so a copied reset is only
// "suspicious" through its TTL) and a reset judged suspicious.
struct HeldReset {
  scenario::Capture cap;
  std::vector<scenario::Packet> before;
  scenario::Packet rst;
  scenario::Conn conn;

  HeldReset()
      : conn(cap, options(), "10.1.0.10", 40000, "10.2.0.20", 443) {
    conn.handshake();
    conn.data(kClient, 100);
    conn.data(kServer, 500);
    conn.ack(kClient);
    before = cap.packets();
    SegmentSpec r = conn.forge_rst(kServer);  // exact seq, other TTL
    r.ip_id = static_cast<uint16_t>(conn.segment(kServer, kAck).ip_id);  // no IP ID hint
    r.seq += 100;  // in window, not exact
    cap.add(r);
    rst = cap.packets().back();
  }
  static scenario::ConnOptions options() {
    scenario::ConnOptions o;
    o.timestamps = false;
    return o;
  }
};

TEST(Hold, SenderTalkingDropsTheHeldReset) {
  HeldReset s;
  Box box(hold_params());
  for (const auto& p : s.before) box.feed(p);
  ASSERT_EQ(box.feed(s.rst), Disposition::kHold);
  ASSERT_EQ(box.events.size(), 1u);
  EXPECT_EQ(box.events[0].label, Label::suspicious);
  EXPECT_EQ(box.events[0].action, Action::hold);
  // The receiver speaks first: that end has not seen the reset; keep it.
  s.cap.advance_ms(1);
  s.conn.ack(kClient);
  EXPECT_EQ(box.feed(s.cap.packets().back()), Disposition::kForward);
  EXPECT_TRUE(box.dropped.empty());
  // The supposed sender keeps sending: the reset was forged.
  s.conn.data(kServer, 300);
  const scenario::Packet& data = s.cap.packets().back();
  EXPECT_EQ(box.feed(data), Disposition::kForward);
  ASSERT_EQ(box.dropped.size(), 1u);
  EXPECT_EQ(box.dropped[0], &s.rst);
  ASSERT_EQ(box.events.size(), 2u);
  const RstEvent& u = box.events[1];
  EXPECT_EQ(u.type, EventType::kRstUpdate);
  EXPECT_EQ(u.label, Label::forged);
  EXPECT_EQ(u.action, Action::drop);
  EXPECT_TRUE(u.evidence.has(Evidence::data_after_rst));
  EXPECT_EQ(u.revises_seq, box.events[0].seq);
  EXPECT_EQ(u.revises_packet_number, box.events[0].packet_number);
  const Counters& c = box.worker.counters();
  EXPECT_EQ(c.rst_held, 1u);
  EXPECT_EQ(c.hold_dropped, 1u);
  EXPECT_EQ(c.pkt_forwarded + c.pkt_dropped, c.pkt_total);
}

TEST(Hold, SilenceReleasesTheResetInOrder) {
  HeldReset s;
  Box box(hold_params());
  for (const auto& p : s.before) box.feed(p);
  ASSERT_EQ(box.feed(s.rst), Disposition::kHold);
  box.expire(s.rst.ts_ns + 50 * kNsPerMs);  // not yet
  EXPECT_EQ(box.sent.back(), &s.before.back());
  box.expire(s.rst.ts_ns + 101 * kNsPerMs);
  ASSERT_EQ(box.sent.back(), &s.rst);
  EXPECT_TRUE(box.dropped.empty());
  ASSERT_EQ(box.events.size(), 2u);
  EXPECT_EQ(box.events[1].type, EventType::kRstUpdate);
  EXPECT_EQ(box.events[1].action, Action::pass);
  EXPECT_EQ(box.events[1].label, Label::suspicious);
  EXPECT_EQ(box.worker.counters().hold_released, 1u);
  EXPECT_EQ(box.worker.counters().pkt_forwarded, box.worker.counters().pkt_total);
}

TEST(Hold, ASecondResetFromTheSenderReleasesTheFirstBeforeIt) {
  HeldReset s;
  Box box(hold_params());
  for (const auto& p : s.before) box.feed(p);
  ASSERT_EQ(box.feed(s.rst), Disposition::kHold);
  s.cap.advance_ms(1);
  SegmentSpec again = s.conn.segment(kServer, kRst | kAck);
  s.cap.add(again);
  const scenario::Packet& second = s.cap.packets().back();
  box.feed(second);
  // The first reset left before the second one was decided on.
  const auto first_pos = std::find(box.sent.begin(), box.sent.end(), &s.rst);
  ASSERT_NE(first_pos, box.sent.end());
  const auto second_pos = std::find(box.sent.begin(), box.sent.end(), &second);
  if (second_pos != box.sent.end()) EXPECT_LT(first_pos, second_pos);
  EXPECT_TRUE(box.dropped.empty() || box.dropped[0] != &s.rst);
}

TEST(Hold, AFullQueueForwardsAndCounts) {
  Box box(hold_params(/*max_packets=*/1));
  HeldReset a;
  for (const auto& p : a.before) box.feed(p);
  ASSERT_EQ(box.feed(a.rst), Disposition::kHold);
  // A second connection's suspicious reset finds the queue full.
  scenario::Capture cap2;
  scenario::Conn c2(cap2, HeldReset::options(), "10.1.0.11", 40001, "10.2.0.21", 443);
  c2.handshake();
  c2.data(kServer, 200);
  c2.ack(kClient);
  SegmentSpec r = c2.forge_rst(kServer);
  r.ip_id = static_cast<uint16_t>(c2.segment(kServer, kAck).ip_id);
  r.seq += 100;
  cap2.add(r);
  for (const auto& p : cap2.packets()) box.feed(p);
  EXPECT_EQ(box.sent.back(), &cap2.packets().back());
  EXPECT_EQ(box.worker.counters().hold_overflow, 1u);
  EXPECT_EQ(box.events.back().action, Action::alert);
}

TEST(Hold, ShutdownReleasesOrDropsByPolicy) {
  for (bool drop : {false, true}) {
    SCOPED_TRACE(drop);
    HeldReset s;
    Box box(hold_params());
    for (const auto& p : s.before) box.feed(p);
    ASSERT_EQ(box.feed(s.rst), Disposition::kHold);
    box.worker.flush_holds(drop);
    ASSERT_EQ(box.worker.releases().size(), 1u);
    EXPECT_EQ(box.worker.releases()[0].disposition,
              drop ? Disposition::kDrop : Disposition::kForward);
    const Counters& c = box.worker.counters();
    EXPECT_EQ(c.pkt_forwarded + c.pkt_dropped, c.pkt_total);
  }
}

}  // namespace
}  // namespace rstguard

// The hold queue: a reset with action "hold" waits for its connection's
// next packets; its sender talking drops it, silence releases it.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
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
  p.incidents.sample_every = 1;  // every member event written
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
    for (const RstEvent& e : worker.events()) {
      (e.type == EventType::kIncident ? incidents : events).push_back(e);
    }
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
    for (const RstEvent& e : worker.events()) {
      (e.type == EventType::kIncident ? incidents : events).push_back(e);
    }
    worker.clear_events();
  }

  Worker worker;
  std::vector<const scenario::Packet*> held;
  std::vector<const scenario::Packet*> sent;
  std::vector<const scenario::Packet*> dropped;
  std::vector<RstEvent> events;     // rst and rst_update
  std::vector<RstEvent> incidents;  // incident events
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
    // Suspicious, not forged: in the window but not exact (inexact) and
    // without ACK (rst_without_ack); the server's TTL and IP ID counter.
    SegmentSpec r = conn.forge_rst(kServer);
    r.ttl = static_cast<uint8_t>(r.ttl - 40);
    r.ip_id = static_cast<uint16_t>(conn.segment(kServer, kAck).ip_id);
    r.flags = wire::tcpflag::kRst;
    r.ack = 0;
    r.seq += 100;
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

// A second reset from the held one's sender is judged first. Legitimate,
// it releases the held one before itself (a closing stack's second reset).
TEST(Hold, ALegitimateSecondResetReleasesTheFirstBeforeIt) {
  HeldReset s;
  // The held one: exact, but 5 hops off the server's TTL (suspicious).
  SegmentSpec held = s.conn.segment(kServer, kRst | kAck);
  held.ttl = static_cast<uint8_t>(held.ttl - 5);
  scenario::Capture cap(s.cap.now_ns());
  cap.add(held);
  const scenario::Packet first = cap.packets().back();
  Box box(hold_params());
  for (const auto& p : s.before) box.feed(p);
  ASSERT_EQ(box.feed(first), Disposition::kHold);
  cap.advance_ms(20);  // not a burst
  cap.add(s.conn.segment(kServer, kRst | kAck));  // the server's own, same seq
  const scenario::Packet& second = cap.packets().back();
  EXPECT_EQ(box.feed(second), Disposition::kForward);
  EXPECT_EQ(box.events.back().label, Label::legit);
  // The held one's release is on record, before the second's event.
  ASSERT_GE(box.events.size(), 3u);
  EXPECT_EQ(box.events[box.events.size() - 2].type, EventType::kRstUpdate);
  EXPECT_EQ(box.events[box.events.size() - 2].action, Action::pass);
  const auto first_pos = std::find(box.sent.begin(), box.sent.end(), &first);
  const auto second_pos = std::find(box.sent.begin(), box.sent.end(), &second);
  ASSERT_NE(first_pos, box.sent.end());
  ASSERT_NE(second_pos, box.sent.end());
  EXPECT_LT(first_pos, second_pos);
  EXPECT_TRUE(box.dropped.empty());
}

// Not legitimate (here: another seq, seq_change), it neither releases the
// held one nor waits beside it: dropped; the held one runs its course.
TEST(Hold, ASuspiciousSecondResetIsDroppedWhileTheFirstIsHeld) {
  HeldReset s;
  Box box(hold_params());
  for (const auto& p : s.before) box.feed(p);
  ASSERT_EQ(box.feed(s.rst), Disposition::kHold);
  s.cap.advance_ms(1);
  s.cap.add(s.conn.segment(kServer, kRst | kAck));
  const scenario::Packet& second = s.cap.packets().back();
  EXPECT_EQ(box.feed(second), Disposition::kDrop);
  EXPECT_NE(box.events.back().label, Label::legit);
  EXPECT_EQ(box.events.back().action, Action::drop);
  EXPECT_EQ(std::find(box.sent.begin(), box.sent.end(), &s.rst), box.sent.end());
  EXPECT_EQ(box.worker.counters().hold_overflow, 0u);
  // The dropped one (exact) closed nothing: a SYN from the receiver's side
  // is no new connection that would release the held reset.
  s.cap.advance_ms(1);
  s.cap.add(s.conn.segment(kClient, kSyn));
  box.feed(s.cap.packets().back());
  EXPECT_EQ(std::find(box.sent.begin(), box.sent.end(), &s.rst), box.sent.end());
  EXPECT_EQ(box.worker.counters().flow_reused, 0u);
  box.expire(s.cap.now_ns() + 200 * kNsPerMs);  // silence: released as judged
  EXPECT_NE(std::find(box.sent.begin(), box.sent.end(), &s.rst), box.sent.end());
}

// A discarded second reset (bad checksum) changes nothing about the hold.
TEST(Hold, ADiscardedSecondResetLeavesTheHoldAlone) {
  HeldReset s;
  Box box(hold_params());
  for (const auto& p : s.before) box.feed(p);
  ASSERT_EQ(box.feed(s.rst), Disposition::kHold);
  s.cap.advance_ms(1);
  SegmentSpec bad = s.conn.segment(kServer, kRst | kAck);
  bad.corrupt_tcp_checksum = true;
  s.cap.add(bad);
  box.feed(s.cap.packets().back());
  EXPECT_TRUE(box.events.back().evidence.has(Evidence::insertion));
  EXPECT_EQ(std::find(box.sent.begin(), box.sent.end(), &s.rst), box.sent.end());
  EXPECT_TRUE(std::find(box.dropped.begin(), box.dropped.end(), &s.rst) == box.dropped.end());
  EXPECT_EQ(box.worker.counters().rst_held, 1u);
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
  r.ip_id = static_cast<uint16_t>(c2.segment(kServer, kAck).ip_id);  // exact, other TTL
  r.ttl = static_cast<uint8_t>(r.ttl - 35);  // 5 hops off: ttl_mismatch, not ttl_gap
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

// A raced reset held while resets hit 10,000 other established connections
// within its hold time, at the smallest reset-history pool the
// configuration allows (1) and at the default: the held reset keeps its
// history and hold, so the sender's next segment drops it; the others'
// resets are judged all the same and the refusals are counted.
class HoldUnderPressure : public ::testing::TestWithParam<uint32_t> {};

TEST_P(HoldUnderPressure, TheHeldResetIsDroppedWhateverOtherFlowsDo) {
  constexpr int kOthers = 10000;
  WorkerParams params = hold_params();
  params.flow.capacity = 16384;
  params.pools.reset_history = GetParam();
  HeldReset s;
  scenario::Capture others_cap(s.cap.now_ns());
  std::vector<scenario::Conn> others;
  others.reserve(kOthers);
  for (int i = 0; i < kOthers; ++i) {
    others.emplace_back(others_cap, scenario::ConnOptions{},
                        "10.3." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1),
                        static_cast<uint16_t>(20000 + i % 40000), "10.4.0.1", 443);
    others.back().handshake();
    others.back().data(kClient, 50);
    others.back().data(kServer, 50);
  }
  const size_t established = others_cap.packets().size();
  others_cap.advance_ms(1);
  for (int i = 0; i < kOthers; ++i) others[i].rst(i % 2 == 0 ? kServer : kClient);

  Box box(params);
  for (size_t i = 0; i < established; ++i) box.feed(others_cap.packets()[i]);
  for (const auto& p : s.before) box.feed(p);
  ASSERT_EQ(box.feed(s.rst), Disposition::kHold);
  for (size_t i = established; i < others_cap.packets().size(); ++i) {
    box.feed(others_cap.packets()[i]);
  }
  box.expire(s.rst.ts_ns + 50 * kNsPerMs);  // well within the 100 ms hold
  EXPECT_TRUE(box.dropped.empty());
  s.cap.advance_ms(60);
  s.conn.data(kServer, 300);  // the supposed sender is alive
  box.feed(s.cap.packets().back());
  ASSERT_EQ(box.dropped.size(), 1u);
  EXPECT_EQ(box.dropped[0], &s.rst);
  const Counters& c = box.worker.counters();
  EXPECT_EQ(c.hold_dropped, 1u);
  EXPECT_EQ(c.hold_released, 0u);
  EXPECT_EQ(c.rst_total, kOthers + 1u);
  // Each other connection takes an entry while any is left; the rest are
  // refused and counted, one each.
  const uint64_t fit = std::min<uint64_t>(kOthers, GetParam() - 1);
  EXPECT_EQ(c.pool_history_refused, kOthers - fit);
  EXPECT_EQ(box.worker.history_pool().used(), fit + 1);
  size_t limited = 0;
  for (const RstEvent& e : box.events) {
    if (e.type == EventType::kRst && (e.limits & kLimitHistoryPool) != 0) ++limited;
  }
  EXPECT_EQ(limited, kOthers - fit);
  const RstEvent& u = box.events.back();
  EXPECT_EQ(u.type, EventType::kRstUpdate);
  EXPECT_EQ(u.label, Label::forged);
  EXPECT_EQ(u.action, Action::drop);
}

INSTANTIATE_TEST_SUITE_P(Pools, HoldUnderPressure, ::testing::Values(1u, 4096u),
                         [](const ::testing::TestParamInfo<uint32_t>& info) {
                           return "reset_history_" + std::to_string(info.param);
                         });

// A held flow is pinned: it neither expires nor yields to new tuples while
// its reset waits, and the hold's end unpins it.
TEST(Hold, AHeldFlowIsPinnedUntilTheHoldEnds) {
  WorkerParams params = hold_params();
  params.flow.capacity = 1;  // the held connection is the only entry
  params.flow.timeouts.established_ns = 10 * kNsPerMs;  // shorter than the hold
  HeldReset s;
  Box box(params);
  for (const auto& p : s.before) box.feed(p);
  ASSERT_EQ(box.feed(s.rst), Disposition::kHold);
  scenario::Capture flood(s.rst.ts_ns + 20 * kNsPerMs);  // past the flow timeout
  for (int i = 0; i < 50; ++i) {
    scenario::Conn c(flood, HeldReset::options(), "198.18.0." + std::to_string(i + 1), 5000, "10.2.0.20",
                     443);
    c.send(kClient, kAck);
  }
  for (const auto& p : flood.packets()) box.feed(p);
  EXPECT_EQ(box.worker.counters().flow_insert_refused, 50u);
  EXPECT_EQ(box.worker.flows().size(), 1u);
  // The sender talks after the flow's own timeout: the hold still finds it.
  s.cap.advance_ms(30);
  s.conn.data(kServer, 10);
  box.feed(s.cap.packets().back());
  ASSERT_EQ(box.dropped.size(), 1u);
  EXPECT_EQ(box.dropped[0], &s.rst);
  // Unpinned: the flow may now expire and yield.
  scenario::Capture later(s.cap.now_ns() + 1000 * kNsPerMs);
  scenario::Conn n(later, HeldReset::options(), "198.18.1.1", 5000, "10.2.0.20", 443);
  n.send(kClient, kAck);
  box.feed(later.packets().back());
  EXPECT_EQ(box.worker.counters().flow_insert_refused, 50u);
}

// Property: whatever other connections do (handshakes, data, genuine and
// forged resets, one-way floods, time passing within the hold), one held
// connection's reset history, hold and trigger state stay as they were,
// with pools and table small enough that every structure is contended.
TEST(Hold, NothingOtherFlowsDoReachesOneFlowsState) {
  std::mt19937 rng(2026);
  for (int round = 0; round < 20; ++round) {
    SCOPED_TRACE(round);
    WorkerParams params = hold_params();
    params.flow.capacity = 48;
    params.pools.reset_history = 4;
    params.pools.triggers = 2;
    params.pools.reassembly = 1;
    params.pools.host_ttl = 2;
    params.pools.destinations = 2;
    params.hold.max_time_ns = 10 * kNsPerSec;
    HeldReset s;
    Box box(params);
    for (const auto& p : s.before) box.feed(p);
    ASSERT_EQ(box.feed(s.rst), Disposition::kHold);
    const auto target = [&]() -> const FlowEntry* {
      const FlowEntry* found = nullptr;
      box.worker.flows().for_each([&](const FlowEntry& f) {
        if (f.key.port_a == 443 || f.key.port_b == 443) {
          if ((f.key.port_a == 40000 || f.key.port_b == 40000)) found = &f;
        }
      });
      return found;
    };
    const FlowEntry* f0 = target();
    ASSERT_NE(f0, nullptr);
    const uint64_t flow_id = f0->flow_id;
    const uint32_t history_ref = f0->history;
    const RstHistory before = *box.worker.history_of(*f0);
    ASSERT_NE(before.hold, 0u);
    scenario::Capture other(s.rst.ts_ns);
    std::vector<scenario::Conn> conns;
    conns.reserve(400);
    size_t fed = 0;
    for (int step = 0; step < 400; ++step) {
      const int kind = static_cast<int>(rng() % 6);
      if (kind == 0 || conns.empty()) {
        conns.emplace_back(other, HeldReset::options(),
                           "10.5." + std::to_string(rng() % 4) + "." + std::to_string(rng() % 250 + 1),
                           static_cast<uint16_t>(1024 + rng() % 60000),
                           rng() % 2 ? "10.2.0.20" : "10.6.0.1", 443);
        conns.back().handshake();
      } else {
        scenario::Conn& c = conns[rng() % conns.size()];
        switch (kind) {
          case 1: c.data(static_cast<int>(rng() % 2), 1 + rng() % 200); break;
          case 2: c.rst(static_cast<int>(rng() % 2)); break;
          case 3: other.add(c.forge_rst(static_cast<int>(rng() % 2))); break;
          case 4: {
            scenario::Conn one(other, HeldReset::options(), "198.19.0." + std::to_string(rng() % 250 + 1),
                               static_cast<uint16_t>(rng() % 65536), "10.2.0.20", 443);
            one.send(kClient, rng() % 2 ? kAck : (kSyn | kAck));
            break;
          }
          default: other.advance_ms(rng() % 20); break;
        }
      }
      for (; fed < other.packets().size(); ++fed) box.feed(other.packets()[fed]);
      const FlowEntry* f = target();
      ASSERT_NE(f, nullptr) << "step " << step << ": the held flow is gone";
      ASSERT_EQ(f->flow_id, flow_id);
      ASSERT_EQ(f->history, history_ref);
      ASSERT_TRUE(f->has(FlowEntry::kHoldPending));
      const RstHistory* h = box.worker.history_of(*f);
      ASSERT_NE(h, nullptr);
      ASSERT_EQ(h->flow_id, before.flow_id);
      ASSERT_EQ(h->hold, before.hold);
      ASSERT_EQ(h->seq, before.seq);
      ASSERT_EQ(h->ms, before.ms);
      ASSERT_EQ(h->side, before.side);
      ASSERT_EQ(h->race_open, before.race_open);
      ASSERT_EQ(h->event.packet_number, before.event.packet_number);
      ASSERT_EQ(h->event.label, before.event.label);
      ASSERT_TRUE(box.dropped.empty() ||
                  std::find(box.dropped.begin(), box.dropped.end(), &s.rst) == box.dropped.end());
    }
    // And the hold still works.
    s.cap.advance_ms(1);
    s.conn.data(kServer, 10);
    box.feed(s.cap.packets().back());
    EXPECT_NE(std::find(box.dropped.begin(), box.dropped.end(), &s.rst), box.dropped.end());
  }
}

// An injector that follows its reset with a SYN from the same claimed
// sender does not get the reset through: the sender spoke, so it was not
// the sender's.
TEST(Hold, ASynAfterTheHeldResetDoesNotLaunderIt) {
  HeldReset s;
  Box box(hold_params());
  for (const auto& p : s.before) box.feed(p);
  ASSERT_EQ(box.feed(s.rst), Disposition::kHold);
  s.cap.advance_ms(1);
  SegmentSpec syn = s.conn.segment(kServer, kSyn);
  syn.ack = 0;
  s.cap.add(syn);
  box.feed(s.cap.packets().back());
  ASSERT_EQ(box.dropped.size(), 1u);
  EXPECT_EQ(box.dropped[0], &s.rst);
  EXPECT_EQ(box.worker.counters().hold_released, 0u);
}

// A reset toward the other end while one is held, that is not tied to it
// (judged on its own), leaves the hold watching the held reset's sender:
// the receiver's data does not drop it, the sender's does.
TEST(Hold, TheHoldWatchesItsOwnResetsSenderAfterAnotherReset) {
  WorkerParams params = hold_params();
  params.judge.both_directions_ns = 0;  // the second reset stands on its own
  HeldReset s;
  Box box(params);
  for (const auto& p : s.before) box.feed(p);
  ASSERT_EQ(box.feed(s.rst), Disposition::kHold);
  s.cap.advance_ms(1);
  s.conn.rst(kClient);  // the client's own reset, toward the server
  box.feed(s.cap.packets().back());
  EXPECT_TRUE(box.dropped.empty());
  s.cap.advance_ms(1);
  s.conn.data(kClient, 10);  // the held reset's receiver talking: keep waiting
  box.feed(s.cap.packets().back());
  EXPECT_TRUE(std::find(box.dropped.begin(), box.dropped.end(), &s.rst) == box.dropped.end());
  s.conn.data(kServer, 10);  // its supposed sender: forged
  box.feed(s.cap.packets().back());
  EXPECT_NE(std::find(box.dropped.begin(), box.dropped.end(), &s.rst), box.dropped.end());
}

// The held reset's sender talks after a newer reset toward the other end:
// the held one is dropped as forged, and the connection's race watch stays
// on the newer reset (the client's own): the client's data after it still
// revises it.
TEST(Hold, DroppingAnOlderHeldResetLeavesTheNewerOnesRaceWatch) {
  WorkerParams params = hold_params();
  params.judge.both_directions_ns = 0;  // the second reset stands on its own
  HeldReset s;
  Box box(params);
  for (const auto& p : s.before) box.feed(p);
  ASSERT_EQ(box.feed(s.rst), Disposition::kHold);
  s.cap.advance_ms(1);
  s.conn.rst(kClient);
  const size_t at_client_rst = box.events.size();
  box.feed(s.cap.packets().back());
  ASSERT_GT(box.events.size(), at_client_rst);
  const uint32_t client_seq = box.events[at_client_rst].seq;
  s.cap.advance_ms(1);
  s.conn.data(kServer, 10);  // the held reset's supposed sender: forged
  box.feed(s.cap.packets().back());
  ASSERT_NE(std::find(box.dropped.begin(), box.dropped.end(), &s.rst), box.dropped.end());
  const size_t before = box.events.size();
  s.cap.advance_ms(1);
  s.conn.data(kClient, 10);  // the newer reset's sender talks: a race on it
  box.feed(s.cap.packets().back());
  bool revised = false;
  for (size_t i = before; i < box.events.size(); ++i) {
    const RstEvent& e = box.events[i];
    if (e.revises_packet_number != 0 && e.revises_seq == client_seq) {
      revised = e.evidence.has(Evidence::data_after_rst);
    }
  }
  EXPECT_TRUE(revised) << "the client's reset lost its race watch to the dropped one";
}

// A full reset-history pool takes an entry back from a one-way pick-up for
// a connection seen both ways, never the other way round.
TEST(HistoryPool, OneWayPickUpsYieldTheirEntriesToRealConnections) {
  WorkerParams params = hold_params();
  params.pools.reset_history = 2;
  Box box(params);
  scenario::Capture cap;
  // Two spoofed tuples, each one ACK one way and then a reset: the pool is full.
  for (int i = 0; i < 2; ++i) {
    scenario::Conn spoof(cap, HeldReset::options(), "198.18.0." + std::to_string(i + 1), 5000,
                         "10.2.0.20", 443);
    spoof.send(kClient, kAck);
    spoof.send(kClient, kRst);
  }
  scenario::Conn real(cap, HeldReset::options(), "10.1.0.10", 40000, "10.2.0.20", 443);
  real.handshake();
  real.data(kClient, 100);
  real.data(kServer, 100);
  real.rst(kServer);
  for (const auto& p : cap.packets()) box.feed(p);
  const Counters& c = box.worker.counters();
  EXPECT_EQ(c.pool_history_reclaimed, 1u);
  EXPECT_EQ(c.pool_history_refused, 0u);
  EXPECT_EQ(box.worker.history_pool().used(), 2u);
  // Each entry in use belongs to exactly one flow, which names it, and the
  // one-way flow it was taken from names none.
  const auto check_owners = [&] {
    size_t owners = 0;
    box.worker.flows().for_each([&](const FlowEntry& f) {
      if (f.history == 0) return;
      ++owners;
      EXPECT_EQ(box.worker.history_pool()[f.history].flow_id, f.flow_id);
    });
    EXPECT_EQ(owners, box.worker.history_pool().used());
  };
  check_owners();
  // And a one-way pick-up never takes a real connection's entry.
  scenario::Conn late(cap, HeldReset::options(), "198.18.1.1", 5000, "10.2.0.20", 443);
  late.send(kClient, kAck);
  late.send(kClient, kRst);
  box.feed(cap.packets()[cap.packets().size() - 2]);
  box.feed(cap.packets().back());
  EXPECT_EQ(c.pool_history_reclaimed, 1u);
  check_owners();
  // Once every flow has expired (a packet much later runs the expiry
  // timers), the pool is empty again: nothing leaked, nothing freed twice.
  cap.advance_ms(9000 * 1000);
  scenario::Conn tick(cap, HeldReset::options(), "10.9.9.9", 1, "10.2.0.20", 443);
  for (int i = 0; i < 40; ++i) {
    cap.advance_ms(20);
    tick.send(kClient, kAck);
    box.feed(cap.packets().back());
  }
  EXPECT_EQ(box.worker.history_pool().used(), 0u);
  EXPECT_EQ(box.worker.flows().size(), 1u);  // the tick's own
}

// The held reset is exact (the receiver would accept it): the connection
// is not closed while it is held, so a SYN from the receiver's side is no
// new connection to release it for; the supposed sender's data then drops
// it. Once released by silence, the connection is closed.
TEST(Hold, AnExactHeldResetClosesTheFlowOnlyWhenReleased) {
  for (bool sender_speaks : {true, false}) {
    SCOPED_TRACE(sender_speaks);
    HeldReset s;
    SegmentSpec exact = s.conn.forge_rst(kServer);
    exact.ip_id = static_cast<uint16_t>(s.conn.segment(kServer, kAck).ip_id);
    exact.ttl = static_cast<uint8_t>(exact.ttl - 35);  // 5 hops off: suspicious
    scenario::Capture cap2(s.cap.now_ns());
    cap2.add(exact);
    const scenario::Packet rst = cap2.packets().back();
    Box box(hold_params());
    for (const auto& p : s.before) box.feed(p);
    ASSERT_EQ(box.feed(rst), Disposition::kHold);
    ASSERT_EQ(box.events.back().validity, Validity::exact);
    const auto target = [&] {
      const FlowEntry* found = nullptr;
      box.worker.flows().for_each([&](const FlowEntry& f) {
        if (f.key.port_a == 40000 || f.key.port_b == 40000) found = &f;
      });
      return found;
    };
    ASSERT_NE(target(), nullptr);
    EXPECT_NE(Phase{target()->phase}, Phase::kClosed);
    s.cap.advance_ms(1);
    SegmentSpec syn = s.conn.segment(kClient, kSyn);
    syn.seq += 77777;  // another ISN
    syn.ack = 0;
    s.cap.add(syn);
    box.feed(s.cap.packets().back());
    EXPECT_EQ(box.worker.counters().hold_released, 0u) << "a SYN laundered the held reset";
    if (sender_speaks) {
      s.conn.data(kServer, 10);
      box.feed(s.cap.packets().back());
      EXPECT_EQ(box.worker.counters().hold_dropped, 1u);
      EXPECT_NE(Phase{target()->phase}, Phase::kClosed);
    } else {
      box.expire(rst.ts_ns + 200 * kNsPerMs);
      EXPECT_EQ(box.worker.counters().hold_released, 1u);
      ASSERT_NE(target(), nullptr);
      EXPECT_EQ(Phase{target()->phase}, Phase::kClosed);
    }
  }
}

}  // namespace
}  // namespace rstguard

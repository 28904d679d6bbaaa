// Incidents: one attack, one record, exact counts, bounded events.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "core/headers.h"
#include "core/worker.h"
#include "output/event_json.h"
#include "scenarios/conversation.h"
#include "scenarios/scenarios.h"

namespace rstguard {
namespace {

using scenario::kClient;
using scenario::kServer;
using namespace wire::tcpflag;

// A worker fed a capture in bursts of 64; every event kept, and the
// incidents flushed at the end (end of input).
struct Feed {
  explicit Feed(const WorkerParams& p) : worker(p) {}
  void feed(const std::vector<scenario::Packet>& packets) {
    std::vector<Frame> frames;
    for (const auto& p : packets) {
      frames.push_back(Frame{p.frame.data(), static_cast<uint32_t>(p.frame.size()),
                             static_cast<uint32_t>(p.frame.size()), p.ts_ns, 1});
    }
    Disposition out[kMaxBurst];
    for (size_t i = 0; i < frames.size(); i += 64) {
      const auto n = static_cast<uint16_t>(std::min<size_t>(64, frames.size() - i));
      worker.expire_holds(frames[i].ts_ns);
      take();
      worker.process_burst(&frames[i], n, out);
      take();
      worker.clear_releases();
    }
  }
  void finish() {
    worker.flush_holds(false);
    take();
  }
  void take() {
    for (const RstEvent& e : worker.events()) events.push_back(e);
    worker.clear_events();
  }
  std::vector<RstEvent> of(EventType t) const {
    std::vector<RstEvent> out;
    for (const RstEvent& e : events) {
      if (e.type == t) out.push_back(e);
    }
    return out;
  }
  std::vector<RstEvent> incidents(IncidentState s) const {
    std::vector<RstEvent> out;
    for (const RstEvent& e : of(EventType::kIncident)) {
      if (e.incident.state == s) out.push_back(e);
    }
    return out;
  }
  Worker worker;
  std::vector<RstEvent> events;
};

// A connection with data both ways, as the tracker likes them.
void exchange(scenario::Conn& c) {
  c.handshake();
  c.data(kClient, 100);
  c.data(kServer, 100);
  c.ack(kClient);
}

WorkerParams params() {
  WorkerParams p;
  p.flow.capacity = 1024;
  return p;
}

// The blind brute force of the field guide: 65,537 resets stepping by the
// window across the sequence space, one every 20 us (1.3 s).
scenario::Capture big_sweep(uint32_t resets) {
  scenario::Capture cap;
  scenario::Conn c(cap, scenario::ConnOptions{}, "10.1.0.10", 40000, "10.2.0.20", 443);
  c.handshake();
  c.data(kClient, 300);
  c.data(kServer, 1200);
  c.ack(kClient);
  cap.advance_ms(10);
  const uint32_t step = 65536;
  uint32_t seq = 0x12345678u;
  for (uint32_t i = 0; i < resets; ++i) {
    SegmentSpec r = c.forge_rst(kServer);
    r.seq = seq;
    seq += step;
    cap.add(r);
    cap.advance_ms(0.02);
  }
  return cap;
}

TEST(Incidents, ASweepIsOneIncidentWithExactCountsAndBoundedEvents) {
  constexpr uint32_t kResets = 65537;
  const scenario::Capture cap = big_sweep(kResets);
  Feed run(params());
  run.feed(cap.packets());
  run.finish();
  const auto rsts = run.of(EventType::kRst);
  const auto starts = run.incidents(IncidentState::kStart);
  const auto ends = run.incidents(IncidentState::kEnd);
  ASSERT_EQ(starts.size(), 1u);
  ASSERT_EQ(ends.size(), 1u);
  EXPECT_TRUE(run.incidents(IncidentState::kEvicted).empty());
  // The bound: sample_first reset events, one more for each evidence's
  // first sight, a start, an end, and an ongoing report per interval (the
  // sweep lasts 1.3 s < 10 s: none). One connection: no other first.
  const IncidentInfo& in = ends[0].incident;
  EXPECT_LE(rsts.size(), 5u + kEvidenceCount);
  EXPECT_EQ(rsts.size(), in.written);
  EXPECT_TRUE(run.incidents(IncidentState::kOngoing).empty());
  EXPECT_EQ(run.events.size(), rsts.size() + 2);
  EvidenceSet shown;
  for (size_t i = 0; i < rsts.size(); ++i) {
    if (i >= 5) EXPECT_NE(rsts[i].evidence.bits() & ~shown.bits(), 0u) << i;
    shown.merge(rsts[i].evidence);
  }
  EXPECT_TRUE(shown.has(Evidence::sweep));  // the sweep's first mark is on record
  EXPECT_EQ(in.id, starts[0].incident.id);
  EXPECT_EQ(in.resets, kResets);
  EXPECT_EQ(in.forged, kResets);
  EXPECT_EQ(in.suspicious, 0u);
  EXPECT_EQ(in.dropped, kResets);  // forged: drop
  EXPECT_EQ(in.written + in.sampled, kResets);
  EXPECT_EQ(in.seq_min, 0x00005678u);  // the sweep wrapped: all 65,536 steps
  EXPECT_EQ(in.seq_max, 0xFFFF5678u);
  EXPECT_EQ(in.ttl_min, 97);
  EXPECT_EQ(in.ttl_count, 1);
  EXPECT_TRUE(in.pair);
  EXPECT_EQ(in.toward_src + in.toward_dst, kResets);
  EXPECT_GT(in.last_ns, in.first_ns);
  for (const RstEvent& e : rsts) EXPECT_EQ(e.incident.id, in.id);
  const Counters& c = run.worker.counters();
  EXPECT_EQ(c.rst_total, kResets);
  EXPECT_EQ(c.event_sampled, in.sampled);
  EXPECT_EQ(c.incident_started, 1u);
  EXPECT_EQ(c.rst_dropped, kResets);  // sampling never changes an action
  // The terminal: one line per event.
  std::set<std::string> lines;
  for (const RstEvent& e : run.events) lines.insert(output::format_event_text(e));
  EXPECT_EQ(lines.size(), run.events.size());
}

TEST(Incidents, SamplingWritesOneInN) {
  const scenario::Capture cap = big_sweep(1000);
  WorkerParams p = params();
  p.incidents.sample_first = 3;
  p.incidents.sample_every = 100;
  Feed run(p);
  run.feed(cap.packets());
  run.finish();
  // 3, then the 4th, 104th, ... 904th of the remaining 997 (10), and the
  // first to show `sweep` (the 8th).
  EXPECT_EQ(run.of(EventType::kRst).size(), 14u);
  const auto ends = run.incidents(IncidentState::kEnd);
  ASSERT_EQ(ends.size(), 1u);
  EXPECT_EQ(ends[0].incident.written, 14u);
  EXPECT_EQ(ends[0].incident.sampled, 986u);
  EXPECT_EQ(ends[0].incident.resets, 1000u);
}

// The worker's event budget holds some member events back: the incident
// counts what was written, not what sampling let through.
TEST(Incidents, EventsWrittenAreTheOnesWritten) {
  const scenario::Capture cap = big_sweep(40);
  WorkerParams p = params();
  p.incidents.sample_every = 1;   // sampling lets every one through ...
  p.max_events_per_second = 3;    // ... the budget does not
  Feed run(p);
  run.feed(cap.packets());
  run.finish();
  const auto ends = run.incidents(IncidentState::kEnd);
  ASSERT_EQ(ends.size(), 1u);
  EXPECT_EQ(ends[0].incident.resets, 40u);
  EXPECT_EQ(ends[0].incident.written, run.of(EventType::kRst).size());
  EXPECT_EQ(run.of(EventType::kRst).size(), 3u);
  EXPECT_EQ(run.worker.counters().event_over_budget, 37u);
}

// A blocker resetting both ends: one incident, the earlier reset joining
// through its revision.
TEST(Incidents, ResetsToBothEndsAreOneIncident) {
  const auto& s = scenario::all_scenarios();
  const auto it = std::find_if(s.begin(), s.end(),
                               [](const auto& n) { return n.name == "both_directions"; });
  ASSERT_NE(it, s.end());
  Feed run(params());
  run.feed(it->capture.packets());
  run.finish();
  const auto rsts = run.of(EventType::kRst);
  const auto updates = run.of(EventType::kRstUpdate);
  ASSERT_EQ(rsts.size(), 2u);
  ASSERT_EQ(updates.size(), 1u);
  const auto starts = run.incidents(IncidentState::kStart);
  const auto ends = run.incidents(IncidentState::kEnd);
  ASSERT_EQ(starts.size(), 1u);
  ASSERT_EQ(ends.size(), 1u);
  const uint64_t id = starts[0].incident.id;
  EXPECT_NE(id, 0u);
  EXPECT_EQ(rsts[0].incident.id, 0u);  // legitimate when written
  EXPECT_EQ(rsts[1].incident.id, id);
  EXPECT_EQ(updates[0].incident.id, id);
  EXPECT_EQ(ends[0].incident.resets, 2u);
  EXPECT_EQ(ends[0].incident.forged, 2u);
  EXPECT_EQ(ends[0].incident.updates, 1u);
  EXPECT_EQ(ends[0].incident.toward_src, 1u);
  EXPECT_EQ(ends[0].incident.toward_dst, 1u);
  EXPECT_EQ(run.events.size(), 5u);  // the two resets, the update, start, end
}

// Quiet for `idle`: the incident ends; the next flagged reset starts a new
// one. Another target is another incident.
TEST(Incidents, IdleEndsAnIncidentAndTargetsSeparateThem) {
  scenario::Capture cap;
  scenario::Conn a(cap, scenario::ConnOptions{}, "10.1.0.10", 40000, "10.2.0.20", 443);
  scenario::Conn b(cap, scenario::ConnOptions{}, "10.1.0.11", 40001, "10.2.0.21", 443);
  for (scenario::Conn* c : {&a, &b}) exchange(*c);
  for (int i = 0; i < 2; ++i) {  // two resets each: announced incidents
    cap.add(a.forge_rst(kServer));
    cap.add(b.forge_rst(kServer));
  }
  cap.advance_ms(31'000);  // past idle (30 s)
  a.data(kClient, 10);
  a.ack(kServer);
  cap.add(a.forge_rst(kServer));
  cap.add(a.forge_rst(kServer));
  Feed run(params());
  run.feed(cap.packets());
  // The first two have ended by now (expiry between bursts), the third runs.
  const auto starts = run.incidents(IncidentState::kStart);
  ASSERT_EQ(starts.size(), 3u);
  EXPECT_EQ(run.incidents(IncidentState::kEnd).size(), 2u);
  EXPECT_EQ(run.worker.incidents().open(), 1u);
  std::set<uint64_t> ids;
  for (const RstEvent& e : starts) ids.insert(e.incident.id);
  EXPECT_EQ(ids.size(), 3u);
  run.finish();
  EXPECT_EQ(run.incidents(IncidentState::kEnd).size(), 3u);
  EXPECT_EQ(run.worker.incidents().open(), 0u);
}

// Bounded: past `capacity` open incidents, the quietest is ended (evicted)
// with its counts, and counted.
TEST(Incidents, CapacityEvictsTheQuietest) {
  scenario::Capture cap;
  std::vector<scenario::Conn> conns;
  for (int i = 0; i < 3; ++i) {
    conns.emplace_back(cap, scenario::ConnOptions{}, "10.1.0." + std::to_string(10 + i),
                       static_cast<uint16_t>(40000 + i), "10.2.0." + std::to_string(20 + i), 443);
    exchange(conns.back());
  }
  for (auto& c : conns) {
    cap.add(c.forge_rst(kServer));
    cap.add(c.forge_rst(kServer));
    cap.advance_ms(1);
  }
  WorkerParams p = params();
  p.incidents.capacity = 2;
  Feed run(p);
  run.feed(cap.packets());
  const auto evicted = run.incidents(IncidentState::kEvicted);
  ASSERT_EQ(evicted.size(), 1u);
  EXPECT_EQ(evicted[0].incident.resets, 2u);
  EXPECT_EQ(run.worker.counters().incident_evicted, 1u);
  EXPECT_EQ(run.worker.incidents().open(), 2u);
  // The first target's incident went: it was quiet longest.
  EXPECT_EQ(output::format_ip(evicted[0].dst), "10.2.0.20");
  const auto starts = run.incidents(IncidentState::kStart);
  ASSERT_EQ(starts.size(), 3u);
  EXPECT_EQ(evicted[0].incident.id, starts[0].incident.id);
}

// A reset alone is its own record: it carries an incident id, and no
// incident event is written for it (one event, not three).
TEST(Incidents, ALoneResetIsAnnouncedByNothing) {
  scenario::Capture cap;
  scenario::Conn c(cap, scenario::ConnOptions{}, "10.1.0.10", 40000, "10.2.0.20", 443);
  exchange(c);
  cap.add(c.forge_rst(kServer));
  Feed run(params());
  run.feed(cap.packets());
  run.finish();
  ASSERT_EQ(run.events.size(), 1u);
  EXPECT_EQ(run.events[0].type, EventType::kRst);
  EXPECT_NE(run.events[0].incident.id, 0u);
  EXPECT_EQ(run.worker.counters().incident_started, 0u);
  EXPECT_EQ(run.worker.incidents().open(), 0u);
}

// A legitimate reset never joins one.
TEST(Incidents, LegitimateResetsStayOut) {
  int checked = 0;
  for (const auto& s : scenario::all_scenarios()) {
    if (s.name.rfind("abortive_close", 0) != 0 && s.name.rfind("port_closed", 0) != 0) continue;
    SCOPED_TRACE(s.name);
    ++checked;
    Feed run(params());
    run.feed(s.capture.packets());
    run.finish();
    EXPECT_TRUE(run.of(EventType::kIncident).empty());
    for (const RstEvent& e : run.events) EXPECT_EQ(e.incident.id, 0u);
  }
  EXPECT_GE(checked, 2);
}

TEST(Incidents, EventJsonNamesTheIncident) {
  const scenario::Capture cap = big_sweep(20);
  Feed run(params());
  run.feed(cap.packets());
  run.finish();
  const auto ends = run.incidents(IncidentState::kEnd);
  ASSERT_EQ(ends.size(), 1u);
  std::string json;
  output::format_event_json(ends[0], json);
  EXPECT_NE(json.find(R"("event_type":"incident")"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("state":"end")"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("resets":20,)"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("events_sampled":14,)"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("hosts":["10.1.0.10","10.2.0.20"])"), std::string::npos) << json;
  std::string member;
  output::format_event_json(run.of(EventType::kRst)[0], member);
  EXPECT_NE(member.find(R"("incident_id":)" + std::to_string(ends[0].incident.id) + ","),
            std::string::npos)
      << member;
}

}  // namespace
}  // namespace rstguard

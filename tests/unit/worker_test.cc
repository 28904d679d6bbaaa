// Worker tests: the synthetic scenario captures (tools/scenarios) run
// in-process through a Worker in bursts, checking that counters add up,
// that exactly the resets whose action is drop are dropped, how accepted
// and forged resets leave the flow, the data_after_rst revision, event
// verbosity, determinism and burst-size independence, and that no reset in
// a legitimate scenario is called forged.
#include "core/worker.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <ostream>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "core/counters.h"
#include "core/event.h"
#include "core/flow.h"
#include "core/flow_table.h"
#include "core/headers.h"
#include "core/parser.h"
#include "core/verdict.h"
#include "scenarios/conversation.h"
#include "scenarios/scenarios.h"

namespace rstguard {

static void PrintTo(Label v, std::ostream* os) { *os << name_of(v); }
static void PrintTo(Validity v, std::ostream* os) { *os << name_of(v); }
static void PrintTo(Cause v, std::ostream* os) { *os << name_of(v); }
static void PrintTo(Phase v, std::ostream* os) { *os << phase_name(v); }
static void PrintTo(Disposition v, std::ostream* os) {
  *os << (v == Disposition::kDrop ? "drop" : "forward");
}

namespace {

using wire::tcpflag::kAck;
using wire::tcpflag::kFin;
using wire::tcpflag::kPsh;
using wire::tcpflag::kRst;
using wire::tcpflag::kSyn;

constexpr uint16_t kBurst = 32;

uint32_t clock_ms(uint64_t ts_ns) { return static_cast<uint32_t>(ts_ns / kNsPerMs) | 1u; }

std::string base_name(const std::string& scenario) {
  return scenario.substr(0, scenario.find('.'));
}

const std::vector<scenario::NamedCapture>& scenarios() {
  static const std::vector<scenario::NamedCapture> all = scenario::all_scenarios();
  return all;
}

// Every member event of an incident written (no sampling): tests here
// compare events with counters one to one. Incident tests set their own.
WorkerParams small_params() {
  WorkerParams p;
  p.flow.capacity = 1024;
  p.incidents.sample_every = 1;
  return p;
}

// One worker fed a capture in bursts; keeps every event and disposition.
class Replay {
 public:
  explicit Replay(const WorkerParams& params = small_params())
      : worker_(std::make_unique<Worker>(params)) {}

  void run(const std::vector<scenario::Packet>& packets, uint16_t burst = kBurst) {
    std::vector<Frame> frames;
    for (const scenario::Packet& p : packets) {
      Frame f;
      f.data = p.frame.data();
      f.len = f.wire_len = static_cast<uint32_t>(p.frame.size());
      f.ts_ns = p.ts_ns;
      frames.push_back(f);
    }
    for (size_t i = 0; i < frames.size(); i += burst) {
      const auto n = static_cast<uint16_t>(std::min<size_t>(burst, frames.size() - i));
      Disposition out[kMaxBurst];
      worker_->process_burst(&frames[i], n, out);
      dispositions.insert(dispositions.end(), out, out + n);
      events.insert(events.end(), worker_->events().begin(), worker_->events().end());
      worker_->clear_events();
      last_ms_ = clock_ms(frames[i + n - 1].ts_ns);
    }
  }

  const Counters& counters() const { return worker_->counters(); }
  const Worker& worker() const { return *worker_; }

  // The worker's entry for the connection an event belongs to, as of the
  // last frame's time. FlowTable::find is non-const (expiry bookkeeping);
  // the worker exposes its table read-only, so the test casts.
  const FlowEntry* flow_of(const RstEvent& e) const {
    PacketView v;
    v.src = e.src;
    v.dst = e.dst;
    v.src_port = e.src_port;
    v.dst_port = e.dst_port;
    v.vlan_outer = e.vlan_outer;
    v.vlan_inner = e.vlan_inner;
    int side = 0;
    const FlowKey key = make_flow_key(v, side);
    auto& table = const_cast<FlowTable&>(worker_->flows());
    return table.find(key, hash_flow_key(key), last_ms_);
  }

  std::vector<RstEvent> rsts() const { return of_type(EventType::kRst); }
  std::vector<RstEvent> updates() const { return of_type(EventType::kRstUpdate); }

  std::vector<RstEvent> events;
  std::vector<Disposition> dispositions;

 private:
  std::vector<RstEvent> of_type(EventType t) const {
    std::vector<RstEvent> out;
    for (const RstEvent& e : events) {
      if (e.type == t) out.push_back(e);
    }
    return out;
  }

  std::unique_ptr<Worker> worker_;
  uint32_t last_ms_ = 1;
};

// Every field of an event, for comparisons and failure messages.
std::string describe(const RstEvent& e) {
  std::ostringstream os;
  os << (e.type == EventType::kRst ? "rst" : "update") << " #" << e.packet_number << " ts "
     << e.timestamp_ns << " flow " << e.flow_id << " " << e.src_port << ">" << e.dst_port
     << " vlan " << e.vlan_outer << "/" << e.vlan_inner << "/" << int{e.vlan_count} << " v"
     << int{e.ip_version} << " to_server " << e.to_server << " known " << e.direction_known
     << " seq " << e.seq << " ack " << e.ack << " flags " << int{e.tcp_flags} << " win " << e.window
     << " ttl " << int{e.ttl} << " id " << e.ip_id << " len " << e.payload_len << " "
     << name_of(e.label) << " " << name_of(e.validity) << " " << name_of(e.cause) << " ev "
     << e.evidence.bits() << " exp " << e.expected_known << "/" << e.expected_seq << " rwnd "
     << e.receiver_window << " " << name_of(e.action) << " revises " << e.revises_packet_number
     << "/" << e.revises_seq;
  for (int i = 0; i < 16; ++i) os << (i ? "." : " src ") << int{e.src.bytes[i]};
  for (int i = 0; i < 16; ++i) os << (i ? "." : " dst ") << int{e.dst.bytes[i]};
  return os.str();
}

std::vector<std::string> describe_all(const std::vector<RstEvent>& events) {
  std::vector<std::string> out;
  for (const RstEvent& e : events) out.push_back(describe(e));
  return out;
}

std::string counters_text(const Counters& c) {
  std::ostringstream os;
  c.for_each_scalar([&os](std::string_view name, uint64_t v) { os << name << "=" << v << " "; });
  for (uint64_t v : c.parse) os << v << ",";
  for (uint64_t v : c.rst_label) os << v << ",";
  for (uint64_t v : c.rst_validity) os << v << ",";
  for (uint64_t v : c.rst_cause) os << v << ",";
  for (uint64_t v : c.rst_evidence) os << v << ",";
  return os.str();
}

struct FrameFacts {
  size_t rst = 0, syn = 0, fin_without_rst = 0;
};

FrameFacts facts_of(const std::vector<scenario::Packet>& packets) {
  FrameFacts f;
  for (const scenario::Packet& p : packets) {
    PacketView v;
    const auto len = static_cast<uint32_t>(p.frame.size());
    if (parse_frame(p.frame.data(), len, len, v) != ParseResult::ok) continue;
    f.rst += v.has(kRst);
    f.syn += v.has(kSyn) && !v.has(kRst);
    f.fin_without_rst += v.has(kFin) && !v.has(kRst);
  }
  return f;
}

const std::set<std::string>& legit_scenarios() {
  static const std::set<std::string> names = {
      "port_closed",      "refused",           "syn_scan",
      "malformed_syn",    "listen_overflow",   "connect_timeout",
      "connect_scan",     "duplicate_syn",     "retransmit_exhausted",
      "idle_timeout",     "abort_unread_data", "abortive_close",
      "data_after_close", "keepalive_failure", "after_fin",
      "time_wait_reuse",  "no_flow",           "rst_with_diagnostic",
      "trigger_clean",    "challenge_ack_exchange", "challenge_ack_exchange_seen",
      "half_open",        "fin_scan",          "null_scan",
      "xmas_scan",        "abort_after_half_close"};
  return names;
}

// ---- Counters ------------------------------------------------------------------------------

void check_counters(const std::string& name, const std::vector<scenario::Packet>& packets) {
  SCOPED_TRACE(name);
  Replay r;
  r.run(packets);
  const Counters& c = r.counters();
  const FrameFacts facts = facts_of(packets);
  const auto rsts = r.rsts();
  const auto updates = r.updates();
  EXPECT_EQ(c.pkt_total, packets.size());
  EXPECT_EQ(c.pkt_tcp, packets.size());
  EXPECT_EQ(c.parse[static_cast<int>(ParseResult::ok)], packets.size());
  EXPECT_EQ(c.pkt_forwarded + c.pkt_dropped, c.pkt_total);
  EXPECT_EQ(r.dispositions.size(), packets.size());
  uint64_t bytes = 0;
  for (const scenario::Packet& p : packets) bytes += p.frame.size();
  EXPECT_EQ(c.pkt_bytes, bytes);
  EXPECT_EQ(c.rst_total, rsts.size());
  EXPECT_EQ(c.rst_total, facts.rst);
  EXPECT_EQ(c.tcp_syn, facts.syn);
  EXPECT_EQ(c.tcp_fin, facts.fin_without_rst);
  EXPECT_EQ(c.rst_updates, updates.size());
  EXPECT_EQ(c.event_emitted, r.events.size());
  EXPECT_EQ(c.event_suppressed, 0u);
  EXPECT_EQ(c.event_overflow, 0u);
  EXPECT_EQ(c.rst_dropped, c.pkt_dropped);
  EXPECT_EQ(c.rst_held, 0u);

  std::vector<uint64_t> label(kLabelCount), validity(kValidityCount), cause(kCauseCount),
      evidence(kEvidenceCount);
  uint64_t alerted = 0;
  for (const RstEvent& e : rsts) {
    ++label[static_cast<int>(e.label)];
    ++validity[static_cast<int>(e.validity)];
    ++cause[static_cast<int>(e.cause)];
    for (int i = 0; i < kEvidenceCount; ++i)
      evidence[i] += e.evidence.has(static_cast<Evidence>(i));
    alerted += e.action == Action::alert;
  }
  for (int i = 0; i < kLabelCount; ++i) EXPECT_EQ(c.rst_label[i], label[i]) << i;
  for (int i = 0; i < kValidityCount; ++i) EXPECT_EQ(c.rst_validity[i], validity[i]) << i;
  for (int i = 0; i < kCauseCount; ++i) EXPECT_EQ(c.rst_cause[i], cause[i]) << i;
  const int race = static_cast<int>(Evidence::data_after_rst);
  for (int i = 0; i < kEvidenceCount; ++i) {
    if (i != race) {
      EXPECT_EQ(c.rst_evidence[i], evidence[i]) << name_of(static_cast<Evidence>(i));
    }
  }
  size_t race_updates = 0;
  for (const RstEvent& u : updates) race_updates += u.evidence.has(Evidence::data_after_rst);
  EXPECT_LE(c.rst_evidence[race], race_updates);
  EXPECT_EQ(c.rst_alerted, alerted);
  // Resets never create flows; any other segment does (the table has room).
  EXPECT_EQ(c.flow_created == 0, packets.size() == facts.rst);
  EXPECT_EQ(c.flow_insert_refused, 0u);
}

TEST(WorkerCounters, AddUpForEveryScenario) {
  ASSERT_GE(scenarios().size(), 60u);
  for (const auto& s : scenarios()) check_counters(s.name, s.capture.packets());
}

TEST(WorkerCounters, AddUpForTheDemo) {
  const scenario::Capture demo = scenario::demo_capture();
  check_counters("demo", demo.packets());
  Replay r;
  r.run(demo.packets());
  // The demo: 2 legitimate resets, 2 forged (README).
  EXPECT_EQ(r.counters().rst_total, 4u);
  EXPECT_EQ(r.counters().rst_label[static_cast<int>(Label::legit)], 2u);
  EXPECT_EQ(r.counters().rst_label[static_cast<int>(Label::forged)], 2u);
  EXPECT_EQ(r.counters().pkt_dropped, 2u);
}

// Events name their frame: packet number, time and the reset's own fields.
TEST(WorkerEvents, NameTheirFrame) {
  for (const auto& s : scenarios()) {
    SCOPED_TRACE(s.name);
    const auto& packets = s.capture.packets();
    Replay r;
    r.run(packets);
    for (const RstEvent& e : r.events) {
      if (e.type == EventType::kIncident) continue;  // incident_test.cc
      ASSERT_GE(e.packet_number, 1u);
      ASSERT_LE(e.packet_number, packets.size());
      // An update is stamped with the packet that revised it and describes
      // the reset it revises (README, Events).
      EXPECT_EQ(e.timestamp_ns, packets[e.packet_number - 1].ts_ns);
      const uint64_t described =
          e.type == EventType::kRst ? e.packet_number : e.revises_packet_number;
      ASSERT_GE(described, 1u);
      const scenario::Packet& p = packets[described - 1];
      PacketView v;
      const auto len = static_cast<uint32_t>(p.frame.size());
      ASSERT_EQ(parse_frame(p.frame.data(), len, len, v), ParseResult::ok);
      EXPECT_EQ(e.tcp_flags, v.tcp_flags);
      EXPECT_TRUE(e.src == v.src);
      EXPECT_EQ(e.src_port, v.src_port);
      EXPECT_EQ(e.vlan_outer, v.vlan_outer);
      EXPECT_EQ(e.ip_version, v.ip_version);
      if (e.type == EventType::kRst) {
        EXPECT_TRUE(v.has(kRst));
        EXPECT_EQ(e.seq, v.seq);
        EXPECT_EQ(e.ack, v.ack);
        EXPECT_EQ(e.ttl, v.ttl);
        EXPECT_EQ(e.payload_len, v.payload_len);
      } else {
        EXPECT_LT(e.revises_packet_number, e.packet_number);
        EXPECT_TRUE(v.has(kRst));
        EXPECT_EQ(e.revises_seq, v.seq);
      }
    }
  }
}

// ---- Dispositions --------------------------------------------------------------------------

TEST(WorkerDrop, DroppedFramesAreExactlyTheResetsWhoseActionIsDrop) {
  size_t dropped_total = 0;
  for (const auto& s : scenarios()) {
    SCOPED_TRACE(s.name);
    Replay r;
    r.run(s.capture.packets());
    const WorkerParams params = small_params();
    std::set<uint64_t> want, got;
    for (const RstEvent& e : r.rsts()) {
      EXPECT_EQ(e.action, params.actions.for_label(e.label)) << describe(e);
      if (e.action == Action::drop) want.insert(e.packet_number);
    }
    for (size_t i = 0; i < r.dispositions.size(); ++i) {
      if (r.dispositions[i] == Disposition::kDrop) got.insert(i + 1);
    }
    EXPECT_EQ(got, want);
    // A revision comes after its reset was forwarded: it never asks to drop.
    for (const RstEvent& u : r.updates()) EXPECT_NE(u.action, Action::drop) << describe(u);
    dropped_total += got.size();
  }
  EXPECT_GT(dropped_total, 20u);
}

TEST(WorkerDrop, PolicyWithoutDropForwardsEverything) {
  WorkerParams params = small_params();
  params.actions.by_label = {Action::pass, Action::alert, Action::alert};
  for (const auto& s : scenarios()) {
    SCOPED_TRACE(s.name);
    Replay r(params);
    r.run(s.capture.packets());
    EXPECT_EQ(r.counters().pkt_dropped, 0u);
    EXPECT_EQ(std::count(r.dispositions.begin(), r.dispositions.end(), Disposition::kDrop), 0);
    for (const RstEvent& e : r.rsts()) {
      EXPECT_EQ(e.action, e.label == Label::legit ? Action::pass : Action::alert);
    }
  }
}

// ---- What a reset does to the flow -------------------------------------------------------

const scenario::NamedCapture& find_scenario(const std::string& name) {
  for (const auto& s : scenarios()) {
    if (s.name == name) return s;
  }
  ADD_FAILURE() << "no scenario " << name;
  return scenarios().front();
}

TEST(WorkerFlow, AcceptedResetClosesTheFlow) {
  for (const auto& s : scenarios()) {
    if (!legit_scenarios().count(base_name(s.name)) || base_name(s.name) == "no_flow") continue;
    SCOPED_TRACE(s.name);
    Replay r;
    r.run(s.capture.packets());
    const auto rsts = r.rsts();
    ASSERT_FALSE(rsts.empty());
    const RstEvent& last = rsts.back();
    ASSERT_EQ(last.validity, Validity::exact) << describe(last);
    const FlowEntry* f = r.flow_of(last);
    ASSERT_NE(f, nullptr);
    EXPECT_EQ(Phase{f->phase}, Phase::kClosed);
    EXPECT_EQ(f->flow_id, last.flow_id);
  }
}

TEST(WorkerFlow, ForgedOrUnacceptedResetLeavesTheFlowOpen) {
  for (const char* name :
       {"ttl_ts_exact", "ttl_ts_exact.wrap", "out_of_window", "out_of_window.midstream",
        "in_window", "insertion_bad_checksum", "seq_change", "sweep"}) {
    SCOPED_TRACE(name);
    Replay r;
    r.run(find_scenario(name).capture.packets());
    const auto rsts = r.rsts();
    ASSERT_FALSE(rsts.empty());
    for (const RstEvent& e : rsts) {
      EXPECT_TRUE(e.label == Label::forged || e.validity != Validity::exact ||
                  e.evidence.has(Evidence::insertion))
          << describe(e);
    }
    const FlowEntry* f = r.flow_of(rsts.back());
    ASSERT_NE(f, nullptr);
    EXPECT_EQ(Phase{f->phase}, Phase::kEstablished);
  }
}

// A reset its receiver discards (a bad checksum, a missing signature) is
// reported but leaves nothing behind: no history entry, no closed flow, no
// destination count; the genuine reset after it is judged as if it had
// never been.
TEST(WorkerFlow, DiscardedResetsLeaveNoHistory) {
  for (const char* name :
       {"insertion_then_genuine", "md5_forged_then_genuine", "ao_forged_then_genuine"}) {
    SCOPED_TRACE(name);
    const auto& packets = find_scenario(name).capture.packets();
    // Up to and including the discarded reset.
    size_t first_rst = 0;
    while (first_rst < packets.size()) {
      PacketView v;
      ASSERT_EQ(parse_frame(packets[first_rst].frame.data(),
                            static_cast<uint32_t>(packets[first_rst].frame.size()),
                            static_cast<uint32_t>(packets[first_rst].frame.size()), v),
                ParseResult::ok);
      if (v.has(kRst)) break;
      ++first_rst;
    }
    ASSERT_LT(first_rst, packets.size());
    Replay r;
    r.run({packets.begin(), packets.begin() + static_cast<std::ptrdiff_t>(first_rst) + 1}, 1);
    ASSERT_EQ(r.rsts().size(), 1u);
    const RstEvent discarded = r.rsts()[0];
    EXPECT_TRUE(discarded.evidence.has(Evidence::insertion) ||
                discarded.evidence.has(Evidence::auth_mismatch));
    EXPECT_EQ(r.worker().history_pool().used(), 0u);
    const FlowEntry* f = r.flow_of(discarded);
    ASSERT_NE(f, nullptr);
    EXPECT_EQ(Phase{f->phase}, Phase::kEstablished);
    EXPECT_EQ(f->history, 0u);
    // The whole exchange: the server's own reset is legitimate.
    Replay all;
    all.run(packets);
    const RstEvent genuine = all.rsts().back();
    EXPECT_EQ(genuine.label, Label::legit);
    EXPECT_FALSE(genuine.evidence.has(Evidence::seq_change));
    EXPECT_EQ(genuine.validity, Validity::exact);
    EXPECT_TRUE(all.updates().empty());
  }
}

// The race: a reset that looked like the server's own, then the server
// keeps sending. One revision, naming the reset, and the flow lives on.
TEST(WorkerFlow, DataAfterRstRevisesTheResetOnce) {
  for (const auto& s : scenarios()) {
    const std::string base = base_name(s.name);
    if (base != "race") continue;
    SCOPED_TRACE(s.name);
    Replay r;
    r.run(s.capture.packets());
    const auto rsts = r.rsts();
    const auto updates = r.updates();
    ASSERT_EQ(rsts.size(), 1u);
    ASSERT_EQ(updates.size(), 1u);
    const RstEvent& rst = rsts[0];
    const RstEvent& u = updates[0];
    EXPECT_NE(rst.label, Label::forged);
    EXPECT_EQ(u.revises_packet_number, rst.packet_number);
    EXPECT_EQ(u.revises_seq, rst.seq);
    EXPECT_EQ(u.seq, rst.seq);
    EXPECT_EQ(u.flow_id, rst.flow_id);
    EXPECT_GT(u.packet_number, rst.packet_number);
    if (base == "race") {
      EXPECT_EQ(u.packet_number, rst.packet_number + 1);  // the sender's next segment
    }
    EXPECT_TRUE(u.evidence.has(Evidence::data_after_rst));
    EXPECT_EQ(u.label, Label::forged);
    EXPECT_EQ(u.cause, Cause::injected);
    EXPECT_EQ(u.validity, rst.validity);
    EXPECT_EQ(u.action, Action::alert);  // drop would come too late
    EXPECT_EQ(r.counters().rst_updates, 1u);
    EXPECT_EQ(r.counters().rst_evidence[static_cast<int>(Evidence::data_after_rst)], 1u);
    const FlowEntry* f = r.flow_of(rst);
    ASSERT_NE(f, nullptr);
    EXPECT_EQ(Phase{f->phase}, Phase::kEstablished);  // not kClosed: the reset was not real
  }
}

TEST(WorkerFlow, BothDirectionsRevisesTheEarlierReset) {
  for (const char* name : {"both_directions", "both_directions.v6"}) {
    SCOPED_TRACE(name);
    Replay r;
    r.run(find_scenario(name).capture.packets());
    const auto rsts = r.rsts();
    const auto updates = r.updates();
    ASSERT_EQ(rsts.size(), 2u);
    ASSERT_EQ(updates.size(), 1u);
    EXPECT_TRUE(rsts[1].evidence.has(Evidence::both_directions));
    EXPECT_EQ(rsts[1].label, Label::forged);
    EXPECT_EQ(updates[0].revises_packet_number, rsts[0].packet_number);
    EXPECT_EQ(updates[0].revises_seq, rsts[0].seq);
    EXPECT_EQ(updates[0].label, Label::forged);
    EXPECT_TRUE(updates[0].evidence.has(Evidence::both_directions));
    EXPECT_EQ(updates[0].to_server, rsts[0].to_server);
    const FlowEntry* f = r.flow_of(rsts[0]);
    ASSERT_NE(f, nullptr);
    EXPECT_NE(Phase{f->phase}, Phase::kClosed);
  }
}

// ---- Verdicts by scenario -----------------------------------------------------------------

TEST(WorkerScenarios, LegitScenariosHaveNoForgedReset) {
  const std::map<std::string, Cause> cause_of = {
      {"port_closed", Cause::port_closed},
      {"refused", Cause::refused},
      {"syn_scan", Cause::syn_scan},
      {"malformed_syn", Cause::malformed_syn},
      {"listen_overflow", Cause::listen_overflow},
      {"connect_timeout", Cause::connect_timeout},
      {"connect_scan", Cause::connect_scan},
      {"duplicate_syn", Cause::duplicate_syn},
      {"retransmit_exhausted", Cause::retransmit_exhausted},
      {"idle_timeout", Cause::idle_timeout},
      {"abort_unread_data", Cause::abort_unread_or_linger0},
      {"abortive_close", Cause::abortive_close},
      {"data_after_close", Cause::data_after_close},
      {"keepalive_failure", Cause::keepalive_failure},
      {"after_fin", Cause::after_fin},
      {"time_wait_reuse", Cause::time_wait_reuse},
      {"no_flow", Cause::unknown},
      {"half_open", Cause::half_open},
      {"fin_scan", Cause::fin_scan},
      {"null_scan", Cause::null_scan},
      {"xmas_scan", Cause::xmas_scan},
      {"abort_after_half_close", Cause::abort_after_half_close},
  };
  size_t checked = 0;
  for (const auto& s : scenarios()) {
    const std::string base = base_name(s.name);
    if (!legit_scenarios().count(base)) continue;
    SCOPED_TRACE(s.name);
    ++checked;
    Replay r;
    r.run(s.capture.packets());
    for (const RstEvent& e : r.events) {
      EXPECT_NE(e.label, Label::forged) << describe(e);
    }
    EXPECT_TRUE(r.updates().empty());
    const auto rsts = r.rsts();
    ASSERT_FALSE(rsts.empty());
    const RstEvent& last = rsts.back();
    EXPECT_EQ(last.label, Label::legit) << describe(last);
    EXPECT_EQ(last.validity, base == "no_flow" ? Validity::no_flow : Validity::exact);
    if (cause_of.count(base)) {
      EXPECT_EQ(last.cause, cause_of.at(base));
    }
    if (base == "rst_with_diagnostic") {
      EXPECT_TRUE(last.evidence.has(Evidence::with_payload));
    }
    EXPECT_EQ(r.counters().pkt_dropped, 0u);
  }
  EXPECT_EQ(checked, 50u);  // with their variants
}

TEST(WorkerScenarios, EveryAttackIsFlagged) {
  for (const auto& s : scenarios()) {
    const std::string base = base_name(s.name);
    if (legit_scenarios().count(base) || base == "midstream_one_side") continue;
    SCOPED_TRACE(s.name);
    Replay r;
    r.run(s.capture.packets());
    const bool flagged = std::any_of(r.events.begin(), r.events.end(),
                                     [](const RstEvent& e) { return e.label != Label::legit; });
    EXPECT_TRUE(flagged);
  }
}

TEST(WorkerScenarios, OneSidedMidstreamIsUnknown) {
  Replay r;
  r.run(find_scenario("midstream_one_side").capture.packets());
  const auto rsts = r.rsts();
  ASSERT_EQ(rsts.size(), 1u);
  EXPECT_EQ(rsts[0].validity, Validity::unknown);
  EXPECT_EQ(rsts[0].label, Label::legit);
  EXPECT_FALSE(rsts[0].direction_known);
  EXPECT_EQ(r.counters().flow_midstream, 1u);
}

// ---- Verbosity, determinism, bursts ---------------------------------------------------------

TEST(WorkerVerbosity, SuspiciousAndForgedSuppressesLegitResets) {
  WorkerParams quiet = small_params();
  quiet.verbosity = EventVerbosity::kSuspiciousAndForged;
  size_t suppressed_total = 0;
  for (const auto& s : scenarios()) {
    SCOPED_TRACE(s.name);
    Replay all, filtered(quiet);
    all.run(s.capture.packets());
    filtered.run(s.capture.packets());
    std::vector<RstEvent> want;
    size_t legit = 0;
    for (const RstEvent& e : all.events) {
      if (e.type == EventType::kRst && e.label == Label::legit) {
        ++legit;
      } else {
        want.push_back(e);
      }
    }
    EXPECT_EQ(describe_all(filtered.events), describe_all(want));
    EXPECT_EQ(filtered.counters().event_suppressed, legit);
    EXPECT_EQ(filtered.counters().event_emitted, want.size());
    EXPECT_EQ(filtered.counters().rst_total, all.counters().rst_total);
    EXPECT_EQ(filtered.dispositions, all.dispositions);
    suppressed_total += legit;
  }
  EXPECT_GT(suppressed_total, 30u);
}

TEST(WorkerDeterminism, TwoRunsGiveIdenticalEvents) {
  std::vector<std::pair<std::string, const std::vector<scenario::Packet>*>> inputs;
  const scenario::Capture demo = scenario::demo_capture();
  inputs.emplace_back("demo", &demo.packets());
  for (const auto& s : scenarios()) inputs.emplace_back(s.name, &s.capture.packets());
  for (const auto& [name, packets] : inputs) {
    SCOPED_TRACE(name);
    Replay a, b;
    a.run(*packets);
    b.run(*packets);
    EXPECT_EQ(describe_all(a.events), describe_all(b.events));
    EXPECT_EQ(a.dispositions, b.dispositions);
    EXPECT_EQ(counters_text(a.counters()), counters_text(b.counters()));
  }
  // And a fresh generation of the demo is the same capture.
  const scenario::Capture again = scenario::demo_capture();
  ASSERT_EQ(again.packets().size(), demo.packets().size());
  for (size_t i = 0; i < demo.packets().size(); ++i) {
    EXPECT_EQ(again.packets()[i].frame, demo.packets()[i].frame) << i;
    EXPECT_EQ(again.packets()[i].ts_ns, demo.packets()[i].ts_ns) << i;
  }
}

TEST(WorkerBursts, BurstBoundariesDoNotChangeVerdicts) {
  const scenario::Capture demo = scenario::demo_capture();
  std::vector<const std::vector<scenario::Packet>*> inputs = {&demo.packets()};
  for (const auto& s : scenarios()) inputs.push_back(&s.capture.packets());
  for (const auto* packets : inputs) {
    Replay reference;
    reference.run(*packets, kBurst);
    for (uint16_t burst : {uint16_t{1}, uint16_t{7}, kMaxBurst}) {
      SCOPED_TRACE(burst);
      Replay r;
      r.run(*packets, burst);
      EXPECT_EQ(describe_all(r.events), describe_all(reference.events));
      EXPECT_EQ(r.dispositions, reference.dispositions);
    }
  }
}

// ---- Bounded resources ---------------------------------------------------------------------

// Floods of new tuples at 10x the table's capacity, with established
// traffic going on, against a table full of established two-way
// connections: none of them loses its state, and a forged exact reset on
// one of them in the middle of the flood is still labelled forged and
// dropped. Parameter: the flood's TCP flags (0: data segments).
class WorkerFlood : public ::testing::TestWithParam<uint8_t> {};

TEST_P(WorkerFlood, EstablishedConnectionsKeepTheirState) {
  const uint8_t flood_flags = GetParam();
  constexpr int kConns = 200;
  constexpr int kFlood = 10 * kConns;
  WorkerParams params = small_params();
  params.flow.capacity = kConns;
  scenario::Capture cap;
  std::vector<scenario::Conn> conns;
  conns.reserve(kConns);
  for (int i = 0; i < kConns; ++i) {
    conns.emplace_back(cap, scenario::ConnOptions{}, "10.1." + std::to_string(i / 200) + "." +
                                                         std::to_string(i % 200 + 1),
                       static_cast<uint16_t>(30000 + i), "10.2.0.1", 443);
    conns.back().handshake();
    conns.back().data(scenario::kClient, 100);
    conns.back().data(scenario::kServer, 100);
  }
  std::mt19937 rng(static_cast<unsigned>(flood_flags) * 7 + 1);
  const int victim = 117;
  for (int i = 0; i < kFlood; ++i) {
    // Random sources toward the servers, each a new tuple.
    const std::string src = "198." + std::to_string(18 + rng() % 2) + "." +
                            std::to_string(rng() % 256) + "." + std::to_string(rng() % 256);
    scenario::Conn flood(cap, scenario::ConnOptions{}, src,
                         static_cast<uint16_t>(1024 + rng() % 60000), "10.2.0.1", 443);
    if (flood_flags == 0) {
      flood.data(scenario::kClient, 64);
    } else {
      flood.send(scenario::kClient, flood_flags);
    }
    if (i % 10 == 0) conns[(i / 10) % kConns].data(scenario::kClient, 10);  // traffic goes on
    if (i == kFlood / 2) cap.add(conns[victim].forge_rst(scenario::kServer));
  }
  Replay r(params);
  r.run(cap.packets());
  const Counters& c = r.counters();
  EXPECT_EQ(c.flow_evicted_closed + c.flow_expired, 0u);
  if (flood_flags != kRst) EXPECT_EQ(c.flow_insert_refused, static_cast<uint64_t>(kFlood));
  // Every established connection (10.1.x.y <-> 10.2.0.1) is still there,
  // seen both ways.
  int kept = 0;
  r.worker().flows().for_each([&](const FlowEntry& f) {
    const uint8_t* a = f.key.addr_a.bytes;
    if (a[12] == 10 && a[13] == 1 && f.two_way()) ++kept;
  });
  EXPECT_EQ(kept, kConns);
  const auto rsts = r.rsts();
  const auto forged = std::find_if(rsts.begin(), rsts.end(), [](const RstEvent& e) {
    return e.src_port == 443 && e.dst_port == 30000 + victim;
  });
  ASSERT_NE(forged, rsts.end());
  EXPECT_EQ(forged->validity, Validity::exact);
  EXPECT_EQ(forged->label, Label::forged);
  EXPECT_EQ(forged->action, Action::drop);
  EXPECT_EQ(r.dispositions[forged->packet_number - 1], Disposition::kDrop);
}

INSTANTIATE_TEST_SUITE_P(Kinds, WorkerFlood,
                         ::testing::Values(kSyn, static_cast<uint8_t>(kSyn | kAck), kAck, kRst,
                                           uint8_t{0}),
                         [](const ::testing::TestParamInfo<uint8_t>& info) {
                           switch (info.param) {
                             case kSyn: return std::string("syn");
                             case kSyn | kAck: return std::string("syn_ack");
                             case kAck: return std::string("ack");
                             case kRst: return std::string("rst");
                             default: return std::string("data");
                           }
                         });

// A burst with no TCP frame in it (ARP, say) must not disturb the flow
// table: collection runs with the burst's time, and such a burst has none.
TEST(WorkerResources, BurstWithoutTcpKeepsFlows) {
  WorkerParams params = small_params();
  params.flow.capacity = 16;
  scenario::Capture cap;
  scenario::Conn c(cap, scenario::ConnOptions{}, "10.1.0.10", 40000, "10.2.0.20", 443);
  c.handshake();
  c.data(scenario::kClient, 100);
  c.data(scenario::kServer, 100);
  Replay r(params);
  r.run(cap.packets());
  ASSERT_EQ(r.worker().flows().size(), 1u);

  // A burst of 32 ARP frames: the collector's budget then covers the table.
  std::vector<scenario::Packet> arp(32, cap.packets().back());
  for (scenario::Packet& p : arp) {
    p.frame[12] = 0x08;  // EtherType ARP: parses as not_ip
    p.frame[13] = 0x06;
  }
  r.run(arp);
  EXPECT_EQ(r.counters().parse[static_cast<int>(ParseResult::not_ip)], 32u);
  EXPECT_EQ(r.worker().flows().size(), 1u);
  EXPECT_EQ(r.counters().flow_expired, 0u);

  c.rst(scenario::kServer);
  r.run({cap.packets().back()});
  const auto rsts = r.rsts();
  ASSERT_EQ(rsts.size(), 1u);
  EXPECT_EQ(rsts[0].validity, Validity::exact);
  EXPECT_EQ(rsts[0].cause, Cause::abortive_close);
}

// ---- Attacks on the tracker --------------------------------------------------------------

// A connection with its handshake and one exchange in `cap`.
scenario::Conn established(scenario::Capture& cap) {
  scenario::Conn c(cap, scenario::ConnOptions{}, "10.1.0.10", 40000, "10.2.0.20", 443);
  c.handshake();
  c.data(scenario::kClient, 300);
  c.data(scenario::kServer, 1200);
  c.ack(scenario::kClient);
  return c;
}

// An injector first sends a SYN on the established tuple (the tracker then
// believes in a new connection in SYN-SENT), then a reset with the real
// sequence number, its own TTL and no timestamps, acknowledging that SYN.
// Judged against the connection, it is forged and must be dropped.
TEST(WorkerAttacks, ForgedSynDoesNotLaunderAForgedReset) {
  scenario::Capture cap;
  scenario::Conn c = established(cap);
  SegmentSpec syn = c.segment(scenario::kClient, kSyn);
  syn.seq = 0x12345678u;
  syn.ttl = 100;
  syn.opt = TcpOptions{};
  cap.add(syn);
  cap.advance_ms(1);
  SegmentSpec rst = c.forge_rst(scenario::kServer);  // exact seq, TTL + 40, no timestamps
  rst.ack = 0x12345679u;
  cap.add(rst);
  cap.advance_ms(2);
  c.data(scenario::kServer, 500);  // the real server goes on
  Replay r;
  r.run(cap.packets());
  const auto rsts = r.rsts();
  ASSERT_EQ(rsts.size(), 1u);
  EXPECT_EQ(rsts[0].label, Label::forged) << describe(rsts[0]);
  EXPECT_EQ(rsts[0].action, Action::drop);
  EXPECT_EQ(r.dispositions[rsts[0].packet_number - 1], Disposition::kDrop);
}

// A flood of forged resets against one connection, 1000 a second for three
// seconds of packet time. With a budget of 100 events a second (which
// counts every source, so spoofed addresses do not spread it), 100 are
// written per second and the rest counted; every forged reset is still
// dropped.
TEST(WorkerEvents, BudgetBoundsAResetFlood) {
  scenario::Capture cap;
  scenario::Conn c = established(cap);
  cap.advance_ms(5);
  for (uint32_t i = 0; i < 3000; ++i) {
    SegmentSpec rst = c.forge_rst(scenario::kServer);
    rst.seq += 0x40000000u;  // far out of the window
    rst.ack = 0;
    rst.flags = kRst;
    cap.add(rst);
    cap.advance_ms(1);
  }
  for (const uint32_t budget : {0u, 100u}) {
    SCOPED_TRACE(budget);
    WorkerParams p = small_params();
    p.max_events_per_second = budget;
    Replay r(p);
    r.run(cap.packets());
    const auto rsts = r.rsts();
    size_t dropped = 0;
    for (Disposition d : r.dispositions) dropped += d == Disposition::kDrop ? 1 : 0;
    EXPECT_EQ(dropped, 3000u) << "every forged reset dropped, written or not";
    EXPECT_EQ(r.counters().rst_total, 3000u);
    if (budget == 0) {
      EXPECT_EQ(rsts.size(), 3000u);
      EXPECT_EQ(r.counters().event_over_budget, 0u);
    } else {
      // Three seconds and a bit of packet time: three or four windows.
      EXPECT_GE(rsts.size(), 300u);
      EXPECT_LE(rsts.size(), 400u);
      EXPECT_EQ(r.counters().event_over_budget + rsts.size(), 3000u);
      for (const RstEvent& e : rsts) EXPECT_EQ(e.label, Label::forged) << describe(e);
    }
  }
}

// Event consumers read flow_id as a JSON number, exact only below 2^53.
TEST(WorkerEvents, FlowIdsFitAJsonNumber) {
  size_t events = 0;
  for (const auto& s : scenarios()) {
    SCOPED_TRACE(s.name);
    Replay r;
    r.run(s.capture.packets());
    for (const RstEvent& e : r.events) {
      EXPECT_LT(e.flow_id, 1ull << 53) << describe(e);
      ++events;
    }
  }
  EXPECT_GT(events, 60u);
}

}  // namespace
}  // namespace rstguard

#include "config/config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

namespace rstguard::config {
namespace {

const std::filesystem::path kReferenceConfig =
    std::filesystem::path(RSTGUARD_SOURCE_DIR) / "config/rstguard.yaml";

// Every leaf key the reader accepts; the reference file must list them all.
const std::set<std::string> kAllKeys = {
    "evidence_actions",
    "rate_limit",
    "rules",
    "triggers.window_segments",
    "triggers.window_bytes",
    "triggers.patterns",
    "hold.max_time",
    "hold.max_packets",
    "incidents.interval",
    "incidents.idle",
    "incidents.sample_first",
    "incidents.sample_every",
    "incidents.capacity",
    "live.mode",
    "live.ports",
    "live.workers",
    "live.rx_desc",
    "live.tx_desc",
    "live.tx_flush",
    "live.idle_sleep",
    "live.event_ring",
    "live.alert_only",
    "live.drop_held_on_exit",
    "pools.reset_history",
    "pools.triggers",
    "pools.reassembly",
    "pools.host_ttl",
    "pools.destinations",
    "pools.rate_limit",
    "live.rehash",
    "flow_table.capacity",
    "flow_table.hash_seed",
    "flow_table.timeouts.embryonic",
    "flow_table.timeouts.established",
    "flow_table.timeouts.closing",
    "flow_table.timeouts.time_wait",
    "flow_table.timeouts.closed",
    "judge.ttl_tolerance",
    "judge.ttl_gap",
    "judge.insertion_max_ttl",
    "judge.verify_checksums",
    "judge.race_window",
    "judge.both_directions_window",
    "judge.seq_change_window",
    "judge.sweep.resets",
    "judge.sweep.window",
    "judge.idle_gap",
    "judge.quick_close",
    "judge.retransmit_threshold",
    "judge.keepalive_threshold",
    "judge.forged_score",
    "judge.suspicious_score",
    "judge.lossy_tap",
    "actions.legit",
    "actions.suspicious",
    "actions.forged",
    "output.events",
    "output.verbosity",
    "output.stats_json",
    "output.flagged",
    "output.metrics",
    "output.metrics_interval",
    "output.max_events_per_second",
    "output.rotate_mib",
    "output.rotate_files",
    "output.log_level",
    "output.on_error",
    "burst_size",
};

// Dotted paths of the `key: value` lines of a block-style YAML text (the
// subset the reference file uses: two-space nesting, no flow collections).
std::set<std::string> leaf_keys(const std::string& yaml) {
  std::set<std::string> keys;
  std::vector<std::pair<size_t, std::string>> parents;  // indent, name
  std::istringstream lines(yaml);
  for (std::string line; std::getline(lines, line);) {
    line = line.substr(0, line.find('#'));
    const size_t indent = line.find_first_not_of(' ');
    const size_t colon = line.find(':');
    if (indent == std::string::npos || colon == std::string::npos) continue;
    while (!parents.empty() && parents.back().first >= indent) parents.pop_back();
    std::string path;
    for (const auto& parent : parents) path += parent.second + ".";
    path += line.substr(indent, colon - indent);
    if (line.find_first_not_of(' ', colon + 1) == std::string::npos) {
      parents.emplace_back(indent, line.substr(indent, colon - indent));
    } else {
      keys.insert(path);
    }
  }
  return keys;
}

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

Config load(const std::string& yaml) { return load_config_string(yaml, "test.yaml"); }

void expect_same(const Config& a, const Config& b) {
  EXPECT_EQ(a.flow.capacity, b.flow.capacity);
  EXPECT_EQ(a.flow.timeouts.embryonic_ns, b.flow.timeouts.embryonic_ns);
  EXPECT_EQ(a.flow.timeouts.established_ns, b.flow.timeouts.established_ns);
  EXPECT_EQ(a.flow.timeouts.closing_ns, b.flow.timeouts.closing_ns);
  EXPECT_EQ(a.flow.timeouts.time_wait_ns, b.flow.timeouts.time_wait_ns);
  EXPECT_EQ(a.flow.timeouts.closed_ns, b.flow.timeouts.closed_ns);
  EXPECT_EQ(a.judge.ttl_tolerance, b.judge.ttl_tolerance);
  EXPECT_EQ(a.judge.ttl_gap, b.judge.ttl_gap);
  EXPECT_EQ(a.incidents, b.incidents);
  EXPECT_EQ(a.judge.insertion_max_ttl, b.judge.insertion_max_ttl);
  EXPECT_EQ(a.judge.verify_checksums, b.judge.verify_checksums);
  EXPECT_EQ(a.judge.race_window_ns, b.judge.race_window_ns);
  EXPECT_EQ(a.judge.both_directions_ns, b.judge.both_directions_ns);
  EXPECT_EQ(a.judge.seq_change_ns, b.judge.seq_change_ns);
  EXPECT_EQ(a.judge.sweep_resets, b.judge.sweep_resets);
  EXPECT_EQ(a.judge.sweep_window_ns, b.judge.sweep_window_ns);
  EXPECT_EQ(a.judge.idle_gap_ns, b.judge.idle_gap_ns);
  EXPECT_EQ(a.judge.quick_close_ns, b.judge.quick_close_ns);
  EXPECT_EQ(a.judge.retransmit_threshold, b.judge.retransmit_threshold);
  EXPECT_EQ(a.pools.reset_history, b.pools.reset_history);
  EXPECT_EQ(a.pools.triggers, b.pools.triggers);
  EXPECT_EQ(a.pools.reassembly, b.pools.reassembly);
  EXPECT_EQ(a.pools.host_ttl, b.pools.host_ttl);
  EXPECT_EQ(a.pools.destinations, b.pools.destinations);
  EXPECT_EQ(a.pools.rate_limit, b.pools.rate_limit);
  EXPECT_EQ(a.judge.keepalive_threshold, b.judge.keepalive_threshold);
  EXPECT_EQ(a.judge.forged_score, b.judge.forged_score);
  EXPECT_EQ(a.judge.suspicious_score, b.judge.suspicious_score);
  EXPECT_EQ(a.judge.lossy_tap, b.judge.lossy_tap);
  EXPECT_EQ(a.actions.by_label, b.actions.by_label);
  EXPECT_EQ(a.output.events, b.output.events);
  EXPECT_EQ(a.output.verbosity, b.output.verbosity);
  EXPECT_EQ(a.output.stats_json, b.output.stats_json);
  EXPECT_EQ(a.output.log_level, b.output.log_level);
  EXPECT_EQ(a.output.on_error, b.output.on_error);
  EXPECT_EQ(a.burst_size, b.burst_size);
}

TEST(Config, DefaultsAreTheDocumentedOnes) {
  const Config c;
  EXPECT_EQ(c.flow.capacity, 65536u);
  EXPECT_FALSE(c.flow_hash_seed.has_value());  // auto
  EXPECT_EQ(c.flow.timeouts.embryonic_ns, 30 * kNsPerSec);
  EXPECT_EQ(c.flow.timeouts.established_ns, 8100 * kNsPerSec);
  EXPECT_EQ(c.flow.timeouts.closing_ns, 120 * kNsPerSec);
  EXPECT_EQ(c.flow.timeouts.time_wait_ns, 60 * kNsPerSec);
  EXPECT_EQ(c.flow.timeouts.closed_ns, 10 * kNsPerSec);
  EXPECT_EQ(c.judge.ttl_tolerance, 1);
  EXPECT_EQ(c.judge.insertion_max_ttl, 0);
  EXPECT_TRUE(c.judge.verify_checksums);
  EXPECT_EQ(c.judge.race_window_ns, 2 * kNsPerSec);
  EXPECT_EQ(c.judge.both_directions_ns, 500 * kNsPerMs);
  EXPECT_EQ(c.judge.seq_change_ns, 2 * kNsPerSec);
  EXPECT_EQ(c.judge.sweep_resets, 8u);
  EXPECT_EQ(c.judge.sweep_window_ns, 10 * kNsPerSec);
  EXPECT_EQ(c.judge.idle_gap_ns, 300 * kNsPerSec);
  EXPECT_EQ(c.judge.quick_close_ns, 2 * kNsPerSec);
  EXPECT_EQ(c.judge.retransmit_threshold, 3u);
  EXPECT_EQ(c.judge.keepalive_threshold, 2u);
  EXPECT_EQ(c.judge.forged_score, 3);
  EXPECT_EQ(c.judge.suspicious_score, 2);
  EXPECT_FALSE(c.judge.lossy_tap);
  EXPECT_EQ(c.actions.for_label(Label::legit), Action::pass);
  EXPECT_EQ(c.actions.for_label(Label::suspicious), Action::alert);
  EXPECT_EQ(c.actions.for_label(Label::forged), Action::drop);
  EXPECT_EQ(c.output.events, "rstguard-events.json");
  EXPECT_EQ(c.output.verbosity, EventVerbosity::kAll);
  EXPECT_EQ(c.output.stats_json, "");
  EXPECT_EQ(c.output.metrics, "");
  EXPECT_EQ(c.output.rotate_bytes, 0u);  // never rotated
  EXPECT_EQ(c.output.rotate_files, 5u);
  EXPECT_EQ(c.output.metrics_interval_ns, 10'000'000'000u);
  EXPECT_EQ(c.output.log_level, "info");
  EXPECT_EQ(c.output.on_error, "stop");
  EXPECT_EQ(c.burst_size, 32u);
}

TEST(Config, EmptyDocumentsGiveDefaults) {
  for (const char* yaml : {"", "\n\n", "# only a comment\n  # and another\n", "---\n", "...\n",
                           "judge:\n#  ttl_tolerance: 2\n", "flow_table:\n  timeouts:\n"}) {
    SCOPED_TRACE(yaml);
    expect_same(load(yaml), Config{});
  }
}

TEST(Config, ReferenceFileEqualsDefaults) {
  expect_same(load_config_file(kReferenceConfig.string()), Config{});
}

TEST(Config, ReferenceFileListsEveryKey) {
  EXPECT_EQ(leaf_keys(read_text(kReferenceConfig)), kAllKeys);
}

TEST(Config, EveryKeyOverridesItsField) {
  const std::string yaml = R"(
flow_table:
  capacity: 1024
  hash_seed: 12345
  timeouts:
    embryonic: 5s
    established: 2h
    closing: 90s
    time_wait: 30s
    closed: 3s
judge:
  ttl_tolerance: 3
  ttl_gap: 24
  insertion_max_ttl: 4
  verify_checksums: false
  race_window: 1500ms
  both_directions_window: 250ms
  seq_change_window: 4s
  sweep:
    resets: 16
    window: 1m
  idle_gap: 10m
  quick_close: 1s
  retransmit_threshold: 5
  keepalive_threshold: 4
  forged_score: 5
  suspicious_score: 1
  lossy_tap: true
actions:
  legit: alert
  suspicious: hold
  forged: alert
evidence_actions: {sweep: drop}
rate_limit: 50
triggers:
  window_segments: 2
  window_bytes: 512
  patterns: [{name: kw, literal: forbidden, fields: [payload]}, {name: sni, regex: 'example\.org$', fields: [sni]}]
rules: [{name: web, server: [192.0.2.0/24], server_ports: [443, "8000-8100"], actions: {forged: alert}, hold_time: 20ms}, {name: censored, trigger: [sni], verbosity: all}]
hold:
  max_time: 50ms
  max_packets: 64
incidents:
  interval: 5s
  idle: 1m
  sample_first: 3
  sample_every: 100
  capacity: 16
pools:
  reset_history: 1
  triggers: 2
  reassembly: 3
  host_ttl: 5
  destinations: 6
  rate_limit: 7
live:
  mode: mirror
  ports: [2, 3]
  workers: 4
  rx_desc: 2048
  tx_desc: 512
  tx_flush: 50us
  idle_sleep: 20us
  event_ring: 8192
  alert_only: true
  drop_held_on_exit: true
  rehash: software
output:
  events: "-"
  verbosity: suspicious
  stats_json: /var/lib/rstguard/stats.json
  flagged: /var/lib/rstguard/flagged.pcap
  metrics: /var/lib/node_exporter/rstguard.prom
  metrics_interval: 30s
  max_events_per_second: 5000
  rotate_mib: 100
  rotate_files: 9
  log_level: debug
  on_error: continue
burst_size: 64
)";
  ASSERT_EQ(leaf_keys(yaml), kAllKeys);
  const Config c = load(yaml);
  EXPECT_EQ(c.flow.capacity, 1024u);
  EXPECT_EQ(c.pools.reset_history, 1u);
  EXPECT_EQ(c.pools.triggers, 2u);
  EXPECT_EQ(c.pools.reassembly, 3u);
  EXPECT_EQ(c.pools.host_ttl, 5u);
  EXPECT_EQ(c.pools.destinations, 6u);
  EXPECT_EQ(c.pools.rate_limit, 7u);
  EXPECT_EQ(c.flow_hash_seed, std::optional<uint64_t>(12345));
  EXPECT_EQ(c.flow.timeouts.embryonic_ns, 5 * kNsPerSec);
  EXPECT_EQ(c.flow.timeouts.established_ns, 7200 * kNsPerSec);
  EXPECT_EQ(c.flow.timeouts.closing_ns, 90 * kNsPerSec);
  EXPECT_EQ(c.flow.timeouts.time_wait_ns, 30 * kNsPerSec);
  EXPECT_EQ(c.flow.timeouts.closed_ns, 3 * kNsPerSec);
  EXPECT_EQ(c.judge.ttl_tolerance, 3);
  EXPECT_EQ(c.judge.ttl_gap, 24);
  EXPECT_EQ(c.judge.insertion_max_ttl, 4);
  EXPECT_FALSE(c.judge.verify_checksums);
  EXPECT_EQ(c.judge.race_window_ns, 1500 * kNsPerMs);
  EXPECT_EQ(c.judge.both_directions_ns, 250 * kNsPerMs);
  EXPECT_EQ(c.judge.seq_change_ns, 4 * kNsPerSec);
  EXPECT_EQ(c.judge.sweep_resets, 16u);
  EXPECT_EQ(c.judge.sweep_window_ns, 60 * kNsPerSec);
  EXPECT_EQ(c.judge.idle_gap_ns, 600 * kNsPerSec);
  EXPECT_EQ(c.judge.quick_close_ns, 1 * kNsPerSec);
  EXPECT_EQ(c.judge.retransmit_threshold, 5u);
  EXPECT_EQ(c.judge.keepalive_threshold, 4u);
  EXPECT_EQ(c.judge.forged_score, 5);
  EXPECT_EQ(c.judge.suspicious_score, 1);
  EXPECT_TRUE(c.judge.lossy_tap);
  EXPECT_EQ(c.actions.for_label(Label::legit), Action::alert);
  EXPECT_EQ(c.actions.for_label(Label::suspicious), Action::hold);
  EXPECT_EQ(c.actions.for_label(Label::forged), Action::alert);
  EXPECT_EQ(c.output.events, "-");
  EXPECT_EQ(c.output.verbosity, EventVerbosity::kSuspiciousAndForged);
  EXPECT_EQ(c.output.stats_json, "/var/lib/rstguard/stats.json");
  EXPECT_EQ(c.output.log_level, "debug");
  EXPECT_EQ(c.output.on_error, "continue");
  EXPECT_EQ(c.output.flagged, "/var/lib/rstguard/flagged.pcap");
  EXPECT_EQ(c.output.metrics, "/var/lib/node_exporter/rstguard.prom");
  EXPECT_EQ(c.output.metrics_interval_ns, 30'000'000'000u);
  EXPECT_EQ(c.output.max_events_per_second, 5000u);
  EXPECT_EQ(c.output.rotate_bytes, 100u << 20);
  EXPECT_EQ(c.output.rotate_files, 9u);
  EXPECT_EQ(c.burst_size, 64u);
  EXPECT_EQ(c.hold.max_time_ns, 50 * kNsPerMs);
  EXPECT_EQ(c.incidents.interval_ns, 5 * kNsPerSec);
  EXPECT_EQ(c.incidents.idle_ns, 60 * kNsPerSec);
  EXPECT_EQ(c.incidents.sample_first, 3u);
  EXPECT_EQ(c.incidents.sample_every, 100u);
  EXPECT_EQ(c.incidents.capacity, 16u);
  EXPECT_EQ(c.evidence_actions[static_cast<int>(Evidence::sweep)], static_cast<int>(Action::drop));
  EXPECT_EQ(c.rate_limit, 50u);
  EXPECT_EQ(c.triggers.window_segments, 2u);
  EXPECT_EQ(c.triggers.window_bytes, 512u);
  ASSERT_EQ(c.triggers.patterns.size(), 2u);
  EXPECT_TRUE(c.triggers.patterns[0].literal);
  EXPECT_EQ(c.triggers.patterns[1].expression, "example\\.org$");
  ASSERT_EQ(c.policy->rules().size(), 3u);
  const Rule& web = c.policy->rules()[0];
  EXPECT_EQ(web.name, "web");
  ASSERT_EQ(web.server_ports.size(), 2u);
  EXPECT_EQ(web.server_ports[1].lo, 8000);
  EXPECT_EQ(web.server_ports[1].hi, 8100);
  EXPECT_EQ(web.actions.by_label.for_label(Label::forged), Action::alert);
  // Unset in the rule: the default rule's (from the top level above).
  EXPECT_EQ(web.actions.by_label.for_label(Label::suspicious), Action::hold);
  EXPECT_EQ(web.actions.hold_time_ns, 20 * kNsPerMs);
  EXPECT_EQ(web.actions.rate_limit, 50u);
  EXPECT_EQ(web.actions.ttl_tolerance, 3);
  EXPECT_EQ(c.policy->rules()[1].triggers, std::vector<std::string>{"sni"});
  EXPECT_EQ(c.policy->rules()[1].actions.verbosity, EventVerbosity::kAll);
  EXPECT_EQ(c.policy->rules()[2].name, "default");
  EXPECT_EQ(c.policy->rules()[2].actions.hold_time_ns, 50 * kNsPerMs);
  EXPECT_EQ(c.hold.max_packets, 64u);
  EXPECT_EQ(c.live.mode, "mirror");
  EXPECT_EQ(c.live.ports, (std::vector<uint16_t>{2, 3}));
  EXPECT_EQ(c.live.workers, 4u);
  EXPECT_EQ(c.live.rx_desc, 2048u);
  EXPECT_EQ(c.live.tx_desc, 512u);
  EXPECT_EQ(c.live.tx_flush_ns, 50'000u);
  EXPECT_EQ(c.live.idle_sleep_ns, 20'000u);
  EXPECT_EQ(c.live.event_ring, 8192u);
  EXPECT_TRUE(c.live.alert_only);
  EXPECT_TRUE(c.live.drop_held_on_exit);
  EXPECT_EQ(c.live.rehash, "software");
}

TEST(Config, LiveSectionErrors) {
  const auto error_of = [](const std::string& yaml) -> std::string {
    try {
      load_config_string(yaml, "t.yaml");
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_EQ(error_of("live:\n  mode: sideways\n"),
            "t.yaml:2:9: live.mode: expected one of inline|mirror, got 'sideways'");
  EXPECT_EQ(error_of("live:\n  event_ring: 1000\n"),
            "t.yaml:2:15: live.event_ring: must be a power of two, got 1000");
  EXPECT_EQ(error_of("live:\n  ports: 3\n"),
            "t.yaml:2:10: live.ports: expected a sequence of port ids, got '3'");
  EXPECT_EQ(error_of("live:\n  ports: [1, x]\n"),
            "t.yaml:2:14: live.ports[1]: expected an integer, got 'x'");
  EXPECT_EQ(error_of("live:\n  workers: 129\n"),
            "t.yaml:2:12: live.workers: must be between 0 and 128, got 129");
  EXPECT_EQ(error_of("pools:\n  reset_history: 0\n"),
            "t.yaml:2:18: pools.reset_history: must be between 1 and 16777216, got 0");
  EXPECT_EQ(error_of("pools:\n  hosts: 4\n").substr(0, 16), "t.yaml:2:3: unkn");  // unknown key
  EXPECT_EQ(error_of("flow_table:\n  hash_seed: -3\n"),
            "t.yaml:2:14: flow_table.hash_seed: must be at least 0, got -3");
  EXPECT_FALSE(load_config_string("flow_table:\n  hash_seed: auto\n", "t.yaml")
                   .flow_hash_seed.has_value());
  EXPECT_EQ(error_of("live:\n  rehash: sometimes\n"),
            "t.yaml:2:11: live.rehash: expected one of auto|software, got 'sometimes'");
  EXPECT_EQ(load_config_string("live:\n  rehash: software\n", "t.yaml").live.rehash, "software");
  EXPECT_EQ(load_config_string("", "t.yaml").live.rehash, "auto");
  EXPECT_EQ(error_of("hold:\n  max_time: 0s\n"),
            "t.yaml:2:13: hold.max_time: must be greater than zero, got 0s");
}

TEST(Config, RuleErrors) {
  const auto error_of = [](const std::string& yaml) -> std::string {
    try {
      load_config_string(yaml, "r.yaml");
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_EQ(error_of("rules:\n  - name: a\n    server: 10.0.0.1/8\n"),
            "r.yaml:3:13: rules[0].server: expected an IPv4 or IPv6 address or prefix (host bits "
            "clear), got '10.0.0.1/8'");
  EXPECT_EQ(error_of("rules:\n  - name: a\n    trigger: nope\n"),
            "r.yaml:3:14: rules: 'a' names trigger 'nope', which triggers.patterns does not "
            "define");
  EXPECT_EQ(error_of("rules:\n  - name: a\n  - name: a\n"),
            "r.yaml:3:11: rules[1].name: 'a' is used twice");
  EXPECT_EQ(error_of("rules:\n  - server_ports: [80]\n"),
            "r.yaml:2:5: rules[0]: a rule needs a name");
  EXPECT_EQ(error_of("rules:\n  - name: a\n    server_ports: [\"90-80\"]\n"),
            "r.yaml:3:20: rules[0].server_ports: expected a port 0..65535 or a range lo-hi, got "
            "'90-80'");
  EXPECT_EQ(error_of("rules:\n  - name: a\n    actions: {legit: drop}\n"),
            "r.yaml:3:22: rules[0].actions.legit: must be pass or alert, got 'drop'");
  EXPECT_EQ(error_of("rules:\n  - name: a\n    colour: red\n"),
            "r.yaml:3:5: unknown key 'rules[0].colour'");
  EXPECT_EQ(error_of("triggers:\n  patterns:\n    - {name: x}\n"),
            "r.yaml:3:7: triggers.patterns[0]: give exactly one of 'regex' or 'literal'");
  EXPECT_EQ(error_of("triggers:\n  patterns:\n    - {name: x, literal: a, fields: [body]}\n"),
            "r.yaml:3:38: triggers.patterns[0].fields: expected sni, host or payload, got 'body'");
}

TEST(Config, RangeLimitsAreAccepted) {
  const Config low = load(
      "flow_table: {capacity: 1}\n"
      "judge: {ttl_tolerance: 0, insertion_max_ttl: 0, sweep: {resets: 2},\n"
      "        retransmit_threshold: 1, keepalive_threshold: 1,\n"
      "        forged_score: 2, suspicious_score: 1}\n"
      "burst_size: 1\n");
  EXPECT_EQ(low.flow.capacity, 1u);
  EXPECT_EQ(low.judge.sweep_resets, 2u);
  EXPECT_EQ(low.judge.forged_score, 2);
  EXPECT_EQ(low.burst_size, 1u);
  const Config high = load(
      "flow_table: {capacity: 268435456}\n"
      "judge: {ttl_tolerance: 64, insertion_max_ttl: 255, sweep: {resets: 4294967295},\n"
      "        forged_score: 100, suspicious_score: 99}\n"
      "burst_size: 256\n");
  EXPECT_EQ(high.flow.capacity, 268435456u);
  EXPECT_EQ(high.judge.ttl_tolerance, 64);
  EXPECT_EQ(high.judge.insertion_max_ttl, 255);
  EXPECT_EQ(high.judge.sweep_resets, 4294967295u);
  EXPECT_EQ(high.judge.forged_score, 100);
  EXPECT_EQ(high.burst_size, 256u);
}

TEST(Config, BooleanSpellings) {
  for (const char* yes : {"true", "True", "TRUE", "yes", "on"}) {
    EXPECT_TRUE(load(std::string("judge: {lossy_tap: ") + yes + "}").judge.lossy_tap) << yes;
  }
  for (const char* no : {"false", "False", "FALSE", "no", "off"}) {
    EXPECT_FALSE(load(std::string("judge: {verify_checksums: ") + no + "}").judge.verify_checksums)
        << no;
  }
}

TEST(Config, DurationsInEveryUnit) {
  const std::pair<const char*, uint64_t> cases[] = {
      {"250ns", 250},          {"100us", 100'000},        {"500ms", 500 * kNsPerMs},
      {"30s", 30 * kNsPerSec}, {"5m", 300 * kNsPerSec},   {"1h", 3600 * kNsPerSec},
      {"2", 2 * kNsPerSec},    {"0.5", 500 * kNsPerMs},   {"1.5s", 1500 * kNsPerMs},
      {"0.25ms", 250'000},     {"\"2s\"", 2 * kNsPerSec},  // quoted is fine for a duration
  };
  for (const auto& [text, ns] : cases) {
    SCOPED_TRACE(text);
    EXPECT_EQ(load(std::string("judge:\n  race_window: ") + text + "\n").judge.race_window_ns, ns);
  }
}

TEST(ParseDuration, Units) {
  EXPECT_EQ(parse_duration_ns("1ns"), 1);
  EXPECT_EQ(parse_duration_ns("100us"), 100'000);
  EXPECT_EQ(parse_duration_ns("500ms"), 500'000'000);
  EXPECT_EQ(parse_duration_ns("30s"), 30'000'000'000);
  EXPECT_EQ(parse_duration_ns("5m"), 300'000'000'000);
  EXPECT_EQ(parse_duration_ns("1h"), 3'600'000'000'000);
  EXPECT_EQ(parse_duration_ns("2"), 2'000'000'000);
  EXPECT_EQ(parse_duration_ns("0.5"), 500'000'000);
  EXPECT_EQ(parse_duration_ns("1.5s"), 1'500'000'000);
  EXPECT_EQ(parse_duration_ns("1.10s"), 1'100'000'000);
  EXPECT_EQ(parse_duration_ns("0.000000001"), 1);
  EXPECT_EQ(parse_duration_ns("0.001us"), 1);
  EXPECT_EQ(parse_duration_ns("2.0ns"), 2);
  EXPECT_EQ(parse_duration_ns("0.5m"), 30'000'000'000);
  EXPECT_EQ(parse_duration_ns("007s"), 7'000'000'000);
  EXPECT_EQ(parse_duration_ns("0"), 0);  // parses; the config rejects zero
  EXPECT_EQ(parse_duration_ns("0s"), 0);
}

TEST(ParseDuration, Limits) {
  EXPECT_EQ(parse_duration_ns("9223372036854775807ns"), INT64_MAX);
  EXPECT_EQ(parse_duration_ns("9223372036854775808ns"), -1);
  EXPECT_EQ(parse_duration_ns("9223372036s"), 9'223'372'036'000'000'000);
  EXPECT_EQ(parse_duration_ns("9223372036.854775807s"), INT64_MAX);
  EXPECT_EQ(parse_duration_ns("9223372036.854775808s"), -1);
  EXPECT_EQ(parse_duration_ns("9223372037s"), -1);
  EXPECT_EQ(parse_duration_ns("2562048h"), -1);
  EXPECT_EQ(parse_duration_ns("99999999999999999999999999h"), -1);
}

TEST(ParseDuration, Malformed) {
  for (const char* bad : {"",    "ms",   "s",     ".",      "-1s",   "-1",       "+1s",
                          "10x", "1S",   "1 s",   " 1s",    "1s ",   "1sec",     "1min",
                          ".5s", "5.s",  "1..5s", "1.2.3s", "0.5ns", "0.0001us", "1.0000000001s",
                          "1e3", "0x10", "1s2",   "1.5ns0"}) {
    EXPECT_EQ(parse_duration_ns(bad), -1) << "'" << bad << "'";
  }
}

struct ErrorCase {
  const char* yaml;
  int line;
  int column;
  const char* message;
};

void expect_errors(const std::vector<ErrorCase>& cases) {
  for (const ErrorCase& c : cases) {
    SCOPED_TRACE(c.yaml);
    try {
      load(c.yaml);
      ADD_FAILURE() << "accepted";
    } catch (const ConfigError& e) {
      EXPECT_EQ(e.what(), "test.yaml:" + std::to_string(c.line) + ":" + std::to_string(c.column) +
                              ": " + c.message);
      EXPECT_EQ(e.file(), "test.yaml");
      EXPECT_EQ(e.line(), c.line);
      EXPECT_EQ(e.column(), c.column);
    }
  }
}

TEST(ConfigErrors, UnknownAndDuplicateKeys) {
  expect_errors({
      {"flowtable:\n  capacity: 1\n", 1, 1, "unknown key 'flowtable'"},
      {"judge:\n  ttl_tolerence: 2\n", 2, 3, "unknown key 'judge.ttl_tolerence'"},
      {"judge:\n  sweep:\n    reset: 9\n", 3, 5, "unknown key 'judge.sweep.reset'"},
      {"flow_table:\n  timeouts:\n    syn_sent: 1s\n", 3, 5,
       "unknown key 'flow_table.timeouts.syn_sent'"},
      {"actions:\n  benign: pass\n", 2, 3, "unknown key 'actions.benign'"},
      {"burst_size: 8\nburst_size: 16\n", 2, 1, "duplicate key 'burst_size'"},
      {"judge:\n  lossy_tap: true\n  ttl_tolerance: 2\n  lossy_tap: false\n", 4, 3,
       "duplicate key 'judge.lossy_tap'"},
      {"judge:\n  [a]: 1\n", 2, 3, "judge: expected a key name, got a sequence"},
  });
}

TEST(ConfigErrors, WrongTypes) {
  expect_errors({
      {"flow_table:\n  capacity:\n    a: 1\n", 3, 5,
       "flow_table.capacity: expected an integer, got a map"},
      {"flow_table:\n  capacity: [1, 2]\n", 2, 13,
       "flow_table.capacity: expected an integer, got a sequence"},
      {"burst_size: abc\n", 1, 13, "burst_size: expected an integer, got 'abc'"},
      {"burst_size: 1.5\n", 1, 13, "burst_size: expected an integer, got '1.5'"},
      {"burst_size: 0x20\n", 1, 13, "burst_size: expected an integer, got '0x20'"},
      {"burst_size: \"32\"\n", 1, 13, "burst_size: expected an integer, got the string \"32\""},
      {"burst_size:\n", 1, 1, "burst_size: expected an integer, got nothing"},
      {"burst_size: null\n", 1, 1, "burst_size: expected an integer, got nothing"},
      {"judge:\n  lossy_tap: maybe\n", 2, 14,
       "judge.lossy_tap: expected true or false, got 'maybe'"},
      {"judge:\n  lossy_tap: 1\n", 2, 14, "judge.lossy_tap: expected true or false, got '1'"},
      {"judge:\n  lossy_tap: 'true'\n", 2, 14,
       "judge.lossy_tap: expected true or false, got 'true'"},
      {"judge: 5\n", 1, 8, "judge: expected a map, got '5'"},
      {"judge:\n  - ttl_tolerance: 1\n", 2, 3, "judge: expected a map, got a sequence"},
      {"judge:\n  sweep: 8\n", 2, 10, "judge.sweep: expected a map, got '8'"},
      {"output:\n  events: [a, b]\n", 2, 11, "output.events: expected a string, got a sequence"},
      {"judge:\n  race_window: {s: 2}\n", 2, 16,
       "judge.race_window: expected a duration, got a map"},
  });
}

TEST(ConfigErrors, OutOfRange) {
  expect_errors({
      {"flow_table:\n  capacity: -5\n", 2, 13,
       "flow_table.capacity: must be between 1 and 268435456, got -5"},
      {"flow_table:\n  capacity: 0\n", 2, 13,
       "flow_table.capacity: must be between 1 and 268435456, got 0"},
      {"flow_table:\n  capacity: 268435457\n", 2, 13,
       "flow_table.capacity: must be between 1 and 268435456, got 268435457"},
      {"flow_table:\n  capacity: 99999999999999999999999\n", 2, 13,
       "flow_table.capacity: must be between 1 and 268435456, got 99999999999999999999999"},
      {"judge:\n  ttl_tolerance: 65\n", 2, 18,
       "judge.ttl_tolerance: must be between 0 and 64, got 65"},
      {"judge:\n  ttl_tolerance: 4\n  ttl_gap: 4\n", 3, 12,
       "judge.ttl_gap: must be 0 or greater than judge.ttl_tolerance (4), got 4"},
      {"judge:\n  insertion_max_ttl: 256\n", 2, 22,
       "judge.insertion_max_ttl: must be between 0 and 255, got 256"},
      {"judge:\n  sweep:\n    resets: 1\n", 3, 13, "judge.sweep.resets: must be at least 2, got 1"},
      {"output:\n  rotate_files: 0\n", 2, 17, "output.rotate_files: must be between 1 and 1000, got 0"},
      {"output:\n  rotate_mib: 2000000\n", 2, 15, "output.rotate_mib: must be between 0 and 1048576, got 2000000"},
      {"judge:\n  sweep:\n    resets: 4294967296\n", 3, 13,
       "judge.sweep.resets: must be at most 4294967295, got 4294967296"},
      {"judge:\n  sweep:\n    resets: -99999999999999999999\n", 3, 13,
       "judge.sweep.resets: must be at least 2, got -99999999999999999999"},
      {"judge:\n  retransmit_threshold: 0\n", 2, 25,
       "judge.retransmit_threshold: must be at least 1, got 0"},
      {"judge:\n  keepalive_threshold: 0\n", 2, 24,
       "judge.keepalive_threshold: must be at least 1, got 0"},
      {"judge:\n  forged_score: 101\n", 2, 17,
       "judge.forged_score: must be between 1 and 100, got 101"},
      {"judge:\n  suspicious_score: 0\n", 2, 21,
       "judge.suspicious_score: must be between 1 and 100, got 0"},
      {"burst_size: 0\n", 1, 13, "burst_size: must be between 1 and 256, got 0"},
      {"burst_size: 257\n", 1, 13, "burst_size: must be between 1 and 256, got 257"},
  });
}

TEST(ConfigErrors, ImpossibleValues) {
  expect_errors({
      {"judge:\n  forged_score: 2\n  suspicious_score: 2\n", 2, 17,
       "judge.forged_score: must be greater than judge.suspicious_score (2), got 2"},
      {"judge:\n  suspicious_score: 5\n", 2, 21,
       "judge.suspicious_score: must be less than judge.forged_score (3), got 5"},
      {"actions:\n  legit: drop\n", 2, 10, "actions.legit: must be pass or alert, got 'drop'"},
      {"actions:\n  legit: hold\n", 2, 10, "actions.legit: must be pass or alert, got 'hold'"},
      {"actions:\n  forged: block\n", 2, 11,
       "actions.forged: expected one of pass|alert|drop|hold, got 'block'"},
      {"output:\n  verbosity: forged\n", 2, 14,
       "output.verbosity: expected one of all|suspicious, got 'forged'"},
      {"output:\n  log_level: warning\n", 2, 14,
       "output.log_level: expected one of trace|debug|info|warn|error|critical|off, got 'warning'"},
      {"output:\n  events: \"\"\n", 2, 11, "output.events: must name a file, or \"-\" for stdout"},
      {"output:\n  metrics_interval: 0s\n", 2, 21,
       "output.metrics_interval: must be greater than zero, got 0s"},
  });
}

TEST(ConfigErrors, BadDurations) {
  expect_errors({
      {"judge:\n  race_window: 0\n", 2, 16, "judge.race_window: must be greater than zero, got 0"},
      {"judge:\n  race_window: 0ms\n", 2, 16,
       "judge.race_window: must be greater than zero, got 0ms"},
      {"flow_table:\n  timeouts:\n    closed: -10s\n", 3, 13,
       "flow_table.timeouts.closed: must be greater than zero, got -10s"},
      {"judge:\n  idle_gap: 5 minutes\n", 2, 13,
       "judge.idle_gap: expected a duration (seconds, or a number with unit ns|us|ms|s|m|h, e.g. "
       "500ms), got '5 minutes'"},
      {"judge:\n  sweep:\n    window: 10x\n", 3, 13,
       "judge.sweep.window: expected a duration (seconds, or a number with unit ns|us|ms|s|m|h, "
       "e.g. 500ms), got '10x'"},
  });
}

TEST(ConfigErrors, DocumentShape) {
  expect_errors({
      {"just a string\n", 1, 1, "the top level must be a map of sections, got 'just a string'"},
      {"- judge\n- output\n", 1, 1, "the top level must be a map of sections, got a sequence"},
      {"burst_size: 8\n---\nburst_size: 16\n", 3, 1, "only one YAML document is allowed"},
  });
}

TEST(ConfigErrors, YamlSyntax) {
  // Positions are where yaml-cpp noticed the problem.
  expect_errors({
      {"judge:\n  sweep: [1\nburst_size: 2\n", 3, 11,
       "YAML syntax error: end of sequence flow not found"},
      {"judge: 1\n  ttl_tolerance: 2\n", 2, 16, "YAML syntax error: illegal map value"},
      {"judge:\n\tttl_tolerance: 2\n", 2, 15, "YAML syntax error: illegal map value"},
      {"judge:\n  ttl_tolerance: 1\n bad: 2\n", 3, 2, "YAML syntax error: end of map not found"},
      {"output:\n  events: \"a\\q\"\n", 2, 15, "YAML syntax error: unknown escape character: q"},
      {"burst_size: *missing\n", 1, 13, "YAML syntax error: the referenced anchor is not defined"},
  });
}

TEST(ConfigFile, MissingFileSaysWhy) {
  const std::string path = "/nonexistent/rstguard.yaml";
  try {
    load_config_file(path);
    FAIL() << "accepted";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()),
              path + ":0:0: cannot read the configuration file: " +
                  std::error_code(ENOENT, std::generic_category()).message());
    EXPECT_EQ(e.line(), 0);
    EXPECT_EQ(e.column(), 0);
  }
}

TEST(ConfigFile, DirectoryIsNotAFile) {
  const std::string path = std::filesystem::temp_directory_path().string();
  try {
    load_config_file(path);
    FAIL() << "accepted";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()),
              path + ":0:0: cannot read the configuration file: " +
                  std::error_code(EISDIR, std::generic_category()).message());
  }
}

TEST(ConfigFile, ErrorsNameTheFile) {
  const std::filesystem::path path = std::filesystem::temp_directory_path() /
                                     ("rstguard-config-test-" + std::to_string(getpid()) + ".yaml");
  std::ofstream(path) << "# header\njudge:\n  ttl_tolerance: 99\n";
  try {
    load_config_file(path.string());
    ADD_FAILURE() << "accepted";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()),
              path.string() + ":3:18: judge.ttl_tolerance: must be between 0 and 64, got 99");
  }
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace rstguard::config

namespace rstguard::config {
namespace {

TEST(ConfigErrors, TagsDecideTheType) {
  expect_errors({
      {"burst_size: !!str 32\n", 1, 13, "burst_size: expected an integer, got the string \"32\""},
      {"burst_size: !!float 32\n", 1, 13,
       "burst_size: expected an integer, got '32' tagged !!float"},
      {"judge:\n  lossy_tap: !!str true\n", 2, 14,
       "judge.lossy_tap: expected true or false, got 'true'"},
  });
  EXPECT_EQ(load("burst_size: !!int 32\n").burst_size, 32u);
  EXPECT_TRUE(load("judge:\n  lossy_tap: !!bool true\n").judge.lossy_tap);
}

TEST(ConfigErrors, WhatTheFileHeldIsQuotedPrintableAndShort) {
  // A megabyte value: the message quotes its start and says how long it is.
  const std::string big(1 << 20, 'x');
  try {
    load("burst_size: " + big + "\n");
    ADD_FAILURE() << "accepted";
  } catch (const ConfigError& e) {
    EXPECT_LT(std::string(e.what()).size(), 200u);
    EXPECT_NE(std::string(e.what()).find("... (1048576 bytes)"), std::string::npos) << e.what();
  }
  // Binary garbage: no control byte or byte past ASCII reaches the message.
  std::string garbage;
  for (int i = 0; i < 4096; ++i) garbage += static_cast<char>((i * 7919 + 13) & 0xff);
  for (const std::string& text :
       {garbage, std::string("burst_size: \x01\x02\xff\xfe\n"), std::string("judge:\n  \x1b[31mred: 1\n")}) {
    try {
      load(text);
      ADD_FAILURE() << "accepted";
    } catch (const ConfigError& e) {
      const std::string m = e.what();
      EXPECT_LT(m.size(), 600u);
      for (unsigned char c : m) EXPECT_TRUE(c >= 0x20 && c < 0x7f) << m;
    }
  }
  expect_errors({{"burst_size: \x01\x02\n", 1, 13, "burst_size: expected an integer, got '\\x01\\x02'"}});
}

TEST(ConfigErrors, NestingDeeperThanTheReaderAllowsSaysSo) {
  const std::string deep = "a: " + std::string(3000, '[') + std::string(3000, ']') + "\n";
  try {
    load(deep);
    ADD_FAILURE() << "accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("levels deep: the YAML reader stops there"),
              std::string::npos)
        << e.what();
  }
}

TEST(ConfigRules, TenThousandRulesLoadAndADuplicateNameIsFound) {
  std::string yaml = "rules:\n";
  for (int i = 0; i < 10000; ++i) {
    yaml += "  - name: c" + std::to_string(i) + "\n    server: [10." + std::to_string(i >> 8) +
            "." + std::to_string(i & 255) + ".0/24]\n";
  }
  const Config c = load(yaml);
  ASSERT_EQ(c.policy->rules().size(), 10001u);
  EXPECT_EQ(c.policy->rules()[9999].name, "c9999");
  try {
    load(yaml + "  - name: c5000\n");
    ADD_FAILURE() << "accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("rules[10000].name: 'c5000' is used twice"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace rstguard::config

// YAML -> Config. Every key is optional; everything present is checked
// (type, range, cross-field rules) and any problem becomes one ConfigError
// pointing at the offending key or value. config/rstguard.yaml documents
// the keys.
#include "config/config.h"
#include "match/matcher.h"

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <system_error>
#include <unordered_set>
#include <vector>

namespace rstguard::config {

ConfigError::ConfigError(const std::string& file, int line, int column, const std::string& message)
    : std::runtime_error(file + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " +
                         message),
      file_(file),
      line_(line),
      column_(column) {}

namespace {

constexpr int64_t kMaxFlowCapacity = int64_t{1} << 28;
constexpr int64_t kMaxBurstSize = 256;

// A problem found while reading; load_config_string adds the file name.
struct Invalid {
  YAML::Mark mark;  // 0-based; null_mark when there is no position
  std::string message;
};

// One `key: value` pair. `path` is the dotted key path used in messages.
struct Entry {
  YAML::Node key;
  YAML::Node value;
  std::string path;
};

// Text from the file as a message quotes it: bytes that are not printable
// ASCII as \xNN (binary garbage must not reach the terminal raw), and at
// most `max` characters of it (a megabyte value is not echoed whole).
std::string shown(std::string_view text, size_t max = 64) {
  std::string out;
  size_t i = 0;
  for (; i < text.size() && out.size() < max; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      char hex[5];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    }
  }
  if (i < text.size()) out += "... (" + std::to_string(text.size()) + " bytes)";
  return out;
}

// YAML's own name of a tag ("!!str" for tag:yaml.org,2002:str).
std::string tag_name(const std::string& tag) {
  constexpr std::string_view kCore = "tag:yaml.org,2002:";
  return tag.starts_with(kCore) ? "!!" + tag.substr(kCore.size()) : tag;
}

// A scalar whose tag makes it a string: quoted ('...', "...") or !!str.
bool string_tagged(const YAML::Node& node) {
  return node.Tag() == "!" || node.Tag() == "tag:yaml.org,2002:str";
}

// An explicit tag other than `allowed` (plain scalars carry "?").
bool tagged_otherwise(const YAML::Node& node, std::string_view allowed) {
  return node.Tag() != "?" && node.Tag() != "" && node.Tag() != allowed;
}

std::string describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Sequence:
      return "a sequence";
    case YAML::NodeType::Scalar:
      return "'" + shown(node.Scalar()) + "'";
    default:
      return "nothing";
  }
}

// Points at the value, or at the key when the value has no text of its own
// (yaml-cpp marks an empty value at the start of the next line).
[[noreturn]] void fail_value(const Entry& e, const std::string& message) {
  const bool at_key = e.value.IsNull() || e.value.Mark().is_null();
  throw Invalid{at_key ? e.key.Mark() : e.value.Mark(), e.path + ": " + message};
}

const std::string& scalar_of(const Entry& e, const std::string& expected) {
  if (!e.value.IsScalar()) fail_value(e, "expected " + expected + ", got " + describe(e.value));
  return e.value.Scalar();
}

// A decimal integer in [lo, hi]; without `hi`, T's maximum is the bound and
// the message reads "at least". Quoted scalars are strings, not integers.
template <typename T>
T read_integer(const Entry& e, int64_t lo, std::optional<int64_t> hi) {
  const std::string& text = scalar_of(e, "an integer");
  if (string_tagged(e.value)) {
    fail_value(e, "expected an integer, got the string \"" + shown(text) + "\"");
  }
  if (tagged_otherwise(e.value, "tag:yaml.org,2002:int")) {
    fail_value(e, "expected an integer, got " + describe(e.value) + " tagged " +
                      tag_name(e.value.Tag()));
  }
  int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec == std::errc::invalid_argument || end != text.data() + text.size()) {
    fail_value(e, "expected an integer, got " + describe(e.value));
  }
  const int64_t max = hi.value_or(std::numeric_limits<T>::max());
  const bool too_small = ec == std::errc::result_out_of_range ? text.starts_with('-') : value < lo;
  const bool too_large =
      ec == std::errc::result_out_of_range ? !text.starts_with('-') : value > max;
  if (too_small || too_large) {
    const std::string rule = hi ? "between " + std::to_string(lo) + " and " + std::to_string(*hi)
                             : too_small ? "at least " + std::to_string(lo)
                                         : "at most " + std::to_string(max);
    fail_value(e, "must be " + rule + ", got " + shown(text));
  }
  return static_cast<T>(value);
}

bool read_bool(const Entry& e) {
  const std::string& text = scalar_of(e, "true or false");
  if (!string_tagged(e.value) && !tagged_otherwise(e.value, "tag:yaml.org,2002:bool")) {
    for (const char* yes : {"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON"}) {
      if (text == yes) return true;
    }
    for (const char* no : {"false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF"}) {
      if (text == no) return false;
    }
  }
  fail_value(e, "expected true or false, got " + describe(e.value));
}

uint64_t read_duration(const Entry& e) {
  const std::string& text = scalar_of(e, "a duration");
  const int64_t ns = parse_duration_ns(text);
  if (ns > 0) return static_cast<uint64_t>(ns);
  if (ns == 0 ||
      (text.starts_with('-') && parse_duration_ns(std::string_view(text).substr(1)) >= 0)) {
    fail_value(e, "must be greater than zero, got " + shown(text));
  }
  fail_value(e,
             "expected a duration (seconds, or a number with unit ns|us|ms|s|m|h, e.g. 500ms), "
             "got " +
                 describe(e.value));
}

std::string read_string(const Entry& e) { return scalar_of(e, "a string"); }

// `choices` are "name|name|..." for the message; `find` maps a name to T.
template <typename T>
T read_choice(const Entry& e, const std::string& choices,
              const std::function<std::optional<T>(std::string_view)>& find) {
  const std::string& text = scalar_of(e, "one of " + choices);
  if (const std::optional<T> value = find(text)) return *value;
  fail_value(e, "expected one of " + choices + ", got " + describe(e.value));
}

Action read_action(const Entry& e) {
  std::string names;
  for (int i = 0; i < kActionCount; ++i) {
    names += (i ? "|" : "") + std::string(name_of(static_cast<Action>(i)));
  }
  return read_choice<Action>(e, names, action_from_name);
}

using FieldReader = std::function<void(const Entry&)>;
struct Field {
  std::string_view key;
  FieldReader read;
};

// A section is a map whose keys are all among `fields`, each at most once.
// Present but empty (every key commented out) keeps the defaults.
void read_section(const Entry& section, const std::vector<Field>& fields) {
  if (section.value.IsNull()) return;
  if (!section.value.IsMap()) fail_value(section, "expected a map, got " + describe(section.value));
  std::vector<bool> seen(fields.size());
  for (const auto& pair : section.value) {
    const YAML::Node& key = pair.first;
    if (!key.IsScalar()) {
      throw Invalid{key.Mark(), (section.path.empty() ? "top level" : section.path) +
                                    ": expected a key name, got " + describe(key)};
    }
    const std::string path =
        section.path.empty() ? key.Scalar() : section.path + "." + key.Scalar();
    size_t i = 0;
    while (i < fields.size() && fields[i].key != key.Scalar()) ++i;
    if (i == fields.size()) throw Invalid{key.Mark(), "unknown key '" + path + "'"};
    if (seen[i]) throw Invalid{key.Mark(), "duplicate key '" + path + "'"};
    seen[i] = true;
    fields[i].read(Entry{key, pair.second, path});
  }
}

template <typename T>
FieldReader integer_into(T& field, int64_t lo, std::optional<int64_t> hi = std::nullopt) {
  return [&field, lo, hi](const Entry& e) { field = read_integer<T>(e, lo, hi); };
}
FieldReader duration_into(uint64_t& field) {
  return [&field](const Entry& e) { field = read_duration(e); };
}
// A string that must be one of `choices`; errors list them '|'-joined.
FieldReader one_of_into(std::string& field, std::vector<std::string> choices) {
  std::string names;
  for (const std::string& c : choices) names += (names.empty() ? "" : "|") + c;
  return [&field, choices = std::move(choices), names](const Entry& e) {
    field = read_choice<std::string>(e, names, [&choices](std::string_view v) -> std::optional<std::string> {
      for (const std::string& c : choices) {
        if (v == c) return c;
      }
      return std::nullopt;
    });
  };
}
FieldReader bool_into(bool& field) {
  return [&field](const Entry& e) { field = read_bool(e); };
}

void read_flow_table(const Entry& section, FlowTableParams& flow,
                     std::optional<uint64_t>& hash_seed) {
  FlowTimeouts& t = flow.timeouts;
  read_section(section, {
                            {"capacity", integer_into(flow.capacity, 1, kMaxFlowCapacity)},
                            {"hash_seed",
                             [&hash_seed](const Entry& e) {
                               const std::string& text = scalar_of(e, "auto or a number");
                               if (text == "auto") {
                                 hash_seed.reset();
                               } else {
                                 hash_seed = static_cast<uint64_t>(
                                     read_integer<int64_t>(e, 0, std::nullopt));
                               }
                             }},
                            {"timeouts",
                             [&t](const Entry& e) {
                               read_section(e, {
                                                   {"embryonic", duration_into(t.embryonic_ns)},
                                                   {"established", duration_into(t.established_ns)},
                                                   {"closing", duration_into(t.closing_ns)},
                                                   {"time_wait", duration_into(t.time_wait_ns)},
                                                   {"closed", duration_into(t.closed_ns)},
                                               });
                             }},
                        });
}

void read_judge(const Entry& section, JudgeParams& judge) {
  std::optional<Entry> forged, suspicious;  // where the scores were set, if they were
  std::optional<Entry> gap;                 // where ttl_gap was set
  read_section(section, {
                            {"ttl_tolerance", integer_into(judge.ttl_tolerance, 0, 64)},
                            {"ttl_gap",
                             [&](const Entry& e) {
                               judge.ttl_gap = read_integer<uint8_t>(e, 0, 255);
                               gap = e;
                             }},
                            {"insertion_max_ttl", integer_into(judge.insertion_max_ttl, 0, 255)},
                            {"verify_checksums", bool_into(judge.verify_checksums)},
                            {"race_window", duration_into(judge.race_window_ns)},
                            {"both_directions_window", duration_into(judge.both_directions_ns)},
                            {"seq_change_window", duration_into(judge.seq_change_ns)},
                            {"sweep",
                             [&judge](const Entry& e) {
                               read_section(e, {
                                                   {"resets", integer_into(judge.sweep_resets, 2)},
                                                   {"window", duration_into(judge.sweep_window_ns)},
                                               });
                             }},
                            {"idle_gap", duration_into(judge.idle_gap_ns)},
                            {"quick_close", duration_into(judge.quick_close_ns)},
                            {"retransmit_threshold", integer_into(judge.retransmit_threshold, 1)},
                            {"keepalive_threshold", integer_into(judge.keepalive_threshold, 1)},
                            {"forged_score",
                             [&](const Entry& e) {
                               judge.forged_score = read_integer<uint8_t>(e, 1, 100);
                               forged = e;
                             }},
                            {"suspicious_score",
                             [&](const Entry& e) {
                               judge.suspicious_score = read_integer<uint8_t>(e, 1, 100);
                               suspicious = e;
                             }},
                            {"lossy_tap", bool_into(judge.lossy_tap)},
                        });
  // A gap within the tolerance would make every TTL mismatch strong.
  if (gap && judge.ttl_gap != 0 && judge.ttl_gap <= judge.ttl_tolerance) {
    fail_value(*gap, "must be 0 or greater than judge.ttl_tolerance (" +
                         std::to_string(judge.ttl_tolerance) + "), got " +
                         std::to_string(judge.ttl_gap));
  }
  if (judge.forged_score > judge.suspicious_score) return;
  // The defaults satisfy the rule, so at least one score was set.
  if (forged) {
    fail_value(*forged, "must be greater than judge.suspicious_score (" +
                            std::to_string(judge.suspicious_score) + "), got " +
                            std::to_string(judge.forged_score));
  }
  fail_value(*suspicious, "must be less than judge.forged_score (" +
                              std::to_string(judge.forged_score) + "), got " +
                              std::to_string(judge.suspicious_score));
}

// One key per label (verdict.def), each an action name.
void read_actions(const Entry& section, ActionPolicy& actions) {
  static_assert(std::tuple_size_v<decltype(actions.by_label)> == kLabelCount);
  std::vector<Field> fields;
  for (int i = 0; i < kLabelCount; ++i) {
    const Label label = static_cast<Label>(i);
    fields.push_back({name_of(label), [&actions, label](const Entry& e) {
                        const Action action = read_action(e);
                        // Blocking or delaying resets judged genuine would break
                        // the endpoints' own error handling.
                        if (label == Label::legit && action != Action::pass &&
                            action != Action::alert) {
                          fail_value(e, "must be pass or alert, got " + describe(e.value));
                        }
                        actions.by_label[static_cast<int>(label)] = action;
                      }});
  }
  read_section(section, fields);
}

std::optional<EventVerbosity> verbosity_from_name(std::string_view name) {
  if (name == "all") return EventVerbosity::kAll;
  if (name == "suspicious") return EventVerbosity::kSuspiciousAndForged;
  return std::nullopt;
}

// spdlog's level names.
void read_output(const Entry& section, OutputConfig& output) {
  read_section(
      section,
      {
          {"events",
           [&output](const Entry& e) {
             output.events = read_string(e);
             if (output.events.empty()) {
               fail_value(e, "must name a file, or \"-\" for stdout");
             }
           }},
          {"verbosity",
           [&output](const Entry& e) {
             output.verbosity =
                 read_choice<EventVerbosity>(e, "all|suspicious", verbosity_from_name);
           }},
          {"stats_json", [&output](const Entry& e) { output.stats_json = read_string(e); }},
          {"flagged", [&output](const Entry& e) { output.flagged = read_string(e); }},
          {"metrics", [&output](const Entry& e) { output.metrics = read_string(e); }},
          {"metrics_interval", duration_into(output.metrics_interval_ns)},
          {"max_events_per_second", integer_into(output.max_events_per_second, 0, 1'000'000'000)},
          {"rotate_mib",
           [&output](const Entry& e) {
             uint32_t mib = 0;
             integer_into(mib, 0, 1u << 20)(e);
             output.rotate_bytes = uint64_t{mib} << 20;
           }},
          {"rotate_files", integer_into(output.rotate_files, 1, 1000)},
          {"on_error", one_of_into(output.on_error, {"stop", "continue"})},
          {"log_level", one_of_into(output.log_level,
                                    {"trace", "debug", "info", "warn", "error", "critical", "off"})},
      });
}

void read_pools(const Entry& section, PoolParams& p) {
  constexpr uint32_t kMaxPool = 1u << 24;
  read_section(section, {
                            {"reset_history", integer_into(p.reset_history, 1, kMaxPool)},
                            {"triggers", integer_into(p.triggers, 1, kMaxPool)},
                            {"reassembly", integer_into(p.reassembly, 1, 1u << 16)},
                            {"host_ttl", integer_into(p.host_ttl, 1, kMaxPool)},
                            {"destinations", integer_into(p.destinations, 1, kMaxPool)},
                            {"rate_limit", integer_into(p.rate_limit, 1, kMaxPool)},
                        });
}

void read_hold(const Entry& section, HoldParams& hold) {
  read_section(section, {
                            {"max_time", duration_into(hold.max_time_ns)},
                            {"max_packets", integer_into(hold.max_packets, 0, 1 << 20)},
                        });
}

void read_incidents(const Entry& section, IncidentParams& in) {
  read_section(section, {
                            {"interval", duration_into(in.interval_ns)},
                            {"idle", duration_into(in.idle_ns)},
                            {"sample_first", integer_into(in.sample_first, 0, 1 << 20)},
                            {"sample_every", integer_into(in.sample_every, 0, 1 << 20)},
                            {"capacity", integer_into(in.capacity, 1, 1024)},
                        });
}

void read_live(const Entry& section, LiveConfig& live) {
  read_section(
      section,
      {
          {"mode", one_of_into(live.mode, {"inline", "mirror"})},
          {"ports",
           [&live](const Entry& e) {
             if (!e.value.IsSequence()) {
               fail_value(e, "expected a sequence of port ids, got " + describe(e.value));
             }
             live.ports.clear();
             for (size_t i = 0; i < e.value.size(); ++i) {
               const Entry item{e.key, e.value[i], e.path + "[" + std::to_string(i) + "]"};
               const uint16_t port = read_integer<uint16_t>(item, 0, 1023);
               if (std::find(live.ports.begin(), live.ports.end(), port) != live.ports.end()) {
                 fail_value(item, "port " + std::to_string(port) + " is listed twice");
               }
               live.ports.push_back(port);
             }
           }},
          {"workers", integer_into(live.workers, 0, 128)},
          {"rx_desc", integer_into(live.rx_desc, 64, 16384)},
          {"tx_desc", integer_into(live.tx_desc, 64, 16384)},
          {"tx_flush", duration_into(live.tx_flush_ns)},
          {"idle_sleep",
           [&live](const Entry& e) {
             const std::string& text = scalar_of(e, "a duration");
             const int64_t ns = parse_duration_ns(text);
             if (ns < 0) fail_value(e, "expected a duration like 100us, got " + describe(e.value));
             live.idle_sleep_ns = static_cast<uint64_t>(ns);  // 0 allowed: spin
           }},
          {"event_ring",
           [&live](const Entry& e) {
             live.event_ring = read_integer<uint32_t>(e, 64, 1 << 20);
             if ((live.event_ring & (live.event_ring - 1)) != 0) {
               fail_value(e, "must be a power of two, got " + std::to_string(live.event_ring));
             }
           }},
          {"alert_only", bool_into(live.alert_only)},
          {"drop_held_on_exit", bool_into(live.drop_held_on_exit)},
          {"rehash", one_of_into(live.rehash, {"auto", "software"})},
      });
}

// ---- Rules and triggers ---------------------------------------------------

// A rule as written; unset fields come from the default rule once every
// section has been read.
struct RuleSpec {
  Rule rule;
  std::array<int8_t, kLabelCount> label_actions;  // -1: the default rule's
  std::array<int8_t, kEvidenceCount> evidence_actions;
  std::optional<uint64_t> hold_time_ns;
  std::optional<uint8_t> ttl_tolerance;
  std::optional<EventVerbosity> verbosity;
  std::optional<uint32_t> rate_limit;
  YAML::Mark name_mark;
  std::vector<std::pair<std::string, YAML::Mark>> trigger_marks;
};

// Rule and pattern names appear in events and JSON: keep them plain.
void check_name(const Entry& e, const std::string& name) {
  const bool ok = !name.empty() && name.size() <= 23 &&
                  std::all_of(name.begin(), name.end(), [](char ch) {
                    return std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' ||
                           ch == '_' || ch == '.';
                  });
  if (!ok) fail_value(e, "a name is 1-23 letters, digits, '-', '_' or '.', got " + describe(e.value));
}

std::vector<YAML::Node> as_list(const Entry& e) {
  std::vector<YAML::Node> items;
  if (e.value.IsSequence()) {
    for (size_t i = 0; i < e.value.size(); ++i) items.push_back(e.value[i]);
  } else if (e.value.IsScalar()) {
    items.push_back(e.value);  // a single value may stand for a list of one
  } else {
    fail_value(e, "expected a value or a sequence, got " + describe(e.value));
  }
  return items;
}

std::vector<Prefix> read_prefixes(const Entry& e) {
  std::vector<Prefix> out;
  for (const YAML::Node& n : as_list(e)) {
    const Entry item{e.key, n, e.path};
    Prefix p;
    if (!Prefix::parse(scalar_of(item, "an address or prefix"), &p)) {
      fail_value(item, "expected an IPv4 or IPv6 address or prefix (host bits clear), got " +
                           describe(n));
    }
    out.push_back(p);
  }
  return out;
}

std::vector<PortRange> read_ports(const Entry& e) {
  std::vector<PortRange> out;
  for (const YAML::Node& n : as_list(e)) {
    const Entry item{e.key, n, e.path};
    const std::string& text = scalar_of(item, "a port or a range lo-hi");
    unsigned lo = 0, hi = 0;
    const size_t dash = text.find('-');
    const auto number = [&](std::string_view t, unsigned& v) {
      auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
      return !t.empty() && ec == std::errc() && p == t.data() + t.size() && v <= 65535;
    };
    const bool ok = dash == std::string::npos
                        ? number(text, lo) && ((hi = lo), true)
                        : number(std::string_view(text).substr(0, dash), lo) &&
                              number(std::string_view(text).substr(dash + 1), hi) && lo <= hi;
    if (!ok) fail_value(item, "expected a port 0..65535 or a range lo-hi, got " + describe(n));
    out.push_back(PortRange{static_cast<uint16_t>(lo), static_cast<uint16_t>(hi)});
  }
  return out;
}

void read_evidence_actions(const Entry& section, std::array<int8_t, kEvidenceCount>& out) {
  std::vector<Field> fields;
  for (int i = 0; i < kEvidenceCount; ++i) {
    const auto ev = static_cast<Evidence>(i);
    fields.push_back({name_of(ev), [&out, i](const Entry& e) {
                        out[i] = static_cast<int8_t>(read_action(e));
                      }});
  }
  read_section(section, fields);
}

EventVerbosity read_verbosity(const Entry& e) {
  return read_choice<EventVerbosity>(e, "all|suspicious", verbosity_from_name);
}

void read_rules(const Entry& e, std::vector<RuleSpec>& rules) {
  if (!e.value.IsSequence()) fail_value(e, "expected a sequence of rules, got " + describe(e.value));
  std::unordered_set<std::string> names;  // each name once: near-linear for 10^5 rules
  for (size_t i = 0; i < e.value.size(); ++i) {
    const Entry item{e.key, e.value[i], e.path + "[" + std::to_string(i) + "]"};
    if (!item.value.IsMap()) fail_value(item, "expected a rule (a map), got " + describe(item.value));
    RuleSpec r;
    r.label_actions.fill(-1);
    r.evidence_actions.fill(-1);
    bool named = false;
    read_section(
        item,
        {
            {"name",
             [&](const Entry& x) {
               r.rule.name = read_string(x);
               check_name(x, r.rule.name);
               r.name_mark = x.value.Mark();
               named = true;
             }},
            {"client", [&](const Entry& x) { r.rule.client = read_prefixes(x); }},
            {"server", [&](const Entry& x) { r.rule.server = read_prefixes(x); }},
            {"client_ports", [&](const Entry& x) { r.rule.client_ports = read_ports(x); }},
            {"server_ports", [&](const Entry& x) { r.rule.server_ports = read_ports(x); }},
            {"vlan",
             [&](const Entry& x) {
               for (const YAML::Node& n : as_list(x)) {
                 r.rule.vlans.push_back(read_integer<uint16_t>(Entry{x.key, n, x.path}, 0, 4095));
               }
             }},
            {"trigger",
             [&](const Entry& x) {
               for (const YAML::Node& n : as_list(x)) {
                 const std::string name = scalar_of(Entry{x.key, n, x.path}, "a trigger name");
                 if (name == "none") {
                   r.rule.no_trigger = true;
                 } else if (name != "any") {
                   r.rule.triggers.push_back(name);
                   r.trigger_marks.emplace_back(name, n.Mark());
                 }
               }
             }},
            {"actions",
             [&](const Entry& x) {
               // Only the labels named here differ from the default rule.
               ActionPolicy a;
               read_actions(x, a);
               for (int l = 0; l < kLabelCount; ++l) {
                 if (x.value[std::string(name_of(static_cast<Label>(l)))]) {
                   r.label_actions[l] = static_cast<int8_t>(a.by_label[l]);
                 }
               }
             }},
            {"evidence_actions", [&](const Entry& x) { read_evidence_actions(x, r.evidence_actions); }},
            {"hold_time", [&](const Entry& x) { r.hold_time_ns = read_duration(x); }},
            {"ttl_tolerance",
             [&](const Entry& x) { r.ttl_tolerance = read_integer<uint8_t>(x, 0, 64); }},
            {"verbosity", [&](const Entry& x) { r.verbosity = read_verbosity(x); }},
            {"rate_limit",
             [&](const Entry& x) { r.rate_limit = read_integer<uint32_t>(x, 0, 10'000'000); }},
        });
    if (!named) throw Invalid{item.value.Mark(), item.path + ": a rule needs a name"};
    if (!names.insert(r.rule.name).second) {
      throw Invalid{r.name_mark, item.path + ".name: '" + r.rule.name + "' is used twice"};
    }
    rules.push_back(std::move(r));
  }
}

void read_triggers(const Entry& section, TriggerConfig& t) {
  read_section(
      section,
      {
          {"window_segments", integer_into(t.window_segments, 0, 15)},
          {"window_bytes", integer_into(t.window_bytes, 1, 65535)},
          {"patterns",
           [&t](const Entry& e) {
             if (!e.value.IsSequence()) {
               fail_value(e, "expected a sequence of patterns, got " + describe(e.value));
             }
             for (size_t i = 0; i < e.value.size(); ++i) {
               const Entry item{e.key, e.value[i], e.path + "[" + std::to_string(i) + "]"};
               if (!item.value.IsMap()) fail_value(item, "expected a pattern (a map)");
               PatternConfig p;
               p.line = item.value.Mark().line + 1;
               p.column = item.value.Mark().column + 1;
               bool has_regex = false, has_literal = false;
               YAML::Mark name_mark = item.value.Mark();
               read_section(
                   item,
                   {
                       {"name",
                        [&](const Entry& x) {
                          p.name = read_string(x);
                          if (p.name != "any" && p.name != "none") check_name(x, p.name);
                          name_mark = x.value.Mark();
                        }},
                       {"regex",
                        [&](const Entry& x) {
                          p.expression = read_string(x);
                          has_regex = true;
                        }},
                       {"literal",
                        [&](const Entry& x) {
                          p.expression = read_string(x);
                          p.literal = has_literal = true;
                        }},
                       {"caseless", bool_into(p.caseless)},
                       {"fields",
                        [&](const Entry& x) {
                          for (const YAML::Node& n : as_list(x)) {
                            const Entry f{x.key, n, x.path};
                            const std::string& name = scalar_of(f, "sni, host or payload");
                            if (name != "sni" && name != "host" && name != "payload") {
                              fail_value(f, "expected sni, host or payload, got " + describe(n));
                            }
                            p.fields.push_back(name);
                          }
                        }},
                   });
               if (p.name.empty() || p.name == "any" || p.name == "none") {
                 throw Invalid{name_mark, item.path + ": a pattern needs a name (not any/none)"};
               }
               if (has_regex == has_literal) {
                 throw Invalid{item.value.Mark(),
                               item.path + ": give exactly one of 'regex' or 'literal'"};
               }
               if (p.expression.empty()) {
                 throw Invalid{item.value.Mark(), item.path + ": the expression is empty"};
               }
               for (const PatternConfig& other : t.patterns) {
                 if (other.name == p.name) {
                   throw Invalid{name_mark, item.path + ".name: '" + p.name + "' is used twice"};
                 }
               }
               t.patterns.push_back(std::move(p));
             }
           }},
      });
}

Config read_config(const YAML::Node& root) {
  Config c;
  std::vector<RuleSpec> rules;
  if (root.IsNull()) return c;
  if (!root.IsMap()) {
    throw Invalid{root.Mark(), "the top level must be a map of sections, got " + describe(root)};
  }
  read_section(Entry{YAML::Node(), root, ""},
               {
                   {"flow_table", [&c](const Entry& e) { read_flow_table(e, c.flow, c.flow_hash_seed); }},
                   {"judge", [&c](const Entry& e) { read_judge(e, c.judge); }},
                   {"actions", [&c](const Entry& e) { read_actions(e, c.actions); }},
                   {"output", [&c](const Entry& e) { read_output(e, c.output); }},
                   {"hold", [&c](const Entry& e) { read_hold(e, c.hold); }},
                   {"incidents", [&c](const Entry& e) { read_incidents(e, c.incidents); }},
                   {"pools", [&c](const Entry& e) { read_pools(e, c.pools); }},
                   {"live", [&c](const Entry& e) { read_live(e, c.live); }},
                   {"burst_size", integer_into(c.burst_size, 1, kMaxBurstSize)},
                   {"triggers", [&c](const Entry& e) { read_triggers(e, c.triggers); }},
                   {"evidence_actions",
                    [&c](const Entry& e) { read_evidence_actions(e, c.evidence_actions); }},
                   {"rate_limit",
                    [&c](const Entry& e) { c.rate_limit = read_integer<uint32_t>(e, 0, 10'000'000); }},
                   {"rules", [&rules](const Entry& e) { read_rules(e, rules); }},
               });
  // Rules: what a rule leaves unset comes from the default rule.
  const RuleActions fallback = default_rule_actions(c);
  std::vector<std::string> trigger_names;
  for (const PatternConfig& p : c.triggers.patterns) trigger_names.push_back(p.name);
  std::vector<Rule> built;
  for (RuleSpec& r : rules) {
    for (const auto& [name, mark] : r.trigger_marks) {
      if (std::find(trigger_names.begin(), trigger_names.end(), name) == trigger_names.end()) {
        throw Invalid{mark, "rules: '" + r.rule.name + "' names trigger '" + name +
                                "', which triggers.patterns does not define"};
      }
    }
    RuleActions& a = r.rule.actions;
    a = fallback;
    for (int l = 0; l < kLabelCount; ++l) {
      if (r.label_actions[l] >= 0) a.by_label.by_label[l] = static_cast<Action>(r.label_actions[l]);
    }
    for (int i = 0; i < kEvidenceCount; ++i) {
      if (r.evidence_actions[i] >= 0) a.by_evidence[i] = r.evidence_actions[i];
    }
    if (r.hold_time_ns) a.hold_time_ns = *r.hold_time_ns;
    if (r.ttl_tolerance) a.ttl_tolerance = *r.ttl_tolerance;
    if (r.verbosity) a.verbosity = *r.verbosity;
    if (r.rate_limit) a.rate_limit = *r.rate_limit;
    built.push_back(std::move(r.rule));
  }
  Rule default_rule;
  default_rule.name = "default";
  default_rule.actions = fallback;
  auto policy = std::make_shared<PolicySet>(std::move(built), std::move(default_rule),
                                            std::move(trigger_names), 1);
  // Patterns compile now, so a bad one refuses the whole file.
  std::vector<match::PatternSpec> specs;
  for (const PatternConfig& p : c.triggers.patterns) {
    match::PatternSpec spec;
    spec.name = p.name;
    spec.expression = p.expression;
    spec.literal = p.literal;
    spec.caseless = p.caseless;
    for (const std::string& f : p.fields) {
      spec.fields.push_back(f == "sni" ? TriggerField::kSni
                            : f == "host" ? TriggerField::kHost
                                          : TriggerField::kPayload);
    }
    specs.push_back(std::move(spec));
  }
  if (!specs.empty()) {
    try {
      policy->set_triggers(match::as_trigger_database(match::Database::compile(specs)),
                           c.triggers.window_segments, c.triggers.window_bytes);
    } catch (const match::PatternError& e) {
      YAML::Mark mark;
      if (e.pattern_index() >= 0) {
        const PatternConfig& p = c.triggers.patterns[static_cast<size_t>(e.pattern_index())];
        mark.line = p.line - 1;
        mark.column = p.column - 1;
      }
      throw Invalid{mark, std::string("triggers.patterns: ") + e.what()};
    }
  }
  c.policy = std::move(policy);
  return c;
}

}  // namespace

RuleActions default_rule_actions(const Config& c) {
  RuleActions a;
  a.by_label = c.actions;
  a.by_evidence = c.evidence_actions;
  a.hold_time_ns = c.hold.max_time_ns;
  a.ttl_tolerance = c.judge.ttl_tolerance;
  a.verbosity = c.output.verbosity;
  a.rate_limit = c.rate_limit;
  return a;
}

std::shared_ptr<const PolicySet> Config::default_policy() {
  Rule fallback;
  fallback.name = "default";
  fallback.actions = RuleActions{};  // its defaults are the config defaults
  return std::make_shared<const PolicySet>(std::vector<Rule>{}, std::move(fallback),
                                           std::vector<std::string>{}, 1);
}

Config load_config_string(std::string_view yaml, const std::string& name) {
  // Every message is printable and bounded, whatever the file held (key
  // names and parser messages quote it too).
  const auto error = [&name](const YAML::Mark& mark, const std::string& message) {
    const std::string m = shown(message, 400);
    return mark.is_null() ? ConfigError(name, 0, 0, m)
                          : ConfigError(name, mark.line + 1, mark.column + 1, m);
  };
  std::vector<YAML::Node> documents;
  try {
    documents = YAML::LoadAll(std::string(yaml));
  } catch (const YAML::DeepRecursion& e) {
    throw error(e.mark, "nested " + std::to_string(e.depth()) +
                            " levels deep: the YAML reader stops there (rstguard's own "
                            "configuration nests a few levels at most)");
  } catch (const YAML::Exception& e) {
    throw error(e.mark, "YAML syntax error: " + e.msg);
  }
  try {
    if (documents.size() > 1) {
      throw Invalid{documents[1].Mark(), "only one YAML document is allowed"};
    }
    return read_config(documents.empty() ? YAML::Node() : documents[0]);
  } catch (const Invalid& e) {
    throw error(e.mark, e.message);
  }
}

Config load_config_file(const std::string& path) {
  const auto unreadable = [&path](int err) {
    return ConfigError(path, 0, 0,
                       "cannot read the configuration file: " +
                           std::error_code(err, std::generic_category()).message());
  };
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) throw unreadable(errno);
  std::string text;
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, file)) > 0) text.append(buffer, n);
  const int read_error = std::ferror(file) ? errno : 0;
  std::fclose(file);
  if (read_error != 0) throw unreadable(read_error);
  return load_config_string(text, path);
}

int64_t parse_duration_ns(std::string_view text) {
  struct Unit {
    std::string_view suffix;
    int64_t ns;
  };
  static constexpr Unit kUnits[] = {
      {"", 1'000'000'000},
      {"ns", 1},
      {"us", 1'000},
      {"ms", 1'000'000},
      {"s", 1'000'000'000},
      {"m", 60'000'000'000},
      {"h", 3'600'000'000'000},
  };
  const size_t number_end = std::min(text.find_first_not_of("0123456789."), text.size());
  const std::string_view number = text.substr(0, number_end);
  const std::string_view suffix = text.substr(number_end);
  const Unit* unit = nullptr;
  for (const Unit& u : kUnits) {
    if (u.suffix == suffix) unit = &u;
  }
  if (unit == nullptr) return -1;

  const size_t dot = number.find('.');
  const std::string_view whole = number.substr(0, dot);
  std::string_view fraction = dot == std::string_view::npos ? "" : number.substr(dot + 1);
  if (whole.empty() || (dot != std::string_view::npos && fraction.empty()) ||
      fraction.find('.') != std::string_view::npos) {
    return -1;
  }

  // The fraction must come to whole nanoseconds: each digit divides the
  // unit by ten, which must stay exact ("1.5s" yes, "0.5ns" no).
  while (!fraction.empty() && fraction.back() == '0') fraction.remove_suffix(1);
  int64_t fraction_ns = 0;
  int64_t step = unit->ns;
  for (const char digit : fraction) {
    if (step % 10 != 0) return -1;
    step /= 10;
    fraction_ns += (digit - '0') * step;
  }

  int64_t count = 0;
  const auto [end, ec] = std::from_chars(whole.data(), whole.data() + whole.size(), count);
  if (ec != std::errc() || end != whole.data() + whole.size()) return -1;
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  if (count > (kMax - fraction_ns) / unit->ns) return -1;
  return count * unit->ns + fraction_ns;
}

}  // namespace rstguard::config

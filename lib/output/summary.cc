#include "output/summary.h"

#include <fmt/format.h>

namespace rstguard::output {
namespace {

std::string json_escape(const std::string& s) {
  std::string o;
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      o += '\\';
      o += ch;
    } else if (c < 0x20) {
      o += fmt::format("\\u{:04x}", c);
    } else {
      o += ch;
    }
  }
  return o;
}

template <typename E, size_t N>
void text_breakdown(std::string& out, const char* title, const std::array<uint64_t, N>& v) {
  std::string parts;
  for (size_t i = 0; i < N; ++i) {
    if (v[i] == 0) continue;
    parts += fmt::format("  {} {}", name_of(static_cast<E>(i)), v[i]);
  }
  out += fmt::format("  {:<18}{}\n", title, parts.empty() ? "  -" : parts);
}

template <typename E, size_t N>
void json_breakdown(std::string& out, const char* key, const std::array<uint64_t, N>& v) {
  out += fmt::format(R"(,"{}":{{)", key);
  for (size_t i = 0; i < N; ++i) {
    out += fmt::format(R"({}"{}":{})", i ? "," : "", name_of(static_cast<E>(i)), v[i]);
  }
  out += "}";
}

}  // namespace

std::string format_summary_text(const Counters& c, const RunInfo& info) {
  std::string out;
  out += fmt::format("rstguard summary ({} {}, {:.3f} s{})\n", info.mode, info.input,
                     info.seconds, info.running ? " so far" : "");
  const double mpps = info.seconds > 0 ? c.pkt_total / info.seconds / 1e6 : 0;
  out += fmt::format("  {:<18}  {} ({} TCP), {:.2f} Mpps\n", "packets", c.pkt_total, c.pkt_tcp,
                     mpps);
  out += fmt::format("  {:<18}  {} created, {} mid-stream, {} active, {} expired, {} refused\n",
                     "flows", c.flow_created, c.flow_midstream, info.flows_active,
                     c.flow_expired, c.flow_insert_refused);
  out += fmt::format("  {:<18}  {} closed, {} unanswered handshakes, {} one-way pick-ups\n",
                     "flows evicted", c.flow_evicted_closed, c.flow_evicted_embryonic,
                     c.flow_evicted_one_way);
  out += fmt::format("  {:<18}  {} reset history, {} trigger, {} reassembly\n", "pools refused",
                     c.pool_history_refused, c.pool_trigger_refused, c.pool_reassembly_refused);
  out += fmt::format("  {:<18}  {} TTL baselines, {} destinations, {} rate limits\n",
                     "hosts overwritten", c.host_ttl_overwritten, c.host_destination_overwritten,
                     c.host_rate_overwritten);
  out += fmt::format("  {:<18}  {} judged, {} updates, {} dropped, {} alerted\n", "resets",
                     c.rst_total, c.rst_updates, c.rst_dropped, c.rst_alerted);
  text_breakdown<Label>(out, "  by label", c.rst_label);
  text_breakdown<Validity>(out, "  by validity", c.rst_validity);
  text_breakdown<Cause>(out, "  by cause", c.rst_cause);
  text_breakdown<Evidence>(out, "  evidence", c.rst_evidence);
  out += fmt::format("  {:<18}  {} forwarded, {} dropped\n", "packets out", c.pkt_forwarded,
                     c.pkt_dropped);
  std::string errors;
  uint64_t error_total = 0;
  for (int i = 0; i < kParseResultCount; ++i) {
    const auto r = static_cast<ParseResult>(i);
    if (!parse_result_is_error(r) || c.parse[i] == 0) continue;
    error_total += c.parse[i];
    errors += fmt::format("  {} {}", parse_result_name(r), c.parse[i]);
  }
  out += fmt::format("  {:<18}  {}{}\n", "parse errors", error_total, errors);
  out += fmt::format("  {:<18}  {} not IP, {} not TCP, {} fragments, {} of an unsupported link type\n",
                     "not judged", c.parse[static_cast<int>(ParseResult::not_ip)],
                     c.parse[static_cast<int>(ParseResult::not_tcp)],
                     c.parse[static_cast<int>(ParseResult::ip_fragment)],
                     c.parse[static_cast<int>(ParseResult::unsupported_link)]);
  // "written" is what reached the events file; "produced" what the
  // workers made (of which a live run's full rings lose the overflow).
  const OutputInfo* events_out = nullptr;
  for (const OutputInfo& o : info.outputs) {
    if (o.name == "events") events_out = &o;
  }
  if (events_out != nullptr) {
    out += fmt::format("  {:<18}  {} produced, {} written, {} not written, {} suppressed, "
                       "{} sampled out, {} overflowed\n",
                       "events", c.event_emitted, events_out->written, events_out->lost,
                       c.event_suppressed, c.event_sampled, c.event_overflow);
  } else {
    out += fmt::format("  {:<18}  {} produced, {} suppressed, {} sampled out, {} overflowed\n",
                       "events", c.event_emitted, c.event_suppressed, c.event_sampled,
                       c.event_overflow);
  }
  for (const OutputInfo& o : info.outputs) {
    if (o.name == "events" && o.error.empty()) continue;
    out += fmt::format("  {:<18}  {}: {} written", "output " + o.name, o.path, o.written);
    if (o.rejected != 0) out += fmt::format(", {} left out (timestamp or length pcap cannot hold)", o.rejected);
    if (o.lost != 0) out += fmt::format(", {} not written", o.lost);
    if (!o.error.empty()) out += fmt::format(" (FAILED: {})", o.error);
    out += "\n";
  }
  out += fmt::format("  {:<18}  {} ({} ended early: too many open at once)\n", "incidents",
                     c.incident_started, c.incident_evicted);
  for (size_t i = 0; i < info.workers.size(); ++i) {
    const WorkerInfo& w = info.workers[i];
    out += fmt::format("  worker {} (lcore {}) {} packets, {} flows, {} sent, {} refused by tx, "
                       "{}/{} re-hashed in/out\n",
                       i, w.lcore, w.packets, w.flows_created, w.tx, w.tx_dropped, w.handoff_in,
                       w.handoff_out);
  }
  if (info.flows_split >= 0) {
    out += fmt::format("  {:<18}  {}\n", "flows split", info.flows_split);
  }
  if (!info.error.empty()) out += fmt::format("  ended on error: {}\n", info.error);
  return out;
}

std::string format_summary_json(const Counters& c, const RunInfo& info) {
  std::string out = fmt::format(
      R"({{"mode":"{}","input":"{}","seconds":{:.6f},"running":{},"flows_active":{},"flow_table_bytes":{},"flow_capacity":{},"error":{})",
      info.mode, json_escape(info.input), info.seconds, info.running, info.flows_active, info.flow_bytes,
      info.flow_capacity, info.error.empty() ? "null" : "\"" + json_escape(info.error) + "\"");
  if (info.flows_split >= 0) out += fmt::format(R"(,"flows_split":{})", info.flows_split);
  if (!info.workers.empty()) {
    out += R"(,"workers":[)";
    for (size_t i = 0; i < info.workers.size(); ++i) {
      const WorkerInfo& w = info.workers[i];
      out += fmt::format(
          R"({}{{"lcore":{},"packets":{},"flows_created":{},"flows_active":{},"tx":{},"tx_dropped":{},"handoff_in":{},"handoff_out":{},"event_overflow":{}}})",
          i ? "," : "", w.lcore, w.packets, w.flows_created, w.flows_active, w.tx, w.tx_dropped,
          w.handoff_in, w.handoff_out, w.event_overflow);
    }
    out += "]";
  }
  if (!info.outputs.empty()) {
    out += R"(,"outputs":[)";
    for (size_t i = 0; i < info.outputs.size(); ++i) {
      const OutputInfo& o = info.outputs[i];
      out += fmt::format(R"({}{{"name":"{}","path":"{}","written":{},"lost":{},"rejected":{},"error":{}}})",
                         i ? "," : "", o.name, json_escape(o.path), o.written, o.lost, o.rejected,
                         o.error.empty() ? "null" : "\"" + json_escape(o.error) + "\"");
    }
    out += "]";
  }
  out += R"(,"counters":{)";
  bool first = true;
  c.for_each_scalar([&](std::string_view name, uint64_t v) {
    out += fmt::format(R"({}"{}":{})", first ? "" : ",", name, v);
    first = false;
  });
  out += "}";
  json_breakdown<Label>(out, "rst_label", c.rst_label);
  json_breakdown<Validity>(out, "rst_validity", c.rst_validity);
  json_breakdown<Cause>(out, "rst_cause", c.rst_cause);
  json_breakdown<Evidence>(out, "rst_evidence", c.rst_evidence);
  out += R"(,"parse":{)";
  for (int i = 0; i < kParseResultCount; ++i) {
    out += fmt::format(R"({}"{}":{})", i ? "," : "", parse_result_name(static_cast<ParseResult>(i)),
                       c.parse[i]);
  }
  out += "}}";
  return out;
}

}  // namespace rstguard::output

#include "output/event_json.h"

#include "core/trigger_fields.h"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <cstring>
#include <ctime>

namespace rstguard::output {

std::string format_timestamp(uint64_t ts_ns) {
  const time_t secs = static_cast<time_t>(ts_ns / 1'000'000'000ull);
  const unsigned usec = static_cast<unsigned>((ts_ns / 1000) % 1'000'000);
  struct tm tm_utc;
  gmtime_r(&secs, &tm_utc);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}+0000", tm_utc.tm_year + 1900,
                     tm_utc.tm_mon + 1, tm_utc.tm_mday, tm_utc.tm_hour, tm_utc.tm_min,
                     tm_utc.tm_sec, usec);
}

std::string format_ip(const IpAddr& a) {
  char buf[INET6_ADDRSTRLEN];
  if (a.is_v4()) {
    inet_ntop(AF_INET, a.bytes + 12, buf, sizeof(buf));
  } else {
    inet_ntop(AF_INET6, a.bytes, buf, sizeof(buf));
  }
  return buf;
}

std::string format_tcp_flags(uint8_t flags) {
  static constexpr char kLetters[] = "FSRPAUEC";
  std::string s;
  for (int i = 0; i < 8; ++i) {
    if (flags & (1u << i)) s.push_back(kLetters[i]);
  }
  return s;
}

namespace {

// The evidence names in verdict.def order, comma-separated; quoted for JSON.
std::string evidence_list(EvidenceSet set, bool quoted = true) {
  std::string out;
  for (int i = 0; i < kEvidenceCount; ++i) {
    const auto ev = static_cast<Evidence>(i);
    if (!set.has(ev)) continue;
    if (!out.empty()) out += ',';
    out += quoted ? fmt::format(R"("{}")", name_of(ev)) : std::string(name_of(ev));
  }
  return out;
}

void append_verdict(const RstEvent& e, std::string& out) {
  out += fmt::format(R"("verdict":{{"label":"{}","validity":"{}","evidence":[{}],"cause":"{}")",
                     name_of(e.label), name_of(e.validity), evidence_list(e.evidence),
                     name_of(e.cause));
  if (e.imitated != Cause::unknown) {
    out += fmt::format(R"(,"imitates":"{}")", name_of(e.imitated));
  }
  if (e.answers != Answer::none) out += fmt::format(R"(,"answers":"{}")", name_of(e.answers));
  if (e.expected_known) {
    out += fmt::format(R"(,"expected_seq":{},"receiver_window":{})", e.expected_seq,
                       e.receiver_window);
  } else {
    out += R"(,"expected_seq":null,"receiver_window":null)";
  }
  out += "}";
}

double incident_seconds(const IncidentInfo& in) {
  return in.last_ns > in.first_ns ? static_cast<double>(in.last_ns - in.first_ns) / 1e9 : 0.0;
}

// An incident event: the target, exact counts, and what its resets showed.
void format_incident_json(const RstEvent& e, std::string& out) {
  const IncidentInfo& in = e.incident;
  out += fmt::format(R"({{"timestamp":"{}","event_type":"incident","incident_id":{},)",
                     format_timestamp(e.timestamp_ns), in.id);
  if (e.vlan_count == 1) out += fmt::format(R"("vlan":[{}],)", e.vlan_outer);
  const double secs = incident_seconds(in);
  out += fmt::format(R"("incident":{{"state":"{}",)",
                     kIncidentStateNames[static_cast<int>(in.state)]);
  if (in.pair && e.src == e.dst) {  // one address at both ends (loopback): one key
    out += fmt::format(R"("target":{{"hosts":["{}","{}"]}},"toward":{{"{}":{}}},)",
                       format_ip(e.src), format_ip(e.dst), format_ip(e.src),
                       in.toward_src + in.toward_dst);
  } else if (in.pair) {
    out += fmt::format(R"("target":{{"hosts":["{}","{}"]}},"toward":{{"{}":{},"{}":{}}},)",
                       format_ip(e.src), format_ip(e.dst), format_ip(e.src), in.toward_src,
                       format_ip(e.dst), in.toward_dst);
  } else {
    out += fmt::format(R"("target":{{"dest_ip":"{}"}},)", format_ip(e.dst));
  }
  out += fmt::format(
      R"("first":"{}","last":"{}","duration_s":{:.6f},"resets":{},"suspicious":{},"forged":{},"dropped":{},"updates":{},"events_written":{},"events_sampled":{},"rate_per_s":{:.1f},"seq":{{"min":{},"max":{}}},"dest_ports":{{"min":{},"max":{}}},"ttl":{{"min":{},"max":{},"values":[)",
      format_timestamp(in.first_ns), format_timestamp(in.last_ns), secs, in.resets,
      in.suspicious, in.forged, in.dropped, in.updates, in.written, in.sampled,
      secs > 0 ? in.resets / secs : 0.0, in.seq_min, in.seq_max, in.port_min, in.port_max,
      in.ttl_min, in.ttl_max);
  for (int i = 0; i < in.ttl_count; ++i) out += fmt::format("{}{}", i ? "," : "", in.ttls[i]);
  out += fmt::format(R"(],"more":{}}},"evidence":[{}],"label":"{}","action":"{}"}}}})",
                     in.ttl_more ? "true" : "false", evidence_list(e.evidence), name_of(e.label),
                     name_of(e.action));
}

}  // namespace

void format_event_json(const RstEvent& e, std::string& out) {
  if (e.type == EventType::kIncident) {
    format_incident_json(e, out);
    return;
  }
  const bool update = e.type == EventType::kRstUpdate;
  out += fmt::format(
      R"({{"timestamp":"{}","event_type":"{}","flow_id":{},"pkt_num":{},"src_ip":"{}","src_port":{},"dest_ip":"{}","dest_port":{},"proto":"TCP",)",
      format_timestamp(e.timestamp_ns), update ? "rst_update" : "rst", e.flow_id,
      e.packet_number, format_ip(e.src), e.src_port, format_ip(e.dst), e.dst_port);
  if (e.vlan_count == 1) out += fmt::format(R"("vlan":[{}],)", e.vlan_outer);
  if (e.vlan_count >= 2) out += fmt::format(R"("vlan":[{},{}],)", e.vlan_outer, e.vlan_inner);
  if (e.incident.id != 0) out += fmt::format(R"("incident_id":{},)", e.incident.id);
  if (e.direction_known) {
    out += fmt::format(R"("direction":"{}",)", e.to_server ? "to_server" : "to_client");
  } else {
    out += R"("direction":null,)";
  }
  if (update) {
    out += fmt::format(R"("tcp":{{"seq":{}}},"revises":{{"pkt_num":{},"tcp_seq":{}}},)",
                       e.revises_seq, e.revises_packet_number, e.revises_seq);
  } else {
    out += fmt::format(
        R"("tcp":{{"seq":{},"ack":{},"flags":"{}","window":{},"ttl":{},"ip_id":{},"payload_len":{}}},)",
        e.seq, e.ack, format_tcp_flags(e.tcp_flags), e.window, e.ttl, e.ip_id, e.payload_len);
  }
  if (e.trigger_name[0] != '\0') {
    out += fmt::format(R"("trigger":{{"name":"{}","field":"{}","offset":{}}},)",
                       std::string_view(e.trigger_name, strnlen(e.trigger_name, sizeof(e.trigger_name))),
                       trigger_field_name(static_cast<TriggerField>(e.trigger_field)),
                       e.trigger_offset);
  }
  append_verdict(e, out);
  out += fmt::format(R"(,"action":"{}")", name_of(e.action));
  if (e.limits != 0) {
    out += R"(,"limits":[)";
    bool first = true;
    for (size_t i = 0; i < std::size(kLimitNames); ++i) {
      if ((e.limits & (1u << i)) == 0) continue;
      out += fmt::format(R"({}"{}")", first ? "" : ",", kLimitNames[i]);
      first = false;
    }
    out += "]";
  }
  if (e.rule[0] != '\0') {
    out += fmt::format(R"(,"policy":{{"rule":"{}","generation":{}}})",
                       std::string_view(e.rule, strnlen(e.rule, sizeof(e.rule))),
                       e.policy_generation);
  }
  out += "}";
}

std::string format_event_text(const RstEvent& e) {
  if (e.type == EventType::kIncident) {
    const IncidentInfo& in = e.incident;
    const std::string ev = e.evidence.empty() ? "" : " evidence=" + evidence_list(e.evidence, false);
    const std::string target = in.pair ? fmt::format("{} <> {}", format_ip(e.src), format_ip(e.dst))
                                       : fmt::format("toward {}", format_ip(e.dst));
    return fmt::format(
        "{} INCIDENT {} {:<7} {}: {} resets ({} forged, {} suspicious, {} dropped) in {:.3f} s, "
        "seq {}..{}, ttl {}..{}, {} events sampled out{}",
        format_timestamp(e.timestamp_ns), in.id, kIncidentStateNames[static_cast<int>(in.state)],
        target, in.resets, in.forged, in.suspicious, in.dropped, incident_seconds(in), in.seq_min,
        in.seq_max, in.ttl_min, in.ttl_max, in.sampled, ev);
  }
  std::string evidence = e.evidence.empty() ? "" : " evidence=" + evidence_list(e.evidence, false);
  if (e.answers != Answer::none) evidence += fmt::format(" answers={}", name_of(e.answers));
  if (e.imitated != Cause::unknown) evidence += fmt::format(" imitates={}", name_of(e.imitated));
  if (e.incident.id != 0) evidence += fmt::format(" incident={}", e.incident.id);
  const bool update = e.type == EventType::kRstUpdate;
  const auto endpoint = [](const IpAddr& a, uint16_t port) {
    return a.is_v4() ? fmt::format("{}:{}", format_ip(a), port)
                     : fmt::format("[{}]:{}", format_ip(a), port);
  };
  const std::string what = update ? fmt::format("update of #{}", e.revises_packet_number)
                                  : fmt::format("RST [{}]", format_tcp_flags(e.tcp_flags));
  return fmt::format("{} #{:<7} {:<14} {:>21} > {:<21} seq {:<10}  {:<10} {:<13} {:<20} {:<5}{}",
                     format_timestamp(e.timestamp_ns), e.packet_number, what,
                     endpoint(e.src, e.src_port), endpoint(e.dst, e.dst_port),
                     update ? e.revises_seq : e.seq, name_of(e.label), name_of(e.validity),
                     name_of(e.cause), name_of(e.action), evidence);
}

}  // namespace rstguard::output

#include "output/metrics.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string_view>

namespace rstguard::output {
namespace {

// "flow.created" -> "rstguard_flow_created_total"; "pkt.total" ->
// "rstguard_pkt_total" (already a total).
std::string counter_name(std::string_view dotted) {
  std::string n = "rstguard_";
  for (char ch : dotted) n += ch == '.' ? '_' : ch;
  if (n.size() < 6 || n.compare(n.size() - 6, 6, "_total") != 0) n += "_total";
  return n;
}

void family(std::string& out, const std::string& name, const char* type, std::string_view help) {
  out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

template <typename E, size_t N>
void labelled(std::string& out, const char* name, const char* label, std::string_view help,
              const std::array<uint64_t, N>& v) {
  family(out, name, "counter", help);
  for (size_t i = 0; i < N; ++i) {
    out += fmt::format("{}{{{}=\"{}\"}} {}\n", name, label, name_of(static_cast<E>(i)), v[i]);
  }
}

}  // namespace

std::string format_metrics(const Counters& c, const RunInfo& info) {
  std::string out;
  family(out, "rstguard_uptime_seconds", "gauge", "Seconds since the run started.");
  out += fmt::format("rstguard_uptime_seconds {:.3f}\n", info.seconds);
  family(out, "rstguard_flows_active", "gauge", "Connections in the flow tables.");
  out += fmt::format("rstguard_flows_active {}\n", info.flows_active);
  family(out, "rstguard_flow_capacity", "gauge", "Flow table capacity, all workers.");
  out += fmt::format("rstguard_flow_capacity {}\n", info.flow_capacity);
  c.for_each_scalar([&](std::string_view dotted, uint64_t v) {
    const std::string name = counter_name(dotted);
    family(out, name, "counter", fmt::format("rstguard counter {}.", dotted));
    out += fmt::format("{} {}\n", name, v);
  });
  labelled<Label>(out, "rstguard_rst_label_total", "label", "Judged resets by label.",
                  c.rst_label);
  labelled<Validity>(out, "rstguard_rst_validity_total", "validity",
                     "Judged resets by sequence validity.", c.rst_validity);
  labelled<Cause>(out, "rstguard_rst_cause_total", "cause", "Judged resets by cause.",
                  c.rst_cause);
  labelled<Evidence>(out, "rstguard_rst_evidence_total", "evidence",
                     "Judged resets carrying each piece of evidence.", c.rst_evidence);
  family(out, "rstguard_parse_total", "counter", "Frames by parse result.");
  for (int i = 0; i < kParseResultCount; ++i) {
    out += fmt::format("rstguard_parse_total{{result=\"{}\"}} {}\n",
                       parse_result_name(static_cast<ParseResult>(i)), c.parse[i]);
  }
  if (!info.workers.empty()) {
    const struct {
      const char* name;
      const char* help;
      uint64_t WorkerInfo::*field;
    } kWorker[] = {
        {"rstguard_worker_packets_total", "Packets received by each worker.", &WorkerInfo::packets},
        {"rstguard_worker_tx_total", "Packets each worker sent.", &WorkerInfo::tx},
        {"rstguard_worker_tx_refused_total", "Packets the device refused to send.",
         &WorkerInfo::tx_dropped},
        {"rstguard_worker_handoff_in_total", "Packets re-hashed to each worker.",
         &WorkerInfo::handoff_in},
        {"rstguard_worker_handoff_out_total", "Packets each worker re-hashed away.",
         &WorkerInfo::handoff_out},
    };
    for (const auto& m : kWorker) {
      family(out, m.name, "counter", m.help);
      for (size_t i = 0; i < info.workers.size(); ++i) {
        out += fmt::format("{}{{worker=\"{}\",lcore=\"{}\"}} {}\n", m.name, i,
                           info.workers[i].lcore, info.workers[i].*m.field);
      }
    }
  }
  return out;
}

bool write_file_atomically(const std::string& path, const std::string& text, std::string* error) {
  const std::string tmp = path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "w");
  if (f == nullptr) {
    *error = tmp + ": " + std::strerror(errno);
    return false;
  }
  const bool wrote = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  const int saved = errno;
  if (std::fclose(f) != 0 || !wrote) {
    *error = tmp + ": " + std::strerror(wrote ? errno : saved);
    std::remove(tmp.c_str());
    return false;
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    *error = path + ": " + std::strerror(errno);
    std::remove(tmp.c_str());
    return false;
  }
  return true;
}

}  // namespace rstguard::output

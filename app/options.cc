#include "app/options.h"

#include <algorithm>

#include <getopt.h>

#include <charconv>
#include <string_view>

namespace rstguard::app {

const char* usage_text() {
  return R"(usage: rstguard -r CAPTURE [options]
       rstguard [EAL options] -- --mode inline|mirror [options]   (live ports)

Judges every TCP reset: legit, suspicious or forged; exact, in-window,
out-of-window or no flow; the evidence and the cause.

  -r, --read FILE         analyse a pcap or pcapng capture (offline mode);
                          "-" or a pipe is read as it comes (tcpdump -w - -U)
  -w, --write FILE        write what an inline rstguard would forward (pcap)
  -e, --events FILE       JSON-lines events (default from the config:
                          rstguard-events.json; "-" = stdout)
  -c, --config FILE       YAML configuration (default: built-in defaults;
                          config/rstguard.yaml documents every key)
      --stats-json FILE   write the end-of-run summary as JSON
      --flagged FILE      write every suspicious or forged reset to a pcap
      --metrics FILE      write the counters in the Prometheus text format
                          (live: every output.metrics_interval, and at exit)
      --verbosity all|suspicious
                          events for every reset, or only suspicious/forged
      --flow-capacity N   concurrent flows per worker
      --log-level LEVEL   trace|debug|info|warn|error|critical|off
      --mode MODE         offline (with -r), inline or mirror (live ports)
      --workers N         live: workers, one rx queue and lcore each
                          (default: one per lcore EAL has besides the main)
      --ports LIST        live: port ids, e.g. 0,1 (inline: exactly two;
                          default inline 0,1, mirror every port)
      --alert-only        inline: forward every reset, only report
      --software-rehash   live: keep connections on one worker by re-hashing
                          in software, whatever the devices offer
      --idle-sleep DUR    live: sleep DUR when a poll finds nothing (e.g. 100us)
  -q, --quiet             do not print judged resets on the terminal
  -h, --help              this text
      --version           print the version

Exit status: 0 done; 1 the input failed (unreadable, truncated or corrupt
capture: events judged before the failure are written); 2 usage or
configuration error.
)";
}

std::optional<Options> parse_options(int argc, char** argv, std::string* error) {
  enum : int {
    kStatsJson = 1000, kVerbosity, kFlowCapacity, kLogLevel, kMode, kVersion, kWorkers, kPorts,
    kAlertOnly, kIdleSleep, kFlagged, kSoftwareRehash, kMetrics,
  };
  static const option kLong[] = {
      {"read", required_argument, nullptr, 'r'},
      {"write", required_argument, nullptr, 'w'},
      {"events", required_argument, nullptr, 'e'},
      {"config", required_argument, nullptr, 'c'},
      {"stats-json", required_argument, nullptr, kStatsJson},
      {"verbosity", required_argument, nullptr, kVerbosity},
      {"flow-capacity", required_argument, nullptr, kFlowCapacity},
      {"log-level", required_argument, nullptr, kLogLevel},
      {"mode", required_argument, nullptr, kMode},
      {"quiet", no_argument, nullptr, 'q'},
      {"help", no_argument, nullptr, 'h'},
      {"version", no_argument, nullptr, kVersion},
      {"workers", required_argument, nullptr, kWorkers},
      {"ports", required_argument, nullptr, kPorts},
      {"alert-only", no_argument, nullptr, kAlertOnly},
      {"software-rehash", no_argument, nullptr, kSoftwareRehash},
      {"idle-sleep", required_argument, nullptr, kIdleSleep},
      {"flagged", required_argument, nullptr, kFlagged},
      {"metrics", required_argument, nullptr, kMetrics},
      {nullptr, 0, nullptr, 0},
  };
  Options o;
  optind = 1;
  opterr = 0;
  int c;
  while ((c = getopt_long(argc, argv, ":r:w:e:c:qh", kLong, nullptr)) != -1) {
    switch (c) {
      case 'r': o.read_path = optarg; break;
      case 'w': o.write_path = optarg; break;
      case 'e': o.events_path = optarg; break;
      case 'c': o.config_path = optarg; break;
      case 'q': o.quiet = true; break;
      case 'h': o.help = true; break;
      case kVersion: o.version = true; break;
      case kStatsJson: o.stats_json_path = optarg; break;
      case kVerbosity: o.verbosity = optarg; break;
      case kLogLevel: o.log_level = optarg; break;
      case kMode: o.mode = optarg; break;
      case kFlowCapacity:
      case kWorkers: {
        const std::string s = optarg;
        uint64_t v = 0;
        auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
        if (ec != std::errc() || p != s.data() + s.size()) {
          *error = std::string(c == kWorkers ? "--workers" : "--flow-capacity") +
                   ": not a whole number: '" + s + "'";
          return std::nullopt;
        }
        (c == kWorkers ? o.workers : o.flow_capacity) = v;
        break;
      }
      case kPorts: o.ports = optarg; break;
      case kAlertOnly: o.alert_only = true; break;
      case kSoftwareRehash: o.software_rehash = true; break;
      case kIdleSleep: o.idle_sleep = optarg; break;
      case kFlagged: o.flagged_path = optarg; break;
      case kMetrics: o.metrics_path = optarg; break;
      case ':':
        *error = std::string("option ") + argv[optind - 1] + " needs a value";
        return std::nullopt;
      default:
        *error = std::string("unknown option ") + argv[optind - 1];
        return std::nullopt;
    }
  }
  if (optind < argc) {
    *error = std::string("unexpected argument '") + argv[optind] + "'";
    return std::nullopt;
  }
  if (o.help || o.version) return o;
  if (!o.mode.empty() && o.mode != "offline" && o.mode != "inline" && o.mode != "mirror") {
    *error = "--mode must be offline, inline or mirror, not '" + o.mode + "'";
    return std::nullopt;
  }
  if (o.mode == "offline" && o.read_path.empty()) {
    *error = "offline mode needs a capture: -r FILE";
    return std::nullopt;
  }
  if (!o.read_path.empty() && !o.mode.empty() && o.mode != "offline") {
    *error = "-r reads a capture (offline mode); it cannot be combined with --mode " + o.mode;
    return std::nullopt;
  }
  if (!o.read_path.empty()) o.mode = "offline";
  if (o.mode == "offline") {
    // Live-only settings would be ignored: say so rather than run without them.
    const char* live_only = o.workers         ? "--workers"
                            : o.ports         ? "--ports"
                            : o.idle_sleep    ? "--idle-sleep"
                            : o.software_rehash ? "--software-rehash"
                            : o.alert_only    ? "--alert-only"
                                              : nullptr;
    if (live_only != nullptr) {
      *error = std::string(live_only) + " is for the live modes (--mode inline|mirror); "
               "a capture (-r) is read by one worker and judged as inline would";
      return std::nullopt;
    }
  }
  if (o.mode.empty() && o.config_path.empty()) {
    *error = "nothing to read: give -r CAPTURE, or --mode inline|mirror (or a config with 'live:')";
    return std::nullopt;
  }
  return o;
}

void apply_overrides(const Options& o, config::Config& c) {
  const std::string where = "command line";
  if (o.events_path) c.output.events = *o.events_path;
  if (o.stats_json_path) c.output.stats_json = *o.stats_json_path;
  if (o.flagged_path) c.output.flagged = *o.flagged_path;
  if (o.metrics_path) c.output.metrics = *o.metrics_path;
  if (o.log_level) {
    static const char* kLevels[] = {"trace", "debug", "info", "warn", "error", "critical", "off"};
    bool ok = false;
    for (const char* l : kLevels) ok = ok || *o.log_level == l;
    if (!ok) throw config::ConfigError(where, 0, 0, "--log-level: unknown level '" + *o.log_level + "'");
    c.output.log_level = *o.log_level;
  }
  if (o.verbosity) {
    if (*o.verbosity == "all") {
      c.output.verbosity = EventVerbosity::kAll;
    } else if (*o.verbosity == "suspicious") {
      c.output.verbosity = EventVerbosity::kSuspiciousAndForged;
    } else {
      throw config::ConfigError(where, 0, 0,
                                "--verbosity must be all or suspicious, not '" + *o.verbosity + "'");
    }
    // The command line speaks for every rule.
    std::vector<Rule> rules = c.policy->rules();
    for (Rule& r : rules) r.actions.verbosity = c.output.verbosity;
    Rule fallback = rules.back();
    rules.pop_back();
    c.policy = std::make_shared<const PolicySet>(std::move(rules), std::move(fallback),
                                                 c.policy->trigger_names(),
                                                 c.policy->generation());
  }
  if (o.flow_capacity) {
    if (*o.flow_capacity < 1 || *o.flow_capacity > (1ull << 28)) {
      throw config::ConfigError(where, 0, 0, "--flow-capacity must be 1 .. 268435456");
    }
    c.flow.capacity = static_cast<uint32_t>(*o.flow_capacity);
  }
  if (o.mode == "inline" || o.mode == "mirror") c.live.mode = o.mode;
  if (o.workers) {
    if (*o.workers < 1 || *o.workers > 128) {
      throw config::ConfigError(where, 0, 0, "--workers must be 1 .. 128");
    }
    c.live.workers = static_cast<uint32_t>(*o.workers);
  }
  if (o.ports) {
    c.live.ports.clear();
    std::string_view rest = *o.ports;
    while (!rest.empty()) {
      const size_t comma = rest.find(',');
      const std::string_view item = rest.substr(0, comma);
      unsigned v = 0;
      auto [p, ec] = std::from_chars(item.data(), item.data() + item.size(), v);
      if (item.empty() || ec != std::errc() || p != item.data() + item.size() || v > 1023) {
        throw config::ConfigError(where, 0, 0, "--ports: not a list of port ids: '" + *o.ports + "'");
      }
      if (std::find(c.live.ports.begin(), c.live.ports.end(), v) != c.live.ports.end()) {
        throw config::ConfigError(where, 0, 0, "--ports: port " + std::to_string(v) +
                                                   " is listed twice: '" + *o.ports + "'");
      }
      c.live.ports.push_back(static_cast<uint16_t>(v));
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    }
  }
  if (o.alert_only) c.live.alert_only = true;
  // A mirror port forwards nothing: "forward everything, only alert" would
  // be a silent no-op there.
  if (o.mode != "offline" && c.live.mode == "mirror" && c.live.alert_only) {
    throw config::ConfigError(where, 0, 0,
                              std::string(o.alert_only ? "--alert-only" : "live.alert_only") +
                                  " is for inline mode; mirror mode forwards nothing");
  }
  if (o.software_rehash) c.live.rehash = "software";
  if (o.idle_sleep) {
    const int64_t ns = config::parse_duration_ns(*o.idle_sleep);
    if (ns < 0) throw config::ConfigError(where, 0, 0, "--idle-sleep: not a duration: '" + *o.idle_sleep + "'");
    c.live.idle_sleep_ns = static_cast<uint64_t>(ns);
  }
}

}  // namespace rstguard::app

// What the two benchmarks (rstguard-bench, rstguard-bench-live) share:
// a deterministic RNG, perf's control FIFOs, option parsing and counter
// sums. Tool code, not part of rstguard.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "core/counters.h"
#include "core/flow.h"
#include "core/headers.h"
#include "builder/packet_builder.h"

namespace rstguard::bench_common {

// splitmix64: reproducible traffic from a seed.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  uint32_t below(uint32_t n) {  // uniform in [0, n)
    return static_cast<uint32_t>(((next() >> 32) * n) >> 32);
  }
  uint32_t between(uint32_t lo, uint32_t hi) { return lo + below(hi - lo + 1); }
  double unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  bool chance(double p) { return unit() < p; }
  // Geometric on {1, 2, ...} with the given mean.
  uint32_t geometric(double mean) {
    const double u = 1.0 - unit();
    return 1 + static_cast<uint32_t>(std::log(u) / std::log(1.0 - 1.0 / mean));
  }

 private:
  uint64_t state_;
};

// perf's control FIFOs (perf record --control=fifo:CTL[,ACK]): "enable"
// before each measured window, "disable" after; with ACK, each waits
// for perf's acknowledgement. Inert when no path was given.
class PerfControl {
 public:
  PerfControl(const std::string& paths, std::string program) : program_(std::move(program)) {
    if (paths.empty()) return;
    const size_t comma = paths.find(',');
    const std::string ctl = paths.substr(0, comma);
    ctl_fd_ = ::open(ctl.c_str(), O_WRONLY);
    if (ctl_fd_ < 0) std::perror((program_ + ": " + ctl).c_str());
    if (comma != std::string::npos) {
      const std::string ack = paths.substr(comma + 1);
      ack_fd_ = ::open(ack.c_str(), O_RDONLY);
      if (ack_fd_ < 0) std::perror((program_ + ": " + ack).c_str());
    }
  }
  ~PerfControl() {
    if (ctl_fd_ >= 0) ::close(ctl_fd_);
    if (ack_fd_ >= 0) ::close(ack_fd_);
  }
  PerfControl(const PerfControl&) = delete;
  PerfControl& operator=(const PerfControl&) = delete;
  void enable() const { say("enable\n"); }
  void disable() const { say("disable\n"); }

 private:
  void say(std::string_view s) const {
    if (ctl_fd_ < 0) return;
    if (::write(ctl_fd_, s.data(), s.size()) < 0) {
      std::perror((program_ + ": perf-ctl").c_str());
      return;
    }
    char c = 0;
    while (ack_fd_ >= 0 && ::read(ack_fd_, &c, 1) == 1 && c != '\n') {
    }
  }
  std::string program_;
  int ctl_fd_ = -1;
  int ack_fd_ = -1;
};

// "1000", "10k", "1.5M", "2^20".
inline bool parse_count(std::string_view s, uint64_t& out) {
  if (s.substr(0, 2) == "2^") {
    const int e = std::atoi(std::string(s.substr(2)).c_str());
    if (e <= 0 || e > 40) return false;
    out = uint64_t{1} << e;
    return true;
  }
  char* end = nullptr;
  const std::string z(s);
  const double v = std::strtod(z.c_str(), &end);
  uint64_t mult = 1;
  if (*end == 'k' || *end == 'K') {
    mult = 1000;
    ++end;
  } else if (*end == 'm' || *end == 'M') {
    mult = 1'000'000;
    ++end;
  }
  if (end == z.c_str() || *end != '\0' || v <= 0) return false;
  out = static_cast<uint64_t>(v * static_cast<double>(mult));
  return out > 0;
}

// A comma-separated list of counts (k and M suffixes), each at most `max`,
// at least one. False on anything else.
inline bool parse_count_list(std::string_view list, uint64_t max, std::vector<uint64_t>& out) {
  out.clear();
  while (!list.empty()) {
    const size_t comma = list.find(',');
    uint64_t n = 0;
    if (!parse_count(list.substr(0, comma), n) || n > max) return false;
    out.push_back(n);
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
  }
  return !out.empty();
}

inline double pct(uint64_t a, uint64_t b) { return b ? 100.0 * static_cast<double>(a) / b : 0; }

inline uint64_t parse_errors(const Counters& c) {
  uint64_t n = 0;
  for (int i = 0; i < kParseResultCount; ++i) {
    if (parse_result_is_error(static_cast<ParseResult>(i))) n += c.parse[i];
  }
  return n;
}

inline uint64_t evicted(const Counters& c) {
  return c.flow_evicted_embryonic + c.flow_evicted_closed + c.flow_evicted_one_way;
}

// What FlowTable allocates for a capacity (flow_table.cc: capacity * 3/2 + 1
// slots of FlowEntry and as many 2-byte tags, each array rounded up to
// 2 MiB once that big, else to a cache line).
inline double table_bytes_for(double capacity) {
  const double slots = std::floor(capacity + std::floor(capacity / 2) + 1);
  const auto rounded = [](double raw) {
    const double align = raw >= (2u << 20) ? (2u << 20) : 64;
    return std::ceil(raw / align) * align;
  };
  return rounded(slots * sizeof(FlowEntry)) + rounded(slots * 2);
}

// A prototype frame from packet_builder, 10.0.0.1:40000 > 172.16.0.1:443,
// whose variable fields each benchmark patches per segment: the offsets
// come from parsing the prototype's options. syn_options: MSS, SACK
// permitted and window scale 7, as a SYN carries them.
struct HeaderTemplate {
  std::vector<uint8_t> bytes;   // Ethernet + IPv4 + TCP header with options
  uint32_t tcp_header_len = 0;  // 20 + options
  uint32_t ts_offset = 0;       // frame offset of TSval (0: no timestamps)
};

inline HeaderTemplate make_header_template(uint8_t flags, bool syn_options, bool timestamps) {
  SegmentSpec spec;
  spec.src = ip("10.0.0.1");
  spec.dst = ip("172.16.0.1");
  spec.src_port = 40000;
  spec.dst_port = 443;
  spec.flags = flags;
  spec.opt.has_timestamp = timestamps;
  spec.opt.tsval = 1;
  if (syn_options) {
    spec.opt.has_mss = true;
    spec.opt.mss = 1460;
    spec.opt.sack_permitted = true;
    spec.opt.has_wscale = true;
    spec.opt.wscale = 7;
  }
  HeaderTemplate t;
  build_frame_into(spec, t.bytes);
  const size_t tcp = sizeof(wire::EthHdr) + sizeof(wire::Ipv4Hdr);
  t.tcp_header_len = (t.bytes[tcp + 12] >> 4) * 4u;
  for (size_t i = tcp + sizeof(wire::TcpHdr); i < tcp + t.tcp_header_len;) {
    const uint8_t kind = t.bytes[i];
    if (kind == wire::tcpopt::kEol) break;
    if (kind == wire::tcpopt::kNop) {
      ++i;
      continue;
    }
    if (kind == wire::tcpopt::kTimestamp) t.ts_offset = static_cast<uint32_t>(i + 2);
    i += t.bytes[i + 1];
  }
  return t;
}

}  // namespace rstguard::bench_common

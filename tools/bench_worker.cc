// rstguard-bench: throughput of one Worker (parse -> flow lookup -> TCP
// tracking -> reset judge) on a realistic TCP mix, in steady state with N
// concurrent connections. A benchmark: it prints figures, it checks nothing.
//
//   rstguard-bench [--flows N[,N...]] [--seconds S] [--burst B] [--ring FRAMES]
//                  [--closed-timeout-ms MS] [--seed X] [--quick] [--json]
//                  [--perf-ctl CTL_FIFO[,ACK_FIFO]]
//
// To profile only the measured worker loops (not warm-up, frame generation
// or the reference loop):
//   mkfifo /tmp/ctl /tmp/ack
//   perf record -e cpu-clock -D -1 --control=fifo:/tmp/ctl,/tmp/ack --
//       rstguard-bench --perf-ctl /tmp/ctl,/tmp/ack
// (the ack FIFO makes each switch synchronous; without it, short laps leak
// samples of the frame generator into the profile).
//
// Method (what is measured, what is not):
// - Traffic. Every one of N slots always holds one client/server connection,
//   played the way Linux plays it (SYN with MSS/SACK/TS/WS, window scale 7,
//   timestamps on every segment, incrementing IP IDs): handshake; request /
//   response exchanges (geometric, mean kMeanExchanges) where responses are
//   sent as MSS segments and the client ACKs every second one; then a FIN
//   close (60%) or an abortive RST from either end (40%). A connection that
//   ends is replaced at once by a new one on a new client port. 3% of
//   connections also receive one forged reset, half out of window, half with
//   the exact sequence number but another TTL and no timestamps (an
//   injector's marks; the real sender keeps talking, so the race check sees
//   it). Frame sizes follow from that: mostly 66-byte ACKs and small
//   requests, full 1514-byte segments for bulk responses.
// - Frames. A ring of FRAMES frames (default 2^20) in one arena, each frame
//   64-byte aligned as in an mbuf. Before each lap the traffic model writes
//   the next FRAMES frames into it (each packet from a uniformly random slot,
//   headers from packet_builder templates patched in place, payload zeroed,
//   IPv4 and TCP checksums correct). That is the only thing pre-computed;
//   it is not timed. The worker then does all its real work on them.
// - Clock. Frame timestamps advance kPacketTickNs per packet (a 10 Mpps
//   link), so table state does not depend on how fast the host is. Live
//   timeouts (embryonic, established, closing) are 24 h: nothing live
//   expires. TIME-WAIT and closed entries linger --closed-timeout-ms of
//   packet time (default 50 ms) and are then collected by the worker's own
//   GC, so the table holds N live connections plus a bounded number of
//   closed ones; capacity is N plus that estimate plus N/16.
// - Steady state. Warm-up (not timed) runs every slot's handshake and first
//   exchanges through the worker, slot by slot, until each end has sent 4
//   segments (past the tracker's per-side checksum samples), then puts each
//   connection at a length-biased point of an exchange, as a steady-state
//   observer would find it. Then laps are generated and run until the worker
//   has spent --seconds of TSC time inside its loop. At 1M flows each flow
//   sees only a few packets in that time, so the mix is close to, not
//   exactly, the stationary one (it prints what it sent).
// - Reference. Each lap is also walked by a loop that does everything but the
//   worker: the same bursts, one load from each frame's first cache line (as
//   an rx path touches it), the same dispositions array and drop count. The
//   worker/reference ratio is per packet.
// - Units. Cycles are TSC ticks (constant rate), calibrated against
//   steady_clock over the whole run; ns per packet = ticks / TSC rate.
//
// Single thread; pinned to CPU 1 when the process may run there.
#include <fcntl.h>
#include <sched.h>
#include <unistd.h>
#include <x86intrin.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "bench_common.h"
#include "core/counters.h"
#include "core/flow.h"
#include "core/flow_table.h"
#include "core/headers.h"
#include "builder/packet_builder.h"
#include "core/parser.h"
#include "core/worker.h"

namespace rstguard::bench {

using bench_common::evicted;
using bench_common::parse_count;
using bench_common::parse_count_list;
using bench_common::parse_errors;
using bench_common::pct;
using bench_common::table_bytes_for;
using bench_common::PerfControl;
using bench_common::Rng;
namespace {

using wire::tcpflag::kAck;
using wire::tcpflag::kFin;
using wire::tcpflag::kPsh;
using wire::tcpflag::kRst;
using wire::tcpflag::kSyn;

constexpr uint64_t kPacketTickNs = 100;  // packet clock: one frame per 100 ns
constexpr uint64_t kStartNs = 1'700'000'000ull * kNsPerSec;
constexpr uint64_t kLiveTimeoutNs = 24ull * 3600 * kNsPerSec;
constexpr uint32_t kMss = 1448;            // 1500 - 20 - 20 - 12 (timestamps)
constexpr double kMeanExchanges = 24.0;    // request/response pairs per connection
constexpr double kFinCloseShare = 0.6;     // else an abortive RST
constexpr double kForgedShare = 0.03;      // connections that get one forged reset
constexpr uint32_t kServerCount = 4096;    // distinct server addresses
constexpr size_t kMaxFrameBytes = 1536;    // arena room one frame may need
// Arena bytes per ring frame: the mix averages ~800 B once 64-byte aligned,
// so a lap is nearly always FRAMES frames (it stops early when full).
constexpr size_t kArenaBytesPerFrame = 896;
constexpr size_t kEthHdr = sizeof(wire::EthHdr);
constexpr size_t kIpHdr = sizeof(wire::Ipv4Hdr);
constexpr size_t kMinFrame = 60;  // Ethernet minimum without FCS
constexpr uint8_t kAgedSegments = 4;  // = the tracker's checksum samples per side
// Frames of the longest exchange: request, 45 segments of 64 KB, 23 ACKs.
constexpr uint32_t kMaxExchangeFrames = 1 + 45 + 23;

// ---------------------------------------------------------------- clock ---

uint64_t tsc() { return __rdtsc(); }

// TSC rate from the whole run so far (more accurate as the run goes on).
class TscRate {
 public:
  // Spins `warm_ms` so that the first reading is already usable.
  explicit TscRate(int warm_ms) : tsc0_(tsc()), t0_(std::chrono::steady_clock::now()) {
    while (std::chrono::steady_clock::now() - t0_ < std::chrono::milliseconds(warm_ms)) {
    }
  }
  double ticks_per_ns() const {
    const uint64_t ticks = tsc() - tsc0_;
    const double ns = std::chrono::duration<double, std::nano>(
                          std::chrono::steady_clock::now() - t0_)
                          .count();
    return ns > 0 ? static_cast<double>(ticks) / ns : 1.0;
  }

 private:
  uint64_t tsc0_;
  std::chrono::steady_clock::time_point t0_;
};

// ------------------------------------------------------------------ rng ---

// splitmix64: deterministic, fast, good enough to pick flows and sizes.

uint64_t mix64(uint64_t x) {
  x ^= x >> 33;
  x *= 0xFF51AFD7ED558CCDull;
  x ^= x >> 33;
  return x;
}

// ------------------------------------------------------------ templates ---

enum Template : uint8_t { kTplSyn, kTplSynAck, kTplTimestamps, kTplBare, kTplCount };

// A prototype frame per template; per segment only its variable fields
// are patched.
using FrameTemplate = bench_common::HeaderTemplate;
constexpr auto make_template = bench_common::make_header_template;

// ---------------------------------------------------------- traffic model ---

enum class Step : uint8_t {
  kSyn,
  kSynAck,
  kHandshakeAck,
  kRequest,
  kResponse,
  kResponseAck,
  kFinClient,
  kFinServer,
  kLastAck,
  kReset,
};

constexpr int kClient = 0;
constexpr int kServer = 1;

// The truth about one slot's current connection, as its two ends know it.
struct alignas(64) Conn {
  uint32_t addr[2];      // host order, [kClient], [kServer]
  uint16_t port[2];
  uint32_t snd_nxt[2];
  uint32_t ts_offset[2];
  uint32_t ts_last[2];   // newest TSval each end sent (the peer's TSecr)
  uint32_t response_left = 0;  // bytes of the current response not yet sent
  uint16_t ip_id[2];
  uint16_t exchanges_left = 0;
  uint16_t generation = 0;
  uint8_t ttl[2];
  uint8_t sent[2];        // segments each end sent (saturating)
  Step step = Step::kSyn;
  uint8_t unacked = 0;    // response segments since the client's last ACK
  bool close_with_fin = true;
  bool forge_done = false;  // a forged reset preceded the pending request
  uint8_t reset_side = 0;
};
static_assert(sizeof(Conn) == 64);

// One segment, before it is written. Carries its own addresses: the slot may
// have moved on to its next connection by the time the frame is written.
struct Segment {
  Template tpl = kTplTimestamps;
  uint32_t src = 0, dst = 0;  // host order
  uint16_t src_port = 0, dst_port = 0;
  uint8_t flags = kAck;
  uint8_t ttl = 64;
  uint16_t ip_id = 0;
  uint16_t window = 502;
  uint16_t payload_len = 0;
  uint32_t seq = 0, ack = 0, tsval = 0, tsecr = 0;
};

// What the model sent, by kind (for the mix description and sanity checks).
struct MixStats {
  uint64_t frames = 0;
  uint64_t bytes = 0;
  uint64_t small = 0;   // <= 128 bytes
  uint64_t medium = 0;  // 129..1023
  uint64_t large = 0;   // >= 1024
  uint64_t syns = 0;
  uint64_t fins = 0;
  uint64_t resets_legit = 0;
  uint64_t resets_forged = 0;
  uint64_t connections_closed = 0;

  MixStats minus(const MixStats& o) const {
    MixStats d;
    d.frames = frames - o.frames;
    d.bytes = bytes - o.bytes;
    d.small = small - o.small;
    d.medium = medium - o.medium;
    d.large = large - o.large;
    d.syns = syns - o.syns;
    d.fins = fins - o.fins;
    d.resets_legit = resets_legit - o.resets_legit;
    d.resets_forged = resets_forged - o.resets_forged;
    d.connections_closed = connections_closed - o.connections_closed;
    return d;
  }
};

// N slots, each always holding one connection; next_segment() advances one
// slot by one segment. Not thread-safe.
class TrafficModel {
 public:
  TrafficModel(uint32_t slots, uint64_t seed) : rng_(seed), conns_(slots) {
    for (uint32_t s = 0; s < slots; ++s) start(conns_[s], s);
  }

  uint32_t slots() const { return static_cast<uint32_t>(conns_.size()); }
  const MixStats& stats() const { return stats_; }

  Segment next_segment(uint32_t slot, uint32_t now_ms) {
    Conn& c = conns_[slot];
    Segment g;
    switch (c.step) {
      case Step::kSyn:
        g = segment(c, kClient, kSyn, 0, now_ms);
        g.tpl = kTplSyn;
        g.window = 64240;
        g.tsecr = 0;
        c.step = Step::kSynAck;
        break;
      case Step::kSynAck:
        g = segment(c, kServer, kSyn | kAck, 0, now_ms);
        g.tpl = kTplSynAck;
        g.window = 65160;
        c.step = Step::kHandshakeAck;
        break;
      case Step::kHandshakeAck:
        g = segment(c, kClient, kAck, 0, now_ms);
        c.step = Step::kRequest;
        break;
      case Step::kRequest:
        // Forged resets arrive between exchanges, memoryless, so that a
        // share kForgedShare of connections sees one on average.
        if (!c.forge_done && rng_.chance(kForgedShare / kMeanExchanges)) {
          c.forge_done = true;  // the request follows on the next call
          g = forge(c);
          break;
        }
        c.forge_done = false;
        g = segment(c, kClient, kPsh | kAck, rng_.between(60, 700), now_ms);
        c.response_left = response_bytes();
        c.unacked = 0;
        c.step = Step::kResponse;
        break;
      case Step::kResponse: {
        const uint32_t len = std::min(c.response_left, kMss);
        c.response_left -= len;
        g = segment(c, kServer, c.response_left == 0 ? (kPsh | kAck) : kAck, len, now_ms);
        ++c.unacked;
        if (c.response_left == 0 || c.unacked == 2) c.step = Step::kResponseAck;
        break;
      }
      case Step::kResponseAck:
        g = segment(c, kClient, kAck, 0, now_ms);
        c.unacked = 0;
        if (c.response_left > 0) {
          c.step = Step::kResponse;
        } else if (--c.exchanges_left > 0) {
          c.step = Step::kRequest;
        } else {
          c.step = c.close_with_fin ? Step::kFinClient : Step::kReset;
        }
        break;
      case Step::kFinClient:
        g = segment(c, kClient, kFin | kAck, 0, now_ms);
        c.step = Step::kFinServer;
        break;
      case Step::kFinServer:
        g = segment(c, kServer, kFin | kAck, 0, now_ms);
        c.step = Step::kLastAck;
        break;
      case Step::kLastAck:
        g = segment(c, kClient, kAck, 0, now_ms);
        ++stats_.connections_closed;
        start(c, slot);
        break;
      case Step::kReset:
        // The end host's own abort (Linux tcp_send_active_reset): RST+ACK at
        // SND.NXT, timestamps, its TTL and IP ID counter.
        g = segment(c, c.reset_side, kRst | kAck, 0, now_ms);
        ++stats_.resets_legit;
        ++stats_.connections_closed;
        start(c, slot);
        break;
    }
    return g;
  }

  // Warm-up: a connection is "aged" once each end has sent kAgedSegments
  // (past the tracker's first-packet checks) and it sits between exchanges.
  bool aged(uint32_t slot) const {
    const Conn& c = conns_[slot];
    return c.sent[kClient] >= kAgedSegments && c.sent[kServer] >= kAgedSegments &&
           c.step == Step::kRequest;
  }

  // Moves an aged connection to where a steady-state observer would find
  // it: in an exchange picked in proportion to its segments (length-biased),
  // at a uniform point of it. Segments "before" that point are simply never
  // sent (a shorter response), so the ends' numbers stay gap-free.
  void place_in_exchange(uint32_t slot) {
    Conn& c = conns_[slot];
    for (;;) {
      const uint32_t bytes = response_bytes();
      const uint32_t segments = (bytes + kMss - 1) / kMss;
      const uint32_t frames = 1 + segments + (segments + 1) / 2;
      if (rng_.below(kMaxExchangeFrames) >= frames) continue;  // rejection
      const uint32_t point = rng_.below(frames);  // frame 0 is the request
      if (point == 0) return;
      const uint32_t skipped = (point - 1) * segments / (frames - 1);
      c.response_left = bytes - skipped * kMss;
      c.unacked = 0;
      c.step = Step::kResponse;
      return;
    }
  }

  // Writes `g` at `out` (kMaxFrameBytes of room); returns the frame length.
  uint32_t write(const Segment& g, uint8_t* out) {
    const FrameTemplate& t = templates_[g.tpl];
    const uint32_t header = static_cast<uint32_t>(t.bytes.size());
    std::memcpy(out, t.bytes.data(), header);
    const uint32_t l4_len = t.tcp_header_len + g.payload_len;
    auto* iph = reinterpret_cast<wire::Ipv4Hdr*>(out + kEthHdr);
    iph->total_length = Be16::from_host(static_cast<uint16_t>(kIpHdr + l4_len));
    iph->id = Be16::from_host(g.ip_id);
    iph->ttl = g.ttl;
    const Be32 src = Be32::from_host(g.src);
    const Be32 dst = Be32::from_host(g.dst);
    std::memcpy(iph->src, &src, 4);
    std::memcpy(iph->dst, &dst, 4);
    iph->checksum = Be16::from_host(0);
    iph->checksum = Be16::from_host(internet_checksum(iph, kIpHdr));
    auto* tcp = reinterpret_cast<wire::TcpHdr*>(out + kEthHdr + kIpHdr);
    tcp->src_port = Be16::from_host(g.src_port);
    tcp->dst_port = Be16::from_host(g.dst_port);
    tcp->seq = Be32::from_host(g.seq);
    tcp->ack = Be32::from_host(g.ack);
    tcp->flags = g.flags;
    tcp->window = Be16::from_host(g.window);
    tcp->checksum = Be16::from_host(0);
    if (t.ts_offset != 0) {
      const Be32 tsval = Be32::from_host(g.tsval), tsecr = Be32::from_host(g.tsecr);
      std::memcpy(out + t.ts_offset, &tsval, 4);
      std::memcpy(out + t.ts_offset + 4, &tsecr, 4);
    }
    uint32_t len = header + g.payload_len;
    const uint32_t padded = std::max<uint32_t>(len, kMinFrame);
    std::memset(out + header, 0, padded - header);  // zero payload (and padding)
    // The zero payload adds nothing to the sum: header and pseudo-header do.
    uint32_t pseudo = wire::kIpProtoTcp + l4_len;
    pseudo += (g.src >> 16) + (g.src & 0xFFFF) + (g.dst >> 16) + (g.dst & 0xFFFF);
    tcp->checksum = Be16::from_host(internet_checksum(tcp, t.tcp_header_len, pseudo));
    len = padded;

    ++stats_.frames;
    stats_.bytes += len;
    if (len <= 128) {
      ++stats_.small;
    } else if (len < 1024) {
      ++stats_.medium;
    } else {
      ++stats_.large;
    }
    if (g.flags & kSyn) ++stats_.syns;
    if (g.flags & kFin) ++stats_.fins;
    return len;
  }

 private:
  void start(Conn& c, uint32_t slot) {
    const uint64_t h = mix64(slot + 1);
    c.generation = static_cast<uint16_t>(c.generation + 1);
    c.addr[kClient] = 0x0A000000u + slot;  // 10.0.0.0/8 onwards, one per slot
    c.addr[kServer] = 0xAC100000u + static_cast<uint32_t>(h % kServerCount);  // 172.16/16
    c.port[kClient] = static_cast<uint16_t>(1024 + (h + c.generation * 7919ull) % 64000);
    c.port[kServer] = (h & 0x300) == 0 ? 80 : 443;
    c.ttl[kClient] = static_cast<uint8_t>(64 - 3 - (h >> 16) % 12);
    c.ttl[kServer] = static_cast<uint8_t>(((h >> 24) & 1 ? 128 : 64) - 5 - (h >> 32) % 15);
    for (int side = 0; side < 2; ++side) {
      c.snd_nxt[side] = static_cast<uint32_t>(rng_.next());
      c.ts_offset[side] = static_cast<uint32_t>(rng_.next());
      c.ts_last[side] = 0;
      c.ip_id[side] = static_cast<uint16_t>(rng_.next());
    }
    c.exchanges_left =
        static_cast<uint16_t>(std::min<uint32_t>(rng_.geometric(kMeanExchanges), 60000));
    c.sent[kClient] = c.sent[kServer] = 0;
    c.forge_done = false;
    c.close_with_fin = rng_.chance(kFinCloseShare);
    c.reset_side = static_cast<uint8_t>(rng_.below(2));
    c.response_left = 0;
    c.unacked = 0;
    c.step = Step::kSyn;
  }

  static void address(Segment& g, const Conn& c, int side) {
    g.src = c.addr[side];
    g.dst = c.addr[1 - side];
    g.src_port = c.port[side];
    g.dst_port = c.port[1 - side];
  }

  // A segment from `side` with the connection's current numbers; advances
  // that end's SND.NXT, IP ID and timestamp.
  Segment segment(Conn& c, int side, uint8_t flags, uint32_t payload_len, uint32_t now_ms) {
    Segment g;
    address(g, c, side);
    g.flags = flags;
    g.ttl = c.ttl[side];
    g.ip_id = c.ip_id[side]++;
    g.payload_len = static_cast<uint16_t>(payload_len);
    g.seq = c.snd_nxt[side];
    g.ack = (flags & kAck) ? c.snd_nxt[1 - side] : 0;
    g.tsval = c.ts_offset[side] + now_ms;
    g.tsecr = c.ts_last[1 - side];
    c.ts_last[side] = g.tsval;
    if (c.sent[side] < 255) ++c.sent[side];
    c.snd_nxt[side] += payload_len + ((flags & kSyn) ? 1 : 0) + ((flags & kFin) ? 1 : 0);
    return g;
  }

  // An injector's reset claiming to come from the server: out of window, or
  // at the exact sequence number with another TTL, no timestamps and a
  // foreign IP ID. The connection's ends are unaware of it.
  Segment forge(const Conn& c) {
    Segment g;
    g.tpl = kTplBare;
    address(g, c, kServer);
    g.window = 0;
    g.ip_id = static_cast<uint16_t>(rng_.next() | 1);
    if (rng_.chance(0.5)) {
      g.flags = kRst | kAck;
      g.seq = c.snd_nxt[kServer];
      g.ack = c.snd_nxt[kClient];
      g.ttl = static_cast<uint8_t>(c.ttl[kServer] - 9);
    } else {
      g.flags = kRst;
      g.seq = c.snd_nxt[kServer] + 0x40000000u + rng_.below(1u << 20);
      g.ttl = static_cast<uint8_t>(rng_.between(30, 250));
    }
    ++stats_.resets_forged;
    return g;
  }

  // Response sizes: mostly one small segment, some a few segments, a few bulk.
  uint32_t response_bytes() {
    const double u = rng_.unit();
    if (u < 0.70) return rng_.between(100, 1400);
    if (u < 0.95) return rng_.between(2000, 16000);
    return rng_.between(16000, 64000);
  }

  Rng rng_;
  std::vector<Conn> conns_;
  MixStats stats_;
  FrameTemplate templates_[kTplCount] = {
      make_template(kSyn, true, true),
      make_template(kSyn | kAck, true, true),
      make_template(kAck, false, true),
      make_template(kRst, false, false),
  };
};

// Mean segments per connection, by playing connections alone (no frames).
double mean_connection_length(uint64_t seed) {
  TrafficModel model(1, seed);
  constexpr uint64_t kSegments = 1'000'000;
  for (uint64_t i = 0; i < kSegments; ++i) model.next_segment(0, 1);
  const uint64_t closed = std::max<uint64_t>(1, model.stats().connections_closed);
  return static_cast<double>(kSegments) / static_cast<double>(closed);
}

// ----------------------------------------------------------------- ring ---

// Frames of one lap in one arena, 64-byte aligned. Refilled before each lap.
class FrameRing {
 public:
  explicit FrameRing(size_t frames)
      : arena_bytes_(frames * kArenaBytesPerFrame + kMaxFrameBytes), frames_(frames) {
    arena_ = static_cast<uint8_t*>(std::aligned_alloc(64, arena_bytes_));
    if (arena_ == nullptr) throw std::bad_alloc();
    std::memset(arena_, 0, arena_bytes_);
  }
  ~FrameRing() { std::free(arena_); }
  FrameRing(const FrameRing&) = delete;
  FrameRing& operator=(const FrameRing&) = delete;

  // Steady-state lap: each frame from a uniformly random slot.
  size_t fill_random(TrafficModel& model, Rng& rng, uint64_t& now_ns) {
    return fill([&]() { return rng.below(model.slots()); }, model, now_ns, frames_.size());
  }
  // Warm-up lap: slots [next_slot, ...) in order, each until aged() (its
  // handshake and first exchanges), then placed in an exchange.
  size_t fill_warmup(TrafficModel& model, uint32_t& next_slot, uint64_t& now_ns) {
    const auto pick = [&]() {
      while (model.aged(next_slot)) {
        model.place_in_exchange(next_slot);
        if (++next_slot == model.slots()) return UINT32_MAX;
      }
      return next_slot;
    };
    return fill(pick, model, now_ns, frames_.size());
  }

  const Frame* frames() const { return frames_.data(); }
  size_t arena_bytes() const { return arena_bytes_; }
  size_t capacity() const { return frames_.size(); }

 private:
  template <typename PickSlot>
  size_t fill(PickSlot&& pick, TrafficModel& model, uint64_t& now_ns, size_t count) {
    size_t offset = 0, n = 0;
    for (; n < count && offset + kMaxFrameBytes <= arena_bytes_; ++n) {
      const uint32_t slot = pick();
      if (slot == UINT32_MAX) break;
      const Segment g = model.next_segment(slot, static_cast<uint32_t>(now_ns / kNsPerMs));
      uint8_t* out = arena_ + offset;
      const uint32_t len = model.write(g, out);
      frames_[n] = Frame{out, len, len, now_ns, 1};
      offset += (len + 63) & ~size_t{63};
      now_ns += kPacketTickNs;
    }
    return n;
  }

  uint8_t* arena_ = nullptr;
  size_t arena_bytes_;
  std::vector<Frame> frames_;
};

// ------------------------------------------------------------- the loops ---

struct LoopTotals {
  uint64_t ticks = 0;
  uint64_t packets = 0;
  uint64_t bursts = 0;
  uint64_t dropped = 0;
  uint64_t events = 0;
};

// Everything but the worker: the same bursts, one load from each frame's first
// cache line, the same dispositions array and drop count.
void reference_walk(const Frame* frames, size_t n, uint16_t burst, LoopTotals& t,
                    uint64_t& sink) {
  Disposition out[kMaxBurst];
  const uint64_t start = tsc();
  for (size_t i = 0; i < n; i += burst) {
    const uint16_t b = static_cast<uint16_t>(std::min<size_t>(burst, n - i));
    for (uint16_t j = 0; j < b; ++j) {
      const Frame& f = frames[i + j];
      uint64_t word;
      std::memcpy(&word, f.data + 8, sizeof(word));  // MAC and EtherType: line 1
      sink += word ^ f.len ^ f.ts_ns;
      out[j] = Disposition::kForward;
    }
    asm volatile("" : : "r"(out) : "memory");  // the dispositions are "used"
    for (uint16_t j = 0; j < b; ++j) t.dropped += out[j] == Disposition::kDrop;
    ++t.bursts;
  }
  t.ticks += tsc() - start;
  t.packets += n;
}

// The worker over frames [0, n), in bursts; stops early (at a chunk boundary)
// once `budget_ticks` of worker time have been spent. Returns frames done.
size_t worker_walk(Worker& worker, const Frame* frames, size_t n, uint16_t burst,
                   uint64_t budget_ticks, LoopTotals& t) {
  constexpr size_t kChunkBursts = 256;  // clock read per chunk, not per burst
  Disposition out[kMaxBurst];
  size_t i = 0;
  while (i < n && t.ticks < budget_ticks) {
    const uint64_t start = tsc();
    for (size_t c = 0; c < kChunkBursts && i < n; ++c) {
      const uint16_t b = static_cast<uint16_t>(std::min<size_t>(burst, n - i));
      worker.process_burst(frames + i, b, out);
      t.events += worker.events().size();
      worker.clear_events();
      for (uint16_t j = 0; j < b; ++j) t.dropped += out[j] == Disposition::kDrop;
      i += b;
      ++t.bursts;
    }
    t.ticks += tsc() - start;
  }
  t.packets += i;
  return i;
}

// ------------------------------------------------------------------- run ---

struct Options {
  std::vector<uint64_t> flows = {10'000, 1'000'000};
  double seconds = 3.0;
  uint16_t burst = 32;
  size_t ring = size_t{1} << 20;
  uint64_t closed_timeout_ms = 50;
  uint64_t seed = 1;
  bool quick = false;
  bool json = false;
  std::string perf_ctl;  // perf --control FIFO: sampling only in measured loops
};


struct RunResult {
  uint64_t flows = 0;
  uint64_t capacity = 0;
  uint64_t table_slots = 0;
  uint64_t table_bytes = 0;
  uint64_t table_size_end = 0;
  double mean_connection_segments = 0;
  uint64_t warmup_packets = 0;
  double warmup_seconds = 0;
  uint64_t laps = 0;
  LoopTotals worker, reference;
  double ticks_per_ns = 1;
  MixStats mix;
  Counters c;  // counters of the measured phase
};

Counters counters_minus(const Counters& a, const Counters& b) {
  Counters d;
#define X(id, name) d.id = a.id - b.id;
#include "core/counters.def"
#undef X
  for (size_t i = 0; i < d.parse.size(); ++i) d.parse[i] = a.parse[i] - b.parse[i];
  for (size_t i = 0; i < d.rst_label.size(); ++i) d.rst_label[i] = a.rst_label[i] - b.rst_label[i];
  for (size_t i = 0; i < d.rst_validity.size(); ++i) {
    d.rst_validity[i] = a.rst_validity[i] - b.rst_validity[i];
  }
  return d;
}

RunResult run_one(uint64_t flows, const Options& opt, FrameRing& ring, const TscRate& rate,
                  const PerfControl& perf) {
  RunResult r;
  r.flows = flows;
  // Capacity: N live connections, plus the closed ones that linger (closes
  // per packet x (linger + one GC sweep of the table) in packets), doubled,
  // plus N/16.
  r.mean_connection_segments = mean_connection_length(opt.seed + 7);
  const double linger_packets =
      static_cast<double>(opt.closed_timeout_ms * kNsPerMs / kPacketTickNs) + flows / 4.0;
  const uint64_t closed_estimate =
      static_cast<uint64_t>(linger_packets / r.mean_connection_segments);
  r.capacity = flows + flows / 16 + 2 * closed_estimate + 1024;

  WorkerParams params;
  params.flow.capacity = static_cast<uint32_t>(r.capacity);
  params.flow.timeouts.embryonic_ns = kLiveTimeoutNs;
  params.flow.timeouts.established_ns = kLiveTimeoutNs;
  params.flow.timeouts.closing_ns = kLiveTimeoutNs;  // half-closed is still live
  params.flow.timeouts.time_wait_ns = opt.closed_timeout_ms * kNsPerMs;
  params.flow.timeouts.closed_ns = opt.closed_timeout_ms * kNsPerMs;
  params.judge.verify_checksums = true;  // every frame's checksums are correct
  auto worker = std::make_unique<Worker>(params);
  r.table_slots = worker->flows().slot_count();
  r.table_bytes = worker->flows().memory_bytes();

  TrafficModel model(static_cast<uint32_t>(flows), opt.seed);
  Rng pick(opt.seed * 0x9E3779B97F4A7C15ull + 3);
  uint64_t now_ns = kStartNs;

  // Warm-up: every slot's handshake and first exchanges, in slot order,
  // through the worker.
  const auto w0 = std::chrono::steady_clock::now();
  for (uint32_t next_slot = 0; next_slot < flows;) {
    const size_t n = ring.fill_warmup(model, next_slot, now_ns);
    LoopTotals ignored;
    worker_walk(*worker, ring.frames(), n, opt.burst, UINT64_MAX, ignored);
    r.warmup_packets += n;
  }
  r.warmup_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - w0).count();

  // Measured laps.
  const Counters before = worker->counters();
  const MixStats mix_before = model.stats();
  const uint64_t budget =
      static_cast<uint64_t>(opt.seconds * 1e9 * rate.ticks_per_ns());
  uint64_t sink = 0;
  while (r.worker.ticks < budget) {
    const size_t n = ring.fill_random(model, pick, now_ns);
    ++r.laps;
    reference_walk(ring.frames(), n, opt.burst, r.reference, sink);
    perf.enable();
    const size_t done = worker_walk(*worker, ring.frames(), n, opt.burst, budget, r.worker);
    perf.disable();
    if (done < n) break;  // the rest of this lap was generated, never judged
  }
  asm volatile("" : : "r"(sink));
  // The model's stats count the whole of the last lap; close enough for the
  // mix description (the last lap is cut short at most once).
  r.mix = model.stats().minus(mix_before);
  r.c = counters_minus(worker->counters(), before);
  r.table_size_end = worker->flows().size();
  r.ticks_per_ns = rate.ticks_per_ns();
  return r;
}

// ---------------------------------------------------------------- output ---

double per_packet_ns(const LoopTotals& t, double tpn) {
  return t.packets ? static_cast<double>(t.ticks) / tpn / static_cast<double>(t.packets) : 0;
}
double per_packet_ticks(const LoopTotals& t) {
  return t.packets ? static_cast<double>(t.ticks) / static_cast<double>(t.packets) : 0;
}
double mpps(const LoopTotals& t, double tpn) {
  const double ns = per_packet_ns(t, tpn);
  return ns > 0 ? 1e3 / ns : 0;
}

uint64_t label_count(const Counters& c, Label l) { return c.rst_label[static_cast<int>(l)]; }



void print_text_header(const Options& opt, int cpu, const FrameRing& ring, double tpn) {
  std::printf(
      "rstguard-bench: one worker thread%s, TSC %.3f GHz, burst %u, ring %zu frames "
      "(%.0f MB arena), packet clock %" PRIu64 " ns/frame\n",
      cpu >= 0 ? (" on CPU " + std::to_string(cpu)).c_str() : " (not pinned)", tpn,
      opt.burst, ring.capacity(), static_cast<double>(ring.arena_bytes()) / 1e6, kPacketTickNs);
  std::printf(
      "traffic: per connection a handshake, ~%.0f request/response exchanges (geometric), "
      "close by FIN %.0f%% / RST %.0f%%; %.0f%% of connections get one forged reset "
      "(half out-of-window, half exact seq + other TTL)\n",
      kMeanExchanges, kFinCloseShare * 100, (1 - kFinCloseShare) * 100, kForgedShare * 100);
}

void print_text_run(const RunResult& r) {
  const double tpn = r.ticks_per_ns;
  const double w_ns = per_packet_ns(r.worker, tpn), ref_ns = per_packet_ns(r.reference, tpn);
  const double per_cap = static_cast<double>(r.table_bytes) / r.capacity;
  std::printf("\nflows %" PRIu64 " (table capacity %" PRIu64 ", %" PRIu64 " slots, %.1f MB)\n",
              r.flows, r.capacity, r.table_slots, static_cast<double>(r.table_bytes) / 1e6);
  std::printf("  warm-up     %" PRIu64 " packets (handshakes, first exchanges) in %.2f s, not timed\n",
              r.warmup_packets, r.warmup_seconds);
  std::printf(
      "  mix         %" PRIu64 " frames generated in %" PRIu64 " laps: mean %.0f B, "
      "%.0f%% <= 128 B, %.0f%% 129..1023 B, %.0f%% >= 1024 B; ~%.0f segments/connection\n",
      r.mix.frames, r.laps, r.mix.frames ? static_cast<double>(r.mix.bytes) / r.mix.frames : 0,
      pct(r.mix.small, r.mix.frames), pct(r.mix.medium, r.mix.frames),
      pct(r.mix.large, r.mix.frames), r.mean_connection_segments);
  std::printf(
      "              SYN or SYN/ACK %.2f%%, FIN %.2f%%, RST %.3f%% (legit %.3f%%, forged %.3f%%) of frames\n",
      pct(r.mix.syns, r.mix.frames), pct(r.mix.fins, r.mix.frames),
      pct(r.mix.resets_legit + r.mix.resets_forged, r.mix.frames),
      pct(r.mix.resets_legit, r.mix.frames), pct(r.mix.resets_forged, r.mix.frames));
  std::printf("  worker      %7.2f Mpps  %7.1f ns/pkt  %7.1f cycles/pkt  (%" PRIu64
              " packets, %" PRIu64 " bursts, %.2f s)\n",
              mpps(r.worker, tpn), w_ns, per_packet_ticks(r.worker), r.worker.packets,
              r.worker.bursts, static_cast<double>(r.worker.ticks) / tpn / 1e9);
  std::printf("  reference   %7.2f Mpps  %7.1f ns/pkt  %7.1f cycles/pkt  (%" PRIu64
              " packets)\n",
              mpps(r.reference, tpn), ref_ns, per_packet_ticks(r.reference),
              r.reference.packets);
  std::printf("  ratio       %.2f (worker / reference, time per packet)\n",
              ref_ns > 0 ? w_ns / ref_ns : 0);
  std::printf(
      "  flow table  %.0f B per flow (memory / flows), %.0f B per unit of capacity, "
      "FlowEntry %zu B; 10M flows: %.2f GB = %.2f GiB\n",
      static_cast<double>(r.table_bytes) / r.flows, per_cap, sizeof(FlowEntry),
      table_bytes_for(1e7) / 1e9, table_bytes_for(1e7) / (1u << 30));
  std::printf("              %" PRIu64 " entries in use at the end (%" PRIu64
              " connections open, closed ones linger until collected)\n",
              r.table_size_end, r.flows);
  std::printf("  resets      judged %" PRIu64 " (legit %" PRIu64 ", suspicious %" PRIu64
              ", forged %" PRIu64 "; dropped %" PRIu64 "), updates %" PRIu64 ", events %" PRIu64
              "\n",
              r.c.rst_total, label_count(r.c, Label::legit), label_count(r.c, Label::suspicious),
              label_count(r.c, Label::forged), r.worker.dropped, r.c.rst_updates,
              r.worker.events);
  std::printf("  sanity      parse errors %" PRIu64 ", gaps %" PRIu64 ", retransmits %" PRIu64
              ", midstream %" PRIu64 ", insert refused %" PRIu64 ", evicted %" PRIu64
              ", expired %" PRIu64 ", event overflow %" PRIu64 "\n",
              parse_errors(r.c), r.c.tcp_gap, r.c.tcp_retransmit, r.c.flow_midstream,
              r.c.flow_insert_refused, evicted(r.c), r.c.flow_expired, r.c.event_overflow);
}

void print_json(const Options& opt, int cpu, const FrameRing& ring,
                const std::vector<RunResult>& runs) {
  const double tpn = runs.empty() ? 1 : runs.back().ticks_per_ns;
  std::printf("{\"tool\":\"rstguard-bench\",\"cpu\":%d,\"tsc_ghz\":%.4f,\"burst\":%u,"
              "\"ring_frames\":%zu,\"arena_bytes\":%zu,\"packet_tick_ns\":%" PRIu64
              ",\"seconds\":%.3f,\"closed_timeout_ms\":%" PRIu64 ",\"seed\":%" PRIu64
              ",\"runs\":[",
              cpu, tpn, opt.burst, ring.capacity(), ring.arena_bytes(), kPacketTickNs,
              opt.seconds, opt.closed_timeout_ms, opt.seed);
  for (size_t i = 0; i < runs.size(); ++i) {
    const RunResult& r = runs[i];
    const double t = r.ticks_per_ns;
    const double w_ns = per_packet_ns(r.worker, t), ref_ns = per_packet_ns(r.reference, t);
    const double per_cap = static_cast<double>(r.table_bytes) / r.capacity;
    std::printf(
        "%s{\"flows\":%" PRIu64 ",\"capacity\":%" PRIu64 ",\"table_slots\":%" PRIu64
        ",\"table_bytes\":%" PRIu64 ",\"table_entries_end\":%" PRIu64
        ",\"bytes_per_flow\":%.1f,\"bytes_per_capacity\":%.1f,\"flow_entry_bytes\":%zu,"
        "\"bytes_for_10m_flows\":%.0f,"
        "\"warmup_packets\":%" PRIu64 ",\"laps\":%" PRIu64 ",\"packets\":%" PRIu64
        ",\"bursts\":%" PRIu64 ",\"worker_seconds\":%.4f,"
        "\"mpps\":%.4f,\"ns_per_packet\":%.3f,\"cycles_per_packet\":%.2f,"
        "\"reference\":{\"packets\":%" PRIu64 ",\"mpps\":%.4f,\"ns_per_packet\":%.3f,"
        "\"cycles_per_packet\":%.2f},\"ratio\":%.3f,"
        "\"resets_judged\":%" PRIu64 ",\"resets_legit\":%" PRIu64 ",\"resets_suspicious\":%" PRIu64
        ",\"resets_forged\":%" PRIu64 ",\"resets_dropped\":%" PRIu64 ",\"rst_updates\":%" PRIu64
        ",\"events\":%" PRIu64 ","
        "\"mix\":{\"frames\":%" PRIu64 ",\"mean_frame_bytes\":%.1f,\"small_pct\":%.2f,"
        "\"medium_pct\":%.2f,\"large_pct\":%.2f,\"syn_pct\":%.3f,\"fin_pct\":%.3f,"
        "\"rst_legit_pct\":%.4f,\"rst_forged_pct\":%.4f,\"segments_per_connection\":%.1f},"
        "\"sanity\":{\"parse_errors\":%" PRIu64 ",\"gaps\":%" PRIu64 ",\"retransmits\":%" PRIu64
        ",\"midstream\":%" PRIu64 ",\"insert_refused\":%" PRIu64 ",\"evicted\":%" PRIu64
        ",\"expired\":%" PRIu64 ",\"event_overflow\":%" PRIu64 "}}",
        i ? "," : "", r.flows, r.capacity, r.table_slots, r.table_bytes, r.table_size_end,
        static_cast<double>(r.table_bytes) / r.flows, per_cap, sizeof(FlowEntry), per_cap * 1e7,
        r.warmup_packets, r.laps, r.worker.packets, r.worker.bursts,
        static_cast<double>(r.worker.ticks) / t / 1e9, mpps(r.worker, t), w_ns,
        per_packet_ticks(r.worker), r.reference.packets, mpps(r.reference, t), ref_ns,
        per_packet_ticks(r.reference), ref_ns > 0 ? w_ns / ref_ns : 0, r.c.rst_total,
        label_count(r.c, Label::legit), label_count(r.c, Label::suspicious),
        label_count(r.c, Label::forged), r.worker.dropped, r.c.rst_updates, r.worker.events,
        r.mix.frames, r.mix.frames ? static_cast<double>(r.mix.bytes) / r.mix.frames : 0,
        pct(r.mix.small, r.mix.frames), pct(r.mix.medium, r.mix.frames),
        pct(r.mix.large, r.mix.frames), pct(r.mix.syns, r.mix.frames),
        pct(r.mix.fins, r.mix.frames), pct(r.mix.resets_legit, r.mix.frames),
        pct(r.mix.resets_forged, r.mix.frames), r.mean_connection_segments, parse_errors(r.c),
        r.c.tcp_gap, r.c.tcp_retransmit, r.c.flow_midstream, r.c.flow_insert_refused,
        evicted(r.c), r.c.flow_expired, r.c.event_overflow);
  }
  std::printf("]}\n");
}

// ----------------------------------------------------------------- setup ---

// CPU 1 when this process may run there; -1 when not pinned.
int pin_to_cpu1() {
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  if (sched_getaffinity(0, sizeof(allowed), &allowed) != 0 || !CPU_ISSET(1, &allowed)) return -1;
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(1, &one);
  return sched_setaffinity(0, sizeof(one), &one) == 0 ? 1 : -1;
}

// "10000", "10k", "1M", "2^20".

const char kUsage[] =
    "usage: rstguard-bench [--flows N[,N...]] [--seconds S] [--burst B] [--ring FRAMES]\n"
    "                      [--closed-timeout-ms MS] [--seed X] [--quick] [--json]\n"
    "  --flows    concurrent connections per run (default 10000,1000000; 10k, 1M, 2^20 ok)\n"
    "  --seconds  worker time to measure per run (default 3)\n"
    "  --burst    frames per process_burst call (default 32, at most 256)\n"
    "  --ring     frames per lap (default 2^20)\n"
    "  --closed-timeout-ms  packet time TIME-WAIT/closed entries linger (default 50)\n"
    "  --seed     traffic seed (default 1)\n"
    "  --quick    a short run to check that it works (flows 1000,10000, 0.05 s, ring 2^14)\n"
    "  --json     print one JSON object instead of text\n"
    "  --perf-ctl CTL[,ACK]  perf record --control=fifo:CTL[,ACK]: sample only measured loops\n";

bool parse_options(int argc, char** argv, Options& opt) {
  bool flows_set = false, seconds_set = false, ring_set = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    const bool has_value = i + 1 < argc;
    if (a == "--quick") {
      opt.quick = true;
    } else if (a == "--json") {
      opt.json = true;
    } else if (a == "--flows" && has_value) {
      if (!parse_count_list(argv[++i], (1u << 30), opt.flows)) return false;
      flows_set = true;
    } else if (a == "--seconds" && has_value) {
      opt.seconds = std::atof(argv[++i]);
      if (!(opt.seconds > 0)) return false;
      seconds_set = true;
    } else if (a == "--burst" && has_value) {
      const int b = std::atoi(argv[++i]);
      if (b < 1 || b > kMaxBurst) return false;
      opt.burst = static_cast<uint16_t>(b);
    } else if (a == "--ring" && has_value) {
      uint64_t n = 0;
      if (!parse_count(argv[++i], n) || n < 1024 || n > (uint64_t{1} << 26)) return false;
      opt.ring = n;
      ring_set = true;
    } else if (a == "--closed-timeout-ms" && has_value) {
      opt.closed_timeout_ms = std::strtoull(argv[++i], nullptr, 10);
      if (opt.closed_timeout_ms == 0) return false;
    } else if (a == "--perf-ctl" && has_value) {
      opt.perf_ctl = argv[++i];
    } else if (a == "--seed" && has_value) {
      opt.seed = std::strtoull(argv[++i], nullptr, 0);
    } else {
      return false;
    }
  }
  if (opt.quick) {
    if (!flows_set) opt.flows = {1000, 10'000};
    if (!seconds_set) opt.seconds = 0.05;
    if (!ring_set) opt.ring = size_t{1} << 14;
  }
  return true;
}

}  // namespace
}  // namespace rstguard::bench

int main(int argc, char** argv) {
  using namespace rstguard::bench;
  Options opt;
  if (!parse_options(argc, argv, opt)) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  const int cpu = pin_to_cpu1();
  const PerfControl perf(opt.perf_ctl, "rstguard-bench");
  const TscRate rate(20);
  FrameRing ring(opt.ring);
  if (!opt.json) print_text_header(opt, cpu, ring, rate.ticks_per_ns());
  std::vector<RunResult> runs;
  for (uint64_t flows : opt.flows) {
    runs.push_back(run_one(flows, opt, ring, rate, perf));
    if (!opt.json) {
      print_text_run(runs.back());
      std::fflush(stdout);
    }
  }
  if (opt.json) print_json(opt, cpu, ring, runs);
  return 0;
}

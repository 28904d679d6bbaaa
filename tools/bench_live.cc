// rstguard-bench-live: the live poll loop (dpdk::LiveWorker::run, unchanged)
// on one and two lcores, fed by DPDK ports, at 10K and 1M concurrent flows,
// against a reference loop that does everything but the worker. Issue 6.
// A benchmark: it prints figures, it checks nothing.
//
//   rstguard-bench-live [--flows N[,N...]] [--seconds S] [--rounds R]
//                       [--workers 1|2|1,2] [--seed X] [--quick] [--json]
//                       [--perf-ctl CTL[,ACK]]
//   rstguard-bench-live --write-pcap FILE [--packets N] [--flows N] [--seed X]
//
// To profile only the one-worker windows (not warm-up or the reference):
//   mkfifo /tmp/ctl && perf record -e cpu-clock -D -1 --control=fifo:/tmp/ctl --
//       rstguard-bench-live --workers 1 --perf-ctl /tmp/ctl
//
// Method (what is measured, what is not):
// - Devices. Two net_null ports (--vdev net_null0, net_null1): the device
//   testpmd's "~33 Mpps on one core" calibration uses. Port 0's rx burst
//   allocates mbufs from a mempool; an rx callback on each of its queues (the
//   generator, below) rewrites them in place into the next frames of the
//   traffic. The worker forwards to port 1 (inline mode, tx buffered as in
//   rstguard), whose tx frees them. Drops are freed by the worker loop.
// - The worker loop is dpdk::LiveWorker::run itself: rx burst of 32, parse,
//   flow lookup, tracking, the judge on every reset, events to a ring,
//   dispositions, tx buffering, free. The main lcore sleeps (it wakes every
//   50 ms to drain the event rings, as rstguard's main lcore does).
// - The reference loop runs on the same lcore with the same generator, rx
//   burst, tx (as LiveWorker forwards: a burst with one tx burst) and free,
//   without the Worker: it is the cost of getting frames to and from a
//   worker. The ratio printed is the issue's: worker throughput as a
//   fraction of the reference's.
// - Two floors split the worker's cost. The parse floor is the reference
//   loop plus each frame parsed, keyed and hashed. The table floor adds the
//   flow lookup, on the one-worker run's own table (read only, between its
//   windows): the worker's staged lookup, both lines of the entry read. It
//   is the issue's calibration (bulk hash lookup touching a 128-byte record)
//   in this harness: no worker can be faster than it.
// - Traffic. N connection slots (population indexes 0..N-1, client address
//   10.0.0.0 + index, 4096 server addresses), always one connection open
//   each, played the way Linux plays them (SYN with MSS/SACK/TS/WS, window
//   scale 7, timestamps on every segment, per-side IP ID counters). Each slot
//   has a fixed "visit" script, replayed forever: one request/response
//   exchange (request 60..700 B; response 70% one segment, 25% 2-16 KB, 5%
//   16-64 KB, in 1448-byte segments, ACKed every second segment). A share
//   1/24 of slots also close at the end of their visit (FIN 60%, RST from
//   either end 40%) and open their next connection (new client port, new
//   ISNs, full handshake); 0.125% of slots (3% of connections over their
//   ~24 exchanges) receive a forged reset before the request (half out of
//   window, half exact sequence number with another TTL, no timestamps). That is bench_worker's mix: about 1% SYN, 0.6% FIN,
//   0.2% legit and 0.02% forged resets per frame, 64..1514-byte frames.
// - Built once, rewritten in place. The visit scripts of all slots are
//   interleaved at random into one replay (each slot's packets in order), a
//   48-byte record per packet. Replay k writes every field as its value in
//   replay 0 plus k times its per-visit step (sequence and acknowledgement
//   numbers, timestamps, IP IDs, client port of connections that churn): the
//   model is built so that every field moves linearly from visit to visit,
//   and the build checks it (visits 1, 2 and 3 are simulated and compared).
//   So the worker sees an endless, gap-free TCP conversation over N flows,
//   every flow touched once per replay in random order, while generating a
//   frame costs a 128-byte copy, a few stores and the two checksums.
//   Payload bytes are zero (mbuf data rooms are zeroed once), so the
//   checksums cover the headers only and every frame's checksums are right.
// - Warm-up (not timed): every slot's handshake, enough exchanges for each
//   end to send 4 segments (past the tracker's first-packet checksum checks),
//   and its visit 0, slot by slot, through the same worker loop.
// - Measurement: packets generated per second, read on the main lcore from
//   the generators' counters over TSC time. Each loop gets --seconds in
//   --rounds windows, and the windows of the three loops (one worker, the
//   reference, two workers) alternate, so that all three see the same
//   background on a shared VM; the spread of the windows is printed.
//   Cycles are TSC ticks; cycles per packet = ticks x workers / packets.
// - Flow table: capacity = flows per worker + 1/16 + twice the closed
//   entries that linger (TIME-WAIT and closed timeouts are 50 ms; live ones
//   24 h, so nothing live expires); memory per flow is printed.
// - Two workers: each worker lcore has its own rx queue and generator over
//   half of the slots (population indexes of its parity), its own flow
//   table, tx queue and event ring; the speed-up is over one worker at the
//   same total flow count.
// - EAL: --no-huge --no-pci -m 1024, a per-process --file-prefix, and
//   --lcores 0@A,1@A,2@B on the first two CPUs A and B this process may use:
//   lcore 2 (CPU B) is the one-worker run and the reference; lcores 1 and 2
//   are the two-worker run. The main lcore 0 sleeps on CPU A.
//
// --write-pcap writes an offline-analysis capture of the same model with
// small packets (request and response 0..160 bytes, one segment each), the
// warm-up first, then replays until --packets frames (default 3M, ~400 MB;
// --flows default 20000), 1 us apart.
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>
#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <vector>

#include "bench_common.h"
#include "core/counters.h"
#include "core/flow.h"
#include "core/headers.h"
#include "builder/packet_builder.h"
#include "core/parser.h"
#include "core/worker.h"
#include "capture/capture_file.h"
#include "dpdk/eal.h"
#include "dpdk/live_worker.h"

namespace rstguard::bench_live {
namespace {

using bench_common::evicted;
using bench_common::parse_count;
using bench_common::parse_count_list;
using bench_common::parse_errors;
using bench_common::table_bytes_for;
using bench_common::pct;
using bench_common::PerfControl;
using bench_common::Rng;

using wire::tcpflag::kAck;
using wire::tcpflag::kFin;
using wire::tcpflag::kPsh;
using wire::tcpflag::kRst;
using wire::tcpflag::kSyn;

constexpr int kClient = 0;
constexpr int kServer = 1;
constexpr uint32_t kMss = 1448;          // 1500 - 20 - 20 - 12 (timestamps)
constexpr double kCloseShare = 1.0 / 24;  // slots whose visit ends the connection
constexpr double kFinCloseShare = 0.6;    // of those; else an RST from either end
constexpr double kForgedShare = 0.03 / 24;  // slots that get a forged reset per visit
constexpr uint32_t kServerCount = 4096;
constexpr uint32_t kIsnStep[2] = {0x0100'0193u, 0x0731'9E37u};  // per connection
constexpr uint32_t kTsStep = 256;      // timestamp ticks per visit (> packets per visit)
constexpr uint32_t kClockBase = 4096;  // timestamp clock of visit 0 (> warm-up packets)
constexpr uint16_t kForgeIpIdStep = 0x1111;
constexpr uint32_t kPortRange = 64000;  // client ports 1024..65023
constexpr uint8_t kAgedSegments = 4;    // = the tracker's checksum samples per side
constexpr size_t kHeaderRoom = 128;     // bytes of template written per frame
constexpr size_t kMinFrame = 60;        // Ethernet minimum without FCS
constexpr uint16_t kBurst = 32;
constexpr unsigned kMbufs = 16383;
constexpr unsigned kMbufCache = 256;
constexpr unsigned kEventRing = 1u << 16;
constexpr uint16_t kMaxWorkers = 2;
constexpr uint64_t kClosedTimeoutNs = 50 * kNsPerMs;  // TIME-WAIT and closed entries
constexpr uint64_t kLiveTimeoutNs = 24ull * 3600 * kNsPerSec;
constexpr double kAssumedMpps = 25;  // per worker, to size the closed entries' share

// ------------------------------------------------------------------ rng ---

// splitmix64: deterministic, fast; one per slot (seeded by slot) so that a
// slot's plan does not depend on which worker builds it.

// Sum of the 16-bit words of `len` bytes (len % 4 == 0) as they lie in
// memory; folded and complemented it is the Internet checksum, in network
// order when stored as is (RFC 1071 2(B)).
inline uint64_t sum_words(const uint8_t* p, size_t len) {
  uint64_t sum = 0;
  for (size_t i = 0; i < len; i += 4) {
    uint32_t w;
    std::memcpy(&w, p + i, 4);
    sum += w;
  }
  return sum;
}

inline uint16_t fold(uint64_t sum) {
  sum = (sum & 0xFFFF'FFFFull) + (sum >> 32);
  sum = (sum & 0xFFFF'FFFFull) + (sum >> 32);
  sum = (sum & 0xFFFF) + (sum >> 16);
  sum = (sum & 0xFFFF) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

template <typename T>
inline void put(uint8_t* p, T v) {
  std::memcpy(p, &v, sizeof(v));
}

// ------------------------------------------------------------ templates ---

enum Template : uint8_t { kTplSyn, kTplSynAck, kTplTimestamps, kTplBare, kTplCount };

// A prototype header from packet_builder, zero-padded to kHeaderRoom bytes:
// copied whole into each frame, then its variable fields are patched.
struct alignas(64) FrameTemplate {
  uint8_t bytes[kHeaderRoom] = {};
  uint32_t header_len = 0;      // Ethernet + IPv4 + TCP with options
  uint32_t tcp_header_len = 0;  // 20 + options
  uint32_t ts_offset = 0;       // frame offset of TSval (0: no timestamps)
  // Sums of the header words that write_frame() does not set (RFC 1071
  // sums of the words as they lie in memory).
  uint64_t ip_sum = 0;
  uint64_t tcp_sum = 0;
};

constexpr size_t kEthHdr = sizeof(wire::EthHdr);
constexpr size_t kIpHdr = sizeof(wire::Ipv4Hdr);

FrameTemplate make_template(uint8_t flags, bool syn_options, bool timestamps) {
  const bench_common::HeaderTemplate h =
      bench_common::make_header_template(flags, syn_options, timestamps);
  FrameTemplate t;
  const size_t tcp = kEthHdr + kIpHdr;
  t.tcp_header_len = h.tcp_header_len;
  t.ts_offset = h.ts_offset;
  t.header_len = static_cast<uint32_t>(tcp + t.tcp_header_len);
  if (t.header_len > kHeaderRoom || h.bytes.size() < t.header_len) std::abort();
  std::memcpy(t.bytes, h.bytes.data(), t.header_len);
  // The constant words: the template with every variable field zeroed.
  uint8_t z[kHeaderRoom];
  std::memcpy(z, t.bytes, kHeaderRoom);
  uint8_t* iph = z + kEthHdr;
  for (size_t off : {2, 3, 4, 5, 8, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19}) iph[off] = 0;
  uint8_t* th = iph + kIpHdr;
  for (size_t off = 0; off < 12; ++off) th[off] = 0;  // ports, seq, ack
  for (size_t off : {13, 14, 15, 16, 17}) th[off] = 0;  // flags, window, checksum
  if (t.ts_offset != 0) std::memset(z + t.ts_offset, 0, 8);
  if (t.ts_offset % 2 != 0) std::abort();
  t.ip_sum = sum_words(iph, kIpHdr);
  t.tcp_sum = sum_words(th, t.tcp_header_len);
  return t;
}

struct Templates {
  FrameTemplate t[kTplCount] = {
      make_template(kSyn, true, true),
      make_template(kSyn | kAck, true, true),
      make_template(kAck, false, true),
      make_template(kRst, false, false),
  };
};

// -------------------------------------------------------------- records ---

// One packet of the replay: its fields in replay 0 and their steps per
// replay. 48 bytes, read sequentially by the generator.
struct Record {
  enum Bits : uint8_t {
    kFromServer = 1 << 0,
    kPortSteps = 1 << 1,   // the client port moves on by one per replay
    kTsvalSteps = 1 << 2,  // TSval moves by kTsStep per replay
    kTsecrSteps = 1 << 3,  // TSecr moves by kTsStep per replay
  };
  uint32_t client_addr;  // host order
  uint32_t server_addr;
  uint32_t seq, seq_step;
  uint32_t ack, ack_step;
  uint32_t tsval, tsecr;
  uint16_t ip_id, ip_id_step;
  uint16_t client_port;  // in replay 0, 1024..65023
  uint16_t server_port;
  uint16_t payload_len;
  uint16_t window;
  uint8_t tpl, flags, ttl, bits;
};
static_assert(sizeof(Record) == 48);

// One segment as the simulated ends send it.
struct Segment {
  uint8_t side = kClient;
  Template tpl = kTplTimestamps;
  uint8_t flags = kAck;
  uint8_t ttl = 64;
  uint16_t payload_len = 0;
  uint16_t window = 502;
  uint16_t ip_id = 0;
  uint16_t client_port = 0;
  uint32_t seq = 0, ack = 0, tsval = 0, tsecr = 0;
};

// Traffic shape: sizes of requests and responses.
struct Profile {
  uint32_t request_min = 60, request_max = 700;
  bool small = false;  // responses of 0..160 bytes (capture mode)
};

uint64_t mix64(uint64_t x) {
  x ^= x >> 33;
  x *= 0xFF51AFD7ED558CCDull;
  x ^= x >> 33;
  x *= 0xC4CEB9FE1A85EC53ull;
  x ^= x >> 33;
  return x;
}

uint16_t client_port_of(uint32_t base, uint64_t connection) {
  return static_cast<uint16_t>(1024 + (base + connection) % kPortRange);
}

// One slot's connections, simulated segment by segment. Every quantity that
// changes between visits changes by the same amount each visit (see the
// method); build_records() checks that.
class SlotModel {
 public:
  enum class Close : uint8_t { kNone, kFin, kRst };
  enum class Forge : uint8_t { kNone, kOutOfWindow, kExactSeq };

  SlotModel(uint32_t slot, uint64_t seed, const Profile& profile) : slot_(slot) {
    Rng rng(mix64(seed * 0x9E3779B97F4A7C15ull ^ (slot + 1)));
    const uint64_t h = mix64(slot + 1);
    client_addr_ = 0x0A00'0000u + slot;
    server_addr_ = 0xAC10'0000u + static_cast<uint32_t>(h % kServerCount);
    server_port_ = (h & 0x300) == 0 ? 80 : 443;
    port_base_ = static_cast<uint32_t>(rng.below(kPortRange));
    ttl_[kClient] = static_cast<uint8_t>(64 - 3 - (h >> 16) % 12);
    ttl_[kServer] = static_cast<uint8_t>(((h >> 24) & 1 ? 128 : 64) - 5 - (h >> 32) % 15);
    for (int side = 0; side < 2; ++side) {
      isn0_[side] = static_cast<uint32_t>(rng.next());
      ts_offset_[side] = static_cast<uint32_t>(rng.next());
      ip_id_[side] = static_cast<uint16_t>(rng.next());
    }
    request_ = rng.between(profile.request_min, profile.request_max);
    if (profile.small) {
      response_ = rng.between(0, 160);
    } else {
      const double u = rng.unit();
      response_ = u < 0.70 ? rng.between(100, 1400)
                           : u < 0.95 ? rng.between(2000, 16000) : rng.between(16000, 64000);
    }
    if (rng.chance(kCloseShare)) {
      close_ = rng.chance(kFinCloseShare) ? Close::kFin : Close::kRst;
      reset_side_ = static_cast<uint8_t>(rng.below(2));
    }
    if (rng.chance(kForgedShare)) {
      forge_ = rng.chance(0.5) ? Forge::kExactSeq : Forge::kOutOfWindow;
    }
    forge_offset_ = 0x4000'0000u + rng.below(1u << 20);
    forge_ttl_ = static_cast<uint8_t>(rng.between(30, 250));
    forge_ip_id_ = static_cast<uint16_t>(rng.next() | 1);
  }

  uint32_t client_addr() const { return client_addr_; }
  uint32_t server_addr() const { return server_addr_; }
  uint16_t server_port() const { return server_port_; }
  Close close() const { return close_; }
  Forge forge() const { return forge_; }

  // Connection 0's handshake and, for slots that do not churn, exchanges
  // until each end has sent kAgedSegments; then visit 0.
  void warm_up(std::vector<Segment>& out) {
    clock_ = 0;
    handshake(0, out);
    if (close_ == Close::kNone) {
      while (sent_[kClient] < kAgedSegments || sent_[kServer] < kAgedSegments) {
        exchange(out);
      }
    }
    if (clock_ >= kClockBase) std::abort();  // the visit clock must stay ahead
    visit(0, out);
  }

  // Visit v (call for 0, 1, 2, ... in order, after warm_up's visit 0).
  void visit(uint32_t v, std::vector<Segment>& out) {
    clock_ = kClockBase + v * kTsStep;
    const uint32_t start = clock_;
    if (forge_ != Forge::kNone) out.push_back(forged(v));
    exchange(out);
    if (close_ == Close::kFin) {
      out.push_back(segment(kClient, kFin | kAck, 0));
      out.push_back(segment(kServer, kFin | kAck, 0));
      out.push_back(segment(kClient, kAck, 0));
    } else if (close_ == Close::kRst) {
      // The end host's own abort (Linux tcp_send_active_reset): RST+ACK at
      // SND.NXT with timestamps.
      out.push_back(segment(reset_side_, kRst | kAck, 0));
    }
    if (close_ != Close::kNone) handshake(v + 1, out);
    if (clock_ - start >= kTsStep) std::abort();  // a visit must fit its clock step
  }

 private:
  void handshake(uint64_t connection, std::vector<Segment>& out) {
    port_ = client_port_of(port_base_, connection);
    for (int side = 0; side < 2; ++side) {
      snd_nxt_[side] = isn0_[side] + static_cast<uint32_t>(connection) * kIsnStep[side];
      ts_last_[side] = 0;
      sent_[side] = 0;
    }
    Segment syn = segment(kClient, kSyn, 0);
    syn.tpl = kTplSyn;
    syn.window = 64240;
    syn.tsecr = 0;
    out.push_back(syn);
    Segment syn_ack = segment(kServer, kSyn | kAck, 0);
    syn_ack.tpl = kTplSynAck;
    syn_ack.window = 65160;
    out.push_back(syn_ack);
    out.push_back(segment(kClient, kAck, 0));
  }

  void exchange(std::vector<Segment>& out) {
    out.push_back(segment(kClient, kPsh | kAck, request_));
    uint32_t left = response_;
    int unacked = 0;
    do {
      const uint32_t len = std::min(left, kMss);
      left -= len;
      out.push_back(segment(kServer, left == 0 ? (kPsh | kAck) : kAck, len));
      if (++unacked == 2 || left == 0) {
        out.push_back(segment(kClient, kAck, 0));
        unacked = 0;
      }
    } while (left > 0);
  }

  // An injector's reset claiming to come from the server; the ends are
  // unaware of it (their numbers do not move).
  Segment forged(uint32_t v) {
    Segment g;
    g.side = kServer;
    g.tpl = kTplBare;
    g.window = 0;
    g.client_port = port_;
    g.ip_id = static_cast<uint16_t>(forge_ip_id_ + v * kForgeIpIdStep);
    if (forge_ == Forge::kExactSeq) {
      g.flags = kRst | kAck;
      g.seq = snd_nxt_[kServer];
      g.ack = snd_nxt_[kClient];
      g.ttl = static_cast<uint8_t>(ttl_[kServer] - 9);
    } else {
      g.flags = kRst;
      g.seq = snd_nxt_[kServer] + forge_offset_;
      g.ttl = forge_ttl_;
    }
    ++clock_;
    return g;
  }

  Segment segment(int side, uint8_t flags, uint32_t payload_len) {
    Segment g;
    g.side = static_cast<uint8_t>(side);
    g.flags = flags;
    g.ttl = ttl_[side];
    g.ip_id = ip_id_[side]++;
    g.payload_len = static_cast<uint16_t>(payload_len);
    g.client_port = port_;
    g.seq = snd_nxt_[side];
    g.ack = (flags & kAck) ? snd_nxt_[1 - side] : 0;
    g.tsval = ts_offset_[side] + clock_++;
    g.tsecr = ts_last_[1 - side];
    ts_last_[side] = g.tsval;
    if (sent_[side] < 255) ++sent_[side];
    snd_nxt_[side] += payload_len + ((flags & kSyn) ? 1 : 0) + ((flags & kFin) ? 1 : 0);
    return g;
  }

  uint32_t slot_;
  uint32_t client_addr_ = 0, server_addr_ = 0;
  uint16_t server_port_ = 0;
  uint32_t port_base_ = 0;
  uint16_t port_ = 0;
  uint8_t ttl_[2] = {};
  uint32_t isn0_[2] = {};
  uint32_t ts_offset_[2] = {};
  uint16_t ip_id_[2] = {};
  uint32_t snd_nxt_[2] = {};
  uint32_t ts_last_[2] = {};
  uint8_t sent_[2] = {};
  uint32_t clock_ = 0;
  uint32_t request_ = 0, response_ = 0;
  Close close_ = Close::kNone;
  uint8_t reset_side_ = 0;
  Forge forge_ = Forge::kNone;
  uint32_t forge_offset_ = 0;
  uint8_t forge_ttl_ = 0;
  uint16_t forge_ip_id_ = 0;
};

Record to_record(const SlotModel& m, const Segment& g) {
  Record r{};
  r.client_addr = m.client_addr();
  r.server_addr = m.server_addr();
  r.server_port = m.server_port();
  r.seq = g.seq;
  r.ack = g.ack;
  r.tsval = g.tsval;
  r.tsecr = g.tsecr;
  r.ip_id = g.ip_id;
  r.client_port = g.client_port;
  r.payload_len = g.payload_len;
  r.window = g.window;
  r.tpl = g.tpl;
  r.flags = g.flags;
  r.ttl = g.ttl;
  r.bits = g.side == kServer ? Record::kFromServer : 0;
  return r;
}

[[noreturn]] void not_linear(uint32_t slot, size_t i, const char* field) {
  std::fprintf(stderr,
               "rstguard-bench-live: slot %" PRIu32 " packet %zu: %s does not move linearly "
               "between visits (a bug in the traffic model)\n",
               slot, i, field);
  std::abort();
}

// The records of one slot's visit (replay 0 = visit 1), from visits 1..3.
void build_records(uint32_t slot, uint64_t seed, const Profile& profile,
                   std::vector<Record>& out) {
  SlotModel m(slot, seed, profile);
  std::vector<Segment> v[4];
  m.warm_up(v[0]);
  for (uint32_t i = 1; i <= 3; ++i) m.visit(i, v[i]);
  if (v[1].size() != v[2].size() || v[2].size() != v[3].size()) not_linear(slot, 0, "length");
  for (size_t i = 0; i < v[1].size(); ++i) {
    const Segment &a = v[1][i], &b = v[2][i], &c = v[3][i];
    if (a.side != b.side || a.flags != b.flags || a.tpl != b.tpl ||
        a.payload_len != b.payload_len || b.side != c.side || b.flags != c.flags ||
        b.payload_len != c.payload_len) {
      not_linear(slot, i, "shape");
    }
    Record r = to_record(m, a);
    r.seq_step = b.seq - a.seq;
    if (c.seq - b.seq != r.seq_step) not_linear(slot, i, "seq");
    r.ack_step = b.ack - a.ack;
    if (c.ack - b.ack != r.ack_step) not_linear(slot, i, "ack");
    r.ip_id_step = static_cast<uint16_t>(b.ip_id - a.ip_id);
    if (static_cast<uint16_t>(c.ip_id - b.ip_id) != r.ip_id_step) not_linear(slot, i, "ip id");
    const auto ts_bit = [&](uint32_t x, uint32_t y, uint32_t z, uint8_t bit, const char* what) {
      if (y - x == kTsStep && z - y == kTsStep) {
        r.bits |= bit;
      } else if (y != x || z != y) {
        not_linear(slot, i, what);
      }
    };
    ts_bit(a.tsval, b.tsval, c.tsval, Record::kTsvalSteps, "tsval");
    ts_bit(a.tsecr, b.tsecr, c.tsecr, Record::kTsecrSteps, "tsecr");
    if (b.client_port != a.client_port) {
      if (b.client_port != client_port_of(a.client_port - 1024, 1) ||
          c.client_port != client_port_of(a.client_port - 1024, 2)) {
        not_linear(slot, i, "client port");
      }
      r.bits |= Record::kPortSteps;
    } else if (c.client_port != b.client_port) {
      not_linear(slot, i, "client port");
    }
    out.push_back(r);
  }
}

// What a replay holds, by kind (for the mix description).
struct Mix {
  uint64_t frames = 0, bytes = 0, small = 0, medium = 0, large = 0;
  uint64_t syns = 0, fins = 0, resets_legit = 0, resets_forged = 0;
};

uint32_t frame_len(const Templates& t, const Record& r) {
  return std::max<uint32_t>(t.t[r.tpl].header_len + r.payload_len, kMinFrame);
}

// ---------------------------------------------------------- the script ---

// The slots of one generator and their interleaved replay.
struct Script {
  std::vector<uint32_t> slots;  // population indexes, in warm-up order
  std::vector<Record> replay;
  Mix mix;
};

Script build_script(uint32_t population, uint16_t part, uint16_t parts, uint64_t seed,
                    const Profile& profile, const Templates& templates) {
  Script s;
  for (uint32_t slot = part; slot < population; slot += parts) s.slots.push_back(slot);
  std::vector<Record> by_slot;
  by_slot.reserve(s.slots.size() * 8);
  std::vector<uint32_t> first(s.slots.size() + 1);
  for (size_t i = 0; i < s.slots.size(); ++i) {
    first[i] = static_cast<uint32_t>(by_slot.size());
    build_records(s.slots[i], seed, profile, by_slot);
  }
  first[s.slots.size()] = static_cast<uint32_t>(by_slot.size());
  // A random interleaving that keeps each slot's packets in order: shuffle
  // the multiset of slot indexes, then deal each slot's records in turn.
  std::vector<uint32_t> order;
  order.reserve(by_slot.size());
  for (uint32_t i = 0; i < s.slots.size(); ++i) {
    order.insert(order.end(), first[i + 1] - first[i], i);
  }
  Rng rng(seed ^ 0x5EED'0000'0000ull ^ (static_cast<uint64_t>(part) << 16));
  for (size_t i = order.size(); i > 1; --i) {
    std::swap(order[i - 1], order[rng.below(static_cast<uint32_t>(i))]);
  }
  s.replay.reserve(by_slot.size());
  for (uint32_t idx : order) s.replay.push_back(by_slot[first[idx]++]);
  for (const Record& r : s.replay) {
    const uint32_t len = frame_len(templates, r);
    ++s.mix.frames;
    s.mix.bytes += len;
    if (len <= 128) {
      ++s.mix.small;
    } else if (len < 1024) {
      ++s.mix.medium;
    } else {
      ++s.mix.large;
    }
    if (r.flags & kSyn) ++s.mix.syns;
    if (r.flags & kFin) ++s.mix.fins;
    if (r.flags & kRst) ++(r.tpl == kTplBare ? s.mix.resets_forged : s.mix.resets_legit);
  }
  return s;
}

// The mix of a replay, estimated from the visits of up to 20000 slots.
Mix build_mix_estimate(uint64_t flows, const Profile& profile) {
  const Templates templates;
  const uint32_t sample = static_cast<uint32_t>(std::min<uint64_t>(flows, 20'000));
  return build_script(sample, 0, 1, 1, profile, templates).mix;
}

// ------------------------------------------------------------ generator ---

// Writes the frame of record `r` in replay `k` at `out` (kHeaderRoom bytes,
// zero beyond); returns its length. The checksums are summed from the
// values in registers plus the template's constant words: summing the
// header just stored would stall on store-to-load forwarding.
inline uint32_t write_frame(const Templates& templates, const Record& r, uint32_t k,
                            uint8_t* out) {
  const FrameTemplate& t = templates.t[r.tpl];
  std::memcpy(out, t.bytes, kHeaderRoom);
  const bool from_server = (r.bits & Record::kFromServer) != 0;
  uint16_t client_port = r.client_port;
  if (r.bits & Record::kPortSteps) client_port = client_port_of(r.client_port - 1024u, k);
  const uint32_t src = __builtin_bswap32(from_server ? r.server_addr : r.client_addr);
  const uint32_t dst = __builtin_bswap32(from_server ? r.client_addr : r.server_addr);
  const uint16_t sport = __builtin_bswap16(from_server ? r.server_port : client_port);
  const uint16_t dport = __builtin_bswap16(from_server ? client_port : r.server_port);
  const uint32_t l4_len = t.tcp_header_len + r.payload_len;
  const uint16_t total = __builtin_bswap16(static_cast<uint16_t>(kIpHdr + l4_len));
  const uint16_t ip_id = __builtin_bswap16(static_cast<uint16_t>(r.ip_id + k * r.ip_id_step));
  uint8_t* iph = out + kEthHdr;
  put<uint16_t>(iph + 2, total);
  put<uint16_t>(iph + 4, ip_id);
  iph[8] = r.ttl;
  put<uint32_t>(iph + 12, src);
  put<uint32_t>(iph + 16, dst);
  // Words as they lie in memory: the TTL is the low byte of its word.
  put<uint16_t>(iph + 10,
                fold(t.ip_sum + total + ip_id + r.ttl + static_cast<uint64_t>(src) + dst));
  const uint32_t seq = __builtin_bswap32(r.seq + k * r.seq_step);
  const uint32_t ack = __builtin_bswap32(r.ack + k * r.ack_step);
  const uint16_t window = __builtin_bswap16(r.window);
  uint8_t* tcp = iph + kIpHdr;
  put<uint16_t>(tcp + 0, sport);
  put<uint16_t>(tcp + 2, dport);
  put<uint32_t>(tcp + 4, seq);
  put<uint32_t>(tcp + 8, ack);
  tcp[13] = r.flags;
  put<uint16_t>(tcp + 14, window);
  uint64_t sum = t.tcp_sum + sport + dport + static_cast<uint64_t>(seq) + ack +
                 (static_cast<uint32_t>(r.flags) << 8) + window;
  if (t.ts_offset != 0) {
    const uint32_t tsval =
        __builtin_bswap32(r.tsval + ((r.bits & Record::kTsvalSteps) ? k * kTsStep : 0));
    const uint32_t tsecr =
        __builtin_bswap32(r.tsecr + ((r.bits & Record::kTsecrSteps) ? k * kTsStep : 0));
    put<uint32_t>(out + t.ts_offset, tsval);
    put<uint32_t>(out + t.ts_offset + 4, tsecr);
    sum += static_cast<uint64_t>(tsval) + tsecr;  // ts_offset is even: word-aligned
  }
  // Pseudo-header; the payload is zero and adds nothing.
  sum += static_cast<uint64_t>(src) + dst +
         __builtin_bswap16(static_cast<uint16_t>(wire::kIpProtoTcp)) +
         __builtin_bswap16(static_cast<uint16_t>(l4_len));
  put<uint16_t>(tcp + 16, fold(sum));
  return std::max<uint32_t>(t.header_len + r.payload_len, kMinFrame);
}

// Parses the first frames of a replay (k = 0 and 1) with rstguard's own
// parser and checks both checksums: the generator's shortcuts must not
// cost the worker a bad-checksum verdict.
void check_frames(const Templates& templates, const std::vector<Record>& replay) {
  std::vector<uint8_t> buf(2048, 0);
  for (uint32_t k = 0; k < 2; ++k) {
    for (size_t i = 0; i < std::min<size_t>(replay.size(), 4096); ++i) {
      std::fill(buf.begin(), buf.end(), 0);
      const uint32_t len = write_frame(templates, replay[i], k, buf.data());
      PacketView v;
      if (parse_frame(buf.data(), len, len, v) != ParseResult::ok ||
          tcp_checksum(v) != Checksum::kGood || ipv4_header_checksum(v) != Checksum::kGood) {
        std::fprintf(stderr, "rstguard-bench-live: generated frame %zu (replay %u) is wrong\n",
                     i, k);
        std::abort();
      }
    }
  }
}

// Writes the traffic of one script into the mbufs of one rx queue: the
// warm-up first (segments simulated on the fly, slot by slot), then the
// replay, forever. Runs in the rx callback, on the polling lcore only.
// Several generators may share a script (the reference loop's does, with
// its own position and no warm-up).
class Generator {
 public:
  Generator(std::shared_ptr<const Script> script, bool warm_up, uint64_t seed,
            const Profile& profile, const Templates& templates)
      : script_(std::move(script)),
        seed_(seed),
        profile_(profile),
        templates_(templates),
        warm_slot_(warm_up ? 0 : script_->slots.size()) {
    if (!warm_up) warmed_up_.store(true);
  }

  // The rx callback body: rewrites the n mbufs in place.
  void fill(rte_mbuf** pkts, uint16_t n) {
    for (uint16_t i = 0; i < n; ++i) {
      uint32_t k;
      const Record& r = next(k);
      rte_mbuf* m = pkts[i];
      const uint32_t len = write_frame(templates_, r, k, rte_pktmbuf_mtod(m, uint8_t*));
      m->data_len = static_cast<uint16_t>(len);
      m->pkt_len = len;
    }
    steady_packets_.store(steady_local_, std::memory_order_relaxed);
  }

  bool warmed_up() const { return warmed_up_.load(std::memory_order_acquire); }
  uint64_t steady_packets() const { return steady_packets_.load(std::memory_order_relaxed); }
  uint64_t warm_up_packets() const { return warm_up_packets_; }  // after warmed_up()
  const Script& script() const { return *script_; }

  // The next `n` frames without mbufs (capture mode): fn(frame, len).
  template <typename Fn>
  void for_each_frame(uint64_t n, Fn&& fn) {
    uint8_t buf[2048] = {};
    for (uint64_t i = 0; i < n; ++i) {
      uint32_t k;
      const Record& r = next(k);
      fn(buf, write_frame(templates_, r, k, buf));
    }
  }

 private:
  const Record& next(uint32_t& k) {
    if (warm_pos_ < warm_.size() || refill_warm_up()) {
      k = 0;
      return warm_[warm_pos_++];
    }
    const Record& r = script_->replay[pos_];
    k = replay_;
    if (++pos_ == script_->replay.size()) {
      pos_ = 0;
      ++replay_;
    }
    ++steady_local_;
    return r;
  }

  // Simulates the warm-up of the next slots; false once all are done.
  bool refill_warm_up() {
    if (warm_slot_ == script_->slots.size()) return false;
    warm_.clear();
    warm_pos_ = 0;
    std::vector<Segment> segments;
    for (int n = 0; n < 64 && warm_slot_ < script_->slots.size(); ++n, ++warm_slot_) {
      SlotModel m(script_->slots[warm_slot_], seed_, profile_);
      segments.clear();
      m.warm_up(segments);
      for (const Segment& g : segments) warm_.push_back(to_record(m, g));
    }
    warm_up_packets_ += warm_.size();
    if (warm_slot_ == script_->slots.size()) {
      // The last warm-up frames are about to go; the replay follows them.
      warmed_up_.store(true, std::memory_order_release);
    }
    return true;
  }

  std::shared_ptr<const Script> script_;
  uint64_t seed_;
  Profile profile_;
  const Templates& templates_;
  std::vector<Record> warm_;
  size_t warm_pos_ = 0;
  size_t warm_slot_;
  uint64_t warm_up_packets_ = 0;
  size_t pos_ = 0;
  uint32_t replay_ = 0;
  uint64_t steady_local_ = 0;
  std::atomic<uint64_t> steady_packets_{0};
  std::atomic<bool> warmed_up_{false};
};

// The rx callback of a queue of port 0 calls the generator this points to.
struct GeneratorSlot {
  std::atomic<Generator*> generator{nullptr};
};

uint16_t generate_rx(uint16_t /*port*/, uint16_t /*queue*/, rte_mbuf** pkts, uint16_t n,
                     uint16_t /*max*/, void* user) {
  Generator* g = static_cast<GeneratorSlot*>(user)->generator.load(std::memory_order_acquire);
  if (g == nullptr) {
    rte_pktmbuf_free_bulk(pkts, n);
    return 0;
  }
  g->fill(pkts, n);
  return n;
}

// ------------------------------------------------------------ reference ---

// Forwards a burst to tx_port the way LiveWorker does: a full-enough burst
// with one tx burst (after what the buffer holds), a small one through the
// buffer; what the device refuses is freed.
void forward_burst(uint16_t tx_port, uint16_t queue, rte_eth_dev_tx_buffer* buffer,
                   rte_mbuf** pkts, uint16_t n) {
  if (n < kBurst / 2) {
    for (uint16_t i = 0; i < n; ++i) rte_eth_tx_buffer(tx_port, queue, buffer, pkts[i]);
    return;
  }
  rte_eth_tx_buffer_flush(tx_port, queue, buffer);
  const uint16_t sent = rte_eth_tx_burst(tx_port, queue, pkts, n);
  if (sent < n) rte_pktmbuf_free_bulk(pkts + sent, n - sent);
}

// Everything but the worker: the same rx burst (with the generator), tx
// to the peer port and flushed as LiveWorker does, mbufs freed by the
// peer's tx. Runs until *stop. With a `table`, also the flow lookup alone
// (the "table floor"): each frame parsed, keyed and hashed, the staged
// lookup of the worker (tag lines, then each entry's two lines, 32 ahead),
// and both lines of the entry read; no tracking, no state written. It is
// the issue's calibration (a bulk hash lookup touching a 128-byte record)
// done with rstguard's own table in this harness.
struct ReferenceLoop {
  uint16_t rx_port = 0, tx_port = 1, queue = 0;
  uint64_t tx_flush_cycles = 0;
  const std::atomic<bool>* stop = nullptr;
  rte_eth_dev_tx_buffer* tx_buffer = nullptr;
  FlowTable* table = nullptr;
  bool parse_only = false;  // with a table: parse, key and hash, no lookup
  uint32_t now_ms = 0;  // the worker clock (wall time, ms) at launch
  uint64_t found = 0, missed = 0, checksum = 0;

  static int launch(void* self) { return static_cast<ReferenceLoop*>(self)->run(); }
  int run() {
    rte_mbuf* pkts[kBurst];
    uint64_t last_flush = rte_rdtsc();
    while (!stop->load(std::memory_order_relaxed)) {
      const uint64_t tsc = rte_rdtsc();
      const uint16_t n = rte_eth_rx_burst(rx_port, queue, pkts, kBurst);
      if (table != nullptr) look_up(pkts, n);
      forward_burst(tx_port, queue, tx_buffer, pkts, n);
      if (tsc - last_flush > tx_flush_cycles) {
        rte_eth_tx_buffer_flush(tx_port, queue, tx_buffer);
        last_flush = tsc;
      }
    }
    rte_eth_tx_buffer_flush(tx_port, queue, tx_buffer);
    return 0;
  }

  void look_up(rte_mbuf** pkts, uint16_t n) {
    PacketView views[kBurst];
    bool ok[kBurst];
    FlowKey keys[kBurst];
    uint64_t hashes[kBurst];
    for (uint16_t i = 0; i < n; ++i) {
      const rte_mbuf* m = pkts[i];
      ok[i] = parse_frame(rte_pktmbuf_mtod(m, const uint8_t*), rte_pktmbuf_data_len(m),
                          rte_pktmbuf_pkt_len(m), views[i]) == ParseResult::ok;
    }
    for (uint16_t i = 0; i < n; ++i) {
      if (!ok[i]) continue;
      int side;
      keys[i] = make_flow_key(views[i], side);
      hashes[i] = hash_flow_key(keys[i]);
      if (parse_only) {
        checksum += hashes[i];
        continue;
      }
      table->prefetch_tags(hashes[i]);
    }
    if (parse_only) return;
    for (uint16_t i = 0; i < n; ++i) {
      if (ok[i]) table->prefetch_slot(hashes[i]);
    }
    for (uint16_t i = 0; i < n; ++i) {
      if (!ok[i]) continue;
      const FlowEntry* f = table->find(keys[i], hashes[i], now_ms);
      if (f == nullptr) {
        ++missed;
        continue;
      }
      ++found;
      checksum += f->last_seen_ms + f->dir[views[i].src_port == f->key.port_a ? 0 : 1].snd_nxt;
    }
  }
};

// -------------------------------------------------------------- options ---

struct Options {
  std::vector<uint64_t> flows = {10'000, 1'000'000};
  bool flows_set = false;
  double seconds = 3.0;  // per loop, split into `rounds` windows
  int rounds = 5;
  bool one_worker = true;
  bool two_workers = true;
  uint64_t seed = 1;
  bool quick = false;
  bool json = false;
  std::string write_pcap;
  uint64_t packets = 3'000'000;
  std::string perf_ctl;  // perf --control FIFOs: sample only one-worker windows
};


const char kUsage[] =
    "usage: rstguard-bench-live [--flows N[,N...]] [--seconds S] [--rounds R]\n"
    "                           [--workers 1|2|1,2] [--seed X] [--quick] [--json]\n"
    "                           [--perf-ctl CTL[,ACK]]\n"
    "       rstguard-bench-live --write-pcap FILE [--packets N] [--flows N] [--seed X]\n"
    "  --flows      concurrent connections per run (default 10k,1M; k and M suffixes)\n"
    "  --seconds    measured time per loop (default 3)\n"
    "  --rounds     windows per loop: the loops' windows alternate (default 5)\n"
    "  --workers    which runs: one worker (and the reference), two workers (default 1,2)\n"
    "  --quick      a short run to check that it works (flows 1k,10k, 0.1 s, 2 rounds)\n"
    "  --json       one JSON object instead of text\n"
    "  --perf-ctl CTL[,ACK]  perf record --control=fifo:CTL[,ACK]: sample only the\n"
    "               one-worker windows\n"
    "  --write-pcap write a capture of small TCP packets instead (default 3M packets,\n"
    "               20k flows); no EAL\n";

bool parse_options(int argc, char** argv, Options& opt) {
  bool seconds_set = false, rounds_set = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    const bool has_value = i + 1 < argc;
    if (a == "--quick") {
      opt.quick = true;
    } else if (a == "--json") {
      opt.json = true;
    } else if (a == "--flows" && has_value) {
      if (!parse_count_list(argv[++i], (1u << 24), opt.flows)) return false;
      opt.flows_set = true;
    } else if (a == "--seconds" && has_value) {
      opt.seconds = std::atof(argv[++i]);
      if (!(opt.seconds > 0)) return false;
      seconds_set = true;
    } else if (a == "--workers" && has_value) {
      const std::string_view w = argv[++i];
      opt.one_worker = w == "1" || w == "1,2";
      opt.two_workers = w == "2" || w == "1,2";
      if (!opt.one_worker && !opt.two_workers) return false;
    } else if (a == "--rounds" && has_value) {
      opt.rounds = std::atoi(argv[++i]);
      rounds_set = true;
      if (opt.rounds < 1 || opt.rounds > 1000) return false;
    } else if (a == "--seed" && has_value) {
      opt.seed = std::strtoull(argv[++i], nullptr, 0);
    } else if (a == "--perf-ctl" && has_value) {
      opt.perf_ctl = argv[++i];
    } else if (a == "--write-pcap" && has_value) {
      opt.write_pcap = argv[++i];
    } else if (a == "--packets" && has_value) {
      if (!parse_count(argv[++i], opt.packets)) return false;
    } else {
      return false;
    }
  }
  if (opt.quick) {
    if (!opt.flows_set) opt.flows = {1000, 10'000};
    if (!seconds_set) opt.seconds = 0.1;
    if (!rounds_set) opt.rounds = 2;
  }
  return true;
}

// ------------------------------------------------------------- capture ---

int write_capture(const Options& opt) {
  const uint64_t flows = opt.flows_set ? opt.flows.front() : 20'000;
  Profile profile;
  profile.request_min = 0;
  profile.request_max = 160;
  profile.small = true;
  const Templates templates;
  auto script = std::make_shared<const Script>(
      build_script(static_cast<uint32_t>(flows), 0, 1, opt.seed, profile, templates));
  check_frames(templates, script->replay);
  Generator gen(script, true, opt.seed, profile, templates);
  std::string error;
  auto writer = CaptureWriter::open(opt.write_pcap, 1, &error);
  if (!writer) {
    std::fprintf(stderr, "rstguard-bench-live: %s\n", error.c_str());
    return 1;
  }
  constexpr uint64_t kStartNs = 1'700'000'000ull * kNsPerSec;
  constexpr uint64_t kGapNs = 1000;  // 1 Mpps of packet time
  uint64_t ts = kStartNs, bytes = 0;
  bool ok = true;
  gen.for_each_frame(opt.packets, [&](const uint8_t* frame, uint32_t len) {
    ok = ok && writer->write(frame, len, len, ts);
    ts += kGapNs;
    bytes += len;
  });
  if (!ok || !writer->flush()) {
    std::fprintf(stderr, "rstguard-bench-live: %s\n", writer->error().c_str());
    return 1;
  }
  const Mix& m = gen.script().mix;
  std::printf(
      "wrote %s: %" PRIu64 " frames, %.1f MB of frames (mean %.0f B), %" PRIu64
      " flows (warm-up %" PRIu64 " frames, then replays of %" PRIu64
      " frames); replay mix: SYN %.2f%%, FIN %.2f%%, RST legit %.3f%% forged %.3f%%\n",
      opt.write_pcap.c_str(), opt.packets, static_cast<double>(bytes) / 1e6,
      static_cast<double>(bytes) / static_cast<double>(opt.packets), flows,
      gen.warm_up_packets(), m.frames, 100.0 * m.syns / m.frames, 100.0 * m.fins / m.frames,
      100.0 * m.resets_legit / m.frames, 100.0 * m.resets_forged / m.frames);
  return 0;
}

// ------------------------------------------------------------------ EAL ---

struct Cpus {
  int a = -1, b = -1;  // the first two CPUs we may run on (b = -1: only one)
};

Cpus allowed_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  Cpus c;
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return c;
  for (int i = 0; i < CPU_SETSIZE; ++i) {
    if (!CPU_ISSET(i, &set)) continue;
    if (c.a < 0) {
      c.a = i;
    } else {
      c.b = i;
      break;
    }
  }
  return c;
}

// rcu/policy fields appeared in LiveShared with policy reloads; fill them
// when present so that this tool builds against either version.
template <typename Shared>
void prepare_policy(Shared& shared, uint16_t workers) {
  if constexpr (requires { shared.rcu; shared.policy; }) {
    using PolicyAtomic = std::remove_const_t<std::remove_pointer_t<decltype(shared.policy)>>;
    static PolicyAtomic no_policy{nullptr};
    shared.policy = &no_policy;
    const size_t size = rte_rcu_qsbr_get_memsize(workers);
    auto* qs = static_cast<rte_rcu_qsbr*>(rte_zmalloc("bench_rcu", size, RTE_CACHE_LINE_SIZE));
    if (qs == nullptr || rte_rcu_qsbr_init(qs, workers) != 0) {
      std::fprintf(stderr, "rstguard-bench-live: cannot set up RCU\n");
      std::exit(1);
    }
    shared.rcu = qs;
  } else {
    (void)shared;
    (void)workers;
  }
}

bool setup_null_port(uint16_t port, uint16_t queues, rte_mempool* pool) {
  rte_eth_conf conf{};
  if (rte_eth_dev_configure(port, queues, queues, &conf) != 0) return false;
  for (uint16_t q = 0; q < queues; ++q) {
    if (rte_eth_rx_queue_setup(port, q, 1024, rte_eth_dev_socket_id(port), nullptr, pool) != 0 ||
        rte_eth_tx_queue_setup(port, q, 1024, rte_eth_dev_socket_id(port), nullptr) != 0) {
      return false;
    }
  }
  return rte_eth_dev_start(port) == 0;
}

void zero_data_room(rte_mempool*, void*, void* obj, unsigned) {
  auto* m = static_cast<rte_mbuf*>(obj);
  std::memset(m->buf_addr, 0, m->buf_len);
}

// ----------------------------------------------------------------- runs ---

// One loop's measurement windows, summed; per-window rates kept for the
// spread (this is a shared VM: windows of the loops alternate so that each
// sees the same background).
struct LoopResult {
  uint64_t packets = 0;
  uint64_t ticks = 0;
  double hz = 1;
  uint16_t lcores = 1;
  std::vector<double> window_mpps;
  double mpps() const { return ticks ? packets * hz / ticks / 1e6 : 0; }
  double ns() const { return packets ? ticks * 1e9 / hz / packets : 0; }
  double cycles() const { return packets ? static_cast<double>(ticks) * lcores / packets : 0; }
  double min_mpps() const {
    return window_mpps.empty() ? 0 : *std::min_element(window_mpps.begin(), window_mpps.end());
  }
  double max_mpps() const {
    return window_mpps.empty() ? 0 : *std::max_element(window_mpps.begin(), window_mpps.end());
  }
  void add(uint64_t p, uint64_t t) {
    packets += p;
    ticks += t;
    window_mpps.push_back(t ? p * hz / t / 1e6 : 0);
  }
};

struct WorkerRun {
  LoopResult loop;
  uint64_t warm_up_packets = 0;
  double warm_up_seconds = 0;
  uint64_t table_bytes = 0, table_capacity = 0, table_entries = 0;
  Counters counters;  // whole run, warm-up included
  dpdk::LiveStats stats;
};

struct FlowsResult {
  uint64_t flows = 0;
  Mix mix;
  uint64_t replay_frames = 0;
  bool has_one = false, has_two = false;
  WorkerRun one, two;
  LoopResult reference;
  LoopResult parse;  // the reference plus parse, key and hash
  LoopResult table;  // the reference plus the flow lookup alone
  uint64_t table_found = 0, table_missed = 0;
  uint64_t events_drained = 0;
};


// The workers of one configuration (one worker, or two), their generators
// and lcores. Built before the measured windows, kept across them.
struct Crew {
  std::vector<std::shared_ptr<const Script>> scripts;
  std::vector<std::unique_ptr<Generator>> generators;
  std::vector<std::unique_ptr<dpdk::LiveWorker>> workers;
  std::vector<unsigned> lcores;
  WorkerRun run;
};

class Bench {
 public:
  Bench(const Options& opt, unsigned one_lcore, std::vector<unsigned> two_lcores)
      : opt_(opt), one_lcore_(one_lcore), two_lcores_(std::move(two_lcores)), perf_(opt.perf_ctl, "rstguard-bench-live") {}

  bool init() {
    pool_ = rte_pktmbuf_pool_create("bench_mbufs", kMbufs, kMbufCache, 0,
                                    RTE_MBUF_DEFAULT_BUF_SIZE, static_cast<int>(rte_socket_id()));
    if (pool_ == nullptr) {
      std::fprintf(stderr, "rstguard-bench-live: mempool: %s\n", rte_strerror(rte_errno));
      return false;
    }
    rte_mempool_obj_iter(pool_, zero_data_room, nullptr);
    if (rte_eth_dev_count_avail() < 2 || !setup_null_port(0, kMaxWorkers, pool_) ||
        !setup_null_port(1, kMaxWorkers, pool_)) {
      std::fprintf(stderr, "rstguard-bench-live: cannot set up the two net_null ports\n");
      return false;
    }
    for (uint16_t q = 0; q < kMaxWorkers; ++q) {
      if (rte_eth_add_rx_callback(0, q, generate_rx, &slots_[q]) == nullptr) {
        std::fprintf(stderr, "rstguard-bench-live: rx callback: %s\n", rte_strerror(rte_errno));
        return false;
      }
      const std::string name = "bench_events_" + std::to_string(q);
      events_[q] = rte_ring_create_elem(name.c_str(), sizeof(RstEvent), kEventRing,
                                        static_cast<int>(rte_socket_id()),
                                        RING_F_SP_ENQ | RING_F_SC_DEQ);
      tx_buffers_[q] = static_cast<rte_eth_dev_tx_buffer*>(
          rte_zmalloc("bench_txbuf", RTE_ETH_TX_BUFFER_SIZE(kBurst), 0));
      if (events_[q] == nullptr || tx_buffers_[q] == nullptr) return false;
      rte_eth_tx_buffer_init(tx_buffers_[q], kBurst);
    }
    hz_ = static_cast<double>(rte_get_tsc_hz());
    shared_.forward = true;
    shared_.peer = {1, 0};
    shared_.software_rehash = false;
    shared_.tsc_hz = rte_get_tsc_hz();
    shared_.tsc_base = rte_rdtsc();
    shared_.wall_base_ns = static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(
            std::chrono::system_clock::now().time_since_epoch())
            .count());
    shared_.tx_flush_cycles = 100 * rte_get_tsc_hz() / 1'000'000;  // rstguard's default 100 us
    shared_.idle_sleep_us = 0;
    shared_.stop = &stop_;
    prepare_policy(shared_, kMaxWorkers);
    return true;
  }

  bool can_run_two() const { return two_lcores_.size() == 2; }

  // Builds both crews, warms them up, then alternates measured windows:
  // one worker, the reference, two workers; `rounds` times.
  FlowsResult run(uint64_t flows) {
    FlowsResult r;
    r.flows = flows;
    const Profile profile;
    std::unique_ptr<Crew> one, two;
    std::unique_ptr<Generator> reference;
    if (opt_.one_worker) {
      one = make_crew(flows, 1, {one_lcore_}, profile);
      r.mix = one->scripts[0]->mix;
      r.replay_frames = one->scripts[0]->replay.size();
      reference = std::make_unique<Generator>(one->scripts[0], false, opt_.seed, profile,
                                              templates_);
    }
    if (opt_.two_workers && can_run_two()) {
      two = make_crew(flows, 2, two_lcores_, profile);
      if (!one) {
        r.mix = two->scripts[0]->mix;
        r.replay_frames = two->scripts[0]->replay.size() + two->scripts[1]->replay.size();
      }
    }
    for (Crew* c : {one.get(), two.get()}) {
      if (c != nullptr) warm_up(*c, &r.events_drained);
    }
    const double window = opt_.seconds / opt_.rounds;
    for (int round = 0; round < opt_.rounds; ++round) {
      if (one) {
        perf_.enable();
        window_workers(*one, window, &r.events_drained);
        perf_.disable();
        window_reference(*reference, one_lcore_, window, r.reference, nullptr, false, nullptr);
        // The worker's own table, read only, while the worker is stopped.
        auto* table = const_cast<FlowTable*>(&one->workers[0]->core().flows());
        window_reference(*reference, one_lcore_, window, r.parse, table, true, nullptr);
        window_reference(*reference, one_lcore_, window, r.table, table, false, &r);
      }
      if (two) window_workers(*two, window, &r.events_drained);
    }
    r.events_drained += drain_events();
    if (one) {
      r.one = finish(*one);
      r.has_one = true;
    }
    if (two) {
      r.two = finish(*two);
      r.has_two = true;
    }
    for (auto& slot : slots_) slot.generator.store(nullptr, std::memory_order_release);
    return r;
  }

 private:
  std::unique_ptr<Crew> make_crew(uint64_t flows, uint16_t n, std::vector<unsigned> lcores,
                                  const Profile& profile) {
    auto c = std::make_unique<Crew>();
    c->lcores = std::move(lcores);
    c->run.loop.hz = hz_;
    c->run.loop.lcores = n;
    // Capacity: the flows, N/16, and twice the closed entries that linger:
    // closes per second at kAssumedMpps per worker, times the closed timeout
    // plus one collector sweep (about capacity / rate).
    const uint64_t per_worker = (flows + n - 1) / n;
    const Mix mix = build_mix_estimate(flows, profile);
    const double closes_per_frame =
        mix.frames ? (mix.fins / 2.0 + mix.resets_legit) / static_cast<double>(mix.frames) : 0;
    const double base = static_cast<double>(per_worker + per_worker / 16 + 1024);
    const double linger = kAssumedMpps * 1e6 * closes_per_frame *
                          (static_cast<double>(kClosedTimeoutNs) / kNsPerSec +
                           base / (kAssumedMpps * 1e6));
    WorkerParams params;
    params.flow.capacity = static_cast<uint32_t>(base + 2 * linger);
    params.flow.timeouts.embryonic_ns = kLiveTimeoutNs;
    params.flow.timeouts.established_ns = kLiveTimeoutNs;
    params.flow.timeouts.closing_ns = kLiveTimeoutNs;
    params.flow.timeouts.time_wait_ns = kClosedTimeoutNs;
    params.flow.timeouts.closed_ns = kClosedTimeoutNs;
    params.judge.verify_checksums = true;
    for (uint16_t w = 0; w < n; ++w) {
      c->scripts.push_back(std::make_shared<const Script>(build_script(
          static_cast<uint32_t>(flows), w, n, opt_.seed, profile, templates_)));
      check_frames(templates_, c->scripts.back()->replay);
      c->generators.push_back(
          std::make_unique<Generator>(c->scripts.back(), true, opt_.seed, profile, templates_));
      // Worker w uses rx and tx queue w, event ring w and RCU thread id w;
      // the crews never run at the same time.
      c->workers.push_back(std::make_unique<dpdk::LiveWorker>(
          w, shared_, params, std::vector<dpdk::RxSource>{{0, w}}, events_[w],
          static_cast<int>(rte_socket_id())));
    }
    return c;
  }

  uint64_t drain_events() {
    uint64_t n = 0;
    for (rte_ring* ring : events_) {
      for (;;) {
        const unsigned got = rte_ring_dequeue_burst_elem(
            ring, drained_.data(), sizeof(RstEvent), static_cast<unsigned>(drained_.size()),
            nullptr);
        n += got;
        if (got < drained_.size()) break;
      }
    }
    return n;
  }

  // Sleeps `seconds`, draining the event rings every 50 ms.
  void idle(double seconds, uint64_t* drained) {
    const auto end = std::chrono::steady_clock::now() +
                     std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                         std::chrono::duration<double>(seconds));
    for (auto now = std::chrono::steady_clock::now(); now < end;
         now = std::chrono::steady_clock::now()) {
      std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
          end - now, std::chrono::milliseconds(50)));
      *drained += drain_events();
    }
  }

  void launch(Crew& c) {
    for (size_t w = 0; w < c.workers.size(); ++w) {
      slots_[w].generator.store(c.generators[w].get(), std::memory_order_release);
    }
    stop_.store(false);
    for (size_t w = 0; w < c.workers.size(); ++w) {
      rte_eal_remote_launch(dpdk::LiveWorker::launch, c.workers[w].get(), c.lcores[w]);
    }
  }

  void halt(const std::vector<unsigned>& lcores) {
    stop_.store(true);
    for (unsigned lc : lcores) rte_eal_wait_lcore(lc);
  }

  void warm_up(Crew& c, uint64_t* drained) {
    const auto t0 = std::chrono::steady_clock::now();
    launch(c);
    for (auto& g : c.generators) {
      while (!g->warmed_up()) idle(0.01, drained);
    }
    idle(0.05, drained);  // the last warm-up frames go through
    halt(c.lcores);
    c.run.warm_up_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    for (auto& g : c.generators) c.run.warm_up_packets += g->warm_up_packets();
  }

  // One measured window: packets generated (= received by the loop) over
  // TSC time, after a short settling period.
  void window_of(const std::vector<const Generator*>& gens, double seconds, LoopResult& out,
                 uint64_t* drained) {
    idle(0.02, drained);
    uint64_t c0 = 0, c1 = 0;
    for (const Generator* g : gens) c0 += g->steady_packets();
    const uint64_t t0 = rte_rdtsc();
    idle(seconds, drained);
    for (const Generator* g : gens) c1 += g->steady_packets();
    out.add(c1 - c0, rte_rdtsc() - t0);
  }

  void window_workers(Crew& c, double seconds, uint64_t* drained) {
    launch(c);
    std::vector<const Generator*> gens;
    for (auto& g : c.generators) gens.push_back(g.get());
    window_of(gens, seconds, c.run.loop, drained);
    halt(c.lcores);
  }

  void window_reference(Generator& gen, unsigned lcore, double seconds, LoopResult& out,
                        FlowTable* table, bool parse_only, FlowsResult* lookups) {
    out.hz = hz_;
    slots_[0].generator.store(&gen, std::memory_order_release);
    ReferenceLoop loop;
    loop.queue = 0;
    loop.tx_flush_cycles = shared_.tx_flush_cycles;
    loop.stop = &stop_;
    loop.tx_buffer = tx_buffers_[0];
    loop.table = table;
    loop.parse_only = parse_only;
    loop.now_ms = static_cast<uint32_t>(
                      std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count()) |
                  1u;
    stop_.store(false);
    rte_eal_remote_launch(ReferenceLoop::launch, &loop, lcore);
    uint64_t ignored = 0;
    window_of({&gen}, seconds, out, &ignored);
    halt({lcore});
    sink_ += loop.checksum;
    if (lookups != nullptr) {
      lookups->table_found += loop.found;
      lookups->table_missed += loop.missed;
    }
  }

  WorkerRun finish(Crew& c) {
    WorkerRun run = std::move(c.run);
    for (auto& w : c.workers) {
      run.table_bytes += w->core().flows().memory_bytes();
      run.table_capacity += w->core().flows().capacity();
      run.table_entries += w->core().flows().size();
      run.counters.add(w->core().counters());
      const dpdk::LiveStats& s = w->stats();
      run.stats.rx += s.rx;
      run.stats.tx += s.tx;
      run.stats.freed += s.freed;
      run.stats.tx_dropped += s.tx_dropped;
      run.stats.event_overflow += s.event_overflow;
    }
    return run;
  }

  const Options& opt_;
  unsigned one_lcore_;
  std::vector<unsigned> two_lcores_;
  PerfControl perf_;
  Templates templates_;
  rte_mempool* pool_ = nullptr;
  GeneratorSlot slots_[kMaxWorkers];
  rte_ring* events_[kMaxWorkers] = {};
  rte_eth_dev_tx_buffer* tx_buffers_[kMaxWorkers] = {};
  std::vector<RstEvent> drained_ = std::vector<RstEvent>(512);
  dpdk::LiveShared shared_;
  std::atomic<bool> stop_{false};
  double hz_ = 1;
  volatile uint64_t sink_ = 0;  // keeps the table loop's reads
};

// --------------------------------------------------------------- output ---

uint64_t label(const Counters& c, Label l) { return c.rst_label[static_cast<int>(l)]; }

void print_loop(const char* name, const LoopResult& l) {
  std::printf("  %-11s %7.2f Mpps  %6.1f ns/pkt  %6.1f cycles/pkt  (%" PRIu64
              " packets in %.2f s, %u lcore%s; windows %.2f..%.2f Mpps)\n",
              name, l.mpps(), l.ns(), l.cycles(), l.packets, l.ticks / l.hz, l.lcores,
              l.lcores > 1 ? "s" : "", l.min_mpps(), l.max_mpps());
}

void print_worker_details(const WorkerRun& w, uint64_t flows) {
  const Counters& c = w.counters;
  std::printf("              warm-up %" PRIu64 " packets in %.1f s (not timed)\n",
              w.warm_up_packets, w.warm_up_seconds);
  const double bytes_10m = table_bytes_for(1e7);
  std::printf("              flow table %.1f MB for capacity %" PRIu64 " (%.0f B per flow, %.0f B "
              "per unit of capacity; FlowEntry %zu B; 10M flows: %.2f GB = %.2f GiB); %" PRIu64
              " entries at the end\n",
              w.table_bytes / 1e6, w.table_capacity, static_cast<double>(w.table_bytes) / flows,
              static_cast<double>(w.table_bytes) / w.table_capacity, sizeof(FlowEntry),
              bytes_10m / 1e9, bytes_10m / (1u << 30), w.table_entries);
  std::printf("              resets judged %" PRIu64 " (legit %" PRIu64 ", suspicious %" PRIu64
              ", forged %" PRIu64 "; dropped %" PRIu64 "), updates %" PRIu64
              ", event ring overflow %" PRIu64 "\n",
              c.rst_total, label(c, Label::legit), label(c, Label::suspicious),
              label(c, Label::forged), c.rst_dropped, c.rst_updates, w.stats.event_overflow);
  std::printf("              sanity: parse errors %" PRIu64 ", gaps %" PRIu64
              ", retransmits %" PRIu64 ", midstream %" PRIu64 ", insert refused %" PRIu64
              ", evicted %" PRIu64 ", expired %" PRIu64 ", tx refused %" PRIu64 "\n",
              parse_errors(c), c.tcp_gap, c.tcp_retransmit, c.flow_midstream,
              c.flow_insert_refused, evicted(c), c.flow_expired, w.stats.tx_dropped);
}

void print_text(const FlowsResult& r) {
  const Mix& m = r.mix;
  std::printf("\nflows %" PRIu64 "\n", r.flows);
  std::printf("  replay      %" PRIu64 " frames, mean %.0f B, %.0f%% <= 128 B, %.0f%% 129..1023 B,"
              " %.0f%% >= 1024 B\n",
              r.replay_frames, m.frames ? static_cast<double>(m.bytes) / m.frames : 0,
              pct(m.small, m.frames), pct(m.medium, m.frames), pct(m.large, m.frames));
  std::printf("              SYN or SYN/ACK %.2f%%, FIN %.2f%%, RST %.3f%% (legit %.3f%%, "
              "forged %.3f%%)\n",
              pct(m.syns, m.frames), pct(m.fins, m.frames),
              pct(m.resets_legit + m.resets_forged, m.frames), pct(m.resets_legit, m.frames),
              pct(m.resets_forged, m.frames));
  if (r.has_one) {
    print_loop("1 worker", r.one.loop);
    print_worker_details(r.one, r.flows);
    print_loop("reference", r.reference);
    std::printf("  ratio       %.3f (worker throughput / reference throughput)\n",
                r.reference.mpps() > 0 ? r.one.loop.mpps() / r.reference.mpps() : 0);
    print_loop("parse floor", r.parse);
    std::printf("              the reference plus parse, key and hash; ratio to the reference %.3f\n",
                r.reference.mpps() > 0 ? r.parse.mpps() / r.reference.mpps() : 0);
    print_loop("table floor", r.table);
    std::printf("              the reference plus parse, key, hash and the staged lookup reading"
                " both lines of each entry (%.1f%% found); ratio to the reference %.3f\n",
                pct(r.table_found, r.table_found + r.table_missed),
                r.reference.mpps() > 0 ? r.table.mpps() / r.reference.mpps() : 0);
  }
  if (r.has_two) {
    print_loop("2 workers", r.two.loop);
    print_worker_details(r.two, r.flows);
    if (r.has_one && r.one.loop.mpps() > 0) {
      std::printf("  speed-up    %.2f (2 workers / 1 worker)\n",
                  r.two.loop.mpps() / r.one.loop.mpps());
    }
  }
  std::printf("  events      %" PRIu64 " drained from the event rings by the main lcore\n",
              r.events_drained);
  std::fflush(stdout);
}

void print_json_loop(const char* name, const LoopResult& l) {
  std::printf("\"%s\":{\"packets\":%" PRIu64 ",\"seconds\":%.4f,\"mpps\":%.4f,"
              "\"mpps_min_window\":%.4f,\"mpps_max_window\":%.4f,"
              "\"ns_per_packet\":%.3f,\"cycles_per_packet\":%.2f,\"lcores\":%u}",
              name, l.packets, l.ticks / l.hz, l.mpps(), l.min_mpps(), l.max_mpps(), l.ns(),
              l.cycles(), l.lcores);
}

void print_json_worker(const char* name, const WorkerRun& w, uint64_t flows) {
  const Counters& c = w.counters;
  print_json_loop(name, w.loop);
  std::printf(",\"%s_table\":{\"bytes\":%" PRIu64 ",\"capacity\":%" PRIu64
              ",\"bytes_per_flow\":%.1f,\"entries_end\":%" PRIu64 "}",
              name, w.table_bytes, w.table_capacity, static_cast<double>(w.table_bytes) / flows,
              w.table_entries);
  std::printf(",\"%s_resets\":{\"judged\":%" PRIu64 ",\"legit\":%" PRIu64
              ",\"suspicious\":%" PRIu64 ",\"forged\":%" PRIu64 ",\"dropped\":%" PRIu64
              ",\"event_overflow\":%" PRIu64 ",\"parse_errors\":%" PRIu64 ",\"gaps\":%" PRIu64
              ",\"insert_refused\":%" PRIu64 ",\"evicted\":%" PRIu64 "}",
              name, c.rst_total, label(c, Label::legit), label(c, Label::suspicious),
              label(c, Label::forged), c.rst_dropped, w.stats.event_overflow, parse_errors(c),
              c.tcp_gap, c.flow_insert_refused, evicted(c));
}

void print_json(const Options& opt, double hz, const std::vector<FlowsResult>& runs) {
  std::printf("{\"tool\":\"rstguard-bench-live\",\"tsc_ghz\":%.4f,\"seconds\":%.3f,"
              "\"rounds\":%d,\"flow_entry_bytes\":%zu,\"runs\":[",
              hz / 1e9, opt.seconds, opt.rounds, sizeof(FlowEntry));
  for (size_t i = 0; i < runs.size(); ++i) {
    const FlowsResult& r = runs[i];
    std::printf("%s{\"flows\":%" PRIu64 ",\"replay_frames\":%" PRIu64
                ",\"mean_frame_bytes\":%.1f,\"events_drained\":%" PRIu64,
                i ? "," : "", r.flows, r.replay_frames,
                r.mix.frames ? static_cast<double>(r.mix.bytes) / r.mix.frames : 0,
                r.events_drained);
    if (r.has_one) {
      std::printf(",");
      print_json_worker("one_worker", r.one, r.flows);
      std::printf(",");
      print_json_loop("reference", r.reference);
      std::printf(",\"ratio\":%.4f",
                  r.reference.mpps() > 0 ? r.one.loop.mpps() / r.reference.mpps() : 0);
      std::printf(",");
      print_json_loop("parse_floor", r.parse);
      std::printf(",");
      print_json_loop("table_floor", r.table);
      std::printf(",\"table_floor_found\":%" PRIu64 ",\"table_floor_missed\":%" PRIu64,
                  r.table_found, r.table_missed);
    }
    if (r.has_two) {
      std::printf(",");
      print_json_worker("two_workers", r.two, r.flows);
      if (r.has_one && r.one.loop.mpps() > 0) {
        std::printf(",\"speed_up\":%.4f", r.two.loop.mpps() / r.one.loop.mpps());
      }
    }
    std::printf("}");
  }
  std::printf("]}\n");
}

}  // namespace
}  // namespace rstguard::bench_live

int main(int argc, char** argv) {
  using namespace rstguard::bench_live;
  Options opt;
  if (!parse_options(argc, argv, opt)) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  if (!opt.write_pcap.empty()) return write_capture(opt);

  const Cpus cpus = allowed_cpus();
  if (cpus.a < 0) {
    std::fprintf(stderr, "rstguard-bench-live: no CPU to run on\n");
    return 1;
  }
  // Main lcore 0 sleeps on CPU A; lcore 1 is a worker on CPU A, lcore 2 a
  // worker on CPU B. One CPU only: no two-worker run.
  const int b = cpus.b >= 0 ? cpus.b : cpus.a;
  const std::string lcores = "0@" + std::to_string(cpus.a) + ",1@" + std::to_string(cpus.a) +
                             ",2@" + std::to_string(b);
  const std::string prefix = "rg-bench-live-" + std::to_string(getpid());
  std::vector<std::string> eal = {argv[0],        "--no-huge",        "--no-pci",
                                  "-m",           "1024",             "--file-prefix",
                                  prefix,         "--lcores",         lcores,
                                  "--vdev",       "net_null0",        "--vdev",
                                  "net_null1",    "--log-level",      "warning",
                                  "--no-telemetry"};
  std::vector<char*> eal_argv;
  for (auto& s : eal) eal_argv.push_back(s.data());
  if (rte_eal_init(static_cast<int>(eal_argv.size()), eal_argv.data()) < 0) {
    std::fprintf(stderr, "rstguard-bench-live: EAL: %s\n", rte_strerror(rte_errno));
    return 1;
  }
  int status = 0;
  {
    std::vector<unsigned> two;
    if (cpus.b >= 0) two = {1, 2};
    Bench bench(opt, 2, two);
    if (!bench.init()) {
      status = 1;
    } else {
      if (!opt.json) {
        std::printf(
            "rstguard-bench-live: LiveWorker::run between two net_null ports, EAL --lcores %s "
            "(main lcore 0 sleeps; 1 worker: lcore 2 on CPU %d; 2 workers: lcores 1, 2 on CPUs "
            "%d, %d), TSC %.3f GHz, %.1f s per loop in %d alternating windows%s\n",
            lcores.c_str(), b, cpus.a, b, rte_get_tsc_hz() / 1e9, opt.seconds, opt.rounds,
            bench.can_run_two() ? "" : " (one CPU: no two-worker run)");
      }
      std::vector<FlowsResult> results;
      for (uint64_t flows : opt.flows) {
        results.push_back(bench.run(flows));
        if (!opt.json) print_text(results.back());
      }
      if (opt.json) print_json(opt, static_cast<double>(rte_get_tsc_hz()), results);
    }
  }
  rstguard::dpdk::eal_cleanup();
  return status;
}

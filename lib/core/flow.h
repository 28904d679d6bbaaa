// Flow key and per-connection state. One FlowEntry is 128 bytes (two cache
// lines): the first holds the key and the fields every packet touches, the
// second the two directions.
#pragma once

#include <cstdint>
#include <cstring>
#include <type_traits>

#include "core/packet_view.h"

namespace rstguard {

// Canonical key: (addr_a, port_a) sorts before (addr_b, port_b) so that both
// directions of a connection give the same key. VLAN ids are part of it:
// the same 4-tuple on two VLANs is two connections.
struct FlowKey {
  IpAddr addr_a;
  IpAddr addr_b;
  uint16_t port_a;
  uint16_t port_b;
  uint16_t vlan_outer;
  uint16_t vlan_inner;

  // Five 64-bit words, compared without a library call (the key is 40
  // bytes, no padding).
  friend bool operator==(const FlowKey& x, const FlowKey& y) {
    uint64_t a[5], b[5];
    std::memcpy(a, &x, sizeof(a));
    std::memcpy(b, &y, sizeof(b));
    return ((a[0] ^ b[0]) | (a[1] ^ b[1]) | (a[2] ^ b[2]) | (a[3] ^ b[3]) | (a[4] ^ b[4])) == 0;
  }
};
static_assert(sizeof(FlowKey) == 40 && std::has_unique_object_representations_v<FlowKey>);

// Side 0 is (addr_a, port_a). Returns the key and which side sent `p`.
inline FlowKey make_flow_key(const PacketView& p, int& sender_side) {
  FlowKey k;
  // Order by address (as big-endian 128-bit numbers), then port.
  uint64_t s[2], d[2];
  std::memcpy(s, p.src.bytes, 16);
  std::memcpy(d, p.dst.bytes, 16);
  const uint64_t s0 = __builtin_bswap64(s[0]), d0 = __builtin_bswap64(d[0]);
  const uint64_t s1 = __builtin_bswap64(s[1]), d1 = __builtin_bswap64(d[1]);
  const bool src_first = s0 < d0 || (s0 == d0 && (s1 < d1 || (s1 == d1 && p.src_port <= p.dst_port)));
  sender_side = src_first ? 0 : 1;
  k.addr_a = src_first ? p.src : p.dst;
  k.addr_b = src_first ? p.dst : p.src;
  k.port_a = src_first ? p.src_port : p.dst_port;
  k.port_b = src_first ? p.dst_port : p.src_port;
  k.vlan_outer = p.vlan_outer;
  k.vlan_inner = p.vlan_inner;
  return k;
}

// 64-bit hash of a key: the five words pairwise through 64x64->128-bit
// multiplies folded to 64 bits, the three products independent of each
// other, then one more to mix them (about 10 cycles of latency against 35
// for five serial multiply-xorshift rounds). Each word is first xored with
// its own key word, so that a word of zeros (IPv4 addresses are mapped into
// IPv6 ones) does not zero a product; only a word equal to its key word
// would.
//
// The key words come from a seed. With seed 0 they are fixed constants
// (offline: the same flow ids on every run). A live run takes a random
// seed, so that nobody outside can compute which keys share a probe chain
// and aim a flood of crafted connections at one (hash flooding).
inline uint64_t hash_fold_mul(uint64_t a, uint64_t b) {
  const unsigned __int128 r = static_cast<unsigned __int128>(a) * b;
  return static_cast<uint64_t>(r) ^ static_cast<uint64_t>(r >> 64);
}

inline constexpr uint64_t kFlowHashBase[7] = {
    0xA0761D6478BD642Full, 0xE7037ED1A0B428DBull, 0x8EBC6AF09C88C6E3ull, 0x589965CC75374CC3ull,
    0x1D8E4E27C47D124Full, 0xBF58476D1CE4E5B9ull, 0x94D049BB133111EBull};

class FlowHasher {
 public:
  constexpr explicit FlowHasher(uint64_t seed = 0) {
    uint64_t x = seed;
    for (int i = 0; i < 7; ++i) {
      uint64_t z = seed == 0 ? 0 : (x += 0x9E3779B97F4A7C15ull);  // splitmix64
      if (seed != 0) {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        z ^= z >> 31;
      }
      k_[i] = kFlowHashBase[i] ^ z;
    }
  }
  uint64_t operator()(const FlowKey& k) const {
    uint64_t w[5];
    std::memcpy(w, &k, sizeof(w));
    const uint64_t x = hash_fold_mul(w[0] ^ k_[0], w[1] ^ k_[1]);
    const uint64_t y = hash_fold_mul(w[2] ^ k_[2], w[3] ^ k_[3]);
    const uint64_t z = hash_fold_mul(w[4] ^ k_[4], 0x9E3779B97F4A7C15ull);
    return hash_fold_mul(x ^ z ^ k_[5], y ^ k_[6]);
  }

 private:
  uint64_t k_[7] = {};
};

// The hash with seed 0 (fixed key words).
inline constexpr FlowHasher kFixedFlowHasher{0};
inline uint64_t hash_flow_key(const FlowKey& k) { return kFixedFlowHasher(k); }

// Flow ids stay below 2^53 so that JSON readers hold them exactly.
inline constexpr uint64_t kFlowIdMask = (1ull << 53) - 1;

// Connection phase, from the tracker's point of view (RFC 9293 3.3.2 states
// folded to what a middlebox can observe).
enum class Phase : uint8_t {
  kEmpty = 0,     // slot unused
  kSynSent,       // originator's SYN seen
  kSynReceived,   // responder's SYN/ACK seen
  kEstablished,   // handshake done, or picked up mid-stream
  kHalfClosed,    // one FIN seen
  kClosing,       // both FINs seen, not both acknowledged
  kTimeWait,      // both FINs acknowledged
  kClosed,        // a reset the receiver accepts was seen
};
const char* phase_name(Phase p);

// Per-direction state: what one side has sent. 28 bytes.
struct DirState {
  enum Flag : uint8_t {
    kSeen = 1 << 0,
    kSynSeen = 1 << 1,
    kFinSeen = 1 << 2,
    kAckSeen = 1 << 3,
    kTsSeen = 1 << 4,      // carried TCP timestamps
    kWsOffered = 1 << 5,   // its SYN carried window scale
    kDataSent = 1 << 6,
    kBadChecksum = 1 << 7, // a bad TCP checksum among its first packets:
                           // a capture on the sending host (tx offload)
  };
  uint32_t isn = 0;
  uint32_t snd_nxt = 0;   // highest seq + len sent (SYN and FIN count)
  uint32_t max_ack = 0;   // highest acknowledgement sent
  uint32_t ts_last = 0;   // newest TSval sent
  uint16_t window = 0;    // last advertised window, raw (unscaled)
  uint16_t ipid_last = 0;
  uint8_t wscale : 4 = 0;  // offered shift, clamped to 14 (RFC 7323 2.3)
  uint8_t auth : 2 = 0;      // kAuthMd5 / kAuthAo: options any of its segments carried
  uint8_t auth_all : 2 = 0;  // ... and every one of them (an injector can only clear it)
  uint8_t ttl_min = 0;
  uint8_t ttl_max = 0;
  uint8_t flags = 0;
  uint8_t packets = 0;    // saturating at 255
  uint8_t retransmits = 0;  // of its highest segment, saturating
  uint8_t keepalives = 0;   // unanswered keepalive probes, saturating
  uint8_t ipid_votes = 0;   // low nibble: +small steps; high: other steps

  bool has(Flag f) const { return (flags & f) != 0; }
  void set(Flag f) { flags |= f; }
  int ipid_increments() const { return ipid_votes & 0x0f; }
  int ipid_others() const { return ipid_votes >> 4; }
};
static_assert(sizeof(DirState) == 28);

// Which side sent the newest payload: 0, 1, or kNoSide.
inline constexpr uint8_t kNoSide = 3;

struct alignas(64) FlowEntry {
  enum Flag : uint8_t {
    kMidstream = 1 << 0,      // picked up without its handshake
    kOriginIsB = 1 << 1,      // side 1 sent the first SYN (else side 0)
    kOriginKnown = 1 << 2,    // a SYN told who the client is
    kWsNegotiated = 1 << 3,   // both SYNs carried window scale
    kTsNegotiated = 1 << 4,   // both sides use timestamps
    kGapSeen = 1 << 5,        // a sequence gap: the tap missed packets
    kHoldPending = 1 << 6,    // a reset of this flow is held: the flow
                              // neither expires nor yields to a new one
    kTimeWaitConflict = 1 << 7,  // a SYN re-used the tuple too early
  };
  // Line 1: the key and what every packet reads or writes besides its own
  // direction's state.
  FlowKey key;               // 40
  uint64_t flow_id = 0;      // stable id for events
  uint32_t last_seen_ms = 0; // worker clock, ms (wrap-aware)
  Phase phase : 4 = Phase::kEmpty;
  uint8_t syn_window : 2 = 0;  // bit per side: its last window came in a SYN
                               // (never scaled, RFC 7323 2.2)
  uint8_t last_payload_side : 2 = kNoSide;  // which side sent the newest payload
  uint8_t syn_flags = 0;     // TCP flags of the originator's SYN (0: none seen), or
                             // of the probe that began a probe_start() flow
  // Trigger scanning (policy triggers): payload segments scanned per side
  // (low nibble side 0, high nibble side 1), saturating at 15.
  uint8_t scanned_segments = 0;
  uint8_t flags = 0;
  // Per-flow pools (Worker): 1-based references, 0: none. What only some
  // flows need hangs off them, owned by this flow and freed with it.
  uint32_t history = 0;      // reset history, race window and hold link
  uint32_t trigger = 0;      // trigger match and handshake reassembly
  // Line 2: the two directions and the connection's times.
  DirState dir[2];           // 56
  uint32_t silence_end_ms = 0;  // when a packet ended an idle gap (0: none)
  uint32_t fin_ms = 0;          // when the first FIN was seen (0: none)

  bool has(Flag f) const { return (flags & f) != 0; }
  void set(Flag f) { flags |= f; }
  void clear(Flag f) { flags &= static_cast<uint8_t>(~f); }
  int origin_side() const { return has(kOriginIsB) ? 1 : 0; }
  // Begun by a segment with neither SYN nor ACK, which no connection sends:
  // a stealth scan's probe (FIN, NULL, Xmas). Its sender is the origin.
  // Any segment with ACK or SYN since (a real connection) ends it.
  bool probe_start() const {
    return has(kMidstream) && has(kOriginKnown) && !dir[0].has(DirState::kSynSeen) &&
           !dir[1].has(DirState::kSynSeen) && !dir[0].has(DirState::kAckSeen) &&
           !dir[1].has(DirState::kAckSeen);
  }
  // Seen from both ends (what conntrack calls "assured" is close: a reply).
  bool two_way() const {
    return dir[0].has(DirState::kSeen) && dir[1].has(DirState::kSeen);
  }
};
static_assert(sizeof(FlowEntry) == 128, "two cache lines per flow");

}  // namespace rstguard

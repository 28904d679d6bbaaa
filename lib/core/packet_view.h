// PacketView: everything the tracker and the judge need from one frame,
// extracted once by the parser. Nothing after the parser looks at raw bytes
// except the lazy checksum check for resets (parser.h).
#pragma once

#include <cstdint>
#include <cstring>

namespace rstguard {

// An IPv4 address is stored IPv4-mapped (::ffff:a.b.c.d) so that one key
// layout serves both families.
struct IpAddr {
  uint8_t bytes[16];

  bool is_v4() const {
    static constexpr uint8_t kPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    return std::memcmp(bytes, kPrefix, 12) == 0;
  }
  static IpAddr from_v4(const uint8_t v4[4]) {
    IpAddr a{};
    a.bytes[10] = a.bytes[11] = 0xff;
    std::memcpy(a.bytes + 12, v4, 4);
    return a;
  }
  static IpAddr from_v6(const uint8_t v6[16]) {
    IpAddr a;
    std::memcpy(a.bytes, v6, 16);
    return a;
  }
  friend bool operator==(const IpAddr& a, const IpAddr& b) {
    return std::memcmp(a.bytes, b.bytes, 16) == 0;
  }
};
static_assert(sizeof(IpAddr) == 16);

// Segment authentication options (bits of TcpOptions::auth and
// DirState::auth): TCP-MD5 (RFC 2385, kind 19) and TCP-AO (RFC 5925,
// kind 29). rstguard has no keys: it sees whether the option is there.
inline constexpr uint8_t kAuthMd5 = 1;
inline constexpr uint8_t kAuthAo = 2;

struct TcpOptions {
  bool has_mss = false;
  bool has_wscale = false;
  bool sack_permitted = false;
  bool has_timestamp = false;
  uint8_t wscale = 0;  // as sent; RFC 7323 2.3 clamps to 14 when used
  uint8_t auth = 0;    // kAuthMd5 / kAuthAo: the segment carries that option
  uint16_t mss = 0;
  uint32_t tsval = 0;
  uint32_t tsecr = 0;
};

struct PacketView {
  IpAddr src;
  IpAddr dst;
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  uint16_t vlan_outer = 0;  // VID of the outer tag, 0 when untagged
  uint16_t vlan_inner = 0;  // VID of the inner tag (QinQ), 0 when absent
  uint8_t vlan_count = 0;
  uint8_t ip_version = 0;  // 4 or 6
  uint8_t ttl = 0;         // hop limit for IPv6
  uint8_t tcp_flags = 0;
  uint16_t ip_id = 0;      // IPv4 only
  bool ip_dont_fragment = false;
  bool ip_first_fragment = false;  // a first fragment: payload incomplete
  bool option_error = false;       // a TCP option was malformed (parser.h)
  uint32_t seq = 0;
  uint32_t ack = 0;
  uint16_t window = 0;  // raw, unscaled
  uint16_t payload_len = 0;
  uint16_t l3_offset = 0;  // from frame start
  uint16_t l4_offset = 0;
  uint16_t l4_len = 0;     // TCP header + payload bytes present per IP length
  uint32_t frame_len = 0;  // bytes present
  uint32_t wire_len = 0;   // bytes on the wire
  const uint8_t* frame = nullptr;
  const uint8_t* payload = nullptr;
  TcpOptions opt;

  bool has(uint8_t flag) const { return (tcp_flags & flag) != 0; }
  // Sequence space consumed: payload, plus one each for SYN and FIN.
  uint32_t seq_len() const {
    return payload_len + ((tcp_flags & 0x02) ? 1 : 0) + ((tcp_flags & 0x01) ? 1 : 0);
  }
};

}  // namespace rstguard

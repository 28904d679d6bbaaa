// Wire formats. Packed, sizes asserted, multi-byte fields in network order
// (Be16/Be32). Parsers read them through memcpy-free casts only after the
// bounds are checked; packed structs make unaligned access well-defined.
#pragma once

#include <cstdint>

#include "core/byte_order.h"

namespace rstguard::wire {

inline constexpr uint16_t kEtherTypeIpv4 = 0x0800;
inline constexpr uint16_t kEtherTypeIpv6 = 0x86DD;
inline constexpr uint16_t kEtherTypeVlan = 0x8100;   // 802.1Q C-tag
inline constexpr uint16_t kEtherTypeQinQ = 0x88A8;   // 802.1ad S-tag
inline constexpr uint16_t kEtherTypeQinQOld = 0x9100;  // pre-standard S-tag

inline constexpr uint8_t kIpProtoTcp = 6;
inline constexpr uint8_t kIpProtoUdp = 17;
// IPv6 extension headers skipped on the way to TCP (RFC 8200 4.1).
inline constexpr uint8_t kIp6HopByHop = 0;
inline constexpr uint8_t kIp6Routing = 43;
inline constexpr uint8_t kIp6Fragment = 44;
inline constexpr uint8_t kIp6DestOpts = 60;
inline constexpr uint8_t kIp6NoNext = 59;

struct __attribute__((packed)) EthHdr {
  uint8_t dst[6];
  uint8_t src[6];
  Be16 ether_type;
};
static_assert(sizeof(EthHdr) == 14);

struct __attribute__((packed)) VlanTag {
  Be16 tci;  // PCP(3) DEI(1) VID(12)
  Be16 ether_type;
};
static_assert(sizeof(VlanTag) == 4);

struct __attribute__((packed)) Ipv4Hdr {
  uint8_t version_ihl;
  uint8_t tos;
  Be16 total_length;
  Be16 id;
  Be16 frag_off;  // flags(3) + offset(13), offset in 8-byte units
  uint8_t ttl;
  uint8_t protocol;
  Be16 checksum;
  uint8_t src[4];
  uint8_t dst[4];
};
static_assert(sizeof(Ipv4Hdr) == 20);
inline constexpr uint16_t kIpv4MoreFragments = 0x2000;
inline constexpr uint16_t kIpv4DontFragment = 0x4000;
inline constexpr uint16_t kIpv4OffsetMask = 0x1FFF;

struct __attribute__((packed)) Ipv6Hdr {
  Be32 vtc_flow;
  Be16 payload_length;
  uint8_t next_header;
  uint8_t hop_limit;
  uint8_t src[16];
  uint8_t dst[16];
};
static_assert(sizeof(Ipv6Hdr) == 40);

// Hop-by-hop, routing and destination options share this prefix; length is
// in 8-octet units not counting the first 8 (RFC 8200 4.3).
struct __attribute__((packed)) Ipv6ExtHdr {
  uint8_t next_header;
  uint8_t length;
};
static_assert(sizeof(Ipv6ExtHdr) == 2);

struct __attribute__((packed)) Ipv6FragHdr {
  uint8_t next_header;
  uint8_t reserved;
  Be16 offset_flags;  // offset(13) << 3 | res(2) | M(1)
  Be32 identification;
};
static_assert(sizeof(Ipv6FragHdr) == 8);

struct __attribute__((packed)) TcpHdr {
  Be16 src_port;
  Be16 dst_port;
  Be32 seq;
  Be32 ack;
  uint8_t data_offset;  // high nibble: header length in 32-bit words
  uint8_t flags;
  Be16 window;
  Be16 checksum;
  Be16 urgent;
};
static_assert(sizeof(TcpHdr) == 20);

namespace tcpflag {
inline constexpr uint8_t kFin = 0x01;
inline constexpr uint8_t kSyn = 0x02;
inline constexpr uint8_t kRst = 0x04;
inline constexpr uint8_t kPsh = 0x08;
inline constexpr uint8_t kAck = 0x10;
inline constexpr uint8_t kUrg = 0x20;
inline constexpr uint8_t kEce = 0x40;
inline constexpr uint8_t kCwr = 0x80;
}  // namespace tcpflag

// TCP option kinds (RFC 9293 3.2, RFC 7323).
namespace tcpopt {
inline constexpr uint8_t kEol = 0;
inline constexpr uint8_t kNop = 1;
inline constexpr uint8_t kMss = 2;
inline constexpr uint8_t kWindowScale = 3;
inline constexpr uint8_t kSackPermitted = 4;
inline constexpr uint8_t kSack = 5;
inline constexpr uint8_t kTimestamp = 8;
inline constexpr uint8_t kMd5Signature = 19;  // RFC 2385, length 18
inline constexpr uint8_t kAuthentication = 29;  // TCP-AO, RFC 5925, length >= 4
}  // namespace tcpopt

}  // namespace rstguard::wire

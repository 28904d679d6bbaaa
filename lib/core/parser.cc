#include "core/parser.h"

#include <bit>
#include <cstring>

#include "core/headers.h"

namespace rstguard {
namespace {

constexpr std::string_view kNames[] = {
#define X(id, name, is_error) name,
#include "core/parse_result.def"
#undef X
};
constexpr bool kIsError[] = {
#define X(id, name, is_error) is_error,
#include "core/parse_result.def"
#undef X
};

// Longest extension-header chain we walk before calling it hostile. RFC 8200
// recommends each header appear at most once (twice for destination options);
// 8 covers every legitimate chain and stops loops.
constexpr int kMaxIpv6ExtHeaders = 8;
constexpr int kMaxVlanTags = 2;

template <typename T>
const T* header_at(const uint8_t* base, uint32_t offset) {
  return reinterpret_cast<const T*>(base + offset);
}

// Walks the TCP options between `p` and `end`. Returns false at the first
// malformed option; what was parsed before it stays in `opt`.
bool parse_tcp_options(const uint8_t* p, const uint8_t* end, TcpOptions& opt) {
  while (p < end) {
    const uint8_t kind = p[0];
    if (kind == wire::tcpopt::kEol) return true;
    if (kind == wire::tcpopt::kNop) {
      ++p;
      continue;
    }
    if (end - p < 2) return false;
    const uint8_t len = p[1];
    if (len < 2 || len > end - p) return false;
    switch (kind) {
      case wire::tcpopt::kMss:
        if (len != 4) return false;
        opt.has_mss = true;
        opt.mss = static_cast<uint16_t>(p[2] << 8 | p[3]);
        break;
      case wire::tcpopt::kWindowScale:
        if (len != 3) return false;
        opt.has_wscale = true;
        opt.wscale = p[2];
        break;
      case wire::tcpopt::kSackPermitted:
        if (len != 2) return false;
        opt.sack_permitted = true;
        break;
      case wire::tcpopt::kTimestamp:
        if (len != 10) return false;
        opt.has_timestamp = true;
        opt.tsval = static_cast<uint32_t>(p[2]) << 24 | p[3] << 16 | p[4] << 8 | p[5];
        opt.tsecr = static_cast<uint32_t>(p[6]) << 24 | p[7] << 16 | p[8] << 8 | p[9];
        break;
      case wire::tcpopt::kMd5Signature:
        if (len != 18) return false;
        opt.auth |= kAuthMd5;
        break;
      case wire::tcpopt::kAuthentication:
        if (len < 4) return false;  // kind, length, KeyID, RNextKeyID, MAC
        opt.auth |= kAuthAo;
        break;
      default:
        break;  // SACK blocks, MPTCP, ...: skipped by length.
    }
    p += len;
  }
  return true;
}

ParseResult parse_tcp(const uint8_t* frame, uint32_t len, uint32_t l4_offset,
                      uint32_t l4_len, PacketView& out) {
  // l4_len is what the IP header declares; the capture may hold less.
  const uint32_t present = len > l4_offset ? len - l4_offset : 0;
  if (present < sizeof(wire::TcpHdr) || l4_len < sizeof(wire::TcpHdr)) {
    return ParseResult::tcp_truncated;
  }
  const auto* tcp = header_at<wire::TcpHdr>(frame, l4_offset);
  const uint32_t header_len = (tcp->data_offset >> 4) * 4u;
  if (header_len < sizeof(wire::TcpHdr) || header_len > l4_len) {
    return ParseResult::tcp_bad_data_offset;
  }
  if (header_len > present) return ParseResult::tcp_truncated;

  out.src_port = tcp->src_port.value();
  out.dst_port = tcp->dst_port.value();
  out.seq = tcp->seq.value();
  out.ack = tcp->ack.value();
  out.tcp_flags = tcp->flags;
  out.window = tcp->window.value();
  out.l4_offset = static_cast<uint16_t>(l4_offset);
  out.l4_len = static_cast<uint16_t>(l4_len);
  out.payload_len = static_cast<uint16_t>(l4_len - header_len);
  out.payload = frame + l4_offset + header_len;
  const uint8_t* opts = frame + l4_offset + sizeof(wire::TcpHdr);
  out.option_error = !parse_tcp_options(opts, frame + l4_offset + header_len, out.opt);
  return ParseResult::ok;
}

ParseResult parse_ipv4(const uint8_t* frame, uint32_t len, uint32_t wire_len,
                       uint32_t off, PacketView& out) {
  if (len < off + sizeof(wire::Ipv4Hdr)) return ParseResult::ipv4_truncated;
  const auto* ip = header_at<wire::Ipv4Hdr>(frame, off);
  if ((ip->version_ihl >> 4) != 4) return ParseResult::ipv4_bad_version;
  const uint32_t ihl = (ip->version_ihl & 0x0f) * 4u;
  if (ihl < sizeof(wire::Ipv4Hdr)) return ParseResult::ipv4_bad_ihl;
  if (len < off + ihl) return ParseResult::ipv4_truncated;
  const uint32_t total = ip->total_length.value();
  // Trailing bytes past total_length are Ethernet padding and are ignored;
  // a total_length past the frame on the wire is malformed.
  if (total < ihl || total > wire_len - off) return ParseResult::ipv4_bad_total_length;

  out.ip_version = 4;
  out.l3_offset = static_cast<uint16_t>(off);
  out.src = IpAddr::from_v4(ip->src);
  out.dst = IpAddr::from_v4(ip->dst);
  out.ttl = ip->ttl;
  out.ip_id = ip->id.value();
  const uint16_t frag = ip->frag_off.value();
  out.ip_dont_fragment = (frag & wire::kIpv4DontFragment) != 0;
  if ((frag & wire::kIpv4OffsetMask) != 0) return ParseResult::ip_fragment;
  out.ip_first_fragment = (frag & wire::kIpv4MoreFragments) != 0;
  if (ip->protocol != wire::kIpProtoTcp) return ParseResult::not_tcp;
  return parse_tcp(frame, len, off + ihl, total - ihl, out);
}

ParseResult parse_ipv6(const uint8_t* frame, uint32_t len, uint32_t wire_len,
                       uint32_t off, PacketView& out) {
  if (len < off + sizeof(wire::Ipv6Hdr)) return ParseResult::ipv6_truncated;
  const auto* ip = header_at<wire::Ipv6Hdr>(frame, off);
  if ((ip->vtc_flow.value() >> 28) != 6) return ParseResult::ipv6_bad_version;
  const uint32_t payload_len = ip->payload_length.value();
  // Jumbograms (payload length 0, RFC 2675) never cross Ethernet.
  if (payload_len == 0 || payload_len > wire_len - off - sizeof(wire::Ipv6Hdr)) {
    return ParseResult::ipv6_bad_payload_length;
  }
  out.ip_version = 6;
  out.l3_offset = static_cast<uint16_t>(off);
  out.src = IpAddr::from_v6(ip->src);
  out.dst = IpAddr::from_v6(ip->dst);
  out.ttl = ip->hop_limit;

  const uint32_t end = off + sizeof(wire::Ipv6Hdr) + payload_len;
  uint32_t pos = off + sizeof(wire::Ipv6Hdr);
  uint8_t next = ip->next_header;
  for (int count = 0;; ++count) {
    switch (next) {
      case wire::kIpProtoTcp:
        return parse_tcp(frame, len, pos, end - pos, out);
      case wire::kIp6HopByHop:
      case wire::kIp6Routing:
      case wire::kIp6DestOpts: {
        if (count >= kMaxIpv6ExtHeaders) return ParseResult::ipv6_ext_chain_too_long;
        if (pos + sizeof(wire::Ipv6ExtHdr) > end || pos + sizeof(wire::Ipv6ExtHdr) > len) {
          return ParseResult::ipv6_ext_truncated;
        }
        const auto* ext = header_at<wire::Ipv6ExtHdr>(frame, pos);
        const uint32_t ext_len = (ext->length + 1u) * 8u;
        if (pos + ext_len > end) return ParseResult::ipv6_ext_truncated;
        next = ext->next_header;
        pos += ext_len;
        break;
      }
      case wire::kIp6Fragment: {
        if (count >= kMaxIpv6ExtHeaders) return ParseResult::ipv6_ext_chain_too_long;
        if (pos + sizeof(wire::Ipv6FragHdr) > end || pos + sizeof(wire::Ipv6FragHdr) > len) {
          return ParseResult::ipv6_ext_truncated;
        }
        const auto* fh = header_at<wire::Ipv6FragHdr>(frame, pos);
        const uint16_t offset_flags = fh->offset_flags.value();
        if ((offset_flags & 0xFFF8) != 0) return ParseResult::ip_fragment;
        out.ip_first_fragment = (offset_flags & 1) != 0;
        next = fh->next_header;
        pos += sizeof(wire::Ipv6FragHdr);
        break;
      }
      default:
        return ParseResult::not_tcp;  // UDP, ICMPv6, ESP, No Next Header ...
    }
  }
}

// The common case, Ethernet II with at most one 802.1Q tag, IPv4 without
// options, not a later fragment, TCP: the same checks as the general path
// above, in one straight line over loads that are already bounds-checked.
// Returns false, without touching `out`, for anything else or for any check
// that fails; parse_frame() then runs the general path, so every result and
// every field is the general path's. Measured: 31 -> 21 cycles per frame on
// a hot mix (and see BENCHMARKS.md, issue 6).
template <typename T>
T load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}
uint16_t load_be16(const uint8_t* p) { return __builtin_bswap16(load<uint16_t>(p)); }
uint32_t load_be32(const uint8_t* p) { return __builtin_bswap32(load<uint32_t>(p)); }

// NOP NOP TS(kind 8, length 10): Linux's option block on every segment
// after the handshake (tcp_options_write), as it lies in memory.
constexpr uint8_t kLinuxTimestampPrefix[4] = {wire::tcpopt::kNop, wire::tcpopt::kNop,
                                              wire::tcpopt::kTimestamp, 10};

bool parse_fast(const uint8_t* frame, uint32_t len, uint32_t wire_len, PacketView& out) {
  constexpr uint32_t kEth = sizeof(wire::EthHdr);
  constexpr uint32_t kTag = sizeof(wire::VlanTag);
  constexpr uint32_t kIp = sizeof(wire::Ipv4Hdr);
  constexpr uint32_t kTcp = sizeof(wire::TcpHdr);
  // Ethernet, IPv4 and TCP fixed headers present (general path: eth_,
  // vlan_, ipv4_ and tcp_truncated).
  if (len < kEth + kIp + kTcp) return false;
  uint32_t off = kEth;
  uint16_t ether_type = load_be16(frame + 12);
  uint16_t vid = 0;
  uint8_t vlan_count = 0;
  if (ether_type == wire::kEtherTypeVlan) {
    if (len < kEth + kTag + kIp + kTcp) return false;
    vid = load_be16(frame + kEth) & 0x0FFF;
    ether_type = load_be16(frame + kEth + 2);
    vlan_count = 1;
    off += kTag;
  }
  if (ether_type != wire::kEtherTypeIpv4) return false;  // IPv6, QinQ, not IP
  const uint8_t* ip = frame + off;
  // Version 4 and IHL 5 (options: general path).
  if (ip[0] != 0x45) return false;
  const uint32_t total = load_be16(ip + 2);
  // wire_len >= len > off here, as in parse_ipv4 after its normalization.
  if (total < kIp || total > wire_len - off) return false;
  const uint16_t frag = load_be16(ip + 6);
  if ((frag & wire::kIpv4OffsetMask) != 0) return false;
  if (ip[9] != wire::kIpProtoTcp) return false;
  const uint32_t l4_offset = off + kIp;
  const uint32_t l4_len = total - kIp;
  if (l4_len < kTcp) return false;
  const uint8_t* tcp = frame + l4_offset;
  const uint32_t header_len = (tcp[12] >> 4) * 4u;
  if (header_len < kTcp || header_len > l4_len || header_len > len - l4_offset) return false;

  // Every field, in declaration order, written once: `out = PacketView{}`
  // compiles to a `rep stos` that cost a fifth of this function. A field
  // added to PacketView must be added here (the size check is a reminder).
  static_assert(sizeof(PacketView) == 112, "set every PacketView field below");
  out.src = IpAddr::from_v4(ip + 12);
  out.dst = IpAddr::from_v4(ip + 16);
  out.src_port = load_be16(tcp);
  out.dst_port = load_be16(tcp + 2);
  out.vlan_outer = vid;
  out.vlan_inner = 0;
  out.vlan_count = vlan_count;
  out.ip_version = 4;
  out.ttl = ip[8];
  out.tcp_flags = tcp[13];
  out.ip_id = load_be16(ip + 4);
  out.ip_dont_fragment = (frag & wire::kIpv4DontFragment) != 0;
  out.ip_first_fragment = (frag & wire::kIpv4MoreFragments) != 0;
  out.option_error = false;
  out.seq = load_be32(tcp + 4);
  out.ack = load_be32(tcp + 8);
  out.window = load_be16(tcp + 14);
  out.payload_len = static_cast<uint16_t>(l4_len - header_len);
  out.l3_offset = static_cast<uint16_t>(off);
  out.l4_offset = static_cast<uint16_t>(l4_offset);
  out.l4_len = static_cast<uint16_t>(l4_len);
  out.frame_len = len;
  out.wire_len = wire_len;
  out.frame = frame;
  out.payload = tcp + header_len;
  out.opt = TcpOptions{};
  const uint8_t* opts = tcp + kTcp;
  if (header_len == kTcp) return true;  // no options: nothing malformed
  if (header_len == kTcp + 12 &&
      std::memcmp(opts, kLinuxTimestampPrefix, sizeof(kLinuxTimestampPrefix)) == 0) {
    // Exactly what parse_tcp_options() makes of NOP NOP TS: no error.
    out.opt.has_timestamp = true;
    out.opt.tsval = load_be32(opts + 4);
    out.opt.tsecr = load_be32(opts + 8);
    return true;
  }
  out.option_error = !parse_tcp_options(opts, tcp + header_len, out.opt);
  return true;
}
}  // namespace

bool link_type_supported(uint16_t link_type) {
  switch (static_cast<LinkType>(link_type)) {
    case LinkType::kNull:
    case LinkType::kEthernet:
    case LinkType::kRaw:
    case LinkType::kLoop:
    case LinkType::kLinuxSll:
    case LinkType::kLinuxSll2:
      return true;
  }
  return false;
}

std::string_view parse_result_name(ParseResult r) { return kNames[static_cast<int>(r)]; }
bool parse_result_is_error(ParseResult r) { return kIsError[static_cast<int>(r)]; }

ParseResult parse_frame(const uint8_t* frame, uint32_t len, uint32_t wire_len,
                        PacketView& out, LinkType link) {
  if (wire_len < len) wire_len = len;
  if (link == LinkType::kEthernet && parse_fast(frame, len, wire_len, out)) {
    return ParseResult::ok;
  }
  out = PacketView{};
  out.frame = frame;
  out.frame_len = len;
  out.wire_len = wire_len;

  uint32_t off = 0;
  uint16_t ether_type = 0;
  switch (link) {
    case LinkType::kEthernet: {
      if (len < sizeof(wire::EthHdr)) return ParseResult::eth_truncated;
      ether_type = header_at<wire::EthHdr>(frame, 0)->ether_type.value();
      off = sizeof(wire::EthHdr);
      while (ether_type == wire::kEtherTypeVlan || ether_type == wire::kEtherTypeQinQ ||
             ether_type == wire::kEtherTypeQinQOld) {
        if (out.vlan_count == kMaxVlanTags) return ParseResult::vlan_too_deep;
        if (len < off + sizeof(wire::VlanTag)) return ParseResult::vlan_truncated;
        const auto* tag = header_at<wire::VlanTag>(frame, off);
        const uint16_t vid = tag->tci.value() & 0x0FFF;
        if (out.vlan_count == 0) {
          out.vlan_outer = vid;
        } else {
          out.vlan_inner = vid;
        }
        ++out.vlan_count;
        ether_type = tag->ether_type.value();
        off += sizeof(wire::VlanTag);
      }
      break;
    }
    case LinkType::kLinuxSll: {
      constexpr uint32_t kSllLen = 16;
      if (len < kSllLen) return ParseResult::eth_truncated;
      ether_type = static_cast<uint16_t>(frame[14] << 8 | frame[15]);
      off = kSllLen;
      break;
    }
    case LinkType::kLinuxSll2: {
      // Protocol type (2), reserved (2), interface index (4), ARPHRD (2),
      // packet type (1), address length (1), address (8).
      constexpr uint32_t kSll2Len = 20;
      if (len < kSll2Len) return ParseResult::eth_truncated;
      ether_type = static_cast<uint16_t>(frame[0] << 8 | frame[1]);
      off = kSll2Len;
      break;
    }
    case LinkType::kNull:
    case LinkType::kLoop: {
      // A 4-byte address family: AF_INET is 2 everywhere; AF_INET6 is 10
      // (Linux), 24 (NetBSD, OpenBSD), 28 (FreeBSD), 30 (macOS). NULL
      // stores it in the capturing host's order, which the file does not
      // say: either order is read.
      constexpr uint32_t kNullLen = 4;
      if (len < kNullLen) return ParseResult::eth_truncated;
      const uint32_t be = static_cast<uint32_t>(frame[0]) << 24 | frame[1] << 16 | frame[2] << 8 |
                          frame[3];
      const uint32_t le = static_cast<uint32_t>(frame[3]) << 24 | frame[2] << 16 | frame[1] << 8 |
                          frame[0];
      const auto family = [](uint32_t f) -> uint16_t {
        if (f == 2) return wire::kEtherTypeIpv4;
        if (f == 10 || f == 24 || f == 28 || f == 30) return wire::kEtherTypeIpv6;
        return 0;
      };
      ether_type = family(be);
      if (ether_type == 0 && link == LinkType::kNull) ether_type = family(le);
      off = kNullLen;
      break;
    }
    case LinkType::kRaw: {
      if (len < 1) return ParseResult::ipv4_truncated;
      ether_type = (frame[0] >> 4) == 6 ? wire::kEtherTypeIpv6 : wire::kEtherTypeIpv4;
      break;
    }
    default:
      return ParseResult::unsupported_link;
  }
  if (ether_type == wire::kEtherTypeIpv4) return parse_ipv4(frame, len, wire_len, off, out);
  if (ether_type == wire::kEtherTypeIpv6) return parse_ipv6(frame, len, wire_len, off, out);
  return ParseResult::not_ip;
}

// RFC 1071 sums do not depend on byte order (section 2(B)): the data is
// summed as 32-bit words in memory order into 64-bit sums, which cannot
// overflow below 2^32 words, folded to 16 bits and, on a little-endian host,
// swapped once. A folded sum is zero only when every byte and `initial` are
// zero, as in the word-by-word definition, so the result is the same for
// every input (checked against that definition on 3.4 million random and
// edge-case inputs; see BENCHMARKS.md, issue 6).
// Measured (TSC cycles): 1480 bytes ~236 -> ~117, 20 bytes ~7 -> ~7.
uint16_t internet_checksum(const void* data, size_t len, uint32_t initial) {
  const auto* p = static_cast<const uint8_t*>(data);
  uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;  // independent: the loop vectorizes
  for (; len >= 16; p += 16, len -= 16) {
    uint32_t w[4];
    std::memcpy(w, p, sizeof(w));
    s0 += w[0];
    s1 += w[1];
    s2 += w[2];
    s3 += w[3];
  }
  uint64_t sum = s0 + s1 + s2 + s3;
  for (; len >= 4; p += 4, len -= 4) {
    uint32_t w;
    std::memcpy(&w, p, sizeof(w));
    sum += w;
  }
  if (len >= 2) {
    uint16_t w;
    std::memcpy(&w, p, sizeof(w));
    sum += w;
    p += 2;
    len -= 2;
  }
  // An odd last byte starts a word padded with zero on the right: in memory
  // order on a little-endian host it is that word's low byte.
  if (len > 0) sum += std::endian::native == std::endian::little ? p[0] : p[0] << 8;
  // 64 -> 16 bits, still in memory order.
  sum = (sum & 0xFFFFFFFFu) + (sum >> 32);
  sum = (sum & 0xFFFFFFFFu) + (sum >> 32);
  sum = (sum & 0xFFFF) + (sum >> 16);
  sum = (sum & 0xFFFF) + (sum >> 16);
  const auto folded = static_cast<uint16_t>(sum);
  uint64_t total =
      (std::endian::native == std::endian::little ? __builtin_bswap16(folded) : folded) +
      static_cast<uint64_t>(initial);
  while (total >> 16) total = (total & 0xFFFF) + (total >> 16);
  return static_cast<uint16_t>(~total);
}

Checksum ipv4_header_checksum(const PacketView& p) {
  if (p.ip_version != 4) return Checksum::kUnknown;
  const uint32_t ihl = p.l4_offset - p.l3_offset;
  return internet_checksum(p.frame + p.l3_offset, ihl) == 0 ? Checksum::kGood : Checksum::kBad;
}

Checksum tcp_checksum(const PacketView& p) {
  if (p.ip_first_fragment) return Checksum::kUnknown;
  if (p.l4_offset + static_cast<uint32_t>(p.l4_len) > p.frame_len) return Checksum::kUnknown;
  uint32_t pseudo = 0;
  auto add_words = [&pseudo](const uint8_t* b, int n) {
    for (int i = 0; i < n; i += 2) pseudo += static_cast<uint32_t>(b[i] << 8 | b[i + 1]);
  };
  if (p.ip_version == 4) {
    add_words(p.src.bytes + 12, 4);
    add_words(p.dst.bytes + 12, 4);
  } else {
    add_words(p.src.bytes, 16);
    add_words(p.dst.bytes, 16);
  }
  pseudo += wire::kIpProtoTcp;
  pseudo += p.l4_len;
  return internet_checksum(p.frame + p.l4_offset, p.l4_len, pseudo) == 0 ? Checksum::kGood
                                                                          : Checksum::kBad;
}

}  // namespace rstguard

#include "builder/packet_builder.h"

#include <arpa/inet.h>

#include <cstring>
#include <stdexcept>
#include <string>

#include "core/headers.h"
#include "core/parser.h"

namespace rstguard {
namespace {

constexpr size_t kMaxIpLength = 65535;
constexpr size_t kIpv6ExtLen = 8;  // every extension header we emit

// Linux tcp_options_write order (net/ipv4/tcp_output.c): MSS; SACKP+TS
// together, or NOP NOP before either alone; NOP before WS.
size_t tcp_options_len(const TcpOptions& opt) {
  size_t len = 0;
  if (opt.auth & kAuthMd5) len += 20;                      // NOP NOP MD5 (18)
  if (opt.auth & kAuthAo) len += 16;                       // AO, 12-byte MAC
  if (opt.has_mss) len += 4;
  if (opt.has_timestamp) len += 12;                        // SACKP+TS or NOP NOP TS
  if (opt.sack_permitted && !opt.has_timestamp) len += 4;  // NOP NOP SACKP
  if (opt.has_wscale) len += 4;                            // NOP WS
  return len;
}

uint8_t* put_be16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
  return p + 2;
}

uint8_t* put_be32(uint8_t* p, uint32_t v) {
  p = put_be16(p, static_cast<uint16_t>(v >> 16));
  return put_be16(p, static_cast<uint16_t>(v));
}

void write_tcp_options(const TcpOptions& opt, uint8_t* p) {
  using namespace wire::tcpopt;
  // Signatures first, as Linux writes them; the digest bytes are filler
  // (nothing here holds a key).
  if (opt.auth & kAuthMd5) {
    *p++ = kNop;
    *p++ = kNop;
    *p++ = kMd5Signature;
    *p++ = 18;
    for (int i = 0; i < 16; ++i) *p++ = static_cast<uint8_t>(0xA5 ^ i);
  }
  if (opt.auth & kAuthAo) {
    *p++ = kAuthentication;
    *p++ = 16;
    *p++ = 1;  // KeyID
    *p++ = 1;  // RNextKeyID
    for (int i = 0; i < 12; ++i) *p++ = static_cast<uint8_t>(0x5A ^ i);
  }
  if (opt.has_mss) {
    *p++ = kMss;
    *p++ = 4;
    p = put_be16(p, opt.mss);
  }
  if (opt.has_timestamp) {
    if (opt.sack_permitted) {
      *p++ = kSackPermitted;
      *p++ = 2;
    } else {
      *p++ = kNop;
      *p++ = kNop;
    }
    *p++ = kTimestamp;
    *p++ = 10;
    p = put_be32(p, opt.tsval);
    p = put_be32(p, opt.tsecr);
  } else if (opt.sack_permitted) {
    *p++ = kNop;
    *p++ = kNop;
    *p++ = kSackPermitted;
    *p++ = 2;
  }
  if (opt.has_wscale) {
    *p++ = kNop;
    *p++ = kWindowScale;
    *p++ = 3;
    *p++ = opt.wscale;
  }
}

// One 8-byte extension header (RFC 8200 4.3-4.6) whose next header is `next`.
void write_ipv6_ext(uint8_t type, uint8_t next, uint8_t* p) {
  std::memset(p, 0, kIpv6ExtLen);
  p[0] = next;
  switch (type) {
    case wire::kIp6HopByHop:
    case wire::kIp6DestOpts:
      p[1] = 0;  // 8 bytes in all
      p[2] = 1;  // PadN (RFC 8200 4.2) covering the remaining 4 bytes
      p[3] = 4;
      break;
    case wire::kIp6Routing:
      p[1] = 0;
      p[2] = 0;  // routing type 0; segments left 0 => ignored (RFC 8200 4.4)
      p[3] = 0;
      break;
    case wire::kIp6Fragment:
      // Offset 0, M=0: an atomic fragment (RFC 8200 4.5, RFC 6946).
      put_be32(p + 4, 0x5eed0001);
      break;
  }
}

bool is_known_ext(uint8_t type) {
  return type == wire::kIp6HopByHop || type == wire::kIp6Routing || type == wire::kIp6DestOpts ||
         type == wire::kIp6Fragment;
}

uint32_t sum_words(const uint8_t* b, size_t n) {
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < n; i += 2) sum += static_cast<uint32_t>(b[i] << 8 | b[i + 1]);
  return sum;
}

}  // namespace

IpAddr ip(std::string_view text) {
  const std::string z(text);
  uint8_t buf[16];
  if (inet_pton(AF_INET, z.c_str(), buf) == 1) return IpAddr::from_v4(buf);
  if (inet_pton(AF_INET6, z.c_str(), buf) == 1) return IpAddr::from_v6(buf);
  throw std::invalid_argument("not an IPv4 or IPv6 address: " + z);
}

size_t build_frame_into(const SegmentSpec& spec, std::vector<uint8_t>& out) {
  const bool v4 = spec.src.is_v4() && spec.dst.is_v4();
  if (v4 && !spec.ipv6_ext.empty()) {
    throw std::invalid_argument("ipv6_ext on an IPv4 segment");
  }
  for (uint8_t type : spec.ipv6_ext) {
    if (!is_known_ext(type)) throw std::invalid_argument("unknown IPv6 extension header");
  }
  const size_t opt_len = tcp_options_len(spec.opt);
  const size_t tcp_hdr_len = sizeof(wire::TcpHdr) + opt_len;
  const size_t l4_len = tcp_hdr_len + spec.payload.size();
  const size_t ext_len = spec.ipv6_ext.size() * kIpv6ExtLen;
  const size_t l3_hdr_len = v4 ? sizeof(wire::Ipv4Hdr) : sizeof(wire::Ipv6Hdr) + ext_len;
  // IPv4 total_length counts the header; IPv6 payload_length does not.
  const size_t ip_len_field = v4 ? l3_hdr_len + l4_len : ext_len + l4_len;
  if (ip_len_field > kMaxIpLength) throw std::invalid_argument("IP length over 65535");
  const size_t l2_len = sizeof(wire::EthHdr) + spec.vlans.size() * sizeof(wire::VlanTag);
  const size_t frame_len = l2_len + l3_hdr_len + l4_len;

  const size_t start = out.size();
  out.resize(start + frame_len);  // zero-filled; no allocation within capacity
  uint8_t* const frame = out.data() + start;

  // Ethernet and VLAN tags.
  auto* eth = reinterpret_cast<wire::EthHdr*>(frame);
  std::memcpy(eth->dst, spec.dst_mac, 6);
  std::memcpy(eth->src, spec.src_mac, 6);
  const uint16_t l3_type = v4 ? wire::kEtherTypeIpv4 : wire::kEtherTypeIpv6;
  Be16* next_type = &eth->ether_type;
  size_t off = sizeof(wire::EthHdr);
  for (size_t i = 0; i < spec.vlans.size(); ++i) {
    const bool outer_of_many = i == 0 && spec.vlans.size() > 1;
    *next_type = Be16::from_host(outer_of_many ? wire::kEtherTypeQinQ : wire::kEtherTypeVlan);
    auto* tag = reinterpret_cast<wire::VlanTag*>(frame + off);
    tag->tci = Be16::from_host(spec.vlans[i] & 0x0FFF);
    next_type = &tag->ether_type;
    off += sizeof(wire::VlanTag);
  }
  *next_type = Be16::from_host(l3_type);

  // IP header; `pseudo` is the TCP pseudo-header sum (RFC 9293 3.1, RFC 8200 8.1).
  uint32_t pseudo = wire::kIpProtoTcp + static_cast<uint32_t>(l4_len);
  if (v4) {
    auto* iph = reinterpret_cast<wire::Ipv4Hdr*>(frame + off);
    iph->version_ihl = 0x45;
    iph->total_length = Be16::from_host(static_cast<uint16_t>(ip_len_field));
    iph->id = Be16::from_host(spec.ip_id);
    iph->frag_off = Be16::from_host(spec.dont_fragment ? wire::kIpv4DontFragment : 0);
    iph->ttl = spec.ttl;
    iph->protocol = wire::kIpProtoTcp;
    std::memcpy(iph->src, spec.src.bytes + 12, 4);
    std::memcpy(iph->dst, spec.dst.bytes + 12, 4);
    iph->checksum = Be16::from_host(internet_checksum(iph, sizeof(wire::Ipv4Hdr)));
    pseudo += sum_words(iph->src, 4) + sum_words(iph->dst, 4);
    off += sizeof(wire::Ipv4Hdr);
  } else {
    auto* iph = reinterpret_cast<wire::Ipv6Hdr*>(frame + off);
    iph->vtc_flow = Be32::from_host(6u << 28);
    iph->payload_length = Be16::from_host(static_cast<uint16_t>(ip_len_field));
    iph->next_header = spec.ipv6_ext.empty() ? wire::kIpProtoTcp : spec.ipv6_ext.front();
    iph->hop_limit = spec.ttl;
    std::memcpy(iph->src, spec.src.bytes, 16);
    std::memcpy(iph->dst, spec.dst.bytes, 16);
    pseudo += sum_words(iph->src, 16) + sum_words(iph->dst, 16);
    off += sizeof(wire::Ipv6Hdr);
    for (size_t i = 0; i < spec.ipv6_ext.size(); ++i) {
      const uint8_t next = i + 1 < spec.ipv6_ext.size() ? spec.ipv6_ext[i + 1] : wire::kIpProtoTcp;
      write_ipv6_ext(spec.ipv6_ext[i], next, frame + off);
      off += kIpv6ExtLen;
    }
  }

  // TCP header, options, payload, checksum.
  auto* tcp = reinterpret_cast<wire::TcpHdr*>(frame + off);
  tcp->src_port = Be16::from_host(spec.src_port);
  tcp->dst_port = Be16::from_host(spec.dst_port);
  tcp->seq = Be32::from_host(spec.seq);
  tcp->ack = Be32::from_host(spec.ack);
  tcp->data_offset = static_cast<uint8_t>((tcp_hdr_len / 4) << 4);
  tcp->flags = spec.flags;
  tcp->window = Be16::from_host(spec.window);
  write_tcp_options(spec.opt, frame + off + sizeof(wire::TcpHdr));
  if (!spec.payload.empty()) {
    std::memcpy(frame + off + tcp_hdr_len, spec.payload.data(), spec.payload.size());
  }
  uint16_t check = internet_checksum(tcp, l4_len, pseudo);
  // Flipping the low bit never maps 0x0000 to 0xFFFF (the two zeros of
  // one's complement), so the result always fails verification.
  if (spec.corrupt_tcp_checksum) check ^= 0x0001;
  tcp->checksum = Be16::from_host(check);
  return frame_len;
}

std::vector<uint8_t> build_frame(const SegmentSpec& spec) {
  std::vector<uint8_t> out;
  build_frame_into(spec, out);
  return out;
}

}  // namespace rstguard

// Packet builder: whole Ethernet frames from a description of one TCP
// segment, with correct IPv4 header and TCP checksums. Pure C++, no I/O.
// Used by the unit tests, the scenario capture generator and the benchmarks;
// never on the packet path. Thread-safe (no shared state).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "core/packet_view.h"

namespace rstguard {

// Parses "10.0.0.1" or "2001:db8::1" into an IpAddr (IPv4 stored mapped, see
// packet_view.h). Throws std::invalid_argument on text that is neither.
IpAddr ip(std::string_view text);

struct SegmentSpec {
  IpAddr src{}, dst{};  // both v4-mapped => IPv4 frame, else IPv6
  uint16_t src_port = 0, dst_port = 0;
  uint32_t seq = 0, ack = 0;
  uint8_t flags = 0;  // wire::tcpflag bits
  uint16_t window = 65535;
  uint8_t ttl = 64;  // hop limit for IPv6
  uint16_t ip_id = 0;
  bool dont_fragment = true;
  // VIDs, outer first. 1 tag => 0x8100; 2 tags => outer 0x88A8 then 0x8100.
  // More than 2 (only to test rejection): outer 0x88A8, every other 0x8100.
  std::vector<uint16_t> vlans;
  // Emits MSS, SACK-permitted, timestamps and window scale when set, in the
  // order and NOP padding Linux uses (tcp_options_write): MSS, SACKP+TS (or
  // NOP NOP + either alone), NOP WS. The option area is a multiple of 4.
  TcpOptions opt;
  std::vector<uint8_t> payload;
  // IPv6 only: extension headers inserted before TCP, by next-header number:
  // 0 hop-by-hop, 43 routing, 60 destination options (each 8 bytes: a PadN
  // option, or type 0 with segments left 0 for routing); 44 fragment (an
  // atomic first fragment: offset 0, M=0). Anything else throws.
  std::vector<uint8_t> ipv6_ext;
  bool corrupt_tcp_checksum = false;
  uint8_t src_mac[6] = {0x02, 0, 0, 0, 0, 1};
  uint8_t dst_mac[6] = {0x02, 0, 0, 0, 0, 2};
};

// A whole Ethernet frame with correct IPv4 header and TCP checksums (unless
// corrupt_tcp_checksum). Throws std::invalid_argument when the spec cannot be
// encoded (IP length over 65535, ipv6_ext on an IPv4 frame, unknown
// extension header number).
std::vector<uint8_t> build_frame(const SegmentSpec& spec);

// Same, appended to `out` (no allocation when out has the capacity); returns
// the frame length. On a throw `out` is unchanged.
size_t build_frame_into(const SegmentSpec& spec, std::vector<uint8_t>& out);

}  // namespace rstguard

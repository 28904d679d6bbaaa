// Frame parser: Ethernet II, 802.1Q / QinQ, IPv4 (options), IPv6 (extension
// headers), TCP (options). Pure function of the bytes; thread-safe.
#pragma once

#include <cstdint>
#include <string_view>

#include "core/packet_view.h"

namespace rstguard {

enum class ParseResult : uint8_t {
#define X(id, name, is_error) id,
#include "core/parse_result.def"
#undef X
};
inline constexpr int kParseResultCount = 0
#define X(id, name, is_error) +1
#include "core/parse_result.def"
#undef X
    ;

std::string_view parse_result_name(ParseResult r);
bool parse_result_is_error(ParseResult r);

// Link types we read (pcap LINKTYPE_* numbers).
// LINKTYPE_* values rstguard reads: Ethernet, BSD loopback (NULL: the
// address family in the capturing host's byte order; LOOP: in network
// order), raw IP, Linux cooked captures v1 and v2 (what `tcpdump -i any`
// writes on current Linux).
enum class LinkType : uint16_t {
  kNull = 0,
  kEthernet = 1,
  kRaw = 101,
  kLoop = 108,
  kLinuxSll = 113,
  kLinuxSll2 = 276,
};
bool link_type_supported(uint16_t link_type);  // after LINKTYPE_IPV4/IPV6 -> raw

// Parses one frame. On ParseResult::ok every field of `out` is valid and
// out.payload points into `frame`. On any other result `out` is partial.
// `len` is the bytes present; `wire_len` the frame's length on the wire
// (larger for a capture with a short snap length: headers are still judged).
// A malformed TCP option does not reject the frame: like a receiving stack
// (RFC 9293 3.1, Linux tcp_parse_options) option parsing stops there, the
// frame is still judged, and out.option_error names the reason.
ParseResult parse_frame(const uint8_t* frame, uint32_t len, uint32_t wire_len,
                        PacketView& out, LinkType link = LinkType::kEthernet);

// RFC 1071 checksums, computed only for resets (they are rare) and for the
// first packets of a direction, to spot insertion packets that an end host
// would discard. kUnknown when the capture did not keep enough bytes.
enum class Checksum : uint8_t { kUnknown, kGood, kBad };
Checksum ipv4_header_checksum(const PacketView& p);
Checksum tcp_checksum(const PacketView& p);
// Fills the checksum fields of a built frame (used by generators and tests).
uint16_t internet_checksum(const void* data, size_t len, uint32_t initial = 0);

}  // namespace rstguard

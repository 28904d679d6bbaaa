// Frame parser tests: each layer, every PacketView field, hostile inputs with
// their exact ParseResult, checksums, a randomized mutation run, and the
// packet builder round-tripping through the parser.
#include "core/parser.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <ostream>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/headers.h"
#include "builder/packet_builder.h"

namespace rstguard {

// Readable failure messages (found by ADL, so they live in rstguard).
static void PrintTo(ParseResult r, std::ostream* os) { *os << parse_result_name(r); }
static void PrintTo(const IpAddr& a, std::ostream* os) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (int i = 0; i < 16; ++i) {
    if (i != 0 && i % 2 == 0) *os << ':';
    *os << kHex[a.bytes[i] >> 4] << kHex[a.bytes[i] & 0xf];
  }
}

namespace {

using wire::tcpflag::kAck;
using wire::tcpflag::kFin;
using wire::tcpflag::kPsh;
using wire::tcpflag::kRst;
using wire::tcpflag::kSyn;

constexpr size_t kEthLen = sizeof(wire::EthHdr);
constexpr size_t kTagLen = sizeof(wire::VlanTag);
constexpr size_t kIpv4Len = sizeof(wire::Ipv4Hdr);
constexpr size_t kIpv6Len = sizeof(wire::Ipv6Hdr);
constexpr size_t kTcpLen = sizeof(wire::TcpHdr);
constexpr size_t kExtLen = 8;  // every extension header the builder emits

std::vector<uint8_t> bytes_of(std::string_view s) { return {s.begin(), s.end()}; }

SegmentSpec v4_spec() {
  SegmentSpec s;
  s.src = ip("10.0.0.1");
  s.dst = ip("192.168.1.2");
  s.src_port = 43210;
  s.dst_port = 443;
  s.seq = 0xFFFFFF00u;
  s.ack = 0x12345678u;
  s.flags = kAck | kPsh;
  s.window = 29200;
  s.ttl = 57;
  s.ip_id = 0xBEEF;
  s.payload = bytes_of("hello, world!");  // odd length: exercises the checksum tail
  return s;
}

SegmentSpec v6_spec() {
  SegmentSpec s = v4_spec();
  s.src = ip("2001:db8::1");
  s.dst = ip("2001:db8:1::2");
  return s;
}

TcpOptions all_options() {
  TcpOptions o;
  o.has_mss = true;
  o.mss = 1460;
  o.sack_permitted = true;
  o.has_timestamp = true;
  o.tsval = 0xA1B2C3D4u;
  o.tsecr = 0x01020304u;
  o.has_wscale = true;
  o.wscale = 7;
  return o;
}

// Option bytes the Linux layout takes (independent of the builder's code).
size_t option_bytes(const TcpOptions& o) {
  return (o.has_mss ? 4 : 0) + (o.has_timestamp ? 12 : 0) +
         (o.sack_permitted && !o.has_timestamp ? 4 : 0) + (o.has_wscale ? 4 : 0);
}

bool is_v4(const SegmentSpec& s) { return s.src.is_v4() && s.dst.is_v4(); }
size_t l3_of(const SegmentSpec& s) { return kEthLen + s.vlans.size() * kTagLen; }
size_t l4_of(const SegmentSpec& s) {
  return l3_of(s) + (is_v4(s) ? kIpv4Len : kIpv6Len + s.ipv6_ext.size() * kExtLen);
}
size_t tcp_header_of(const SegmentSpec& s) { return kTcpLen + option_bytes(s.opt); }

struct Parsed {
  ParseResult result;
  PacketView view;
};

// wire_len 0 means "the whole frame was captured".
Parsed parse(const std::vector<uint8_t>& f, uint32_t wire_len = 0,
             LinkType link = LinkType::kEthernet) {
  Parsed p{};
  const auto len = static_cast<uint32_t>(f.size());
  p.result = parse_frame(f.data(), len, wire_len ? wire_len : len, p.view, link);
  return p;
}

uint16_t get16(const std::vector<uint8_t>& f, size_t at) {
  return static_cast<uint16_t>(f[at] << 8 | f[at + 1]);
}
void put16(std::vector<uint8_t>& f, size_t at, uint16_t v) {
  f[at] = static_cast<uint8_t>(v >> 8);
  f[at + 1] = static_cast<uint8_t>(v);
}

// Recomputes the IP length field, the IPv4 header checksum and the TCP
// checksum after a test edited a built frame (TCP runs from l4 to the end).
void fix_up(std::vector<uint8_t>& f, size_t l3, size_t l4) {
  uint32_t pseudo = 0;
  auto add_words = [&pseudo, &f](size_t at, size_t n) {
    for (size_t i = 0; i < n; i += 2) pseudo += get16(f, at + i);
  };
  if ((f[l3] >> 4) == 4) {
    put16(f, l3 + 2, static_cast<uint16_t>(f.size() - l3));
    put16(f, l3 + 10, 0);
    put16(f, l3 + 10, internet_checksum(f.data() + l3, (f[l3] & 0x0f) * 4u));
    add_words(l3 + 12, 8);
  } else {
    put16(f, l3 + 4, static_cast<uint16_t>(f.size() - l3 - kIpv6Len));
    add_words(l3 + 8, 32);
  }
  const size_t l4_len = f.size() - l4;
  pseudo += wire::kIpProtoTcp + static_cast<uint32_t>(l4_len);
  put16(f, l4 + 16, 0);
  put16(f, l4 + 16, internet_checksum(f.data() + l4, l4_len, pseudo));
}

// A built frame with `words` 32-bit words of IPv4 options (NOPs, then EOL).
std::vector<uint8_t> with_ipv4_options(const SegmentSpec& spec, size_t words) {
  std::vector<uint8_t> f = build_frame(spec);
  const size_t l3 = l3_of(spec);
  std::vector<uint8_t> options(words * 4, 0x01);
  options.back() = 0x00;
  f.insert(f.begin() + static_cast<ptrdiff_t>(l3 + kIpv4Len), options.begin(), options.end());
  f[l3] = static_cast<uint8_t>(0x40 | (5 + words));
  fix_up(f, l3, l3 + kIpv4Len + options.size());
  return f;
}

// A built frame whose TCP option area is exactly `raw`, EOL-padded to 4 bytes.
std::vector<uint8_t> with_tcp_options(SegmentSpec spec, std::vector<uint8_t> raw) {
  spec.opt = TcpOptions{};
  std::vector<uint8_t> f = build_frame(spec);
  while (raw.size() % 4 != 0) raw.push_back(wire::tcpopt::kEol);
  const size_t l4 = l4_of(spec);
  f.insert(f.begin() + static_cast<ptrdiff_t>(l4 + kTcpLen), raw.begin(), raw.end());
  f[l4 + 12] = static_cast<uint8_t>((5 + raw.size() / 4) << 4);
  fix_up(f, l3_of(spec), l4);
  return f;
}

// Checks every PacketView field against the spec the frame was built from.
void expect_matches(const PacketView& v, const SegmentSpec& s, const std::vector<uint8_t>& f) {
  const bool v4 = is_v4(s);
  EXPECT_EQ(v.src, s.src);
  EXPECT_EQ(v.dst, s.dst);
  EXPECT_EQ(v.src.is_v4(), s.src.is_v4());
  EXPECT_EQ(v.dst.is_v4(), s.dst.is_v4());
  EXPECT_EQ(v.src_port, s.src_port);
  EXPECT_EQ(v.dst_port, s.dst_port);
  EXPECT_EQ(v.vlan_count, s.vlans.size());
  EXPECT_EQ(v.vlan_outer, s.vlans.size() > 0 ? s.vlans[0] & 0x0FFF : 0);
  EXPECT_EQ(v.vlan_inner, s.vlans.size() > 1 ? s.vlans[1] & 0x0FFF : 0);
  EXPECT_EQ(v.ip_version, v4 ? 4 : 6);
  EXPECT_EQ(v.ttl, s.ttl);
  EXPECT_EQ(v.tcp_flags, s.flags);
  EXPECT_EQ(v.ip_id, v4 ? s.ip_id : 0);
  EXPECT_EQ(v.ip_dont_fragment, v4 && s.dont_fragment);
  EXPECT_FALSE(v.ip_first_fragment);
  EXPECT_FALSE(v.option_error);
  EXPECT_EQ(v.seq, s.seq);
  EXPECT_EQ(v.ack, s.ack);
  EXPECT_EQ(v.window, s.window);
  EXPECT_EQ(v.payload_len, s.payload.size());
  EXPECT_EQ(v.l3_offset, l3_of(s));
  EXPECT_EQ(v.l4_offset, l4_of(s));
  EXPECT_EQ(v.l4_len, tcp_header_of(s) + s.payload.size());
  EXPECT_EQ(v.frame_len, f.size());
  EXPECT_EQ(v.wire_len, f.size());
  EXPECT_EQ(v.frame, f.data());
  EXPECT_EQ(v.payload, f.data() + l4_of(s) + tcp_header_of(s));
  if (!s.payload.empty()) {
    EXPECT_EQ(std::memcmp(v.payload, s.payload.data(), s.payload.size()), 0);
  }
  EXPECT_EQ(v.opt.has_mss, s.opt.has_mss);
  EXPECT_EQ(v.opt.has_wscale, s.opt.has_wscale);
  EXPECT_EQ(v.opt.sack_permitted, s.opt.sack_permitted);
  EXPECT_EQ(v.opt.has_timestamp, s.opt.has_timestamp);
  if (s.opt.has_mss) {
    EXPECT_EQ(v.opt.mss, s.opt.mss);
  }
  if (s.opt.has_wscale) {
    EXPECT_EQ(v.opt.wscale, s.opt.wscale);
  }
  if (s.opt.has_timestamp) {
    EXPECT_EQ(v.opt.tsval, s.opt.tsval);
    EXPECT_EQ(v.opt.tsecr, s.opt.tsecr);
  }
}

// ---------------------------------------------------------------------------
// Names and the checksum primitive.

TEST(ParseResultNames, OkIsNotAnErrorAndNamesAreDistinct) {
  EXPECT_EQ(parse_result_name(ParseResult::ok), "ok");
  EXPECT_FALSE(parse_result_is_error(ParseResult::ok));
  EXPECT_FALSE(parse_result_is_error(ParseResult::not_tcp));
  EXPECT_TRUE(parse_result_is_error(ParseResult::tcp_truncated));
  EXPECT_EQ(parse_result_name(ParseResult::vlan_too_deep), "parse.error.vlan_too_deep");
  for (int i = 0; i < kParseResultCount; ++i) {
    const auto name = parse_result_name(static_cast<ParseResult>(i));
    EXPECT_FALSE(name.empty());
    for (int j = 0; j < i; ++j) EXPECT_NE(name, parse_result_name(static_cast<ParseResult>(j)));
  }
}

TEST(InternetChecksum, Rfc1071Example) {
  // RFC 1071 section 3: the sum of these words is 0xddf2.
  const uint8_t data[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
  EXPECT_EQ(internet_checksum(data, sizeof(data)), 0x220d);
  EXPECT_EQ(internet_checksum(data, 0), 0xffff);
  // An odd trailing byte is padded with zero on the right.
  const uint8_t odd[] = {0x12, 0x34, 0x56};
  EXPECT_EQ(internet_checksum(odd, 3), static_cast<uint16_t>(~(0x1234 + 0x5600)));
}

// ---------------------------------------------------------------------------
// Packet builder.

TEST(PacketBuilder, IpParsesBothFamilies) {
  const IpAddr a = ip("10.0.0.1");
  EXPECT_TRUE(a.is_v4());
  EXPECT_EQ(a.bytes[12], 10);
  EXPECT_EQ(a.bytes[15], 1);
  EXPECT_EQ(ip("::ffff:10.0.0.1"), a);

  const IpAddr b = ip("2001:db8::1");
  EXPECT_FALSE(b.is_v4());
  EXPECT_EQ(b.bytes[0], 0x20);
  EXPECT_EQ(b.bytes[1], 0x01);
  EXPECT_EQ(b.bytes[2], 0x0d);
  EXPECT_EQ(b.bytes[3], 0xb8);
  EXPECT_EQ(b.bytes[15], 1);

  for (const char* bad : {"", "10.0.0.256", "10.0.0", "hello", "1::2::3", "10.0.0.1 "}) {
    EXPECT_THROW(ip(bad), std::invalid_argument) << bad;
  }
}

TEST(PacketBuilder, Ipv4FrameLayout) {
  const SegmentSpec s = v4_spec();
  const std::vector<uint8_t> f = build_frame(s);
  ASSERT_EQ(f.size(), kEthLen + kIpv4Len + kTcpLen + s.payload.size());
  EXPECT_EQ(std::memcmp(f.data(), s.dst_mac, 6), 0);
  EXPECT_EQ(std::memcmp(f.data() + 6, s.src_mac, 6), 0);
  EXPECT_EQ(get16(f, 12), wire::kEtherTypeIpv4);
  EXPECT_EQ(f[14], 0x45);
  EXPECT_EQ(get16(f, 16), kIpv4Len + kTcpLen + s.payload.size());
  EXPECT_EQ(get16(f, 18), 0xBEEF);
  EXPECT_EQ(get16(f, 20), wire::kIpv4DontFragment);
  EXPECT_EQ(f[22], 57);
  EXPECT_EQ(f[23], wire::kIpProtoTcp);
  EXPECT_EQ(internet_checksum(f.data() + 14, kIpv4Len), 0);
  EXPECT_EQ(f[34 + 12], 0x50);
  EXPECT_EQ(f[34 + 13], kAck | kPsh);
}

TEST(PacketBuilder, VlanTagTypes) {
  SegmentSpec s = v4_spec();
  s.vlans = {100};
  std::vector<uint8_t> f = build_frame(s);
  EXPECT_EQ(get16(f, 12), wire::kEtherTypeVlan);
  EXPECT_EQ(get16(f, 14), 100);
  EXPECT_EQ(get16(f, 16), wire::kEtherTypeIpv4);

  s.vlans = {100, 200};
  f = build_frame(s);
  EXPECT_EQ(get16(f, 12), wire::kEtherTypeQinQ);
  EXPECT_EQ(get16(f, 14), 100);
  EXPECT_EQ(get16(f, 16), wire::kEtherTypeVlan);
  EXPECT_EQ(get16(f, 18), 200);
  EXPECT_EQ(get16(f, 20), wire::kEtherTypeIpv4);
}

TEST(PacketBuilder, LinuxOptionLayout) {
  struct Case {
    const char* name;
    TcpOptions opt;
    std::vector<uint8_t> expected;
  };
  TcpOptions mss, ts, sackp, ws, all = all_options();
  mss.has_mss = true;
  mss.mss = 1460;
  ts.has_timestamp = true;
  ts.tsval = 1;
  ts.tsecr = 2;
  sackp.sack_permitted = true;
  ws.has_wscale = true;
  ws.wscale = 9;
  const std::vector<Case> cases = {
      {"none", TcpOptions{}, {}},
      {"mss", mss, {2, 4, 0x05, 0xb4}},
      {"ts", ts, {1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2}},
      {"sackp", sackp, {1, 1, 4, 2}},
      {"ws", ws, {1, 3, 3, 9}},
      {"all", all, {2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0xA1, 0xB2, 0xC3, 0xD4, 1, 2, 3, 4, 1, 3, 3, 7}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    SegmentSpec s = v4_spec();
    s.opt = c.opt;
    const std::vector<uint8_t> f = build_frame(s);
    const size_t l4 = l4_of(s);
    ASSERT_EQ(static_cast<size_t>(f[l4 + 12] >> 4), 5 + c.expected.size() / 4);
    EXPECT_EQ(std::vector<uint8_t>(f.begin() + static_cast<ptrdiff_t>(l4 + kTcpLen),
                                   f.begin() + static_cast<ptrdiff_t>(l4 + kTcpLen) +
                                       static_cast<ptrdiff_t>(c.expected.size())),
              c.expected);
  }
}

TEST(PacketBuilder, BuildFrameIntoAppendsWithoutAllocating) {
  SegmentSpec s = v6_spec();
  s.vlans = {7};
  s.ipv6_ext = {0, 44};
  s.opt = all_options();
  const std::vector<uint8_t> whole = build_frame(s);

  std::vector<uint8_t> out;
  out.reserve(4096);
  out.assign({0xAA, 0xBB, 0xCC});
  const uint8_t* before = out.data();
  const size_t len = build_frame_into(s, out);
  EXPECT_EQ(out.data(), before);
  ASSERT_EQ(len, whole.size());
  ASSERT_EQ(out.size(), 3 + whole.size());
  EXPECT_EQ(out[0], 0xAA);
  EXPECT_EQ(std::vector<uint8_t>(out.begin() + 3, out.end()), whole);

  const size_t second = build_frame_into(s, out);
  EXPECT_EQ(out.data(), before);
  EXPECT_EQ(out.size(), 3 + len + second);
}

TEST(PacketBuilder, RejectsWhatCannotBeEncoded) {
  SegmentSpec s = v4_spec();
  s.ipv6_ext = {0};
  std::vector<uint8_t> out = {1, 2, 3};
  EXPECT_THROW(build_frame_into(s, out), std::invalid_argument);
  EXPECT_EQ(out.size(), 3u);

  s = v6_spec();
  s.ipv6_ext = {17};
  EXPECT_THROW(build_frame(s), std::invalid_argument);

  s = v4_spec();
  s.payload.assign(65535 - kIpv4Len - kTcpLen, 'x');
  EXPECT_NO_THROW(build_frame(s));
  s.payload.push_back('x');
  EXPECT_THROW(build_frame(s), std::invalid_argument);
}

TEST(PacketBuilder, RoundTripsThroughParser) {
  struct Case {
    const char* name;
    SegmentSpec spec;
  };
  std::vector<Case> cases;
  auto add = [&cases](const char* name, SegmentSpec s) { cases.push_back({name, std::move(s)}); };
  add("v4", v4_spec());
  {
    SegmentSpec s = v4_spec();
    s.flags = kSyn;
    s.payload.clear();
    s.opt = all_options();
    s.dont_fragment = false;
    add("v4_syn_options", s);
  }
  {
    SegmentSpec s = v4_spec();
    s.vlans = {4095};
    s.flags = kRst | kAck;
    s.payload.clear();
    s.window = 0;
    add("v4_vlan_rst", s);
  }
  {
    SegmentSpec s = v4_spec();
    s.vlans = {1, 4094};
    s.opt.has_timestamp = true;
    s.opt.tsval = 77;
    s.opt.tsecr = 88;
    add("v4_qinq_ts", s);
  }
  add("v6", v6_spec());
  {
    SegmentSpec s = v6_spec();
    s.flags = kSyn | kAck;
    s.opt = all_options();
    s.opt.sack_permitted = false;
    s.payload.clear();
    add("v6_synack_options", s);
  }
  {
    SegmentSpec s = v6_spec();
    s.vlans = {10, 20};
    s.ipv6_ext = {0, 43, 60, 44};
    s.opt.has_mss = true;
    s.opt.mss = 1220;
    s.opt.sack_permitted = true;
    s.flags = kFin | kAck;
    s.payload.assign(1000, 0x5a);
    add("v6_qinq_ext", s);
  }
  {
    SegmentSpec s = v4_spec();
    s.src = ip("::ffff:1.2.3.4");
    s.dst = ip("2001:db8::9");  // one side v4-mapped only: an IPv6 frame
    add("v6_mapped_src", s);
  }
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const std::vector<uint8_t> f = build_frame(c.spec);
    const Parsed p = parse(f);
    ASSERT_EQ(p.result, ParseResult::ok);
    expect_matches(p.view, c.spec, f);
    EXPECT_EQ(tcp_checksum(p.view), Checksum::kGood);
    EXPECT_EQ(ipv4_header_checksum(p.view), is_v4(c.spec) ? Checksum::kGood : Checksum::kUnknown);
  }
}

// ---------------------------------------------------------------------------
// Ethernet and VLAN.

TEST(ParserEthernet, VlanLayers) {
  struct Case {
    const char* name;
    std::vector<uint16_t> vlans;
    bool v6;
  };
  const std::vector<Case> cases = {
      {"untagged_v4", {}, false}, {"untagged_v6", {}, true},      {"dot1q_v4", {100}, false},
      {"dot1q_v6", {4095}, true}, {"qinq_v4", {100, 200}, false}, {"qinq_v6", {1, 2}, true},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    SegmentSpec s = c.v6 ? v6_spec() : v4_spec();
    s.vlans = c.vlans;
    const std::vector<uint8_t> f = build_frame(s);
    const Parsed p = parse(f);
    ASSERT_EQ(p.result, ParseResult::ok);
    expect_matches(p.view, s, f);
  }
}

TEST(ParserEthernet, VidIgnoresPriorityAndDei) {
  SegmentSpec s = v4_spec();
  s.vlans = {100, 200};
  std::vector<uint8_t> f = build_frame(s);
  put16(f, 14, 0xF000 | 100);  // PCP 7, DEI 1
  put16(f, 18, 0xA000 | 200);
  const Parsed p = parse(f);
  ASSERT_EQ(p.result, ParseResult::ok);
  EXPECT_EQ(p.view.vlan_outer, 100);
  EXPECT_EQ(p.view.vlan_inner, 200);
}

TEST(ParserEthernet, OtherQinQOuterTypes) {
  SegmentSpec s = v4_spec();
  s.vlans = {10, 20};
  for (uint16_t outer : {wire::kEtherTypeVlan, wire::kEtherTypeQinQOld, wire::kEtherTypeQinQ}) {
    SCOPED_TRACE(outer);
    std::vector<uint8_t> f = build_frame(s);
    put16(f, 12, outer);  // 0x8100 stacked twice, pre-standard 0x9100, 802.1ad
    const Parsed p = parse(f);
    ASSERT_EQ(p.result, ParseResult::ok);
    EXPECT_EQ(p.view.vlan_count, 2);
    EXPECT_EQ(p.view.vlan_outer, 10);
    EXPECT_EQ(p.view.vlan_inner, 20);
    EXPECT_EQ(p.view.l3_offset, kEthLen + 2 * kTagLen);
  }
}

TEST(ParserEthernet, ThirdTagIsTooDeep) {
  SegmentSpec s = v4_spec();
  s.vlans = {1, 2, 3};
  std::vector<uint8_t> f = build_frame(s);
  EXPECT_EQ(parse(f).result, ParseResult::vlan_too_deep);
  put16(f, 12, wire::kEtherTypeVlan);  // three 0x8100 tags
  EXPECT_EQ(parse(f).result, ParseResult::vlan_too_deep);
  s.vlans = {1, 2, 3, 4, 5};
  EXPECT_EQ(parse(build_frame(s)).result, ParseResult::vlan_too_deep);
}

TEST(ParserEthernet, NotIp) {
  SegmentSpec s = v4_spec();
  std::vector<uint8_t> f = build_frame(s);
  put16(f, 12, 0x0806);  // ARP
  EXPECT_EQ(parse(f).result, ParseResult::not_ip);

  // A real ARP request: 14 + 28 bytes, padded to 60.
  std::vector<uint8_t> arp(60, 0);
  std::memset(arp.data(), 0xff, 6);
  put16(arp, 12, 0x0806);
  put16(arp, 14, 1);
  put16(arp, 16, 0x0800);
  arp[18] = 6;
  arp[19] = 4;
  put16(arp, 20, 1);
  EXPECT_EQ(parse(arp).result, ParseResult::not_ip);

  s.vlans = {5};
  f = build_frame(s);
  put16(f, 16, 0x88CC);  // LLDP behind a tag
  const Parsed p = parse(f);
  EXPECT_EQ(p.result, ParseResult::not_ip);
  EXPECT_EQ(p.view.vlan_outer, 5);
}

// ---------------------------------------------------------------------------
// IPv4.

TEST(ParserIpv4, OptionsIhl6To15) {
  SegmentSpec s = v4_spec();
  s.vlans = {3};
  for (size_t words = 1; words <= 10; ++words) {
    SCOPED_TRACE(words);
    const std::vector<uint8_t> f = with_ipv4_options(s, words);
    const Parsed p = parse(f);
    ASSERT_EQ(p.result, ParseResult::ok);
    EXPECT_EQ(p.view.l3_offset, l3_of(s));
    EXPECT_EQ(p.view.l4_offset, l3_of(s) + kIpv4Len + 4 * words);
    EXPECT_EQ(p.view.src_port, s.src_port);
    EXPECT_EQ(p.view.seq, s.seq);
    EXPECT_EQ(p.view.payload_len, s.payload.size());
    EXPECT_EQ(std::memcmp(p.view.payload, s.payload.data(), s.payload.size()), 0);
    EXPECT_EQ(ipv4_header_checksum(p.view), Checksum::kGood);
    EXPECT_EQ(tcp_checksum(p.view), Checksum::kGood);
  }
}

TEST(ParserIpv4, BadVersionAndIhl) {
  const SegmentSpec s = v4_spec();
  const std::vector<uint8_t> good = build_frame(s);
  for (uint8_t ihl = 0; ihl < 5; ++ihl) {
    std::vector<uint8_t> f = good;
    f[14] = static_cast<uint8_t>(0x40 | ihl);
    EXPECT_EQ(parse(f).result, ParseResult::ipv4_bad_ihl) << int{ihl};
  }
  std::vector<uint8_t> f = good;
  f[14] = 0x65;
  EXPECT_EQ(parse(f).result, ParseResult::ipv4_bad_version);
  // IHL 15 (60 bytes) in a frame holding 20 bytes of IP header + 20 of TCP.
  SegmentSpec bare = s;
  bare.payload.clear();
  f = build_frame(bare);
  f[14] = 0x4F;
  EXPECT_EQ(parse(f).result, ParseResult::ipv4_truncated);
}

TEST(ParserIpv4, TotalLength) {
  const SegmentSpec s = v4_spec();  // 13 bytes of payload: IP total 53
  const std::vector<uint8_t> good = build_frame(s);
  ASSERT_EQ(get16(good, 16), 53);
  struct Case {
    uint16_t total;
    ParseResult result;
    uint16_t payload_len;
  };
  const Case cases[] = {
      {0, ParseResult::ipv4_bad_total_length, 0},
      {19, ParseResult::ipv4_bad_total_length, 0},  // < IHL
      {20, ParseResult::tcp_truncated, 0},          // no room for TCP
      {39, ParseResult::tcp_truncated, 0},
      {40, ParseResult::ok, 0},  // the rest is Ethernet padding
      {45, ParseResult::ok, 5},
      {53, ParseResult::ok, 13},
      {54, ParseResult::ipv4_bad_total_length, 0},  // past the frame
      {65535, ParseResult::ipv4_bad_total_length, 0},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.total);
    std::vector<uint8_t> f = good;
    put16(f, 16, c.total);
    const Parsed p = parse(f);
    ASSERT_EQ(p.result, c.result);
    if (c.result == ParseResult::ok) {
      EXPECT_EQ(p.view.payload_len, c.payload_len);
    }
  }
}

TEST(ParserIpv4, EthernetPaddingIgnored) {
  SegmentSpec s = v4_spec();
  s.flags = kRst;
  s.payload.clear();
  std::vector<uint8_t> f = build_frame(s);
  ASSERT_EQ(f.size(), 54u);
  f.resize(60, 0);  // minimum Ethernet frame
  const Parsed p = parse(f);
  ASSERT_EQ(p.result, ParseResult::ok);
  EXPECT_EQ(p.view.payload_len, 0);
  EXPECT_EQ(p.view.l4_len, kTcpLen);
  EXPECT_EQ(tcp_checksum(p.view), Checksum::kGood);
}

TEST(ParserIpv4, Fragments) {
  struct Case {
    uint16_t frag_off;
    ParseResult result;
    bool first_fragment;
    bool dont_fragment;
  };
  const Case cases[] = {
      {0x0000, ParseResult::ok, false, false},
      {0x4000, ParseResult::ok, false, true},
      {0x2000, ParseResult::ok, true, false},  // first fragment: parsed, flagged
      {0x2001, ParseResult::ip_fragment, false, false},
      {0x0001, ParseResult::ip_fragment, false, false},  // last fragment
      {0x00B9, ParseResult::ip_fragment, false, false},
      {0x1FFF, ParseResult::ip_fragment, false, false},
      {0x3FFF, ParseResult::ip_fragment, false, false},
  };
  const SegmentSpec s = v4_spec();
  for (const Case& c : cases) {
    SCOPED_TRACE(c.frag_off);
    std::vector<uint8_t> f = build_frame(s);
    put16(f, 20, c.frag_off);
    fix_up(f, kEthLen, kEthLen + kIpv4Len);
    const Parsed p = parse(f);
    ASSERT_EQ(p.result, c.result);
    EXPECT_EQ(p.view.ip_first_fragment, c.first_fragment);
    EXPECT_EQ(p.view.ip_dont_fragment, c.dont_fragment);
    if (c.result == ParseResult::ok) {
      // A first fragment's checksum covers data we do not have.
      EXPECT_EQ(tcp_checksum(p.view), c.first_fragment ? Checksum::kUnknown : Checksum::kGood);
    }
  }
  // A non-first fragment too short to hold a TCP header, or not TCP at all,
  // is still a fragment (the offset is checked before anything after it).
  std::vector<uint8_t> f = build_frame(s);
  put16(f, 20, 0x0003);
  put16(f, 16, 24);
  f[23] = wire::kIpProtoUdp;
  EXPECT_EQ(parse(f).result, ParseResult::ip_fragment);
}

TEST(ParserIpv4, NotTcp) {
  for (uint8_t proto : {wire::kIpProtoUdp, uint8_t{1}, uint8_t{47}, uint8_t{50}}) {
    std::vector<uint8_t> f = build_frame(v4_spec());
    f[23] = proto;
    const Parsed p = parse(f);
    EXPECT_EQ(p.result, ParseResult::not_tcp) << int{proto};
    EXPECT_EQ(p.view.ip_version, 4);  // the IP layer was read
  }
}

// ---------------------------------------------------------------------------
// IPv6.

TEST(ParserIpv6, Plain) {
  const SegmentSpec s = v6_spec();
  const std::vector<uint8_t> f = build_frame(s);
  ASSERT_EQ(get16(f, 12), wire::kEtherTypeIpv6);
  const Parsed p = parse(f);
  ASSERT_EQ(p.result, ParseResult::ok);
  expect_matches(p.view, s, f);
  EXPECT_EQ(p.view.l4_offset, kEthLen + kIpv6Len);
  EXPECT_EQ(p.view.ttl, 57);  // hop limit
}

TEST(ParserIpv6, ExtensionHeaderChains) {
  const std::vector<std::vector<uint8_t>> chains = {
      {0}, {43}, {60}, {44}, {0, 43, 60, 44}, {0, 60, 43, 44, 60}, {60, 60},
  };
  for (const auto& chain : chains) {
    SCOPED_TRACE(chain.size());
    SegmentSpec s = v6_spec();
    s.ipv6_ext = chain;
    s.opt.has_mss = true;
    s.opt.mss = 1400;
    const std::vector<uint8_t> f = build_frame(s);
    const Parsed p = parse(f);
    ASSERT_EQ(p.result, ParseResult::ok);
    expect_matches(p.view, s, f);
    EXPECT_EQ(tcp_checksum(p.view), Checksum::kGood);
  }
}

TEST(ParserIpv6, Fragments) {
  SegmentSpec s = v6_spec();
  s.ipv6_ext = {0, 44};
  const size_t frag = kEthLen + kIpv6Len + kExtLen;  // the fragment header
  struct Case {
    uint16_t offset_flags;
    ParseResult result;
    bool first_fragment;
  };
  const Case cases[] = {
      {0x0000, ParseResult::ok, false},  // atomic fragment
      {0x0001, ParseResult::ok, true},   // first fragment, more to come
      {0x0006, ParseResult::ok, false},  // reserved bits ignored
      {0x0008, ParseResult::ip_fragment, false}, {0x0009, ParseResult::ip_fragment, false},
      {0xFFF8, ParseResult::ip_fragment, false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.offset_flags);
    std::vector<uint8_t> f = build_frame(s);
    ASSERT_EQ(f[frag - kExtLen], wire::kIp6Fragment);  // hop-by-hop's next header
    put16(f, frag + 2, c.offset_flags);
    const Parsed p = parse(f);
    ASSERT_EQ(p.result, c.result);
    EXPECT_EQ(p.view.ip_first_fragment, c.first_fragment);
    if (c.result == ParseResult::ok) {
      EXPECT_EQ(tcp_checksum(p.view), c.first_fragment ? Checksum::kUnknown : Checksum::kGood);
    }
  }
}

TEST(ParserIpv6, NotTcp) {
  std::vector<uint8_t> f = build_frame(v6_spec());
  f[kEthLen + 6] = wire::kIpProtoUdp;
  EXPECT_EQ(parse(f).result, ParseResult::not_tcp);
  f[kEthLen + 6] = 58;  // ICMPv6
  EXPECT_EQ(parse(f).result, ParseResult::not_tcp);

  SegmentSpec s = v6_spec();
  s.ipv6_ext = {0, 60};
  f = build_frame(s);
  f[kEthLen + kIpv6Len + kExtLen] = wire::kIp6NoNext;  // dest-opts' next header
  EXPECT_EQ(parse(f).result, ParseResult::not_tcp);
}

TEST(ParserIpv6, BadVersion) {
  std::vector<uint8_t> f = build_frame(v6_spec());
  f[kEthLen] = 0x40;
  EXPECT_EQ(parse(f).result, ParseResult::ipv6_bad_version);
}

TEST(ParserIpv6, PayloadLength) {
  SegmentSpec s = v6_spec();  // 20 TCP + 13 payload
  s.ipv6_ext = {0};
  const std::vector<uint8_t> good = build_frame(s);
  ASSERT_EQ(get16(good, kEthLen + 4), kExtLen + kTcpLen + 13);
  struct Case {
    uint16_t payload_length;
    ParseResult result;
  };
  const Case cases[] = {
      {0, ParseResult::ipv6_bad_payload_length},  // jumbogram marker
      {1, ParseResult::ipv6_ext_truncated},
      {7, ParseResult::ipv6_ext_truncated},
      {8, ParseResult::tcp_truncated},
      {27, ParseResult::tcp_truncated},
      {28, ParseResult::ok},
      {41, ParseResult::ok},
      {42, ParseResult::ipv6_bad_payload_length},  // past the frame
      {65535, ParseResult::ipv6_bad_payload_length},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.payload_length);
    std::vector<uint8_t> f = good;
    put16(f, kEthLen + 4, c.payload_length);
    EXPECT_EQ(parse(f).result, c.result);
  }
}

TEST(ParserIpv6, ExtensionChainTooLong) {
  struct Case {
    const char* name;
    std::vector<uint8_t> chain;
    ParseResult result;
  };
  const std::vector<Case> cases = {
      {"8_mixed", {0, 60, 0, 60, 0, 60, 0, 60}, ParseResult::ok},
      {"8_fragments", std::vector<uint8_t>(8, 44), ParseResult::ok},
      {"9_hop_by_hop", std::vector<uint8_t>(9, 0), ParseResult::ipv6_ext_chain_too_long},
      {"9_mixed", {0, 60, 0, 60, 0, 60, 0, 60, 60}, ParseResult::ipv6_ext_chain_too_long},
      {"9_fragments", std::vector<uint8_t>(9, 44), ParseResult::ipv6_ext_chain_too_long},
      {"8_then_fragment", {0, 60, 0, 60, 0, 60, 0, 60, 44}, ParseResult::ipv6_ext_chain_too_long},
      {"40_dest_opts", std::vector<uint8_t>(40, 60), ParseResult::ipv6_ext_chain_too_long},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    SegmentSpec s = v6_spec();
    s.ipv6_ext = c.chain;
    EXPECT_EQ(parse(build_frame(s)).result, c.result);
  }
}

TEST(ParserIpv6, ExtensionLengthPastPayload) {
  SegmentSpec s = v6_spec();
  s.ipv6_ext = {0, 60};
  const std::vector<uint8_t> good = build_frame(s);
  const size_t hbh = kEthLen + kIpv6Len;
  for (uint8_t len_units : {uint8_t{6}, uint8_t{10}, uint8_t{255}}) {
    SCOPED_TRACE(int{len_units});
    std::vector<uint8_t> f = good;
    f[hbh + 1] = len_units;  // first header
    EXPECT_EQ(parse(f).result, ParseResult::ipv6_ext_truncated);
    f = good;
    f[hbh + kExtLen + 1] = len_units;  // second header
    EXPECT_EQ(parse(f).result, ParseResult::ipv6_ext_truncated);
  }
  // Exactly consuming the payload leaves no room for TCP.
  std::vector<uint8_t> f = good;
  f[hbh + kExtLen + 1] = 4;  // 40 of the 41 bytes left: 1 byte for TCP
  EXPECT_EQ(parse(f).result, ParseResult::tcp_truncated);
}

// ---------------------------------------------------------------------------
// TCP.

TEST(ParserTcp, OptionsFromBuilder) {
  TcpOptions mss, ws, sackp, ts;
  mss.has_mss = true;
  mss.mss = 536;
  ws.has_wscale = true;
  ws.wscale = 14;
  sackp.sack_permitted = true;
  ts.has_timestamp = true;
  ts.tsval = 0xFFFFFFFFu;
  ts.tsecr = 0;
  for (const TcpOptions& opt : {mss, ws, sackp, ts, all_options()}) {
    for (bool v6 : {false, true}) {
      SegmentSpec s = v6 ? v6_spec() : v4_spec();
      s.opt = opt;
      s.flags = kSyn;
      const std::vector<uint8_t> f = build_frame(s);
      const Parsed p = parse(f);
      ASSERT_EQ(p.result, ParseResult::ok);
      expect_matches(p.view, s, f);
    }
  }
}

TEST(ParserTcp, RawOptions) {
  struct Case {
    const char* name;
    std::vector<uint8_t> raw;
    bool option_error;
    bool has_mss;
    bool has_wscale;
    bool sack_permitted;
    bool has_timestamp;
  };
  const std::vector<Case> cases = {
      // Well-formed.
      {"nop_padding", {1, 1, 1, 2, 4, 0x05, 0xb4, 1, 3, 3, 7}, false, true, true, false, false},
      {"eol_stops_parsing", {2, 4, 0x05, 0xb4, 0, 3, 3, 7}, false, true, false, false, false},
      {"eol_first", {0, 2, 4, 0x05, 0xb4}, false, false, false, false, false},
      {"unknown_kinds_skipped",
       {30, 6, 1, 2, 3, 4, 2, 4, 0x05, 0xb4, 254, 4, 0, 0, 3, 3, 7, 4, 2},
       false,
       true,
       true,
       true,
       false},
      {"sack_blocks_skipped",
       {1, 1, 5, 10, 0, 0, 0, 1, 0, 0, 0, 2, 1, 1, 8, 10, 0, 0, 0, 9, 0, 0, 0, 8},
       false,
       false,
       false,
       false,
       true},
      {"timestamp_linux", {1, 1, 8, 10, 0, 0, 0, 9, 0, 0, 0, 8}, false, false, false, false, true},
      // Malformed: parsing stops, earlier options kept, frame still ok.
      {"length_0", {2, 4, 0x05, 0xb4, 99, 0, 3, 3, 7}, true, true, false, false, false},
      {"length_1", {2, 4, 0x05, 0xb4, 3, 1, 3, 3, 7}, true, true, false, false, false},
      {"past_header", {2, 4, 0x05, 0xb4, 8, 10, 0, 0}, true, true, false, false, false},
      {"unknown_past_header", {1, 3, 3, 7, 200, 30, 0, 0}, true, false, true, false, false},
      {"one_past_header", {1, 3, 3, 7, 254, 5, 0, 0}, true, false, true, false, false},
      {"kind_without_length", {3, 3, 7, 2}, true, false, true, false, false},
      {"mss_length_3", {3, 3, 7, 2, 3, 5, 1, 1}, true, false, true, false, false},
      {"mss_length_6", {2, 6, 0, 0, 0x05, 0xb4, 1, 1}, true, false, false, false, false},
      {"ws_length_4", {4, 2, 3, 4, 0, 7}, true, false, false, true, false},
      {"sackp_length_3", {2, 4, 0x05, 0xb4, 4, 3, 0, 1}, true, true, false, false, false},
      {"ts_length_8", {8, 8, 0, 0, 0, 1, 0, 0}, true, false, false, false, false},
  };
  for (const Case& c : cases) {
    for (bool v6 : {false, true}) {
      SCOPED_TRACE(std::string(c.name) + (v6 ? " v6" : " v4"));
      SegmentSpec s = v6 ? v6_spec() : v4_spec();
      if (v6) s.ipv6_ext = {60};
      const std::vector<uint8_t> f = with_tcp_options(s, c.raw);
      const Parsed p = parse(f);
      ASSERT_EQ(p.result, ParseResult::ok);
      EXPECT_EQ(p.view.option_error, c.option_error);
      EXPECT_EQ(p.view.opt.has_mss, c.has_mss);
      EXPECT_EQ(p.view.opt.has_wscale, c.has_wscale);
      EXPECT_EQ(p.view.opt.sack_permitted, c.sack_permitted);
      EXPECT_EQ(p.view.opt.has_timestamp, c.has_timestamp);
      if (c.has_mss) {
        EXPECT_EQ(p.view.opt.mss, 1460);
      }
      if (c.has_wscale) {
        EXPECT_EQ(p.view.opt.wscale, 7);
      }
      if (c.has_timestamp) {
        EXPECT_EQ(p.view.opt.tsval, 9u);
        EXPECT_EQ(p.view.opt.tsecr, 8u);
      }
      // The rest of the segment is unaffected.
      EXPECT_EQ(p.view.payload_len, s.payload.size());
      EXPECT_EQ(std::memcmp(p.view.payload, s.payload.data(), s.payload.size()), 0);
      EXPECT_EQ(tcp_checksum(p.view), Checksum::kGood);
    }
  }
}

// TCP-MD5 (kind 19, length 18) and TCP-AO (kind 29, length >= 4): their
// presence is what the judge weighs; a wrong length is an option error.
TEST(ParserTcp, AuthenticationOptions) {
  std::vector<uint8_t> md5 = {1, 1, 19, 18};
  for (int i = 0; i < 16; ++i) md5.push_back(static_cast<uint8_t>(i));
  std::vector<uint8_t> ao = {29, 16, 1, 1};
  for (int i = 0; i < 12; ++i) ao.push_back(static_cast<uint8_t>(i));
  std::vector<uint8_t> md5_ts = md5;
  for (uint8_t b : {1, 1, 8, 10, 0, 0, 0, 9, 0, 0, 0, 8}) md5_ts.push_back(b);
  const struct {
    const char* name;
    std::vector<uint8_t> raw;
    uint8_t auth;
    bool option_error;
  } cases[] = {
      {"md5", md5, kAuthMd5, false},
      {"ao", ao, kAuthAo, false},
      {"md5_then_timestamp", md5_ts, kAuthMd5, false},
      {"md5_length_17", {19, 17, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 0, true},
      {"ao_length_3", {29, 3, 0, 0}, 0, true},
      {"ao_minimal", {29, 4, 1, 1}, kAuthAo, false},
      {"none", {1, 1, 8, 10, 0, 0, 0, 9, 0, 0, 0, 8}, 0, false},
  };
  for (const auto& c : cases) {
    for (bool v6 : {false, true}) {
      SCOPED_TRACE(std::string(c.name) + (v6 ? " v6" : " v4"));
      const std::vector<uint8_t> f = with_tcp_options(v6 ? v6_spec() : v4_spec(), c.raw);
      const Parsed p = parse(f);
      ASSERT_EQ(p.result, ParseResult::ok);
      EXPECT_EQ(p.view.opt.auth, c.auth);
      EXPECT_EQ(p.view.option_error, c.option_error);
      if (std::string(c.name) == "md5_then_timestamp") {
        EXPECT_TRUE(p.view.opt.has_timestamp);
        EXPECT_EQ(p.view.opt.tsval, 9u);
      }
    }
  }
  // The builder writes them where Linux does, and they parse back.
  for (uint8_t auth : {kAuthMd5, kAuthAo}) {
    SegmentSpec s = v4_spec();
    s.flags = wire::tcpflag::kSyn;
    s.opt.auth = auth;
    s.opt.has_mss = true;
    s.opt.mss = 1460;
    s.opt.sack_permitted = true;
    s.opt.has_timestamp = true;
    s.opt.has_wscale = true;
    s.opt.wscale = 7;
    const std::vector<uint8_t> f = build_frame(s);
    const Parsed p = parse(f);
    ASSERT_EQ(p.result, ParseResult::ok);
    EXPECT_EQ(p.view.opt.auth, auth);
    EXPECT_FALSE(p.view.option_error);
    EXPECT_TRUE(p.view.opt.has_timestamp && p.view.opt.has_wscale && p.view.opt.has_mss);
  }
}

TEST(ParserTcp, BadDataOffset) {
  const SegmentSpec s = v4_spec();  // TCP 20 + 13 payload
  const size_t doff = kEthLen + kIpv4Len + 12;
  for (uint8_t words : {0, 1, 4}) {
    std::vector<uint8_t> f = build_frame(s);
    f[doff] = static_cast<uint8_t>(words << 4);
    EXPECT_EQ(parse(f).result, ParseResult::tcp_bad_data_offset) << int{words};
  }
  for (uint8_t words : {9, 15}) {  // 36 and 60 bytes > 33 of IP payload
    std::vector<uint8_t> f = build_frame(s);
    f[doff] = static_cast<uint8_t>(words << 4);
    EXPECT_EQ(parse(f).result, ParseResult::tcp_bad_data_offset) << int{words};
  }
  // 32 bytes: fits, and the payload shrinks to one byte.
  std::vector<uint8_t> f = build_frame(s);
  f[doff] = 8 << 4;
  const Parsed p = parse(f);
  ASSERT_EQ(p.result, ParseResult::ok);
  EXPECT_EQ(p.view.payload_len, 1);
  EXPECT_TRUE(p.view.option_error);  // "hello, w" is not a valid option list

  // Same on IPv6.
  SegmentSpec s6 = v6_spec();
  s6.payload.clear();
  f = build_frame(s6);
  f[kEthLen + kIpv6Len + 12] = 6 << 4;
  EXPECT_EQ(parse(f).result, ParseResult::tcp_bad_data_offset);
}

TEST(ParserTcp, DataOffsetPastCapture) {
  SegmentSpec s = v4_spec();
  s.opt = all_options();
  const std::vector<uint8_t> f = build_frame(s);
  const size_t header_end = l4_of(s) + tcp_header_of(s);
  // Snapped inside the options: the IP length says they exist, we lack them.
  const std::vector<uint8_t> cut(f.begin(), f.begin() + static_cast<ptrdiff_t>(header_end - 1));
  EXPECT_EQ(parse(cut, static_cast<uint32_t>(f.size())).result, ParseResult::tcp_truncated);
}

// ---------------------------------------------------------------------------
// Every field, short captures, truncation at every length.

TEST(ParserView, EveryFieldOnGoodFrames) {
  SegmentSpec s = v4_spec();
  s.vlans = {100, 200};
  s.opt = all_options();
  s.dont_fragment = true;
  std::vector<uint8_t> f = build_frame(s);
  Parsed p = parse(f);
  ASSERT_EQ(p.result, ParseResult::ok);
  // Literal values, not only the spec round trip.
  const PacketView& v = p.view;
  EXPECT_EQ(v.src, ip("10.0.0.1"));
  EXPECT_EQ(v.dst, ip("192.168.1.2"));
  EXPECT_TRUE(v.src.is_v4());
  EXPECT_EQ(v.src.bytes[10], 0xff);
  EXPECT_EQ(v.src.bytes[11], 0xff);
  EXPECT_EQ(v.src_port, 43210);
  EXPECT_EQ(v.dst_port, 443);
  EXPECT_EQ(v.seq, 0xFFFFFF00u);
  EXPECT_EQ(v.ack, 0x12345678u);
  EXPECT_EQ(v.tcp_flags, kAck | kPsh);
  EXPECT_TRUE(v.has(kAck));
  EXPECT_FALSE(v.has(kRst));
  EXPECT_EQ(v.window, 29200);
  EXPECT_EQ(v.ttl, 57);
  EXPECT_EQ(v.ip_id, 0xBEEF);
  EXPECT_TRUE(v.ip_dont_fragment);
  EXPECT_EQ(v.vlan_count, 2);
  EXPECT_EQ(v.vlan_outer, 100);
  EXPECT_EQ(v.vlan_inner, 200);
  EXPECT_EQ(v.ip_version, 4);
  EXPECT_EQ(v.l3_offset, 22);
  EXPECT_EQ(v.l4_offset, 42);
  EXPECT_EQ(v.l4_len, 40 + 13);
  EXPECT_EQ(v.payload_len, 13);
  EXPECT_EQ(v.seq_len(), 13u);
  EXPECT_EQ(v.payload, f.data() + 82);
  EXPECT_EQ(std::string_view(reinterpret_cast<const char*>(v.payload), v.payload_len),
            "hello, world!");
  EXPECT_EQ(v.frame_len, 95u);
  EXPECT_EQ(v.wire_len, 95u);
  EXPECT_TRUE(v.opt.has_mss && v.opt.has_wscale && v.opt.sack_permitted && v.opt.has_timestamp);
  EXPECT_EQ(v.opt.mss, 1460);
  EXPECT_EQ(v.opt.wscale, 7);
  EXPECT_EQ(v.opt.tsval, 0xA1B2C3D4u);
  EXPECT_EQ(v.opt.tsecr, 0x01020304u);
  expect_matches(v, s, f);

  s = v6_spec();
  s.vlans = {9};
  s.flags = kSyn | kFin;
  s.payload.clear();
  f = build_frame(s);
  p = parse(f);
  ASSERT_EQ(p.result, ParseResult::ok);
  EXPECT_FALSE(p.view.src.is_v4());
  EXPECT_EQ(p.view.src, ip("2001:db8::1"));
  EXPECT_EQ(p.view.dst, ip("2001:db8:1::2"));
  EXPECT_EQ(p.view.ip_version, 6);
  EXPECT_EQ(p.view.ip_id, 0);
  EXPECT_FALSE(p.view.ip_dont_fragment);
  EXPECT_EQ(p.view.vlan_count, 1);
  EXPECT_EQ(p.view.vlan_outer, 9);
  EXPECT_EQ(p.view.vlan_inner, 0);
  EXPECT_EQ(p.view.payload_len, 0);
  EXPECT_EQ(p.view.payload, f.data() + f.size());
  EXPECT_EQ(p.view.seq_len(), 2u);
  expect_matches(p.view, s, f);
}

TEST(ParserSnaplen, ShortCaptureStillParsesHeaders) {
  for (bool v6 : {false, true}) {
    SCOPED_TRACE(v6 ? "v6" : "v4");
    SegmentSpec s = v6 ? v6_spec() : v4_spec();
    if (v6) s.ipv6_ext = {0};
    s.vlans = {12};
    s.opt = all_options();
    s.payload.assign(1000, 0x42);
    const std::vector<uint8_t> f = build_frame(s);
    const size_t header_end = l4_of(s) + tcp_header_of(s);
    for (size_t snap : {header_end, header_end + 10}) {
      const std::vector<uint8_t> cut(f.begin(), f.begin() + static_cast<ptrdiff_t>(snap));
      const Parsed p = parse(cut, static_cast<uint32_t>(f.size()));
      ASSERT_EQ(p.result, ParseResult::ok);
      EXPECT_EQ(p.view.payload_len, 1000);  // from the IP length
      EXPECT_EQ(p.view.payload, cut.data() + header_end);
      EXPECT_EQ(p.view.frame_len, snap);
      EXPECT_EQ(p.view.wire_len, f.size());
      EXPECT_EQ(p.view.seq, s.seq);
      EXPECT_EQ(p.view.opt.tsval, s.opt.tsval);
      EXPECT_EQ(tcp_checksum(p.view), Checksum::kUnknown);
      EXPECT_EQ(ipv4_header_checksum(p.view), v6 ? Checksum::kUnknown : Checksum::kGood);
    }
  }
  // A wire length below the captured length is raised to it.
  const std::vector<uint8_t> f = build_frame(v4_spec());
  const Parsed p = parse(f, 10);
  ASSERT_EQ(p.result, ParseResult::ok);
  EXPECT_EQ(p.view.wire_len, f.size());
}

// Cuts `f` at every length, in an exactly-sized buffer so ASan sees any
// over-read, and checks the result against `expected(len)`.
template <typename Expected>
void sweep_truncations(const std::vector<uint8_t>& f, bool keep_wire_len, Expected expected) {
  for (size_t len = 0; len <= f.size(); ++len) {
    SCOPED_TRACE(len);
    const std::vector<uint8_t> cut(f.begin(), f.begin() + static_cast<ptrdiff_t>(len));
    PacketView v;
    const auto wire_len = static_cast<uint32_t>(keep_wire_len ? f.size() : len);
    const ParseResult r = parse_frame(cut.data(), static_cast<uint32_t>(len), wire_len, v);
    ASSERT_EQ(r, expected(len));
    if (r == ParseResult::ok) {
      EXPECT_EQ(tcp_checksum(v), len == f.size() ? Checksum::kGood : Checksum::kUnknown);
    }
  }
}

TEST(ParserTruncation, VlanIpv4EveryLength) {
  SegmentSpec s = v4_spec();
  s.vlans = {42};
  s.opt = all_options();
  const std::vector<uint8_t> f = build_frame(s);
  const size_t l3 = 18, l4 = 38, header_end = 78;
  ASSERT_EQ(f.size(), header_end + 13);
  // A short capture of a full-size frame (wire_len kept).
  sweep_truncations(f, true, [&](size_t len) {
    if (len < kEthLen) return ParseResult::eth_truncated;
    if (len < l3) return ParseResult::vlan_truncated;
    if (len < l4) return ParseResult::ipv4_truncated;
    if (len < header_end) return ParseResult::tcp_truncated;
    return ParseResult::ok;
  });
  // A frame that really is that short: the IP length runs past it.
  sweep_truncations(f, false, [&](size_t len) {
    if (len < kEthLen) return ParseResult::eth_truncated;
    if (len < l3) return ParseResult::vlan_truncated;
    if (len < l4) return ParseResult::ipv4_truncated;
    if (len < f.size()) return ParseResult::ipv4_bad_total_length;
    return ParseResult::ok;
  });
}

TEST(ParserTruncation, Ipv6ExtensionsEveryLength) {
  SegmentSpec s = v6_spec();
  s.ipv6_ext = {0, 60, 44};
  s.opt.has_mss = true;
  s.opt.mss = 1440;
  s.opt.has_wscale = true;
  s.opt.wscale = 2;
  s.payload = bytes_of("payload");
  const std::vector<uint8_t> f = build_frame(s);
  const size_t l3_end = 54, l4 = 78, header_end = 106;
  ASSERT_EQ(f.size(), header_end + 7);
  sweep_truncations(f, true, [&](size_t len) {
    if (len < kEthLen) return ParseResult::eth_truncated;
    if (len < l3_end) return ParseResult::ipv6_truncated;
    if (len < l4) return ParseResult::ipv6_ext_truncated;
    if (len < header_end) return ParseResult::tcp_truncated;
    return ParseResult::ok;
  });
  sweep_truncations(f, false, [&](size_t len) {
    if (len < kEthLen) return ParseResult::eth_truncated;
    if (len < l3_end) return ParseResult::ipv6_truncated;
    if (len < f.size()) return ParseResult::ipv6_bad_payload_length;
    return ParseResult::ok;
  });
}

// ---------------------------------------------------------------------------
// Checksums.

TEST(Checksums, GoodOnBuiltFrames) {
  for (bool v6 : {false, true}) {
    for (size_t payload : {0, 1, 2, 1399}) {
      SCOPED_TRACE(std::to_string(payload) + (v6 ? " v6" : " v4"));
      SegmentSpec s = v6 ? v6_spec() : v4_spec();
      s.vlans = {5};
      if (v6) s.ipv6_ext = {0, 43};
      s.opt = all_options();
      s.payload.assign(payload, 0xEE);
      const std::vector<uint8_t> f = build_frame(s);
      const Parsed p = parse(f);
      ASSERT_EQ(p.result, ParseResult::ok);
      EXPECT_EQ(tcp_checksum(p.view), Checksum::kGood);
      EXPECT_EQ(ipv4_header_checksum(p.view), v6 ? Checksum::kUnknown : Checksum::kGood);

      s.corrupt_tcp_checksum = true;
      const std::vector<uint8_t> bad = build_frame(s);
      const Parsed q = parse(bad);
      ASSERT_EQ(q.result, ParseResult::ok);
      EXPECT_EQ(tcp_checksum(q.view), Checksum::kBad);
      EXPECT_EQ(ipv4_header_checksum(q.view), v6 ? Checksum::kUnknown : Checksum::kGood);
    }
  }
}

TEST(Checksums, BadAfterEdits) {
  // Edits that a checksum must notice: address, port, payload, header field.
  const SegmentSpec s = v4_spec();
  const std::vector<uint8_t> good = build_frame(s);
  std::vector<uint8_t> f = good;
  f[22] = 1;  // TTL: IPv4 header checksum breaks, TCP's does not
  Parsed p = parse(f);
  ASSERT_EQ(p.result, ParseResult::ok);
  EXPECT_EQ(ipv4_header_checksum(p.view), Checksum::kBad);
  EXPECT_EQ(tcp_checksum(p.view), Checksum::kGood);

  f = good;
  f[29] ^= 0x01;  // source address: in both the header and the pseudo header
  p = parse(f);
  EXPECT_EQ(ipv4_header_checksum(p.view), Checksum::kBad);
  EXPECT_EQ(tcp_checksum(p.view), Checksum::kBad);

  f = good;
  f.back() ^= 0x80;  // last (odd) payload byte
  p = parse(f);
  EXPECT_EQ(tcp_checksum(p.view), Checksum::kBad);

  SegmentSpec s6 = v6_spec();
  f = build_frame(s6);
  f[kEthLen + 8 + 15] ^= 0x01;  // IPv6 source: pseudo header
  p = parse(f);
  ASSERT_EQ(p.result, ParseResult::ok);
  EXPECT_EQ(tcp_checksum(p.view), Checksum::kBad);
}

TEST(Checksums, UnknownWhenCutShort) {
  for (bool v6 : {false, true}) {
    SegmentSpec s = v6 ? v6_spec() : v4_spec();
    const std::vector<uint8_t> f = build_frame(s);
    const std::vector<uint8_t> cut(f.begin(), f.end() - 1);
    const Parsed p = parse(cut, static_cast<uint32_t>(f.size()));
    ASSERT_EQ(p.result, ParseResult::ok);
    EXPECT_EQ(tcp_checksum(p.view), Checksum::kUnknown);
    EXPECT_EQ(ipv4_header_checksum(p.view), v6 ? Checksum::kUnknown : Checksum::kGood);
  }
}

// ---------------------------------------------------------------------------
// Link types other than Ethernet.

TEST(ParserLinkTypes, RawAndLinuxSll) {
  for (bool v6 : {false, true}) {
    SCOPED_TRACE(v6 ? "v6" : "v4");
    const SegmentSpec s = v6 ? v6_spec() : v4_spec();
    const std::vector<uint8_t> eth = build_frame(s);
    const std::vector<uint8_t> raw(eth.begin() + kEthLen, eth.end());
    Parsed p = parse(raw, 0, LinkType::kRaw);
    ASSERT_EQ(p.result, ParseResult::ok);
    EXPECT_EQ(p.view.l3_offset, 0);
    EXPECT_EQ(p.view.src, s.src);
    EXPECT_EQ(tcp_checksum(p.view), Checksum::kGood);

    std::vector<uint8_t> sll(16, 0);
    put16(sll, 14, v6 ? wire::kEtherTypeIpv6 : wire::kEtherTypeIpv4);
    sll.insert(sll.end(), raw.begin(), raw.end());
    p = parse(sll, 0, LinkType::kLinuxSll);
    ASSERT_EQ(p.result, ParseResult::ok);
    EXPECT_EQ(p.view.l3_offset, 16);
    EXPECT_EQ(p.view.dst_port, s.dst_port);
  }
  const std::vector<uint8_t> empty;
  EXPECT_EQ(parse(empty, 0, LinkType::kRaw).result, ParseResult::ipv4_truncated);
  EXPECT_TRUE(link_type_supported(0) && link_type_supported(1) && link_type_supported(101) &&
              link_type_supported(108) && link_type_supported(113) && link_type_supported(276));
  EXPECT_FALSE(link_type_supported(228) || link_type_supported(105) || link_type_supported(127));
  EXPECT_EQ(parse(std::vector<uint8_t>(15, 0), 0, LinkType::kLinuxSll).result,
            ParseResult::eth_truncated);
  EXPECT_EQ(parse(build_frame(v4_spec()), 0, static_cast<LinkType>(228)).result,
            ParseResult::unsupported_link);
}

// BSD/macOS loopback (NULL: the family in the capturing host's order;
// LOOP: network order) and Linux cooked v2 (`tcpdump -i any`).
TEST(ParserLinkTypes, NullLoopAndLinuxSll2) {
  for (bool v6 : {false, true}) {
    SCOPED_TRACE(v6 ? "v6" : "v4");
    const SegmentSpec s = v6 ? v6_spec() : v4_spec();
    const std::vector<uint8_t> eth = build_frame(s);
    const std::vector<uint8_t> raw(eth.begin() + kEthLen, eth.end());
    const std::vector<uint32_t> families =
        v6 ? std::vector<uint32_t>{10, 24, 28, 30} : std::vector<uint32_t>{2};
    for (uint32_t family : families) {
      for (bool little : {true, false}) {
        std::vector<uint8_t> f(4);
        for (int i = 0; i < 4; ++i) {
          f[i] = static_cast<uint8_t>(family >> (little ? 8 * i : 8 * (3 - i)));
        }
        f.insert(f.end(), raw.begin(), raw.end());
        const Parsed p = parse(f, 0, LinkType::kNull);
        ASSERT_EQ(p.result, ParseResult::ok) << family << " little " << little;
        EXPECT_EQ(p.view.l3_offset, 4);
        EXPECT_EQ(p.view.src, s.src);
        EXPECT_EQ(tcp_checksum(p.view), Checksum::kGood);
        // LOOP is network order only.
        EXPECT_EQ(parse(f, 0, LinkType::kLoop).result,
                  little && family != 0 ? ParseResult::not_ip : ParseResult::ok);
      }
    }
    std::vector<uint8_t> sll2(20, 0);
    put16(sll2, 0, v6 ? wire::kEtherTypeIpv6 : wire::kEtherTypeIpv4);
    sll2[11] = 6;  // address length
    sll2.insert(sll2.end(), raw.begin(), raw.end());
    const Parsed p = parse(sll2, 0, LinkType::kLinuxSll2);
    ASSERT_EQ(p.result, ParseResult::ok);
    EXPECT_EQ(p.view.l3_offset, 20);
    EXPECT_EQ(p.view.dst_port, s.dst_port);
  }
  std::vector<uint8_t> other_family = {0, 0, 0, 7, 0x45};
  EXPECT_EQ(parse(other_family, 0, LinkType::kNull).result, ParseResult::not_ip);
  EXPECT_EQ(parse(std::vector<uint8_t>(3, 0), 0, LinkType::kNull).result,
            ParseResult::eth_truncated);
  EXPECT_EQ(parse(std::vector<uint8_t>(19, 0), 0, LinkType::kLinuxSll2).result,
            ParseResult::eth_truncated);
}

// ---------------------------------------------------------------------------
// Randomized: mutated valid frames never crash, and an ok result never points
// outside the bytes it was given.

TEST(ParserFuzz, RandomMutationsNeverCrash) {
  std::vector<std::vector<uint8_t>> bases;
  {
    SegmentSpec s = v4_spec();
    bases.push_back(build_frame(s));
    s.vlans = {1, 2};
    s.opt = all_options();
    bases.push_back(with_ipv4_options(s, 3));
    s = v6_spec();
    bases.push_back(build_frame(s));
    s.vlans = {77};
    s.ipv6_ext = {0, 43, 44, 60};
    s.opt = all_options();
    bases.push_back(build_frame(s));
    bases.push_back(with_tcp_options(
        v4_spec(), {30, 6, 1, 2, 3, 4, 5, 10, 0, 0, 0, 1, 0, 0, 0, 2, 2, 4, 5, 0xb4, 3, 3, 7}));
  }
  std::mt19937 rng(0x5EED);
  auto below = [&rng](size_t n) { return n == 0 ? 0 : static_cast<size_t>(rng() % n); };
  int ok_count = 0;
  int option_errors = 0;
  constexpr int kIterations = 20000;
  for (int i = 0; i < kIterations; ++i) {
    std::vector<uint8_t> f = bases[static_cast<size_t>(i) % bases.size()];
    const size_t edits = 1 + below(4);
    for (size_t e = 0; e < edits; ++e) {
      // Most edits land in the headers, where the parser looks.
      const size_t pos = below(3) != 0 ? below(std::min<size_t>(f.size(), 110)) : below(f.size());
      switch (below(4)) {
        case 0:
          f[pos] ^= static_cast<uint8_t>(1u << below(8));
          break;
        case 1:
          f[pos] = static_cast<uint8_t>(rng());
          break;
        case 2:
          f[pos] = below(2) ? 0x00 : 0xFF;
          break;
        default:
          f[pos] = static_cast<uint8_t>(below(16));
          break;
      }
    }
    if (below(3) == 0) f.resize(below(f.size() + 1));
    const auto len = static_cast<uint32_t>(f.size());
    const uint32_t wire_len = below(4) == 0 ? len + static_cast<uint32_t>(below(1500)) : len;
    // An exactly-sized heap block: ASan flags any read past `len`.
    auto buf = std::make_unique<uint8_t[]>(f.size());
    if (!f.empty()) std::memcpy(buf.get(), f.data(), f.size());

    PacketView v;
    const ParseResult r = parse_frame(buf.get(), len, wire_len, v);
    ASSERT_LT(static_cast<int>(r), kParseResultCount) << i;
    if (r == ParseResult::ok) {
      ++ok_count;
      option_errors += v.option_error;
      ASSERT_TRUE(v.ip_version == 4 || v.ip_version == 6) << i;
      ASSERT_LE(v.vlan_count, 2) << i;
      ASSERT_GE(v.payload, buf.get() + v.l4_offset + kTcpLen) << i;
      ASSERT_LE(v.payload, buf.get() + len) << i;  // headers were all present
      ASSERT_LE(v.l4_offset + static_cast<uint32_t>(v.l4_len), v.wire_len) << i;
      if (wire_len == len) {
        ASSERT_LE(v.payload + v.payload_len, buf.get() + len) << i;
      }
      (void)tcp_checksum(v);
      (void)ipv4_header_checksum(v);
    }
    (void)parse_frame(buf.get(), len, wire_len, v, LinkType::kRaw);
    (void)parse_frame(buf.get(), len, wire_len, v, LinkType::kLinuxSll);
  }
  // The run is only worth something if it reached every layer.
  EXPECT_GT(ok_count, kIterations / 10);
  EXPECT_GT(option_errors, 0);
}

}  // namespace
}  // namespace rstguard

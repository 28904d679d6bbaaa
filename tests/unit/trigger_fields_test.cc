// Trigger field tests: TLS ClientHellos built byte by byte (TLS 1.2 and 1.3 style, GREASE, long
// session ids, fragmented records, a hello larger than a record), every prefix of each (the
// segment boundary can fall anywhere), every length field corrupted, HTTP requests in many
// spellings, and a randomized mutation run checking the statuses' consistency rules.
//
// Every input is copied into a heap buffer of exactly its size (ExactBytes), so a read past
// `data` is a heap-buffer-overflow under AddressSanitizer.
#include "core/trigger_fields.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <ostream>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace rstguard {

static void PrintTo(SniResult::Status s, std::ostream* os) {
  static constexpr const char* kNames[] = {"kNotTls", "kIncomplete", "kMalformed",
                                           "kNoSni",  "kFound",      "kNameSplit"};
  *os << (static_cast<size_t>(s) < std::size(kNames) ? kNames[s] : "invalid");
}
static void PrintTo(HostResult::Status s, std::ostream* os) {
  static constexpr const char* kNames[] = {"kNotHttp", "kIncomplete", "kNoHost", "kFound"};
  *os << (static_cast<size_t>(s) < std::size(kNames) ? kNames[s] : "invalid");
}

namespace {

using Bytes = std::vector<uint8_t>;

// A heap copy of exactly `size` bytes: reading one past it is caught by ASan.
class ExactBytes {
 public:
  ExactBytes(const uint8_t* data, size_t size)
      : size_(size), bytes_(new uint8_t[size > 0 ? size : 1]) {
    if (size > 0) std::memcpy(bytes_.get(), data, size);
  }
  explicit ExactBytes(const Bytes& b, size_t size) : ExactBytes(b.data(), size) {}
  explicit ExactBytes(const Bytes& b) : ExactBytes(b.data(), b.size()) {}
  std::span<const uint8_t> span() const { return {bytes_.get(), size_}; }

 private:
  size_t size_;
  std::unique_ptr<uint8_t[]> bytes_;
};

Bytes bytes_of(std::string_view s) { return {s.begin(), s.end()}; }

// --- ClientHello construction --------------------------------------------------------------

// Where a length field sits in the built handshake message.
struct LengthField {
  std::string what;
  size_t pos;
  int width;
};

// Big-endian writer with length-prefixed vectors whose positions are remembered.
class Writer {
 public:
  void u8(uint32_t v) { out_.push_back(static_cast<uint8_t>(v)); }
  void u16(uint32_t v) {
    u8(v >> 8);
    u8(v);
  }
  void u24(uint32_t v) {
    u8(v >> 16);
    u16(v & 0xffff);
  }
  void append(const Bytes& b) { out_.insert(out_.end(), b.begin(), b.end()); }
  void append(std::string_view s) { out_.insert(out_.end(), s.begin(), s.end()); }
  // Starts a vector with a `width`-byte length; close() fills it in.
  size_t open(int width, std::string what) {
    fields_.push_back({std::move(what), out_.size(), width});
    out_.insert(out_.end(), static_cast<size_t>(width), 0);
    return fields_.size() - 1;
  }
  void close(size_t field) {
    const LengthField& f = fields_[field];
    size_t len = out_.size() - f.pos - static_cast<size_t>(f.width);
    for (int i = f.width - 1; i >= 0; --i, len >>= 8)
      out_[f.pos + static_cast<size_t>(i)] = len & 0xff;
  }
  size_t size() const { return out_.size(); }
  Bytes& out() { return out_; }
  std::vector<LengthField>& fields() { return fields_; }

 private:
  Bytes out_;
  std::vector<LengthField> fields_;
};

struct ExtensionSpec {
  uint16_t type = 0;
  Bytes body;
  // server_name entries (name_type, name), used when type is 0 and `body` is empty.
  std::vector<std::pair<uint8_t, std::string>> server_names;
};

struct ClientHelloSpec {
  uint16_t legacy_version = 0x0303;
  Bytes random = Bytes(32, 0x5a);
  Bytes session_id;
  std::vector<uint16_t> cipher_suites = {0x1301, 0xc02f};
  Bytes compression_methods = {0};
  bool has_extensions = true;
  std::vector<ExtensionSpec> extensions;
};

// A built handshake message (header included) and what the test needs to know about it.
struct BuiltHello {
  Bytes handshake;
  std::vector<LengthField> lengths;  // positions in `handshake`
  std::string name;                  // the first host_name ("" if none)
  size_t name_pos = 0;               // its position in `handshake`
};

BuiltHello build_hello(const ClientHelloSpec& spec) {
  Writer w;
  w.u8(1);  // client_hello
  const size_t body = w.open(3, "handshake length");
  w.u16(spec.legacy_version);
  w.append(spec.random);
  const size_t sid = w.open(1, "session_id length");
  w.append(spec.session_id);
  w.close(sid);
  const size_t suites = w.open(2, "cipher_suites length");
  for (uint16_t s : spec.cipher_suites) w.u16(s);
  w.close(suites);
  const size_t comp = w.open(1, "compression_methods length");
  w.append(spec.compression_methods);
  w.close(comp);
  BuiltHello built;
  if (spec.has_extensions) {
    const size_t exts = w.open(2, "extensions length");
    for (const ExtensionSpec& e : spec.extensions) {
      w.u16(e.type);
      const size_t ext = w.open(2, "extension " + std::to_string(e.type) + " length");
      if (e.type == 0 && e.body.empty()) {
        const size_t list = w.open(2, "server_name_list length");
        for (const auto& [type, name] : e.server_names) {
          w.u8(type);
          const size_t entry = w.open(2, "server name length");
          if (type == 0 && built.name.empty()) {
            built.name = name;
            built.name_pos = w.size();
          }
          w.append(name);
          w.close(entry);
        }
        w.close(list);
      } else {
        w.append(e.body);
      }
      w.close(ext);
    }
    w.close(exts);
  }
  w.close(body);
  built.handshake = std::move(w.out());
  built.lengths = std::move(w.fields());
  return built;
}

// Wraps a handshake message into handshake records carrying at most `fragment` bytes each.
Bytes wrap_records(const Bytes& handshake, size_t fragment, uint16_t record_version = 0x0301) {
  Bytes out;
  for (size_t at = 0; at < handshake.size(); at += fragment) {
    const size_t n = std::min(fragment, handshake.size() - at);
    out.push_back(22);
    out.push_back(record_version >> 8);
    out.push_back(record_version & 0xff);
    out.push_back(static_cast<uint8_t>(n >> 8));
    out.push_back(static_cast<uint8_t>(n));
    out.insert(out.end(), handshake.begin() + static_cast<long>(at),
               handshake.begin() + static_cast<long>(at + n));
  }
  return out;
}

// Offset in the records of handshake byte `pos`, fragments of `fragment` bytes.
size_t record_offset(size_t pos, size_t fragment) { return pos + 5 * (pos / fragment + 1); }

Bytes u16_list(std::initializer_list<uint16_t> values, int length_width) {
  Bytes b;
  const size_t len = values.size() * 2;
  if (length_width == 2) b.push_back(static_cast<uint8_t>(len >> 8));
  b.push_back(static_cast<uint8_t>(len));
  for (uint16_t v : values) {
    b.push_back(static_cast<uint8_t>(v >> 8));
    b.push_back(static_cast<uint8_t>(v));
  }
  return b;
}

ExtensionSpec sni(std::string name) { return {0, {}, {{0, std::move(name)}}}; }

Bytes alpn(std::initializer_list<std::string_view> protocols) {
  Bytes list;
  for (std::string_view p : protocols) {
    list.push_back(static_cast<uint8_t>(p.size()));
    list.insert(list.end(), p.begin(), p.end());
  }
  Bytes b = {static_cast<uint8_t>(list.size() >> 8), static_cast<uint8_t>(list.size())};
  b.insert(b.end(), list.begin(), list.end());
  return b;
}

// key_share: GREASE (1 byte), x25519 (32 bytes), X25519Kyber768Draft00 (1216 bytes).
Bytes chrome_key_share() {
  Bytes shares;
  auto add = [&](uint16_t group, size_t len, uint8_t fill) {
    shares.push_back(static_cast<uint8_t>(group >> 8));
    shares.push_back(static_cast<uint8_t>(group));
    shares.push_back(static_cast<uint8_t>(len >> 8));
    shares.push_back(static_cast<uint8_t>(len));
    for (size_t i = 0; i < len; ++i) shares.push_back(static_cast<uint8_t>(fill + i * 7));
  };
  add(0x3a3a, 1, 0);
  add(0x6399, 1216, 0x11);
  add(0x001d, 32, 0x42);
  Bytes b = {static_cast<uint8_t>(shares.size() >> 8), static_cast<uint8_t>(shares.size())};
  b.insert(b.end(), shares.begin(), shares.end());
  return b;
}

// A Chrome 120-like TLS 1.3 ClientHello: GREASE cipher, groups, versions and extensions, a 32-byte
// session id (middlebox compatibility), a post-quantum key share that pushes the hello past one
// 1460-byte segment, and server_name late in the (randomized) extension order.
ClientHelloSpec chrome_like(std::string name) {
  ClientHelloSpec s;
  s.session_id = Bytes(32, 0);
  for (size_t i = 0; i < 32; ++i) s.session_id[i] = static_cast<uint8_t>(0xa0 + i);
  s.cipher_suites = {0x4a4a, 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030,
                     0xcca9, 0xcca8, 0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035};
  s.extensions = {
      {0x8a8a, {}, {}},                  // GREASE
      {0x0033, chrome_key_share(), {}},  // key_share
      {0x0017, {}, {}},                  // extended_master_secret
      {0xff01, {0}, {}},                 // renegotiation_info
      {0x000a, u16_list({0x3a3a, 0x6399, 0x001d, 0x0017, 0x0018}, 2), {}},  // supported_groups
      {0x000b, {1, 0}, {}},                                                 // ec_point_formats
      {0x0023, {}, {}},                                                     // session_ticket
      {0x0010, alpn({"h2", "http/1.1"}), {}},                               // ALPN
      {0x0005, {1, 0, 0, 0, 0}, {}},                                        // status_request
      {0x000d,
       u16_list({0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601}, 2),
       {}},                                       // signature_algorithms
      {0x0012, {}, {}},                           // signed_certificate_timestamp
      {0x002d, {1, 1}, {}},                       // psk_key_exchange_modes
      {0x002b, {6, 0x7a, 0x7a, 3, 4, 3, 3}, {}},  // supported_versions
      {0x001b, {2, 0, 2}, {}},                    // compress_certificate (brotli)
      {0x4469, {0, 3, 2, 'h', '2'}, {}},          // application_settings
      sni(std::move(name)),                       // server_name
      {0xdada, {0}, {}},                          // GREASE
  };
  return s;
}

// An older TLS 1.2 client (OpenSSL 1.0.2-like): no session id, server_name first, many suites.
ClientHelloSpec tls12_like(std::string name) {
  ClientHelloSpec s;
  s.cipher_suites = {0xc030, 0xc02c, 0xc028, 0xc024, 0xc014, 0xc00a, 0x00a5, 0x00a3, 0x00a1,
                     0x009f, 0x006b, 0x006a, 0x0069, 0x0068, 0x0039, 0x0038, 0x0037, 0x0036,
                     0x0088, 0x0087, 0x0086, 0x0085, 0xc032, 0xc02e, 0xc02a, 0xc026, 0xc00f,
                     0xc005, 0x009d, 0x003d, 0x0035, 0x0084, 0xc02f, 0xc02b, 0x00ff};
  s.compression_methods = {1, 0};
  s.extensions = {
      sni(std::move(name)),
      {0x000b, {3, 0, 1, 2}, {}},
      {0x000a, u16_list({0x0017, 0x0019, 0x001c, 0x001b, 0x0018, 0x001a}, 2), {}},
      {0x0023, {}, {}},
      {0x000d, u16_list({0x0601, 0x0602, 0x0603, 0x0501, 0x0502, 0x0503, 0x0401, 0x0201}, 2), {}},
      {0x000f, {1}, {}},  // heartbeat
  };
  return s;
}

// A hello whose server_name is the last extension and fills the record's end: every length
// field precedes the name, so each corruption below lands before the decision.
ClientHelloSpec sni_last(std::string name) {
  ClientHelloSpec s = tls12_like("");
  s.session_id = Bytes(32, 7);
  s.extensions.erase(s.extensions.begin());
  s.extensions.push_back({0x0015, Bytes(100, 0), {}});  // padding
  s.extensions.push_back(sni(std::move(name)));
  return s;
}

void expect_found(const SniResult& r, std::span<const uint8_t> data, std::string_view name,
                  size_t offset) {
  ASSERT_EQ(r.status, SniResult::kFound);
  EXPECT_EQ(r.name, name);
  EXPECT_EQ(r.offset, offset);
  ASSERT_LE(r.offset + r.name.size(), data.size());
  EXPECT_EQ(std::string_view(reinterpret_cast<const char*>(data.data()) + r.offset, name.size()),
            name);
}

// --- TLS ------------------------------------------------------------------------------------

TEST(TriggerFieldName, Names) {
  EXPECT_EQ(trigger_field_name(TriggerField::kSni), "sni");
  EXPECT_EQ(trigger_field_name(TriggerField::kHost), "host");
  EXPECT_EQ(trigger_field_name(TriggerField::kPayload), "payload");
  EXPECT_EQ(trigger_field_name(static_cast<TriggerField>(7)), "unknown");
}

TEST(TlsSni, Tls12SingleRecord) {
  const BuiltHello h = build_hello(tls12_like("www.example.com"));
  const Bytes records = wrap_records(h.handshake, 1 << 14);
  const ExactBytes data(records);
  expect_found(find_tls_sni(data.span()), data.span(), "www.example.com", h.name_pos + 5);
}

TEST(TlsSni, Tls13ChromeLikeLargerThanOneSegment) {
  const BuiltHello h = build_hello(chrome_like("blocked.example.org"));
  const Bytes records = wrap_records(h.handshake, 1 << 14, 0x0301);
  ASSERT_GT(records.size(), 1460u);
  ASSERT_GT(h.name_pos + 5, 1460u) << "the name should sit in the second segment";
  const ExactBytes data(records);
  expect_found(find_tls_sni(data.span()), data.span(), "blocked.example.org", h.name_pos + 5);
}

TEST(TlsSni, NameSplitAcrossTwoTcpSegments) {
  const BuiltHello h = build_hello(chrome_like("blocked.example.org"));
  const Bytes records = wrap_records(h.handshake, 1 << 14);
  const size_t name_at = h.name_pos + 5;
  const size_t cut = name_at + 7;  // "blocked" | ".example.org"
  const ExactBytes first(records, cut);
  const SniResult r1 = find_tls_sni(first.span());
  ASSERT_EQ(r1.status, SniResult::kIncomplete);
  EXPECT_EQ(r1.needed, records.size()) << "the whole record";
  // The second segment alone starts in the middle of a record: not TLS.
  const ExactBytes second(records.data() + cut, records.size() - cut);
  EXPECT_EQ(find_tls_sni(second.span()).status, SniResult::kNotTls);
  // Reassembled.
  const ExactBytes both(records);
  expect_found(find_tls_sni(both.span()), both.span(), "blocked.example.org", name_at);
}

TEST(TlsSni, EveryPrefixIsIncompleteThenFound) {
  for (const ClientHelloSpec& spec :
       {tls12_like("a.example"), chrome_like("www.example.net"), sni_last("x.y.z.example.com")}) {
    const BuiltHello h = build_hello(spec);
    const Bytes records = wrap_records(h.handshake, 1 << 14);
    const size_t name_at = h.name_pos + 5;
    const size_t name_end = name_at + h.name.size();
    for (size_t k = 0; k <= records.size(); ++k) {
      const ExactBytes data(records, k);
      const SniResult r = find_tls_sni(data.span());
      if (k < name_end) {
        ASSERT_EQ(r.status, SniResult::kIncomplete) << "prefix " << k;
        ASSERT_EQ(r.needed, k < 5 ? 5u : records.size()) << "prefix " << k;
      } else {
        ASSERT_NO_FATAL_FAILURE(expect_found(r, data.span(), h.name, name_at)) << "prefix " << k;
      }
    }
  }
}

TEST(TlsSni, FragmentedIntoManyRecords) {
  const BuiltHello h = build_hello(chrome_like("fragmented.example.com"));
  char buffer[256];
  for (size_t fragment : {1u, 2u, 3u, 7u, 50u, 100u, 517u, 1000u}) {
    SCOPED_TRACE("fragment " + std::to_string(fragment));
    const Bytes records = wrap_records(h.handshake, fragment, 0x0303);
    const ExactBytes data(records);
    const size_t name_start = record_offset(h.name_pos, fragment);
    const bool straddles = h.name_pos / fragment != (h.name_pos + h.name.size() - 1) / fragment;
    // With a buffer: always the name.
    const SniResult with = find_tls_sni(data.span(), buffer);
    ASSERT_EQ(with.status, SniResult::kFound);
    EXPECT_EQ(with.name, h.name);
    EXPECT_EQ(with.offset, name_start);
    if (straddles) {
      EXPECT_EQ(with.name.data(), buffer) << "joined into the buffer";
    } else {
      expect_found(with, data.span(), h.name, name_start);
    }
    // Without one: kNameSplit exactly when the name straddles records.
    const SniResult without = find_tls_sni(data.span());
    if (straddles) {
      EXPECT_EQ(without.status, SniResult::kNameSplit);
      EXPECT_EQ(without.offset, name_start);
      EXPECT_EQ(without.needed, h.name.size());
    } else {
      expect_found(without, data.span(), h.name, name_start);
    }
    // A buffer one byte too small is no buffer.
    if (straddles) {
      EXPECT_EQ(find_tls_sni(data.span(), std::span<char>(buffer, h.name.size() - 1)).status,
                SniResult::kNameSplit);
    }
  }
}

TEST(TlsSni, FragmentedPrefixesNeedMoreThanTheyHave) {
  const BuiltHello h = build_hello(tls12_like("frag.example"));
  char buffer[256];
  for (size_t fragment : {1u, 4u, 60u}) {
    SCOPED_TRACE("fragment " + std::to_string(fragment));
    const Bytes records = wrap_records(h.handshake, fragment);
    const size_t name_end = record_offset(h.name_pos + h.name.size() - 1, fragment) + 1;
    uint32_t last_needed = 0;
    for (size_t k = 0; k < name_end; ++k) {
      const ExactBytes data(records, k);
      const SniResult r = find_tls_sni(data.span(), buffer);
      ASSERT_EQ(r.status, SniResult::kIncomplete) << "prefix " << k;
      ASSERT_GT(r.needed, k);
      ASSERT_LE(r.needed, records.size()) << "a lower bound";
      ASSERT_GE(r.needed, last_needed) << "never shrinks";
      last_needed = r.needed;
    }
    const ExactBytes data(records, name_end);
    const SniResult r = find_tls_sni(data.span(), buffer);
    ASSERT_EQ(r.status, SniResult::kFound);
    EXPECT_EQ(r.name, h.name);
  }
}

TEST(TlsSni, HelloLargerThanARecord) {
  // 20000 bytes of padding before the name: the hello must span two 2^14 records.
  ClientHelloSpec spec = tls12_like("");
  spec.extensions.erase(spec.extensions.begin());
  spec.extensions.push_back({0x0015, Bytes(20000, 0), {}});
  spec.extensions.push_back(sni("after.padding.example"));
  const BuiltHello h = build_hello(spec);
  const Bytes records = wrap_records(h.handshake, 1 << 14);
  const ExactBytes data(records);
  expect_found(find_tls_sni(data.span()), data.span(), "after.padding.example",
               record_offset(h.name_pos, 1 << 14));
  // Cut inside the second record: exact need, since its header is present.
  const ExactBytes cut(records, (1 << 14) + 5 + 100);
  const SniResult r = find_tls_sni(cut.span());
  ASSERT_EQ(r.status, SniResult::kIncomplete);
  EXPECT_EQ(r.needed, records.size());
  // Cut at the first record's end: a lower bound assuming one more record, here exact.
  const ExactBytes first(records, (1 << 14) + 5);
  EXPECT_EQ(find_tls_sni(first.span()).needed, records.size());
}

TEST(TlsSni, FieldsOfEverySize) {
  // Empty session id, a 32-byte one; one cipher suite and 32767; 1 and 255 compression methods;
  // an extension of 0 bytes and one of 60000.
  for (size_t sid : {0u, 1u, 32u}) {
    for (size_t suites : {1u, 100u, 32767u}) {
      for (size_t methods : {1u, 255u}) {
        ClientHelloSpec spec;
        spec.session_id = Bytes(sid, 0xee);
        spec.cipher_suites.assign(suites, 0x1301);
        spec.compression_methods = Bytes(methods, 0);
        spec.extensions = {{0x0017, {}, {}},
                           {0x0015, Bytes(suites == 1 ? 60000 : 3, 0), {}},
                           sni("sizes.example")};
        const BuiltHello h = build_hello(spec);
        const Bytes records = wrap_records(h.handshake, 1 << 14);
        const ExactBytes data(records);
        SCOPED_TRACE("sid " + std::to_string(sid) + " suites " + std::to_string(suites) +
                     " methods " + std::to_string(methods));
        char buffer[64];  // hellos over 2^14 span records; the name may straddle them
        const SniResult r = find_tls_sni(data.span(), buffer);
        ASSERT_EQ(r.status, SniResult::kFound);
        EXPECT_EQ(r.name, "sizes.example");
        EXPECT_EQ(r.offset, record_offset(h.name_pos, 1 << 14));
      }
    }
  }
}

TEST(TlsSni, NoServerName) {
  ClientHelloSpec spec = tls12_like("");
  spec.extensions.erase(spec.extensions.begin());
  const Bytes records = wrap_records(build_hello(spec).handshake, 1 << 14);
  const ExactBytes data(records);
  EXPECT_EQ(find_tls_sni(data.span()).status, SniResult::kNoSni);
  // Every proper prefix: still waiting.
  for (size_t k = 0; k < records.size(); ++k) {
    const ExactBytes prefix(records, k);
    const SniResult r = find_tls_sni(prefix.span());
    ASSERT_EQ(r.status, SniResult::kIncomplete) << k;
    ASSERT_EQ(r.needed, k < 5 ? 5u : records.size()) << k;
  }
}

TEST(TlsSni, NoExtensionsAtAll) {
  ClientHelloSpec spec;
  spec.has_extensions = false;
  const Bytes records = wrap_records(build_hello(spec).handshake, 1 << 14, 0x0300);
  const ExactBytes data(records);
  EXPECT_EQ(find_tls_sni(data.span()).status, SniResult::kNoSni);
}

TEST(TlsSni, ServerNameOfAnotherTypeOnly) {
  ClientHelloSpec spec;
  spec.extensions = {{0, {}, {{1, "not-a-host-name"}}}, {0x0017, {}, {}}};
  const ExactBytes data(wrap_records(build_hello(spec).handshake, 1 << 14));
  EXPECT_EQ(find_tls_sni(data.span()).status, SniResult::kNoSni);
  // An unknown entry before the host_name is skipped.
  spec.extensions = {{0, {}, {{7, "opaque"}, {0, "second.example"}}}};
  const BuiltHello h = build_hello(spec);
  const ExactBytes data2(wrap_records(h.handshake, 1 << 14));
  expect_found(find_tls_sni(data2.span()), data2.span(), "second.example", h.name_pos + 5);
}

TEST(TlsSni, TrailingBytesInTheRecordAreIgnored) {
  const BuiltHello h = build_hello(tls12_like("trail.example"));
  Bytes hs = h.handshake;
  hs.insert(hs.end(), {0x0b, 0, 0, 0});  // another (empty) handshake message in the same record
  const ExactBytes data(wrap_records(hs, 1 << 14));
  expect_found(find_tls_sni(data.span()), data.span(), "trail.example", h.name_pos + 5);
}

TEST(TlsSni, NotTls) {
  const BuiltHello h = build_hello(tls12_like("x.example"));
  Bytes server_hello = wrap_records(h.handshake, 1 << 14);
  server_hello[5] = 2;  // ServerHello
  Bytes app_data = wrap_records(h.handshake, 1 << 14);
  app_data[0] = 23;
  Bytes tls20 = wrap_records(h.handshake, 1 << 14);
  tls20[1] = 4;
  Bytes minor9 = wrap_records(h.handshake, 1 << 14);
  minor9[2] = 9;
  const Bytes sslv2 = {0x80, 0x2e, 0x01, 0x00, 0x02, 0x00, 0x15, 0x00, 0x00, 0x00, 0x10};
  for (const Bytes& b : {server_hello, app_data, tls20, minor9, sslv2,
                         bytes_of("GET / HTTP/1.1\r\nHost: x.example\r\n\r\n"),
                         bytes_of("SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n"), Bytes{0x16},
                         Bytes{0x16, 0x02}, Bytes{0x17, 0x03, 0x03}}) {
    const ExactBytes data(b);
    SCOPED_TRACE(testing::PrintToString(b));
    if (b.size() < 2 && b[0] == 0x16) {
      EXPECT_EQ(find_tls_sni(data.span()).status, SniResult::kIncomplete);
    } else {
      EXPECT_EQ(find_tls_sni(data.span()).status, SniResult::kNotTls);
    }
  }
  EXPECT_EQ(find_tls_sni({}).status, SniResult::kIncomplete);
  EXPECT_EQ(find_tls_sni({}).needed, 5u);
}

TEST(TlsSni, InterleavedRecordTypeIsMalformed) {
  const BuiltHello h = build_hello(chrome_like("inter.example"));
  Bytes records = wrap_records(h.handshake, 100);
  records[105] = 20;  // the second record claims to be ChangeCipherSpec
  const ExactBytes data(records);
  EXPECT_EQ(find_tls_sni(data.span()).status, SniResult::kMalformed);
  // Cut inside that record's header: already decided.
  const ExactBytes cut(records, 106);
  EXPECT_EQ(find_tls_sni(cut.span()).status, SniResult::kMalformed);
}

// Sets the big-endian field at `pos` (`width` bytes) to `value`.
void put(Bytes& b, size_t pos, int width, uint32_t value) {
  for (int i = width - 1; i >= 0; --i, value >>= 8) b[pos + static_cast<size_t>(i)] = value & 0xff;
}
uint32_t get(const Bytes& b, size_t pos, int width) {
  uint32_t v = 0;
  for (int i = 0; i < width; ++i) v = (v << 8) | b[pos + static_cast<size_t>(i)];
  return v;
}

TEST(TlsSni, EveryLengthFieldCorrupted) {
  const BuiltHello h = build_hello(sni_last("corrupt.example"));
  const Bytes good = wrap_records(h.handshake, 1 << 14);
  auto status_with = [&](size_t pos, int width, uint32_t value) {
    Bytes b = good;
    put(b, pos, width, value);
    const ExactBytes data(b);
    return find_tls_sni(data.span()).status;
  };
  // The record length: 0 and over 2^14 are broken; one short pushes the name's last byte into a
  // "record" whose type byte is a letter; longer only waits for bytes that never matter.
  const uint32_t record_len = get(good, 3, 2);
  EXPECT_EQ(status_with(3, 2, 0), SniResult::kMalformed);
  EXPECT_EQ(status_with(3, 2, (1 << 14) + 1), SniResult::kMalformed);
  EXPECT_EQ(status_with(3, 2, record_len - 1), SniResult::kMalformed);
  EXPECT_EQ(status_with(3, 2, record_len + 1), SniResult::kFound);

  // Every length inside the hello: one byte more than its enclosing vector has left is
  // malformed, and so is 0 where a vector may not be empty.
  size_t checked = 0;
  for (const LengthField& f : h.lengths) {
    SCOPED_TRACE(f.what);
    const size_t pos = f.pos + 5;
    const uint32_t value = get(good, pos, f.width);
    if (f.what == "handshake length") {
      EXPECT_EQ(status_with(pos, f.width, value + 1), SniResult::kMalformed);
      EXPECT_EQ(status_with(pos, f.width, value - 1), SniResult::kMalformed);
      EXPECT_EQ(status_with(pos, f.width, 0), SniResult::kMalformed);
      EXPECT_EQ(status_with(pos, f.width, 0xffffff), SniResult::kMalformed);
    } else if (f.what == "session_id length") {
      EXPECT_EQ(status_with(pos, f.width, 33), SniResult::kMalformed);
      EXPECT_EQ(status_with(pos, f.width, 255), SniResult::kMalformed);
    } else if (f.what == "cipher_suites length") {
      EXPECT_EQ(status_with(pos, f.width, 0), SniResult::kMalformed);
      EXPECT_EQ(status_with(pos, f.width, value + 1), SniResult::kMalformed);  // odd
      EXPECT_EQ(status_with(pos, f.width, 0xfffe), SniResult::kMalformed);     // overrun
    } else if (f.what == "compression_methods length") {
      EXPECT_EQ(status_with(pos, f.width, 0), SniResult::kMalformed);
      EXPECT_EQ(status_with(pos, f.width, value + 1), SniResult::kMalformed);  // shifts the rest
    } else if (f.what == "extensions length" || f.what == "server_name_list length") {
      EXPECT_EQ(status_with(pos, f.width, value + 1), SniResult::kMalformed);
      EXPECT_EQ(status_with(pos, f.width, value - 1), SniResult::kMalformed);
      EXPECT_EQ(status_with(pos, f.width, 0), SniResult::kMalformed);
    } else {
      // An extension or a name: overrunning its enclosing vector by one. Extensions end at the
      // hello's end, so each may reach exactly that far; the name may fill its list.
      const size_t hello_end = 4 + get(good, 6, 3) + 5;
      const uint32_t room = static_cast<uint32_t>(hello_end - (pos + 2));
      EXPECT_EQ(status_with(pos, f.width, room + 1), SniResult::kMalformed);
      EXPECT_EQ(status_with(pos, f.width, 0xffff), SniResult::kMalformed);
      if (f.what == "server name length") {
        EXPECT_EQ(status_with(pos, f.width, 0), SniResult::kMalformed);
      }
    }
    ++checked;
  }
  EXPECT_EQ(checked, h.lengths.size());
  EXPECT_GE(checked, 12u);
  // A consistently framed session id of 33 bytes: over RFC 8446's 32.
  ClientHelloSpec long_sid = sni_last("sid.example");
  long_sid.session_id = Bytes(33, 1);
  EXPECT_EQ(find_tls_sni(ExactBytes(wrap_records(build_hello(long_sid).handshake, 1 << 14)).span())
                .status,
            SniResult::kMalformed);
  // legacy_version major must be 3.
  Bytes v = good;
  v[9] = 2;
  EXPECT_EQ(find_tls_sni(ExactBytes(v).span()).status, SniResult::kMalformed);
}

// Every value of every length field, in every prefix length near it: nothing reads outside the
// buffer (ASan), and whatever is reported is self-consistent.
void expect_sane(const SniResult& r, std::span<const uint8_t> data, std::span<const char> buffer) {
  switch (r.status) {
    case SniResult::kIncomplete:
      ASSERT_GT(r.needed, data.size());
      break;
    case SniResult::kFound: {
      ASSERT_FALSE(r.name.empty());
      ASSERT_LT(r.offset, data.size());
      const char* d = reinterpret_cast<const char*>(data.data());
      const bool in_data = r.name.data() >= d && r.name.data() + r.name.size() <= d + data.size();
      const bool in_buffer =
          !buffer.empty() && r.name.data() == buffer.data() && r.name.size() <= buffer.size();
      ASSERT_TRUE(in_data || in_buffer);
      if (in_data) {
        ASSERT_EQ(r.name.data(), d + r.offset);
      }
      break;
    }
    case SniResult::kNameSplit:
      ASSERT_LT(r.offset, data.size());
      ASSERT_GT(r.needed, 0u);
      break;
    case SniResult::kNotTls:
    case SniResult::kMalformed:
    case SniResult::kNoSni:
      break;
    default:
      FAIL() << "status out of range";
  }
}

TEST(TlsSni, EveryValueOfEveryLengthFieldStaysInBounds) {
  const BuiltHello h = build_hello(sni_last("bounds.example"));
  for (size_t fragment : {size_t{1} << 14, size_t{33}}) {
    const Bytes good = wrap_records(h.handshake, fragment);
    std::vector<std::pair<size_t, int>> fields = {{3, 2}};
    for (const LengthField& f : h.lengths) {
      if (fragment == (1u << 14)) fields.push_back({f.pos + 5, f.width});
    }
    char buffer[64];
    for (const auto& [pos, width] : fields) {
      const uint32_t values = width == 1 ? 256 : 65536;
      for (uint32_t v = 0; v < values; ++v) {
        Bytes b = good;
        if (width == 3) {
          put(b, pos, 3, v * 256 + 0x11);
        } else {
          put(b, pos, width, v);
        }
        const ExactBytes data(b);
        ASSERT_NO_FATAL_FAILURE(expect_sane(find_tls_sni(data.span()), data.span(), {}));
        ASSERT_NO_FATAL_FAILURE(
            expect_sane(find_tls_sni(data.span(), buffer), data.span(), buffer));
      }
    }
  }
}

// --- HTTP -----------------------------------------------------------------------------------

HostResult::Status host_status(std::string_view s) {
  return find_http_host(ExactBytes(bytes_of(s)).span()).status;
}

void expect_host(std::string_view request, std::string_view host) {
  SCOPED_TRACE(std::string(request));
  const Bytes b = bytes_of(request);
  const ExactBytes data(b);
  const HostResult r = find_http_host(data.span());
  ASSERT_EQ(r.status, HostResult::kFound);
  EXPECT_EQ(r.host, host);
  ASSERT_LE(r.offset + r.host.size(), b.size());
  EXPECT_EQ(request.substr(r.offset, host.size()), host);
  EXPECT_EQ(r.host.data(), reinterpret_cast<const char*>(data.span().data()) + r.offset);
}

TEST(HttpHost, EveryMethod) {
  for (std::string_view method :
       {"GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "CONNECT", "PATCH"}) {
    expect_host(std::string(method) + " / HTTP/1.1\r\nHost: example.com\r\n\r\n", "example.com");
  }
  expect_host("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
              "example.com:443");
}

TEST(HttpHost, CasesAndSpacing) {
  expect_host("GET / HTTP/1.1\r\nhost: a.example\r\n\r\n", "a.example");
  expect_host("GET / HTTP/1.1\r\nHOST: a.example\r\n\r\n", "a.example");
  expect_host("GET / HTTP/1.1\r\nhOsT: a.example\r\n\r\n", "a.example");
  expect_host("GET / HTTP/1.1\r\nHost:a.example\r\n\r\n", "a.example");
  expect_host("GET / HTTP/1.1\r\nHost: \t  a.example \t \r\n\r\n", "a.example");
  expect_host("GET / HTTP/1.1\r\nHost: a.example:8080\r\n\r\n", "a.example:8080");
  expect_host("GET / HTTP/1.1\r\nHost: [2001:db8::1]:80\r\n\r\n", "[2001:db8::1]:80");
  expect_host("GET / HTTP/1.1\r\nHost: A.Example\r\n\r\n", "A.Example");  // value as sent
  expect_host("GET / HTTP/1.1\nHost: lf.example\n\n", "lf.example");      // bare LF lines
  expect_host(
      "POST /api HTTP/1.1\r\nUser-Agent: curl/8.4.0\r\nAccept: */*\r\nX-Host: decoy\r\n"
      "Hostname: decoy\r\nHost: later.example\r\nContent-Length: 0\r\n\r\n",
      "later.example");
  expect_host("GET / HTTP/1.1\r\nHost: first.example\r\nHost: second.example\r\n\r\n",
              "first.example");
  expect_host("GET http://abs.example/ HTTP/1.1\r\nHost: abs.example\r\n\r\n", "abs.example");
  expect_host("GET / HTTP/1.1\r\nHost:\r\n\r\n", "");  // empty Host is valid
  // The value may go on until its CR or LF arrives.
  EXPECT_EQ(host_status("GET / HTTP/1.1\r\nHost: a.example"), HostResult::kIncomplete);
  expect_host("GET / HTTP/1.1\r\nHost: a.example\r", "a.example");
}

TEST(HttpHost, NoHost) {
  EXPECT_EQ(host_status("GET / HTTP/1.0\r\n\r\n"), HostResult::kNoHost);
  EXPECT_EQ(host_status("GET / HTTP/1.0\r\nAccept: */*\r\n\r\n"), HostResult::kNoHost);
  EXPECT_EQ(host_status("GET / HTTP/1.0\nAccept: */*\n\n"), HostResult::kNoHost);
  // Whitespace before the colon is not a Host header (RFC 9112 5.1).
  EXPECT_EQ(host_status("GET / HTTP/1.1\r\nHost : a.example\r\n\r\n"), HostResult::kNoHost);
  // A Host line after the empty line is body, not a header.
  EXPECT_EQ(host_status("POST / HTTP/1.1\r\nContent-Length: 18\r\n\r\nHost: in.the.body\r\n"),
            HostResult::kNoHost);
}

TEST(HttpHost, SplitAcrossSegments) {
  const std::string request =
      "GET /index.html HTTP/1.1\r\nUser-Agent: Mozilla/5.0\r\nHost: split.example.com\r\n"
      "Accept: */*\r\n\r\n";
  const size_t value_at = request.find("split.");
  const size_t value_end = value_at + std::string_view("split.example.com").size();
  for (size_t k = 0; k <= request.size(); ++k) {
    const Bytes b(request.begin(), request.begin() + static_cast<long>(k));
    const ExactBytes data(b);
    const HostResult r = find_http_host(data.span());
    if (k <= value_end) {  // the CR after the value has not arrived
      ASSERT_EQ(r.status, HostResult::kIncomplete) << k;
    } else {
      ASSERT_EQ(r.status, HostResult::kFound) << k;
      ASSERT_EQ(r.host, "split.example.com");
      ASSERT_EQ(r.offset, value_at);
    }
  }
  // Without a Host: incomplete up to the empty line, kNoHost from its LF on.
  const std::string no_host = "GET / HTTP/1.0\r\nAccept: */*\r\n\r\n";
  for (size_t k = 0; k <= no_host.size(); ++k) {
    const HostResult::Status r = host_status(std::string_view(no_host).substr(0, k));
    ASSERT_EQ(r, k == no_host.size() ? HostResult::kNoHost : HostResult::kIncomplete) << k;
  }
}

TEST(HttpHost, NotHttp) {
  for (std::string_view s :
       {"get / HTTP/1.1\r\nHost: a\r\n\r\n", "GETX / HTTP/1.1\r\n", "GET/ HTTP/1.1\r\n",
        "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "SSH-2.0-OpenSSH_9.2\r\n", "HTTP/1.1 200 OK\r\n",
        " GET / HTTP/1.1\r\n", "\r\nGET / HTTP/1.1\r\n", "TRACE / HTTP/1.1\r\n"}) {
    EXPECT_EQ(host_status(s), HostResult::kNotHttp) << s;
  }
  const BuiltHello h = build_hello(tls12_like("x.example"));
  const ExactBytes tls(wrap_records(h.handshake, 1 << 14));
  EXPECT_EQ(find_http_host(tls.span()).status, HostResult::kNotHttp);
  // Prefixes of a method may still become a request.
  for (std::string_view s : {"", "G", "GE", "GET", "OPTION", "DELE", "P"}) {
    EXPECT_EQ(host_status(s), HostResult::kIncomplete) << s;
  }
}

// --- Randomized mutation ---------------------------------------------------------------------

// Statuses that more bytes cannot change.
bool sni_final(SniResult::Status s) { return s != SniResult::kIncomplete; }
bool host_final(HostResult::Status s) { return s != HostResult::kIncomplete; }

TEST(TriggerFieldsFuzz, MutationsKeepStatusesConsistent) {
  std::mt19937_64 rng(20261121);
  std::vector<Bytes> seeds;
  for (size_t fragment : {size_t{1} << 14, size_t{9}, size_t{200}}) {
    seeds.push_back(wrap_records(build_hello(tls12_like("seed.example")).handshake, fragment));
    seeds.push_back(wrap_records(build_hello(chrome_like("seed2.example")).handshake, fragment));
    seeds.push_back(wrap_records(build_hello(sni_last("seed3.example")).handshake, fragment));
  }
  seeds.push_back(bytes_of("GET / HTTP/1.1\r\nHost: seed.example\r\nAccept: */*\r\n\r\n"));
  seeds.push_back(bytes_of("POST /x HTTP/1.0\nA: b\n\n"));
  auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };
  char buffer[32];
  constexpr int kRounds = 100000;
  int found = 0;
  for (int round = 0; round < kRounds; ++round) {
    Bytes b = seeds[pick(seeds.size())];
    const int mutations = 1 + static_cast<int>(pick(4));
    for (int m = 0; m < mutations && !b.empty(); ++m) {
      switch (pick(5)) {
        case 0:  // flip a byte
          b[pick(b.size())] = static_cast<uint8_t>(rng());
          break;
        case 1:  // flip a byte in the first 80 (where most lengths are)
          b[pick(std::min<size_t>(80, b.size()))] ^= static_cast<uint8_t>(1u << pick(8));
          break;
        case 2:  // truncate
          b.resize(pick(b.size() + 1));
          break;
        case 3:  // insert a byte
          b.insert(b.begin() + static_cast<long>(pick(b.size() + 1)), static_cast<uint8_t>(rng()));
          break;
        case 4:  // delete a byte
          b.erase(b.begin() + static_cast<long>(pick(b.size())));
          break;
      }
    }
    const ExactBytes data(b);
    const SniResult sni_full = find_tls_sni(data.span(), buffer);
    ASSERT_NO_FATAL_FAILURE(expect_sane(sni_full, data.span(), buffer));
    const HostResult host_full = find_http_host(data.span());
    ASSERT_LE(host_full.status, HostResult::kFound);
    if (host_full.status == HostResult::kFound) {
      ASSERT_LE(host_full.offset + host_full.host.size(), b.size());
    }
    found += sni_full.status == SniResult::kFound;
    // A prefix agrees with the whole: a final status of the prefix is the whole's, and an
    // incomplete whole has only incomplete prefixes needing no more than it does.
    const size_t cut = pick(b.size() + 1);
    const ExactBytes prefix(b, cut);
    const SniResult sni_prefix = find_tls_sni(prefix.span(), buffer);
    ASSERT_NO_FATAL_FAILURE(expect_sane(sni_prefix, prefix.span(), buffer));
    if (sni_final(sni_prefix.status)) {
      ASSERT_EQ(sni_prefix.status, sni_full.status) << "cut " << cut;
      ASSERT_EQ(sni_prefix.offset, sni_full.offset);
    } else if (sni_full.status == SniResult::kIncomplete) {
      ASSERT_LE(sni_prefix.needed, sni_full.needed);
    }
    if (sni_full.status == SniResult::kIncomplete) {
      ASSERT_EQ(sni_prefix.status, SniResult::kIncomplete);
    }
    const HostResult host_prefix = find_http_host(prefix.span());
    if (host_final(host_prefix.status)) {
      ASSERT_EQ(host_prefix.status, host_full.status);
      ASSERT_EQ(host_prefix.host, host_full.host);
      ASSERT_EQ(host_prefix.offset, host_full.offset);
    }
    if (host_full.status == HostResult::kIncomplete) {
      ASSERT_EQ(host_prefix.status, HostResult::kIncomplete);
    }
  }
  EXPECT_GT(found, kRounds / 20) << "mutations should leave many hellos intact";
}

}  // namespace
}  // namespace rstguard

#include "core/trigger_fields.h"

#include <algorithm>
#include <cstddef>
#include <cstring>

namespace rstguard {

std::string_view trigger_field_name(TriggerField f) {
  switch (f) {
    case TriggerField::kSni:
      return "sni";
    case TriggerField::kHost:
      return "host";
    case TriggerField::kPayload:
      return "payload";
  }
  return "unknown";
}

namespace {

// TLS record layer and handshake constants (RFC 8446 5.1, 4; RFC 6066 3).
constexpr uint8_t kContentHandshake = 22;
constexpr uint8_t kHandshakeClientHello = 1;
constexpr size_t kRecordHeaderLen = 5;
constexpr size_t kMaxRecordLen = 1 << 14;  // TLSPlaintext.length, RFC 8446 5.1
constexpr uint32_t kHandshakeHeaderLen = 4;
constexpr uint32_t kRandomLen = 32;
constexpr uint32_t kMaxSessionIdLen = 32;
constexpr uint16_t kExtServerName = 0;
constexpr uint8_t kNameTypeHostName = 0;
// A ClientHello body holds at least legacy_version, random, an empty session_id, one cipher suite
// and one compression method; at most every field at its largest vector size.
constexpr uint32_t kMinClientHelloBody = 2 + kRandomLen + 1 + 2 + 2 + 1 + 1;
constexpr uint32_t kMaxClientHelloBody =
    2 + kRandomLen + 1 + kMaxSessionIdLen + 2 + 65534 + 1 + 255 + 2 + 65535;

// What a read from the handshake stream did.
enum class Step : uint8_t {
  kOk,
  kShort,  // data ended first: more segments are needed
  kBad,    // a record header on the way is invalid
};

// Checks a record header that may be cut short by the end of data: kShort when the bytes present
// are a valid start, kBad as soon as one is not. On kOk, *length is the record's length.
Step check_record_header(std::span<const uint8_t> data, size_t pos, uint32_t* length) {
  const size_t have = std::min(data.size() - pos, kRecordHeaderLen);
  if (have >= 1 && data[pos] != kContentHandshake) return Step::kBad;
  if (have >= 2 && data[pos + 1] != 3) return Step::kBad;  // legacy_record_version 3.x
  if (have >= 3 && data[pos + 2] > 4) return Step::kBad;   // SSL 3.0 .. TLS 1.3
  if (have < kRecordHeaderLen) return Step::kShort;
  *length = (uint32_t{data[pos + 3]} << 8) | data[pos + 4];
  // RFC 8446 5.1: no zero-length handshake fragments, no plaintext over 2^14.
  if (*length == 0 || *length > kMaxRecordLen) return Step::kBad;
  return Step::kOk;
}

// Reads the handshake byte stream carried by consecutive handshake records, crossing record
// boundaries. Forward-only; consumed() counts handshake bytes (logical), pos_ is in data.
class HandshakeReader {
 public:
  // `payload` is where the first record's payload starts in data, `record_end` where it ends
  // (possibly past data's end).
  HandshakeReader(std::span<const uint8_t> data, size_t payload, size_t record_end)
      : data_(data), pos_(payload), record_end_(record_end) {}

  uint32_t consumed() const { return consumed_; }

  // Reads a big-endian unsigned integer of `width` (1..4) bytes.
  Step read(uint32_t width, uint32_t* value) {
    uint32_t v = 0;
    for (uint32_t i = 0; i < width; ++i) {
      if (Step s = enter_data(); s != Step::kOk) return s;
      v = (v << 8) | data_[pos_++];
      ++consumed_;
    }
    *value = v;
    return Step::kOk;
  }

  Step skip(uint32_t count) {
    while (count > 0) {
      if (Step s = enter_data(); s != Step::kOk) return s;
      const size_t here = std::min(record_end_, data_.size()) - pos_;
      const uint32_t take = static_cast<uint32_t>(std::min<size_t>(here, count));
      pos_ += take;
      consumed_ += take;
      count -= take;
    }
    return Step::kOk;
  }

  // Takes the next `count` (> 0) bytes as a string. Contiguous in data: *out views data. Across
  // records: joined into `buffer` if they fit (*out views it), else *out is empty and *split set.
  // *start is where the first byte is in data.
  Step take_string(uint32_t count, std::span<char> buffer, std::string_view* out, size_t* start,
                   bool* split) {
    if (pos_ == record_end_) {
      if (Step s = next_record(); s != Step::kOk) return s;
    }
    *start = pos_;
    *split = false;
    if (record_end_ - pos_ >= count) {
      if (data_.size() - pos_ < count) return Step::kShort;
      *out = std::string_view(reinterpret_cast<const char*>(data_.data() + pos_), count);
      pos_ += count;
      consumed_ += count;
      return Step::kOk;
    }
    const bool fits = count <= buffer.size();
    uint32_t copied = 0;
    while (copied < count) {
      if (Step s = enter_data(); s != Step::kOk) return s;
      const size_t here = std::min(record_end_, data_.size()) - pos_;
      const uint32_t take = static_cast<uint32_t>(std::min<size_t>(here, count - copied));
      if (fits) std::memcpy(buffer.data() + copied, data_.data() + pos_, take);
      pos_ += take;
      consumed_ += take;
      copied += take;
    }
    if (fits) {
      *out = std::string_view(buffer.data(), count);
    } else {
      *out = {};
      *split = true;
    }
    return Step::kOk;
  }

  // Bytes from data's start that hold the handshake stream up to `remaining` more bytes after
  // consumed(): the current record's end if they fit in it, else one more record carrying the
  // rest (a lower bound when the sender fragments further).
  size_t needed(size_t remaining) const {
    const size_t in_record = record_end_ - pos_;
    if (remaining <= in_record) return record_end_;
    return record_end_ + kRecordHeaderLen + (remaining - in_record);
  }

 private:
  // Makes pos_ point at a data byte of the stream: steps into the next record at a record's end.
  Step enter_data() {
    if (pos_ == record_end_) {
      if (Step s = next_record(); s != Step::kOk) return s;
    }
    return pos_ < data_.size() ? Step::kOk : Step::kShort;
  }

  // At a record's end: the next record must continue the handshake (RFC 8446 5.1: handshake
  // messages are not interleaved with other record types).
  Step next_record() {
    uint32_t length = 0;
    if (Step s = check_record_header(data_, pos_, &length); s != Step::kOk) return s;
    pos_ += kRecordHeaderLen;
    record_end_ = pos_ + length;
    return Step::kOk;
  }

  std::span<const uint8_t> data_;
  size_t pos_;
  size_t record_end_;
  uint32_t consumed_ = 0;
};

}  // namespace

SniResult find_tls_sni(std::span<const uint8_t> data, std::span<char> name_buffer) {
  SniResult result;
  // 1. The first record header: a handshake record of TLS (SSL 3.0 .. 1.3), RFC 8446 5.1.
  uint32_t record_len = 0;
  switch (check_record_header(data, 0, &record_len)) {
    case Step::kShort:
      result.status = SniResult::kIncomplete;
      result.needed = kRecordHeaderLen;
      return result;
    case Step::kBad:
      // The type and version bytes are checked first: a full header that fails was a handshake
      // record with an impossible length (broken TLS) only when those passed.
      result.status = data.size() >= kRecordHeaderLen && data[0] == kContentHandshake &&
                              data[1] == 3 && data[2] <= 4
                          ? SniResult::kMalformed
                          : SniResult::kNotTls;
      return result;
    case Step::kOk:
      break;
  }
  // 2. The first handshake message must be a ClientHello (RFC 8446 4.1.2).
  if (data.size() > kRecordHeaderLen && data[kRecordHeaderLen] != kHandshakeClientHello) {
    result.status = SniResult::kNotTls;
    return result;
  }

  HandshakeReader reader(data, kRecordHeaderLen, kRecordHeaderLen + record_len);
  uint32_t hello_end = kHandshakeHeaderLen;  // in handshake-stream bytes; known after step 3
  auto stop = [&](Step s) {
    if (s == Step::kShort) {
      result.status = SniResult::kIncomplete;
      result.needed = static_cast<uint32_t>(reader.needed(hello_end - reader.consumed()));
    } else {
      result.status = SniResult::kMalformed;
    }
    return result;
  };
  auto malformed = [&] {
    result.status = SniResult::kMalformed;
    return result;
  };
  // Whether `count` more bytes stay inside the enclosing vector that ends at `end`.
  auto fits = [&](uint32_t count, uint32_t end) { return end - reader.consumed() >= count; };
  uint32_t value = 0;

  // 3. Handshake header: msg_type, uint24 length.
  if (Step s = reader.read(1, &value); s != Step::kOk) return stop(s);
  if (Step s = reader.read(3, &value); s != Step::kOk) return stop(s);
  if (value < kMinClientHelloBody || value > kMaxClientHelloBody) return malformed();
  hello_end = kHandshakeHeaderLen + value;

  // 4. legacy_version (major 3), random (RFC 8446 4.1.2).
  if (Step s = reader.read(2, &value); s != Step::kOk) return stop(s);
  if ((value >> 8) != 3) return malformed();
  if (Step s = reader.skip(kRandomLen); s != Step::kOk) return stop(s);

  // 5. legacy_session_id <0..32>, cipher_suites <2..2^16-2> (pairs), legacy_compression_methods
  //    <1..2^8-1>. The minimum body length covers the length bytes; the contents are checked.
  if (Step s = reader.read(1, &value); s != Step::kOk) return stop(s);
  if (value > kMaxSessionIdLen || !fits(value + 2, hello_end)) return malformed();
  if (Step s = reader.skip(value); s != Step::kOk) return stop(s);
  if (Step s = reader.read(2, &value); s != Step::kOk) return stop(s);
  if (value == 0 || value % 2 != 0 || !fits(value + 1, hello_end)) return malformed();
  if (Step s = reader.skip(value); s != Step::kOk) return stop(s);
  if (Step s = reader.read(1, &value); s != Step::kOk) return stop(s);
  if (value == 0 || !fits(value, hello_end)) return malformed();
  if (Step s = reader.skip(value); s != Step::kOk) return stop(s);

  // 6. extensions <8..2^16-1>: absent (SSL 3.0 style hello) or exactly the rest of the hello.
  if (reader.consumed() == hello_end) {
    result.status = SniResult::kNoSni;
    return result;
  }
  if (!fits(2, hello_end)) return malformed();
  if (Step s = reader.read(2, &value); s != Step::kOk) return stop(s);
  if (value != hello_end - reader.consumed()) return malformed();

  while (reader.consumed() < hello_end) {
    uint32_t type = 0;
    uint32_t length = 0;
    if (!fits(4, hello_end)) return malformed();
    if (Step s = reader.read(2, &type); s != Step::kOk) return stop(s);
    if (Step s = reader.read(2, &length); s != Step::kOk) return stop(s);
    if (!fits(length, hello_end)) return malformed();
    if (type != kExtServerName) {
      if (Step s = reader.skip(length); s != Step::kOk) return stop(s);
      continue;
    }
    // 7. server_name (RFC 6066 3): ServerNameList server_name_list<1..2^16-1>, each entry a
    //    NameType and a HostName<1..2^16-1>. Entries of unknown types are skipped with the same
    //    framing (RFC 3546 defined it so; RFC 6066 servers reject them).
    const uint32_t extension_end = reader.consumed() + length;
    if (length < 2) return malformed();
    if (Step s = reader.read(2, &value); s != Step::kOk) return stop(s);
    if (value == 0 || value != extension_end - reader.consumed()) return malformed();
    while (reader.consumed() < extension_end) {
      uint32_t name_type = 0;
      uint32_t name_len = 0;
      if (!fits(3, extension_end)) return malformed();
      if (Step s = reader.read(1, &name_type); s != Step::kOk) return stop(s);
      if (Step s = reader.read(2, &name_len); s != Step::kOk) return stop(s);
      if (name_len == 0 || !fits(name_len, extension_end)) return malformed();
      if (name_type != kNameTypeHostName) {
        if (Step s = reader.skip(name_len); s != Step::kOk) return stop(s);
        continue;
      }
      std::string_view name;
      size_t start = 0;
      bool split = false;
      if (Step s = reader.take_string(name_len, name_buffer, &name, &start, &split);
          s != Step::kOk) {
        return stop(s);
      }
      result.offset = static_cast<uint32_t>(start);
      if (split) {
        result.status = SniResult::kNameSplit;
        result.needed = name_len;
      } else {
        result.status = SniResult::kFound;
        result.name = name;
      }
      return result;
    }
  }
  result.status = SniResult::kNoSni;
  return result;
}

namespace {

// RFC 9110 9.3 methods a request we look into may start with, each followed by SP.
constexpr std::string_view kRequestStarts[] = {
    "GET ", "POST ", "HEAD ", "PUT ", "DELETE ", "OPTIONS ", "CONNECT ", "PATCH ",
};

constexpr std::string_view kHostName = "host:";

bool is_ows(uint8_t c) { return c == ' ' || c == '\t'; }

uint8_t ascii_lower(uint8_t c) { return c >= 'A' && c <= 'Z' ? static_cast<uint8_t>(c + 32) : c; }

// Offset of the first `c` in data[from, to), or `to` if none.
size_t find_byte(std::span<const uint8_t> data, size_t from, size_t to, uint8_t c) {
  if (from >= to) return to;
  const void* hit = std::memchr(data.data() + from, c, to - from);
  return hit == nullptr ? to : static_cast<size_t>(static_cast<const uint8_t*>(hit) - data.data());
}

}  // namespace

HostResult find_http_host(std::span<const uint8_t> data) {
  HostResult result;
  if (data.empty()) {
    result.status = HostResult::kIncomplete;
    return result;
  }
  // 1. Request line: a known method and SP (RFC 9112 3); its end is the first LF.
  bool method = false;
  bool method_prefix = false;
  for (std::string_view start : kRequestStarts) {
    const size_t n = std::min(start.size(), data.size());
    if (std::memcmp(data.data(), start.data(), n) != 0) continue;
    if (n == start.size()) {
      method = true;
      break;
    }
    method_prefix = true;
  }
  if (!method) {
    result.status = method_prefix ? HostResult::kIncomplete : HostResult::kNotHttp;
    return result;
  }
  const size_t size = data.size();
  size_t line = find_byte(data, 0, size, '\n');
  if (line == size) {
    result.status = HostResult::kIncomplete;
    return result;
  }
  ++line;

  // 2. Header lines (RFC 9112 5): up to the empty line.
  for (;;) {
    if (line == size) {
      result.status = HostResult::kIncomplete;
      return result;
    }
    const size_t lf = find_byte(data, line, size, '\n');
    const bool complete = lf != size;
    // The empty line ends the headers: LF or CR LF.
    if (lf == line || (complete && lf == line + 1 && data[line] == '\r')) {
      result.status = HostResult::kNoHost;
      return result;
    }
    bool host = lf - line >= kHostName.size();
    for (size_t i = 0; host && i < kHostName.size(); ++i) {
      host = ascii_lower(data[line + i]) == static_cast<uint8_t>(kHostName[i]);
    }
    if (host) {
      size_t value = line + kHostName.size();
      while (value < lf && is_ows(data[value])) ++value;
      size_t value_end = find_byte(data, value, lf, '\r');
      if (value_end == size) {  // neither CR nor LF yet: the value may go on
        result.status = HostResult::kIncomplete;
        return result;
      }
      while (value_end > value && is_ows(data[value_end - 1])) --value_end;
      result.status = HostResult::kFound;
      result.host =
          std::string_view(reinterpret_cast<const char*>(data.data() + value), value_end - value);
      result.offset = static_cast<uint32_t>(value);
      return result;
    }
    if (!complete) {
      result.status = HostResult::kIncomplete;
      return result;
    }
    line = lf + 1;
  }
}

}  // namespace rstguard

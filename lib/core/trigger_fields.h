// The fields trigger patterns are matched over. Censoring and blocking devices inject resets right
// after a trigger: the server name of a TLS ClientHello, the Host header of an HTTP request, a
// keyword anywhere in a segment (RST-FIELD-GUIDE.md). These functions find the first two in the
// payload a client sends first.
//
// Every function here is a pure function of its arguments: thread-safe, allocation-free, and never
// reads outside `data`. Returned views point into `data` (or into the caller's `name_buffer`) and
// live as long as it does. Measured cost: about 35 ns for find_tls_sni and find_http_host together
// per connection's first client payload (the nDPI corpus's 2268 first payloads, -O2, one core).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace rstguard {

enum class TriggerField : uint8_t { kSni = 0, kHost = 1, kPayload = 2 };
inline constexpr int kTriggerFieldCount = 3;

// "sni", "host", "payload"; "unknown" for a value outside the enum.
std::string_view trigger_field_name(TriggerField f);

struct SniResult {
  enum Status : uint8_t {
    kNotTls,      // data does not start a TLS handshake record carrying a ClientHello
    kIncomplete,  // data ends before the server name (or, without one, before the ClientHello's
                  // end); `needed` says how many bytes from data's start to wait for
    kMalformed,   // a length field is inconsistent, a record is invalid, a list overruns
    kNoSni,       // a complete ClientHello without a host_name server name
    kFound,       // `name` is the host_name, `offset` where its first byte is in data
    kNameSplit,   // the host_name straddles TLS records and did not fit `name_buffer`:
                  // `offset` is where it starts in data, `needed` is its length
  };
  Status status = kNotTls;
  std::string_view name;  // kFound: the name's bytes exactly as sent (not lowercased, not checked)
  uint32_t offset = 0;    // kFound, kNameSplit: offset of the name's first byte in data
  uint32_t needed = 0;    // kIncomplete: total bytes (from data's start) the ClientHello's records
                          // need, always > data.size(); exact once the header of the record that
                          // ends the ClientHello is in data, else a lower bound that assumes the
                          // rest comes in one record. kNameSplit: the name's length.
};

// Finds the server name a TLS ClientHello asks for (RFC 8446 4.1.2 and 5.1, RFC 6066 section 3).
//
// `data` is a connection's client-to-server payload from its first byte. The ClientHello may be
// split across several handshake records (record fragmentation: RFC 8446 5.1 allows it and
// censorship-evasion tools use it); fields are then read across record boundaries. A host_name
// that itself straddles records is joined into `name_buffer` (kFound, `name` views the buffer)
// when it fits, and is kNameSplit otherwise; 256 bytes hold every DNS name.
//
// Checked, each a kMalformed: record length 0 or over 2^14; a record after the first that is not
// a handshake record; ClientHello length too small or too large for its fields; legacy_version
// major not 3; session_id over 32 bytes; cipher_suites empty or odd; compression_methods empty;
// extensions not exactly filling the ClientHello; an extension overrunning the list; server_name
// list empty or not filling its extension; a name entry overrunning the list; an empty host_name.
// A record that declares more bytes than `data` holds is kIncomplete, not kMalformed.
//
// Like an on-path censor, this stops at the server name: kFound as soon as the whole host_name is
// in data, even if the ClientHello continues past data, and the bytes after the server_name
// extension are not examined. So for a ClientHello H with a host_name, every prefix of H is
// kIncomplete until the name's last byte and kFound with the same name and offset from there on.
// kNoSni needs the whole ClientHello. An empty `data` is kIncomplete (the prefix of everything).
SniResult find_tls_sni(std::span<const uint8_t> data, std::span<char> name_buffer = {});

struct HostResult {
  enum Status : uint8_t {
    kNotHttp,     // data does not start with a request method we know and a space
    kIncomplete,  // the headers have not ended and no complete Host line was seen yet
    kNoHost,      // the headers ended (empty line) without a Host header
    kFound,       // `host` is the first Host header's value, `offset` where it starts in data
  };
  Status status = kNotHttp;
  std::string_view host;  // kFound: the value as sent (port kept), without surrounding SP/HTAB;
                          // may be empty ("Host:" with no value is valid, RFC 9110 7.2)
  uint32_t offset = 0;    // kFound: offset of the value's first byte in data
};

// Finds the Host header of an HTTP/1.x request (RFC 9112 section 3, RFC 9110 7.2).
//
// `data` is a connection's client-to-server payload from its first byte. It must start with one
// of GET, POST, HEAD, PUT, DELETE, OPTIONS, CONNECT, PATCH (case-sensitive, RFC 9110 9.1) and a
// space; the rest of the request line is not checked. Header lines end at LF (a CR before it is
// optional, as most servers accept); the field name is matched case-insensitively and must be
// followed directly by ':' (RFC 9112 5.1 forbids whitespace before it); the value runs from after
// optional SP/HTAB to the first CR or LF, trailing SP/HTAB removed. The first Host header wins.
//
// Every prefix of a request is kIncomplete until the Host line's CR (or LF) and kFound with the
// same host and offset from there on; an empty `data`, or a prefix of a method, is kIncomplete.
HostResult find_http_host(std::span<const uint8_t> data);

}  // namespace rstguard

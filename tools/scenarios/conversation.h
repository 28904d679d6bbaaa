// Building blocks for synthetic captures: a Capture (timestamped frames)
// and a Conn that plays both ends of a TCP connection the way Linux does
// (sequence numbers, windows, timestamps, IP IDs), plus an attacker's view
// for forging. Test and tool code only.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "builder/packet_builder.h"

namespace rstguard::scenario {

struct Packet {
  uint64_t ts_ns;
  std::vector<uint8_t> frame;
};

// A TLS 1.2-style ClientHello record naming `sni` (server_name extension),
// with a few other extensions around it, as a browser sends.
std::vector<uint8_t> tls_client_hello(const std::string& sni);

class Capture {
 public:
  explicit Capture(uint64_t start_ns = 1'700'000'000ull * 1'000'000'000ull) : now_ns_(start_ns) {}
  void advance_ms(double ms) { now_ns_ += static_cast<uint64_t>(ms * 1e6); }
  void add(const SegmentSpec& spec);
  // While paused, add() drops frames: the tap did not see them.
  void set_recording(bool on) { recording_ = on; }
  const std::vector<Packet>& packets() const { return packets_; }
  uint64_t now_ns() const { return now_ns_; }
  bool write_pcap(const std::string& path, std::string* error) const;

 private:
  uint64_t now_ns_;
  bool recording_ = true;
  std::vector<Packet> packets_;
};

struct ConnOptions {
  bool ipv6 = false;
  std::vector<uint16_t> vlans;
  bool window_scaling = true;
  bool timestamps = true;
  uint32_t client_isn = 1000000;
  uint32_t server_isn = 3000000000u;
  uint8_t auth = 0;         // kAuthMd5 / kAuthAo on every segment (BGP-style)
  uint8_t server_ttl = 57;  // as seen at the capture point
};

inline constexpr int kClient = 0;
inline constexpr int kServer = 1;

class Conn {
 public:
  Conn(Capture& cap, const ConnOptions& opt, const std::string& client_ip, uint16_t client_port,
       const std::string& server_ip, uint16_t server_port);

  // A segment from `side` carrying the connection's current numbers.
  SegmentSpec segment(int side, uint8_t flags, size_t payload_len = 0) const;
  // Sends it (and advances that side's sequence number).
  void send(int side, uint8_t flags, size_t payload_len = 0);
  void handshake();               // SYN, SYN/ACK, ACK
  void data(int side, size_t len);  // PSH+ACK
  void send_bytes(int side, const std::vector<uint8_t>& bytes);  // PSH+ACK with these bytes
  void ack(int side);
  void fin(int side);             // FIN+ACK
  void rst(int side, bool with_ack = true);  // the end host's own reset
  // A reset as an injector builds it, claiming to come from `side`:
  // exact sequence number, another TTL, no timestamps, a random-looking IP ID.
  SegmentSpec forge_rst(int side) const;

  uint32_t snd_nxt(int side) const { return end_[side].snd_nxt; }
  uint32_t rcv_window_bytes(int side) const;
  Capture& capture() { return cap_; }

 private:
  struct End {
    IpAddr ip;
    uint16_t port;
    uint32_t snd_nxt;
    uint8_t ttl;
    mutable uint16_t ip_id;
    uint32_t ts_base;
    uint16_t raw_window;
    uint8_t wscale;
  };
  Capture& cap_;
  ConnOptions opt_;
  End end_[2];
  bool established_ = false;
};

}  // namespace rstguard::scenario

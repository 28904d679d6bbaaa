#include "scenarios/conversation.h"

#include "core/headers.h"
#include "capture/capture_file.h"

#include <cstring>

namespace rstguard::scenario {

using namespace wire::tcpflag;

std::vector<uint8_t> tls_client_hello(const std::string& sni) {
  const auto be16 = [](std::vector<uint8_t>& v, size_t x) {
    v.push_back(static_cast<uint8_t>(x >> 8));
    v.push_back(static_cast<uint8_t>(x));
  };
  std::vector<uint8_t> ext;
  be16(ext, 0x0a0a);  // GREASE, empty
  be16(ext, 0);
  be16(ext, 0x0000);  // server_name
  be16(ext, sni.size() + 5);
  be16(ext, sni.size() + 3);
  ext.push_back(0);  // host_name
  be16(ext, sni.size());
  ext.insert(ext.end(), sni.begin(), sni.end());
  be16(ext, 0x000b);  // ec_point_formats
  be16(ext, 2);
  ext.push_back(1);
  ext.push_back(0);
  be16(ext, 0x0010);  // ALPN: h2, http/1.1
  be16(ext, 14);
  be16(ext, 12);
  for (const char* proto : {"h2", "http/1.1"}) {
    ext.push_back(static_cast<uint8_t>(std::strlen(proto)));
    ext.insert(ext.end(), proto, proto + std::strlen(proto));
  }
  std::vector<uint8_t> body;
  body.push_back(3);  // client_version 1.2
  body.push_back(3);
  for (int i = 0; i < 32; ++i) body.push_back(static_cast<uint8_t>(i * 7 + 1));  // random
  body.push_back(32);  // session id
  for (int i = 0; i < 32; ++i) body.push_back(static_cast<uint8_t>(0xa0 + i));
  be16(body, 4);  // cipher suites
  be16(body, 0x1301);
  be16(body, 0xc02f);
  body.push_back(1);  // compression: null
  body.push_back(0);
  be16(body, ext.size());
  body.insert(body.end(), ext.begin(), ext.end());
  std::vector<uint8_t> rec = {22, 3, 1};
  be16(rec, body.size() + 4);
  rec.push_back(1);  // ClientHello
  rec.push_back(static_cast<uint8_t>(body.size() >> 16));
  be16(rec, body.size() & 0xffff);
  rec.insert(rec.end(), body.begin(), body.end());
  return rec;
}

void Capture::add(const SegmentSpec& spec) {
  if (!recording_) return;
  packets_.push_back(Packet{now_ns_, build_frame(spec)});
}

bool Capture::write_pcap(const std::string& path, std::string* error) const {
  auto w = CaptureWriter::open(path, 1, error);
  if (!w) return false;
  for (const Packet& p : packets_) {
    const auto len = static_cast<uint32_t>(p.frame.size());
    if (!w->write(p.frame.data(), len, len, p.ts_ns)) {
      *error = w->error();
      return false;
    }
  }
  if (!w->flush()) {
    *error = w->error();
    return false;
  }
  return true;
}

Conn::Conn(Capture& cap, const ConnOptions& opt, const std::string& client_ip,
           uint16_t client_port, const std::string& server_ip, uint16_t server_port)
    : cap_(cap), opt_(opt) {
  const uint16_t raw_window = opt.window_scaling ? 502 : 65535;
  end_[kClient] = End{ip(client_ip), client_port, opt.client_isn, 64, 0x1200, 700000,
                      raw_window, 7};
  end_[kServer] = End{ip(server_ip), server_port, opt.server_isn, opt.server_ttl, 0x5400, 9100000,
                      raw_window, 9};
}

uint32_t Conn::rcv_window_bytes(int side) const {
  const End& e = end_[side];
  return opt_.window_scaling ? static_cast<uint32_t>(e.raw_window) << e.wscale : e.raw_window;
}

SegmentSpec Conn::segment(int side, uint8_t flags, size_t payload_len) const {
  const End& me = end_[side];
  const End& peer = end_[1 - side];
  SegmentSpec s;
  s.src = me.ip;
  s.dst = peer.ip;
  s.src_port = me.port;
  s.dst_port = peer.port;
  s.seq = me.snd_nxt;
  s.ack = (flags & kAck) ? peer.snd_nxt : 0;
  s.flags = flags;
  s.ttl = me.ttl;
  s.ip_id = me.ip_id++;
  s.vlans = opt_.vlans;
  s.window = (flags & kSyn) ? 64240 : me.raw_window;
  if (flags & kSyn) {
    s.opt.has_mss = true;
    s.opt.mss = 1460;
    s.opt.sack_permitted = true;
    if (opt_.window_scaling) {
      s.opt.has_wscale = true;
      s.opt.wscale = me.wscale;
    }
  }
  if (opt_.timestamps) {
    s.opt.has_timestamp = true;
    s.opt.tsval = me.ts_base + static_cast<uint32_t>(cap_.now_ns() / 1'000'000 % 100000000);
    s.opt.tsecr = (flags & kSyn) && !(flags & kAck) ? 0 : peer.ts_base;
  }
  s.opt.auth = opt_.auth;
  s.payload.assign(payload_len, 'x');
  return s;
}

void Conn::send(int side, uint8_t flags, size_t payload_len) {
  const SegmentSpec s = segment(side, flags, payload_len);
  cap_.add(s);
  end_[side].snd_nxt += static_cast<uint32_t>(payload_len) + ((flags & kSyn) ? 1 : 0) +
                        ((flags & kFin) ? 1 : 0);
}

void Conn::handshake() {
  send(kClient, kSyn);
  cap_.advance_ms(20);
  send(kServer, kSyn | kAck);
  cap_.advance_ms(20);
  send(kClient, kAck);
  established_ = true;
}

void Conn::data(int side, size_t len) {
  send(side, kPsh | kAck, len);
  cap_.advance_ms(1);
}

void Conn::send_bytes(int side, const std::vector<uint8_t>& bytes) {
  SegmentSpec s = segment(side, kPsh | kAck, 0);
  s.payload = bytes;
  cap_.add(s);
  end_[side].snd_nxt += static_cast<uint32_t>(bytes.size());
  cap_.advance_ms(1);
}

void Conn::ack(int side) {
  send(side, kAck);
  cap_.advance_ms(1);
}

void Conn::fin(int side) {
  send(side, kFin | kAck);
  cap_.advance_ms(1);
}

void Conn::rst(int side, bool with_ack) {
  SegmentSpec s = segment(side, static_cast<uint8_t>(kRst | (with_ack ? kAck : 0)));
  s.window = 0;
  cap_.add(s);
}

SegmentSpec Conn::forge_rst(int side) const {
  SegmentSpec s = segment(side, kRst | kAck);
  end_[side].ip_id--;  // the real host's counter did not move
  s.ttl = static_cast<uint8_t>(end_[side].ttl + 40);
  s.ip_id = static_cast<uint16_t>(s.ip_id * 7919u + 40503u);
  s.opt = TcpOptions{};
  s.window = 0;
  return s;
}

}  // namespace rstguard::scenario

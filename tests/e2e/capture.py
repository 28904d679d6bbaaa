#!/usr/bin/env python3
"""Capture one interface to a nanosecond pcap (stdlib only, root): a tcpdump stand-in.

  capture.py --iface DEV -w FILE [--max-time S]

Prints "ready" on stdout once the socket is bound, captures every frame the
interface receives or sends (with the kernel's receive timestamps), and stops
on SIGINT/SIGTERM or after --max-time seconds, printing the frame count on
stderr.
"""

import argparse
import select
import signal
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)

stop = False


def on_signal(signum, frame):
    global stop
    stop = True


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--iface", required=True)
    ap.add_argument("-w", "--write", required=True)
    ap.add_argument("--max-time", type=float, default=120.0)
    a = ap.parse_args()
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    s.bind((a.iface, 0))
    n = 0
    deadline = time.monotonic() + a.max_time
    with open(a.write, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B23C4D, 2, 4, 0, 0, 262144, 1))  # ns pcap, Ethernet
        f.flush()
        sys.stdout.write("ready\n")
        sys.stdout.flush()
        while not stop and time.monotonic() < deadline:
            try:
                r, _, _ = select.select([s], [], [], 0.1)
            except InterruptedError:
                continue
            if not r:
                continue
            try:
                data, anc, _, _ = s.recvmsg(262144, socket.CMSG_SPACE(16))
            except InterruptedError:
                continue
            sec, nsec = None, None
            for lvl, typ, cd in anc:
                if lvl == socket.SOL_SOCKET and typ == SO_TIMESTAMPNS and len(cd) >= 16:
                    sec, nsec = struct.unpack("qq", cd[:16])
            if sec is None:
                t = time.time_ns()
                sec, nsec = divmod(t, 1_000_000_000)
            f.write(struct.pack("<IIII", sec, nsec, len(data), len(data)) + data)
            n += 1
    sys.stderr.write("capture: %d frames on %s\n" % (n, a.iface))
    return 0


if __name__ == "__main__":
    sys.exit(main())

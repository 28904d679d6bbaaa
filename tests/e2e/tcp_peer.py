#!/usr/bin/env python3
"""Real Linux TCP endpoints for the rstguard end-to-end tests (stdlib only).

server: listens and echoes every byte back (one thread per connection).
  --linger0: accept, read one request, then close with SO_LINGER {1, 0}, so the
  kernel sends a reset (an abortive close) instead of a FIN.

client: connects (from a fixed local port, so the harness can find the
  connection in rstguard's events), sends "hello", waits for the echo, then
  reads commands, one per line, from --ctl (a FIFO or a file; "-" = stdin):
    probe   send a message and wait for its echo
    quit    exit
  and writes one result line per step on stdout:
    connect ok | connect refused | connect timeout | connect error:<ERRNO>
    hello <result>
    probe <result>
  where <result> is alive (the echo came back), reset (ECONNRESET: the
  connection was reset), closed (EOF), timeout (no echo in --timeout seconds)
  or error:<ERRNO>.

Everything is bounded: --max-time for the whole process, --timeout per step.
"""

import argparse
import errno
import os
import select
import socket
import struct
import sys
import threading
import time


def out(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def errname(e):
    return errno.errorcode.get(e, str(e))


def classify_error(e):
    if e == errno.ECONNRESET:
        return "reset"
    if e == errno.ECONNREFUSED:
        return "refused"
    if e in (errno.ETIMEDOUT,):
        return "timeout"
    return "error:" + errname(e)


# ---------------------------------------------------------------- server --

def serve_conn(conn, linger0, timeout):
    try:
        conn.settimeout(timeout)
        if linger0:
            try:
                conn.recv(4096)
            except OSError:
                pass
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return
        while True:
            try:
                data = conn.recv(65536)
            except socket.timeout:
                continue  # idle clients are fine; the process deadline bounds us
            if not data:
                return
            conn.sendall(data)
    except OSError:
        pass  # a reset connection (the point of these tests) ends the thread
    finally:
        try:
            conn.close()
        except OSError:
            pass


def run_server(args):
    deadline = time.monotonic() + args.max_time
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((args.bind, args.port))
    ls.listen(64)
    out("listening %s:%d%s" % (args.bind, args.port, " linger0" if args.linger0 else ""))
    while time.monotonic() < deadline:
        r, _, _ = select.select([ls], [], [], min(0.5, max(0.0, deadline - time.monotonic())))
        if not r:
            continue
        conn, _ = ls.accept()
        threading.Thread(target=serve_conn, args=(conn, args.linger0, 5.0), daemon=True).start()
    return 0


# ---------------------------------------------------------------- client --

def exchange(sock, msg, timeout):
    """Send msg, wait for its echo. Returns alive/reset/closed/timeout/error:X."""
    pending = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    if pending:
        return classify_error(pending)
    try:
        sock.settimeout(timeout)
        sock.sendall(msg)
        got = b""
        end = time.monotonic() + timeout
        while len(got) < len(msg):
            left = end - time.monotonic()
            if left <= 0:
                return "timeout"
            sock.settimeout(left)
            data = sock.recv(65536)
            if not data:
                return "closed"
            got += data
        return "alive" if got == msg else "garbled"
    except socket.timeout:
        return "timeout"
    except OSError as e:
        return classify_error(e.errno or 0)


def read_commands(path, deadline):
    """Yield command lines from path until EOF, quit or the deadline."""
    if path == "-":
        fd = sys.stdin.fileno()
    else:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    buf = b""
    had_writer = False
    try:
        while time.monotonic() < deadline:
            r, _, _ = select.select([fd], [], [], min(0.5, max(0.0, deadline - time.monotonic())))
            if not r:
                continue
            chunk = os.read(fd, 4096)
            if not chunk:
                if path != "-" and not had_writer and not os.path.isfile(path):
                    # FIFO with no writer right now: wait for one (bounded by the deadline).
                    time.sleep(0.05)
                    continue
                return
            had_writer = True
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                yield line.decode(errors="replace").strip()
    finally:
        if path != "-":
            os.close(fd)


def run_client(args):
    deadline = time.monotonic() + args.max_time
    host, port = args.connect.rsplit(":", 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if args.bind_port or args.bind:
        s.bind((args.bind or "0.0.0.0", args.bind_port or 0))
    s.settimeout(args.timeout)
    try:
        s.connect((host, int(port)))
    except socket.timeout:
        out("connect timeout")
        return 0
    except OSError as e:
        r = classify_error(e.errno or 0)
        out("connect " + ("refused" if r == "refused" else r))
        return 0
    out("connect ok %d" % s.getsockname()[1])
    out("hello " + exchange(s, b"hello from the e2e client\n", args.timeout))
    if args.ctl is None:
        return 0
    n = 0
    for cmd in read_commands(args.ctl, deadline):
        if cmd == "quit":
            break
        if cmd == "probe":
            n += 1
            out("probe " + exchange(s, b"probe %d\n" % n, args.timeout))
        elif cmd:
            out("unknown-command " + cmd)
    s.close()
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="role", required=True)
    sv = sub.add_parser("server")
    sv.add_argument("--bind", default="0.0.0.0")
    sv.add_argument("--port", type=int, required=True)
    sv.add_argument("--linger0", action="store_true")
    sv.add_argument("--max-time", type=float, default=120.0)
    cl = sub.add_parser("client")
    cl.add_argument("--connect", required=True, help="HOST:PORT")
    cl.add_argument("--bind", default=None, help="local address")
    cl.add_argument("--bind-port", type=int, default=0, help="local port (0 = any)")
    cl.add_argument("--ctl", default=None, help="command FIFO/file, '-' = stdin; none = exit after hello")
    cl.add_argument("--timeout", type=float, default=2.0)
    cl.add_argument("--max-time", type=float, default=60.0)
    args = ap.parse_args()
    return run_server(args) if args.role == "server" else run_client(args)


if __name__ == "__main__":
    sys.exit(main())

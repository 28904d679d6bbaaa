"""Helpers shared by the integration tests: named checks and test functions
with a tally, pcap reading, the DPDK telemetry socket, polling, and an
inline run on a replayed capture."""
import json
import signal
import socket
import struct
import subprocess
import sys
import time


class Checks:
    """Named checks: each prints ok/FAIL; finish() prints the tally and exits."""

    def __init__(self, name):
        self.name = name
        self.failures = []
        self.count = 0

    def __call__(self, cond, what):
        self.count += 1
        print(("ok   " if cond else "FAIL ") + what, flush=True)
        if not cond:
            self.failures.append(what)
        return cond

    def finish(self):
        print(f"{self.name}: {self.count - len(self.failures)} passed, {len(self.failures)} failed")
        sys.exit(1 if self.failures else 0)


class Tests:
    """Test functions: `@tests.test` runs one at once (an AssertionError
    fails it) and prints ok/FAIL; finish() prints the tally and exits."""

    def __init__(self, name):
        self.name = name
        self.results = []

    def test(self, fn):
        try:
            fn()
            self.results.append((fn.__name__, None))
            print("ok  ", fn.__name__, flush=True)
        except AssertionError as e:
            self.results.append((fn.__name__, str(e)))
            print("FAIL", fn.__name__, e, flush=True)
        return fn

    def finish(self):
        failed = [n for n, e in self.results if e]
        print(f"{self.name}: {len(self.results) - len(failed)} passed, {len(failed)} failed")
        sys.exit(1 if failed else 0)


def read_pcap(path):
    """[(ts_sec, ts_frac, bytes)] of a classic pcap file, every byte used."""
    data = open(path, "rb").read()
    magic = struct.unpack("<I", data[:4])[0]
    assert magic in (0xA1B2C3D4, 0xA1B23C4D), hex(magic)
    off, out = 24, []
    while off + 16 <= len(data):
        s, f, cap, _wire = struct.unpack("<IIII", data[off:off + 16])
        out.append((s, f, data[off + 16:off + 16 + cap]))
        off += 16 + cap
    assert off == len(data), "trailing bytes"
    return out


def telemetry(prefix, command):
    """One command on the EAL's telemetry socket (file prefix `prefix`)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.settimeout(5)
    try:
        s.connect(f"/var/run/dpdk/{prefix}/dpdk_telemetry.v2")
        s.recv(4096)  # the greeting
        s.send(command.encode())
        reply = json.loads(s.recv(1 << 20).decode())
    finally:
        s.close()
    return reply[command]


def catches(pid, *signals):
    """Whether process `pid` has a handler for every one of `signals`."""
    with open(f"/proc/{pid}/status") as f:
        mask = int(next(line for line in f if line.startswith("SigCgt:")).split()[1], 16)
    return all(mask & (1 << (sig - 1)) for sig in signals)


def wait_for(pred, seconds):
    """Polls pred() until it is true (True) or time runs out (False)."""
    end = time.time() + seconds
    while time.time() < end:
        try:
            if pred():
                return True
        except (OSError, KeyError, ValueError, TypeError):
            pass
        time.sleep(0.1)
    return False


def start_inline_replay(rstguard, capture, prefix, args):
    """rstguard inline between a net_pcap port replaying `capture` forever
    and a net_null port (one worker), with rstguard options `args`."""
    cmd = [rstguard, "--no-huge", "--no-pci", "-m", "256", f"--file-prefix={prefix}",
           "--log-level=lib.eal:error", "-l", "0-1",
           f"--vdev=net_pcap0,rx_pcap={capture},infinite_rx=1",
           "--vdev=net_null0,no-rx=1",
           "--", "--mode", "inline"] + list(args)
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def stop(p, seconds=20):
    """SIGINT, then the output; killed if it does not end in `seconds`."""
    p.send_signal(signal.SIGINT)
    try:
        return p.communicate(timeout=seconds)
    except subprocess.TimeoutExpired:
        p.kill()
        return p.communicate()

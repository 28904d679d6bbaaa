"""Helpers shared by the integration tests that drive a running rstguard:
named checks with a tally, the DPDK telemetry socket, polling, and an
inline run on a replayed capture."""
import json
import signal
import socket
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

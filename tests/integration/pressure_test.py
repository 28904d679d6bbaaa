#!/usr/bin/env python3
"""State an attacker cannot evict, offline and live (net_pcap, inline, one
worker), on the pressure captures of rstguard-gen --pressure:

- held_under_pressure: a suspicious reset is held (actions: {suspicious:
  hold}) while 10,000 other established connections reset within its hold
  time; at reset_history 1 (the smallest pool the configuration allows) and
  at the default, the sender's next segment drops it, every time, and the
  counters show the refusals;
- flood_{syn,syn_ack,ack,rst,data}: 1,000 established connections
  (--flow-capacity 1000) and 10,000 new tuples of one kind from random
  sources: no established connection loses its state (each one's final
  genuine reset is judged exact, not no_flow), and the forged exact reset
  in the middle of the flood is labelled forged and dropped.

usage: pressure_test.py RSTGUARD RSTGUARD_GEN WORKDIR
"""
import json
import os
import signal
import struct
import subprocess
import sys
import time

from rgtest import Tests, read_pcap

rstguard, gen, work = sys.argv[1:4]
os.makedirs(work, exist_ok=True)
tests = Tests("pressure")
test = tests.test
subprocess.run([gen, "--pressure", work], check=True, stdout=subprocess.DEVNULL)


def path(name):
    return os.path.join(work, name)


def config(name, text):
    open(path(name), "w").write(text)
    return path(name)


HOLD = "actions: {suspicious: hold}\nhold: {max_time: 5s}\n"
configs = {"smallest": config("smallest.yaml", HOLD + "pools: {reset_history: 1, triggers: 1, reassembly: 1,"
                                                      " host_ttl: 1, destinations: 1, rate_limit: 1}\n"),
           "default": config("default.yaml", HOLD)}


def events(p):
    """The rst and rst_update events; incident events are left out."""
    return [e for e in map(json.loads, open(p)) if e["event_type"] != "incident"]


def victim_events(evs):
    return [(e["event_type"], e["verdict"]["label"], e["action"]) for e in evs
            if e["src_ip"] == "10.2.0.20" and e["src_port"] == 443 and e["dest_port"] == 40000]


def check_held(evs, counters, pools):
    assert victim_events(evs) == [("rst", "suspicious", "hold"), ("rst_update", "forged", "drop")], victim_events(evs)
    assert counters["hold.dropped"] == 1 and counters["hold.released"] == 0, counters
    assert counters["pkt.dropped"] == 1, counters
    fit = 0 if pools.startswith("smallest") else 4095
    assert counters["pool.history.refused"] == 10000 - fit, counters
    limited = sum(1 for e in evs if "reset_history_pool_full" in e.get("limits", []))
    assert limited == 10000 - fit, limited


@test
def a_held_reset_is_dropped_offline_whatever_10000_other_resets_do():
    for pools, cfg in configs.items():
        out, ev, st = path(f"held-{pools}.pcap"), path(f"held-{pools}.json"), path(f"held-{pools}-stats.json")
        r = subprocess.run([rstguard, "-q", "-r", path("held_under_pressure.pcap"), "-c", cfg, "-w", out,
                            "-e", ev, "--stats-json", st], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                           text=True)
        assert r.returncode == 0, r.stderr
        check_held(events(ev), json.load(open(st))["counters"], pools)
        src = read_pcap(path("held_under_pressure.pcap"))
        assert len(read_pcap(out)) == len(src) - 1


def check_flood(kind, evs, counters):
    mine = [e for e in evs if e["event_type"] == "rst" and e["src_ip"] == "10.2.0.1"
            and e["dest_ip"].startswith("10.1.")]
    assert len(mine) == 1000, (kind, len(mine))
    forged = [e for e in mine if e["dest_ip"] == "10.1.0.118" and e["dest_port"] == 30117]
    assert len(forged) == 1, forged
    f = forged[0]
    assert (f["verdict"]["validity"], f["verdict"]["label"], f["action"]) == ("exact", "forged", "drop"), f
    lost = [e for e in mine if e["verdict"]["validity"] != "exact"]
    assert not lost, (kind, len(lost), lost[:1])
    assert all(e["verdict"]["label"] == "legit" for e in mine if e is not f), kind
    if kind != "rst":
        assert counters["flow.insert_refused"] == 10000, (kind, counters["flow.insert_refused"])
    assert counters["flow.evicted.closed"] == 0 and counters["flow.expired"] == 0, counters


KINDS = ("syn", "syn_ack", "ack", "rst", "data")


@test
def floods_at_10x_capacity_keep_every_established_connection_offline():
    for kind in KINDS:
        ev, st = path(f"flood-{kind}.json"), path(f"flood-{kind}-stats.json")
        r = subprocess.run([rstguard, "-q", "-r", path(f"flood_{kind}.pcap"), "--flow-capacity", "1000",
                            "-e", ev, "--stats-json", st], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                           text=True)
        assert r.returncode == 0, (kind, r.stderr)
        check_flood(kind, events(ev), json.load(open(st))["counters"])


empty = path("empty.pcap")
open(empty, "wb").write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))


def live(tag, capture, args, packets):
    """Replays `capture` through rstguard inline on net_pcap, one worker;
    stops once every packet came out (or 30 s), returns what port 1 sent."""
    tx = path(f"live-{tag}-tx.pcap")
    st = path(f"live-{tag}-stats.json")
    # A stale file (an earlier run, or the offline test's) would satisfy the
    # stop condition below before this run has written its first figures.
    for stale in (tx, st):
        if os.path.exists(stale):
            os.remove(stale)
    cmd = [rstguard, "--no-huge", "--no-pci", "-m", "512", f"--file-prefix=rgpress-{tag}-{os.getpid()}",
           "--log-level=lib.eal:error", "-l", "0-1",
           f"--vdev=net_pcap0,rx_pcap={capture},tx_pcap={path('live-' + tag + '-tx0.pcap')}",
           f"--vdev=net_pcap1,rx_pcap={empty},tx_pcap={tx}",
           "--", "--mode", "inline", "-q", "--stats-json", st, *args]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 30
    seen = 0
    while time.time() < deadline and p.poll() is None:
        time.sleep(0.5)
        try:
            c = json.load(open(st))["counters"]
            seen = c["pkt.total"]
            if seen >= packets and c["tcp.rst.held"] == c["hold.dropped"] + c["hold.released"]:
                break
        except (OSError, ValueError, KeyError):
            pass
    if p.poll() is None:
        p.send_signal(signal.SIGINT)
    try:
        _, err = p.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        p.kill()
        _, err = p.communicate()
    assert p.returncode == 0, (tag, p.returncode, err)
    return json.load(open(st))["counters"], tx


@test
def a_held_reset_is_dropped_live_whatever_10000_other_resets_do():
    capture = path("held_under_pressure.pcap")
    n = len(read_pcap(capture))
    for pools, cfg in configs.items():
        # 10,002 events in a few milliseconds: a ring that holds them all
        # (a smaller one counts event.overflow, checked below).
        cfg = config(f"live-{pools}.yaml", open(cfg).read() + "live: {event_ring: 32768}\n")
        ev = path(f"live-held-{pools}.json")
        counters, tx = live(f"held-{pools}", capture, ["-c", cfg, "-e", ev], n)
        assert counters["pkt.total"] == n, counters["pkt.total"]
        assert counters["event.overflow"] == 0, counters["event.overflow"]
        check_held(events(ev), counters, pools)
        assert len(read_pcap(tx)) == n - 1


@test
def an_ack_flood_keeps_every_established_connection_live():
    for kind in ("ack", "syn_ack"):
        capture = path(f"flood_{kind}.pcap")
        n = len(read_pcap(capture))
        ev = path(f"live-flood-{kind}.json")
        counters, tx = live(f"flood-{kind}", capture, ["--flow-capacity", "1000", "-e", ev], n)
        assert counters["pkt.total"] == n, counters["pkt.total"]
        check_flood(kind, events(ev), counters)
        assert len(read_pcap(tx)) == n - 1


tests.finish()

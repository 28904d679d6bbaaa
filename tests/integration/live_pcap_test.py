#!/usr/bin/env python3
"""Integration test of the live modes on DPDK's net_pcap virtual devices
(EAL with --no-huge --no-pci, a unique --file-prefix per run): port 0 replays
a capture, port 1 records what rstguard forwards.

- inline, one worker: the wire output equals offline `-w` output (forged
  resets dropped) and the verdicts equal offline ones;
- inline, two workers on single-queue devices: software re-hash keeps every
  connection on one worker (flows_split 0) and both workers work;
- mirror: same verdicts, nothing transmitted;
- bad setups (missing port, too few lcores) fail with exit status 2.

usage: live_pcap_test.py RSTGUARD SOURCE_DIR WORKDIR
"""
import json
import re
import os
import signal
import struct
import subprocess
import sys
import time

from rgtest import Tests, catches, read_pcap, stop, wait_for

rstguard, src, work = sys.argv[1:4]
os.makedirs(work, exist_ok=True)
demo = os.path.join(src, "tools", "demo.pcap")
tests = Tests("live")
test = tests.test


def path(name):
    return os.path.join(work, name)


def records(p):
    return [frame for _, _, frame in read_pcap(p)]


# Which worker a connection lands on follows the flow hash, whose seed is
# random per live run by default (all six demo connections landed on one
# worker in about one run in 32). Pinned, the split is the same every run:
# seed 0 puts one connection on the first worker and five on the second.
seeded = path("seed0.yaml")
open(seeded, "w").write("flow_table:\n  hash_seed: 0\n")

empty = path("empty.pcap")
open(empty, "wb").write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))


def live(tag, eal_extra, args, settle=2.5):
    """Runs rstguard live until the replay is done, stops it with SIGINT."""
    cmd = [rstguard, "--no-huge", "--no-pci", "-m", "256", f"--file-prefix=rgtest-{tag}-{os.getpid()}",
           "--log-level=lib.eal:error", *eal_extra, "--", *args]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 20
    time.sleep(settle)
    if p.poll() is None:
        p.send_signal(signal.SIGINT)
    while p.poll() is None and time.time() < deadline:
        time.sleep(0.1)
    if p.poll() is None:
        p.kill()
    out, err = p.communicate()
    return p.returncode, out, err


def verdicts(p):
    return sorted((e["pkt_num"] if False else e["tcp"]["seq"], e["verdict"]["label"], e["verdict"]["validity"],
                   e["verdict"]["cause"], tuple(e["verdict"]["evidence"]), e["action"])
                  for e in map(json.loads, open(p)) if e["event_type"] == "rst")


offline_events = path("offline.json")
subprocess.run([rstguard, "-q", "-r", demo, "-w", path("offline-out.pcap"), "-e", offline_events],
               check=True, stdout=subprocess.DEVNULL)


@test
def inline_one_worker_drops_forged_like_offline():
    rc, out, err = live("in1", ["-l", "0-1",
                                f"--vdev=net_pcap0,rx_pcap={demo},tx_pcap={path('in1-0.pcap')}",
                                f"--vdev=net_pcap1,rx_pcap={empty},tx_pcap={path('in1-1.pcap')}"],
                        ["--mode", "inline", "-q", "-e", path("in1.json"), "--stats-json", path("in1-stats.json"),
                         "--flagged", path("in1-flagged.pcap")])
    assert rc == 0, (rc, err)
    assert "ready" in err, err
    # A clean exit leaves no DPDK runtime directory behind (DPDK's own
    # cleanup does).
    assert not os.path.exists(f"/var/run/dpdk/rgtest-in1-{os.getpid()}"), "runtime directory left behind"
    assert records(path("in1-1.pcap")) == records(path("offline-out.pcap")), "wire output differs from offline -w"
    assert records(path("in1-0.pcap")) == [], "nothing came in on port 1"
    assert verdicts(path("in1.json")) == verdicts(offline_events)
    st = json.load(open(path("in1-stats.json")))
    assert st["counters"]["pkt.dropped"] == 2 and st["flows_split"] == 0, st
    # The flagged capture holds the two forged resets, as offline would write them.
    subprocess.run([rstguard, "-q", "-r", demo, "-e", path("off-fl.json"), "--flagged", path("off-flagged.pcap")],
                   check=True, stdout=subprocess.DEVNULL)
    assert records(path("in1-flagged.pcap")) == records(path("off-flagged.pcap")), "flagged captures differ"
    assert len(records(path("in1-flagged.pcap"))) == 2


@test
def inline_two_workers_keep_each_connection_on_one_worker():
    rc, out, err = live("in2", ["--lcores=0@0,1@1,2@1",
                                f"--vdev=net_pcap0,rx_pcap={demo},tx_pcap={path('in2-0a.pcap')},tx_pcap={path('in2-0b.pcap')}",
                                f"--vdev=net_pcap1,rx_pcap={empty},tx_pcap={path('in2-1a.pcap')},tx_pcap={path('in2-1b.pcap')}"],
                        ["--mode", "inline", "--workers", "2", "-c", seeded, "-q", "-e", path("in2.json"),
                         "--stats-json", path("in2-stats.json")], settle=3.5)
    assert rc == 0, (rc, err)
    assert "re-hashing in software" in err, err
    st = json.load(open(path("in2-stats.json")))
    assert st["flows_split"] == 0, st
    assert len(st["workers"]) == 2 and all(w["packets"] > 0 for w in st["workers"]), st["workers"]
    assert sum(w["handoff_in"] for w in st["workers"]) > 0, st["workers"]
    sent = records(path("in2-1a.pcap")) + records(path("in2-1b.pcap"))
    assert sorted(sent) == sorted(records(path("offline-out.pcap"))), "forwarded set differs"
    assert verdicts(path("in2.json")) == verdicts(offline_events)


@test
def mirror_reports_the_same_and_sends_nothing():
    rc, out, err = live("mir", ["-l", "0-1", f"--vdev=net_pcap0,rx_pcap={demo},tx_pcap={path('mir-0.pcap')}"],
                        ["--mode", "mirror", "-q", "-e", path("mir.json"), "--stats-json", path("mir-stats.json")])
    assert rc == 0, (rc, err)
    assert records(path("mir-0.pcap")) == []
    # Same judgement; a mirror port cannot drop, so what inline drops is alerted.
    as_mirror = sorted(v[:-1] + ("alert" if v[-1] == "drop" else v[-1],) for v in verdicts(offline_events))
    assert verdicts(path("mir.json")) == as_mirror, (verdicts(path("mir.json")), as_mirror)


@test
def live_output_faults_stop_the_run_or_carry_on_as_configured():
    # Events to /dev/full: said with the file and the reason; "stop" ends
    # the run (exit 1) before SIGINT comes; "continue" forwards on.
    rc, out, err = live("full", ["-l", "0-1", f"--vdev=net_pcap0,rx_pcap={demo},tx_pcap={path('full-0.pcap')}",
                                 f"--vdev=net_pcap1,rx_pcap={empty},tx_pcap={path('full-1.pcap')}"],
                        ["--mode", "inline", "-q", "-e", "/dev/full"])
    assert rc == 1, (rc, err)
    assert "/dev/full: write: No space left on device; stopping (output.on_error: stop)" in err, err
    assert re.search(r"events\s+\d+ produced, 0 written, [1-9]\d* not written", out), out
    cont = path("continue.yaml")
    open(cont, "w").write("output:\n  on_error: continue\n")
    rc, out, err = live("cont", ["-l", "0-1", f"--vdev=net_pcap0,rx_pcap={demo},tx_pcap={path('cont-0.pcap')}",
                                 f"--vdev=net_pcap1,rx_pcap={empty},tx_pcap={path('cont-1.pcap')}"],
                        ["--mode", "inline", "-q", "-c", cont, "-e", "/dev/full"])
    assert rc == 1, (rc, err)
    assert "going on without it (output.on_error: continue)" in err and err.count("/dev/full") == 1, err
    assert records(path("cont-1.pcap")) == records(path("offline-out.pcap")), "forwarding stopped"
    # Unwritable stats, found before any port opens.
    rc, out, err = live("badst", ["-l", "0-1", f"--vdev=net_pcap0,rx_pcap={demo},tx_pcap={path('bs-0.pcap')}",
                                  f"--vdev=net_pcap1,rx_pcap={empty},tx_pcap={path('bs-1.pcap')}"],
                        ["--mode", "inline", "-q", "-e", path("bs.json"), "--stats-json", demo + "/x.json"],
                        settle=0.5)
    assert rc == 2 and "cannot write stats" in err and "is not a folder" in err, (rc, err)


@test
def impossible_setups_exit_2():
    rc, out, err = live("bad1", ["-l", "0-1", f"--vdev=net_pcap0,rx_pcap={demo},tx_pcap={path('b.pcap')}"],
                        ["--mode", "inline"], settle=0.5)
    assert rc == 2 and "port 1 does not exist" in err, (rc, err)
    rc, out, err = live("bad2", ["-l", "0", f"--vdev=net_pcap0,rx_pcap={demo},tx_pcap={path('b.pcap')}"],
                        ["--mode", "mirror"], settle=0.5)
    assert rc == 2 and "lcores" in err, (rc, err)
    rc, out, err = live("bad3", ["-l", "0-1", f"--vdev=net_pcap0,rx_pcap={demo},tx_pcap={path('b.pcap')}"],
                        ["--mode", "mirror", "--ports", "0,7"], settle=0.5)
    assert rc == 2 and "port 7" in err, (rc, err)
    # A flow table the machine cannot hold: said with its size, exit 2, and
    # the runtime directory is cleaned up like after any other setup error.
    os.environ["ASAN_OPTIONS"] = os.environ.get("ASAN_OPTIONS", "") + ":allocator_may_return_null=1"
    rc, out, err = live("bad4", ["-l", "0-1", "--vdev=net_null0", "--vdev=net_null1"],
                        ["--mode", "inline", "--flow-capacity", str(1 << 28)], settle=0.5)
    assert rc == 2 and "MiB for a flow table of 268435456 flows" in err, (rc, err)
    assert not os.path.exists(f"/var/run/dpdk/rgtest-bad4-{os.getpid()}"), "runtime directory left behind"


@test
def a_second_process_with_the_same_prefix_leaves_the_directory():
    # A runs; B shares its --file-prefix without shared config (--no-shconf)
    # and exits: A's runtime directory (its telemetry socket) must stay.
    prefix = f"rgtest-share-{os.getpid()}"
    runtime = f"/var/run/dpdk/{prefix}"
    base = [rstguard, "--no-huge", "--no-pci", "-m", "256", f"--file-prefix={prefix}",
            "--log-level=lib.eal:error", "-l", "0-1", "--vdev=net_null0"]
    a = subprocess.Popen(base + ["--", "--mode", "mirror", "-q", "-e", path("share-a.json")],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 20
        while not os.path.exists(f"{runtime}/config") and time.time() < deadline and a.poll() is None:
            time.sleep(0.1)
        assert os.path.exists(f"{runtime}/config"), "A did not start"
        time.sleep(1)
        b = subprocess.Popen(base[:1] + ["--no-shconf"] + base[1:] +
                             ["--", "--mode", "mirror", "-q", "-e", path("share-b.json")],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert wait_for(lambda: catches(b.pid, signal.SIGINT), 20), "B did not start"
        time.sleep(0.5)
        _, b_err = stop(b)
        assert b.returncode == 0, (b.returncode, b_err[-300:])
        assert os.path.exists(f"{runtime}/config"), "B removed A's runtime directory"
    finally:
        a.send_signal(signal.SIGINT)
        try:
            a.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            a.kill()
            a.communicate()
    assert a.returncode == 0, a.returncode
    assert not os.path.exists(runtime), "A, the primary, left its directory behind"


tests.finish()

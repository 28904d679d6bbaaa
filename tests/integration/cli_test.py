#!/usr/bin/env python3
"""Integration test of the rstguard executable in offline mode: the bundled
demo, -w output, events and summary files, truncated and corrupt captures,
configuration and usage errors.

usage: cli_test.py RSTGUARD RSTGUARD_GEN SOURCE_DIR WORKDIR
"""
import json
import os
import re
import signal
import struct
import subprocess
import sys
import time

from rgtest import Tests, catches, read_pcap, wait_for

rstguard, gen, src, work = sys.argv[1:5]
os.makedirs(work, exist_ok=True)
demo = os.path.join(src, "tools", "demo.pcap")
tests = Tests("cli")
test = tests.test


def run(*args):
    return subprocess.run([rstguard, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def path(name):
    return os.path.join(work, name)


def events_of(p):
    """The rst and rst_update events (incident events: incidents_of)."""
    return [e for e in map(json.loads, open(p)) if e["event_type"] != "incident"]


def incidents_of(p):
    return [e for e in map(json.loads, open(p)) if e["event_type"] == "incident"]


@test
def demo_is_what_the_generator_writes():
    fresh = path("demo-fresh.pcap")
    subprocess.run([gen, "--demo", fresh], check=True)
    assert open(fresh, "rb").read() == open(demo, "rb").read(), \
        "tools/demo.pcap differs from rstguard-gen --demo output: regenerate and commit it"


@test
def demo_reports_every_reset_with_a_verdict():
    ev = path("demo.json")
    r = run("-r", demo, "-e", ev, "--stats-json", path("demo-stats.json"))
    assert r.returncode == 0, r.stderr
    events = events_of(ev)
    rsts = [e for e in events if e["event_type"] == "rst"]
    frames = read_pcap(demo)
    # Count resets in the capture independently of rstguard.
    def is_rst(fr):
        eth = struct.unpack("!H", fr[12:14])[0]
        if eth != 0x0800:
            return False
        ihl = (fr[14] & 0x0F) * 4
        return bool(fr[14 + ihl + 13] & 0x04)
    assert len(rsts) == sum(1 for _, _, fr in frames if is_rst(fr)), (len(rsts), len(frames))
    labels = [e["verdict"]["label"] for e in rsts]
    assert labels.count("legit") >= 1 and labels.count("forged") >= 1, labels
    assert "rstguard summary" in r.stdout and "by label" in r.stdout, r.stdout
    assert sum(1 for l in r.stdout.splitlines() if " RST [" in l) == len(rsts), r.stdout
    stats = json.load(open(path("demo-stats.json")))
    c = stats["counters"]
    assert c["pkt.total"] == len(frames), (c["pkt.total"], len(frames))
    assert c["tcp.rst.total"] == len(rsts)
    assert stats["rst_label"]["forged"] == labels.count("forged")
    assert c["pkt.dropped"] == sum(1 for e in rsts if e["action"] == "drop")


@test
def metrics_file_matches_the_summary():
    prom, stats = path("demo.prom"), path("demo-metrics-stats.json")
    r = run("-q", "-r", demo, "-e", path("demo-m.json"), "--stats-json", stats, "--metrics", prom)
    assert r.returncode == 0, r.stderr
    samples = {}
    for line in open(prom):
        if not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)
    c = json.load(open(stats))["counters"]
    assert samples["rstguard_pkt_total"] == c["pkt.total"] > 0, samples.get("rstguard_pkt_total")
    assert samples["rstguard_tcp_rst_total"] == c["tcp.rst.total"] > 0
    assert samples["rstguard_flow_created_total"] == c["flow.created"]
    labels = sum(v for k, v in samples.items() if k.startswith("rstguard_rst_label_total{"))
    assert labels == c["tcp.rst.total"], (labels, c["tcp.rst.total"])
    # A file that cannot be written is a clear error and exit status 1, found
    # before the capture is read (no events file yet).
    ev2 = path("demo-m2.json")
    r = run("-q", "-r", demo, "-e", ev2, "--metrics", path("demo.prom") + "/x.prom")
    assert r.returncode == 1 and "cannot write metrics" in r.stderr and "is not a folder" in r.stderr, r.stderr
    assert not os.path.exists(ev2), "the capture was judged before the metrics file was checked"


@test
def write_holds_everything_but_dropped_resets():
    out, ev = path("demo-out.pcap"), path("demo-w.json")
    r = run("-q", "-r", demo, "-w", out, "-e", ev)
    assert r.returncode == 0, r.stderr
    original = read_pcap(demo)
    written = read_pcap(out)
    dropped = {e["pkt_num"] for e in events_of(ev) if e["event_type"] == "rst" and e["action"] == "drop"}
    assert dropped, "the demo has a forged reset to drop"
    expected = [rec for i, rec in enumerate(original, start=1) if i not in dropped]
    assert written == expected, (len(written), len(expected))


@test
def truncated_capture_fails_after_writing_earlier_events():
    data = open(demo, "rb").read()
    full = events_of(path("demo.json"))
    recs = read_pcap(demo)
    # Cut in the middle of the record after the second reset.
    second = [e for e in full if e["event_type"] == "rst"][1]["pkt_num"]
    off = 24
    for i in range(second):
        off += 16 + len(recs[i][2])
    cut = path("cut.pcap")
    open(cut, "wb").write(data[:off + 16 + 10])
    ev = path("cut.json")
    r = run("-q", "-r", cut, "-e", ev)
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert "truncated" in r.stderr, r.stderr
    got = [e for e in events_of(ev) if e["event_type"] == "rst"]
    assert [e["pkt_num"] for e in got] == [e["pkt_num"] for e in full if e["event_type"] == "rst"][:2], got
    assert "ended on error" in r.stdout


@test
def corrupt_and_missing_captures_are_clear_errors():
    bad = path("garbage.pcap")
    open(bad, "wb").write(b"this is not a capture file at all")
    r = run("-q", "-r", bad, "-e", path("g.json"))
    assert r.returncode == 1 and "garbage.pcap" in r.stderr, r.stderr
    r = run("-q", "-r", path("does-not-exist.pcap"))
    assert r.returncode == 1 and "does-not-exist.pcap" in r.stderr, r.stderr
    corrupt = path("corrupt.pcap")
    data = bytearray(open(demo, "rb").read())
    data[24 + 8:24 + 12] = struct.pack("<I", 0x7FFFFFFF)  # first record's caplen
    open(corrupt, "wb").write(bytes(data))
    r = run("-q", "-r", corrupt, "-e", path("c.json"))
    assert r.returncode == 1 and r.stderr, r.stderr


@test
def config_errors_name_file_line_column_and_exit_2():
    cfg = path("bad.yaml")
    open(cfg, "w").write("flow_table:\n  capacity: 10\njudge:\n  ttl_tolerence: 3\n")
    r = run("-r", demo, "-c", cfg)
    assert r.returncode == 2, r.returncode
    assert f"{cfg}:4:3" in r.stderr and "ttl_tolerence" in r.stderr, r.stderr
    open(cfg, "w").write("judge:\n  sweep:\n    resets: many\n")
    r = run("-r", demo, "-c", cfg)
    assert r.returncode == 2 and f"{cfg}:3:13" in r.stderr, r.stderr
    open(cfg, "w").write("judge: [unclosed\n")
    r = run("-r", demo, "-c", cfg)
    assert r.returncode == 2 and cfg in r.stderr, r.stderr
    r = run("-r", demo, "-c", os.path.join(src, "config", "rstguard.yaml"), "-q", "-e", path("ok.json"))
    assert r.returncode == 0, r.stderr


@test
def a_flow_table_too_big_for_the_machine_is_a_clear_error():
    # 2^28 flows need about 49 GiB: refused at start with the size and what
    # to lower, exit 2, no abort (under ASan too: its allocator returns null).
    env = dict(os.environ)
    env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":allocator_may_return_null=1"
    r = subprocess.run([rstguard, "-q", "-r", demo, "-e", path("huge.json"),
                        "--flow-capacity", str(1 << 28)],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert "MiB for a flow table of 268435456 flows" in r.stderr and "--flow-capacity" in r.stderr, r.stderr


@test
def usage_errors_exit_2():
    for args in (["--bogus"], ["-r"], [], ["-r", demo, "--verbosity", "loud"],
                 ["-r", demo, "--flow-capacity", "0"], ["-r", demo, "--mode", "sideways"],
                 ["-r", demo, "extra"]):
        r = run(*args)
        assert r.returncode == 2, (args, r.returncode, r.stderr)
        assert r.stderr.strip(), args
    assert run("--help").returncode == 0
    # Live-only options with a capture would be ignored: refused, by name.
    for opt in (["--workers", "2"], ["--ports", "0,1"], ["--idle-sleep", "10us"],
                ["--software-rehash"], ["--alert-only"]):
        r = run("-q", "-r", demo, "-e", path("live-only.json"), *opt)
        assert r.returncode == 2 and opt[0] in r.stderr and "live modes" in r.stderr, (opt, r.stderr)
    # Live options that contradict each other are refused before EAL starts
    # (no "Device or resource busy" from DPDK for a port named twice).
    for args, message in ((["--mode", "mirror", "--alert-only"], "--alert-only is for inline mode"),
                          (["--mode", "inline", "--ports", "0,0"], "--ports: port 0 is listed twice")):
        r = run(*args)
        assert r.returncode == 2 and message in r.stderr, (args, r.returncode, r.stderr)
    cfg = path("twice.yaml")
    with open(cfg, "w") as f:
        f.write("live:\n  mode: mirror\n  ports: [1, 1]\n")
    r = run("-c", cfg)
    assert r.returncode == 2 and "live.ports[1]: port 1 is listed twice" in r.stderr, r.stderr
    with open(cfg, "w") as f:
        f.write("live:\n  mode: mirror\n  alert_only: true\n")
    r = run("-c", cfg)
    assert r.returncode == 2 and "live.alert_only is for inline mode" in r.stderr, r.stderr


@test
def verbosity_suspicious_drops_legit_events_and_counts_them():
    ev = path("v.json")
    r = run("-q", "-r", demo, "-e", ev, "--verbosity", "suspicious", "--stats-json", path("v-stats.json"))
    assert r.returncode == 0, r.stderr
    labels = [e["verdict"]["label"] for e in events_of(ev) if e["event_type"] == "rst"]
    assert labels and "legit" not in labels, labels
    c = json.load(open(path("v-stats.json")))["counters"]
    assert c["event.suppressed"] >= 1


@test
def events_to_stdout():
    # Standard output holds JSON lines only (`-e - | jq`); the summary goes
    # to standard error.
    r = run("-r", demo, "-e", "-")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines and all(json.loads(l)["event_type"] in ("rst", "rst_update", "incident") for l in lines)
    assert "rstguard summary" in r.stderr and f"{len(lines)} written" in r.stderr, r.stderr


@test
def hostile_frames_are_counted_not_fatal():
    # A capture of hand-broken frames: truncated headers, IHL 3, TCP data
    # offset 2, bad option lengths, a runaway IPv6 extension chain.
    frames = []
    eth = b"\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01"
    ip = bytes([0x45, 0, 0, 40, 0, 1, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2])
    tcp = struct.pack("!HHIIBBHHH", 1, 2, 3, 4, 0x50, 0x04, 0, 0, 0)
    frames.append(eth + b"\x08\x00" + ip[:10])                      # ipv4 truncated
    frames.append(eth + b"\x08\x00" + bytes([0x43]) + ip[1:] + tcp)  # IHL 3
    frames.append(eth + b"\x08\x00" + ip + tcp[:12] + bytes([0x20]) + tcp[13:])  # doff 2
    opt_ip = bytes([0x45, 0, 0, 44]) + ip[4:]
    frames.append(eth + b"\x08\x00" + opt_ip + tcp[:12] + bytes([0x60]) + tcp[13:] + b"\x02\x00\x00\x00")
    v6 = struct.pack("!IHBB", 0x60000000, 8 * 12, 0, 64) + bytes(32)
    chain = b"".join(bytes([0 if i < 11 else 6, 0]) + bytes(6) for i in range(12))
    frames.append(eth + b"\x86\xdd" + v6 + chain)
    frames.append(eth[:6])                                            # runt
    p = path("hostile.pcap")
    with open(p, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, fr in enumerate(frames):
            f.write(struct.pack("<IIII", 1700000000 + i, 0, len(fr), len(fr)) + fr)
    r = run("-q", "-r", p, "-e", path("h.json"), "--stats-json", path("h-stats.json"))
    assert r.returncode == 0, r.stderr
    st = json.load(open(path("h-stats.json")))
    parse = st["parse"]
    assert st["counters"]["pkt.total"] == len(frames)
    for reason in ("parse.error.ipv4_truncated", "parse.error.ipv4_bad_ihl",
                   "parse.error.tcp_bad_data_offset", "parse.error.ipv6_ext_chain_too_long",
                   "parse.error.eth_truncated"):
        assert parse[reason] == 1, (reason, parse)
    assert st["counters"]["tcp.option_error"] == 1, st["counters"]
    # The reset with a broken option is still judged.
    assert st["counters"]["tcp.rst.total"] == 1, st["counters"]


@test
def hold_drops_a_raced_reset_and_releases_a_quiet_one():
    sc = path("sc")
    os.makedirs(sc, exist_ok=True)
    subprocess.run([gen, "--out", sc], check=True, stdout=subprocess.DEVNULL)
    cfg = path("hold.yaml")
    open(cfg, "w").write("actions:\n  suspicious: hold\nhold:\n  max_time: 100ms\n")
    # ttl_race: a suspicious reset, then its supposed sender keeps sending.
    cap = os.path.join(sc, "ttl_race.pcap")
    out, ev = path("hold-out.pcap"), path("hold.json")
    r = run("-q", "-r", cap, "-c", cfg, "-w", out, "-e", ev)
    assert r.returncode == 0, r.stderr
    events = events_of(ev)
    rst = [e for e in events if e["event_type"] == "rst"][0]
    assert rst["action"] == "hold" and rst["verdict"]["label"] == "suspicious", rst
    upd = [e for e in events if e["event_type"] == "rst_update"]
    assert upd and upd[0]["action"] == "drop" and upd[0]["verdict"]["label"] == "forged", upd
    original = read_pcap(cap)
    assert [rec for i, rec in enumerate(original, 1) if i != rst["pkt_num"]] == read_pcap(out)
    # ts_stale: suspicious, and nobody speaks for the sender: released, in place.
    cap = os.path.join(sc, "ts_stale.pcap")
    r = run("-q", "-r", cap, "-c", cfg, "-w", out, "-e", ev)
    assert r.returncode == 0, r.stderr
    events = events_of(ev)
    assert events[0]["action"] == "hold", events
    assert read_pcap(out) == read_pcap(cap), "the released reset is missing or moved"


@test
def example_configurations_load():
    for name in ("inline-appliance.yaml", "mirror-monitor.yaml"):
        cfg = os.path.join(src, "config", "examples", name)
        # Output paths point at /var/log: override them for the check.
        r = run("-q", "-r", demo, "-c", cfg, "-e", path("ex.json"), "--stats-json", path("ex-stats.json"))
        assert r.returncode == 0, (name, r.stderr)
        assert json.load(open(path("ex-stats.json")))["counters"]["tcp.rst.total"] == 4, name


def run_stdin(data, *args):
    """rstguard with `data` on standard input through a pipe (a stream)."""
    return subprocess.run([rstguard, *args], input=data, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


@test
def standard_input_streams_like_the_file():
    demo_bytes = open(demo, "rb").read()
    r = run("-q", "-r", demo, "-w", path("f-out.pcap"), "-e", path("f.json"), "--flagged", path("f-fl.pcap"))
    assert r.returncode == 0, r.stderr
    r = run_stdin(demo_bytes, "-q", "-r", "-", "-w", path("s-out.pcap"), "-e", path("s.json"),
                  "--flagged", path("s-fl.pcap"))
    assert r.returncode == 0, r.stderr
    assert b"rstguard summary (offline -," in r.stdout, r.stdout
    for a, b in (("f.json", "s.json"), ("f-out.pcap", "s-out.pcap"), ("f-fl.pcap", "s-fl.pcap")):
        assert open(path(a), "rb").read() == open(path(b), "rb").read(), f"{b} differs from {a}"
    # A held reset outlives the burst it came in: the stream copies it (one
    # packet per burst, so the next read moves the buffer under the hold).
    sc = path("sc-stream")
    os.makedirs(sc, exist_ok=True)
    subprocess.run([gen, "--out", sc], check=True, stdout=subprocess.DEVNULL)
    cfg = path("hold-stream.yaml")
    open(cfg, "w").write("burst_size: 1\nactions:\n  suspicious: hold\nhold:\n  max_time: 100ms\n")
    # ts_stale's reset is its last packet: the demo's packets follow it.
    stale_more = path("ts_stale_more.pcap")
    open(stale_more, "wb").write(open(os.path.join(sc, "ts_stale.pcap"), "rb").read() + demo_bytes[24:])
    for cap in (os.path.join(sc, "ttl_race.pcap"), stale_more):
        name = os.path.basename(cap)
        r = run("-q", "-r", cap, "-c", cfg, "-w", path("hf.pcap"), "-e", path("hf.json"))
        assert r.returncode == 0, r.stderr
        r = run_stdin(open(cap, "rb").read(), "-q", "-r", "-", "-c", cfg, "-w", path("hs.pcap"), "-e", path("hs.json"))
        assert r.returncode == 0, r.stderr
        assert any(e["action"] == "hold" for e in events_of(path("hs.json"))), name
        assert read_pcap(path("hs.pcap")) == read_pcap(path("hf.pcap")), f"{name}: held frames differ"
        assert events_of(path("hs.json")) == events_of(path("hf.json")), name
    # Cut short, corrupt or empty: the same errors as a file, naming stdin.
    r = run_stdin(open(path("cut.pcap"), "rb").read(), "-q", "-r", "-", "-e", path("cut-s.json"))
    assert r.returncode == 1 and b"standard input: truncated: record" in r.stderr, r.stderr
    assert events_of(path("cut-s.json")) == events_of(path("cut.json"))
    r = run_stdin(b"", "-q", "-r", "-")
    assert r.returncode == 1 and b"standard input: empty input" in r.stderr, r.stderr
    r = run_stdin(b"this is not a capture file at all", "-q", "-r", "-")
    assert r.returncode == 1 and b"standard input: not a pcap or pcapng file" in r.stderr, r.stderr


@test
def a_live_stream_is_judged_as_it_comes_and_sigusr1_reports_so_far():
    # `tcpdump -w - -U | rstguard -r -`: events appear while the writer is
    # quiet, SIGUSR1 prints the summary so far, the end of input ends the run.
    data = open(demo, "rb").read()
    recs = read_pcap(demo)
    full = [e for e in events_of(path("demo.json")) if e["event_type"] == "rst"]
    first = full[1]["pkt_num"]  # through the second reset
    off = 24 + sum(16 + len(recs[i][2]) for i in range(first))
    fifo = path("live.fifo")
    if os.path.exists(fifo):
        os.unlink(fifo)
    os.mkfifo(fifo)
    ev, out = path("fifo.json"), path("fifo.out")
    with open(out, "w") as stdout:
        p = subprocess.Popen([rstguard, "-r", fifo, "-e", ev], stdout=stdout, stderr=subprocess.PIPE, text=True)
    try:
        w = open(fifo, "wb", buffering=0)
        w.write(data[:off])
        assert wait_for(lambda: len([e for e in events_of(ev) if e["event_type"] == "rst"]) == 2, 10), \
            "the first two resets' events are written while the input waits"
        assert wait_for(lambda: open(out).read().count(" RST [") == 2, 5), "event lines printed while the input waits"
        p.send_signal(signal.SIGUSR1)
        assert wait_for(lambda: "so far)" in open(out).read(), 10), "no summary so far on SIGUSR1"
        so_far = open(out).read()
        m = re.search(r"so far\)\n  packets +(\d+) ", so_far)
        assert m and int(m.group(1)) == first, (first, so_far[-600:])
        assert p.poll() is None, "SIGUSR1 ended the run"
        w.write(data[off:])
        w.close()
        _, err = p.communicate(timeout=20)
    finally:
        if p.poll() is None:
            p.kill()
            p.communicate()
    assert p.returncode == 0, err
    text = open(out).read()
    m = re.findall(r"rstguard summary \(offline [^\n]*\)\n  packets +(\d+) ", text)
    assert m == [str(first), str(len(recs))], m
    assert [e["pkt_num"] for e in events_of(ev) if e["event_type"] == "rst"] == [e["pkt_num"] for e in full]


@test
def signals_while_a_stream_has_not_started():
    # No writer yet, then a writer that sends nothing: SIGUSR1 and SIGHUP do
    # not end the wait (nor kill the process); SIGINT does, with a message.
    fifo = path("quiet.fifo")
    for with_writer, message in ((False, "interrupted while waiting for a writer"),
                                 (True, "interrupted while waiting for the capture header")):
        if os.path.exists(fifo):
            os.unlink(fifo)
        os.mkfifo(fifo)
        p = subprocess.Popen([rstguard, "-q", "-r", fifo, "-e", path("quiet.json")],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        w = os.open(fifo, os.O_WRONLY) if with_writer else None
        try:
            # Signal only once rstguard catches SIGUSR1 and SIGHUP (a slow
            # start, under a sanitizer, must not look like a kill).
            assert wait_for(lambda: catches(p.pid, signal.SIGUSR1, signal.SIGHUP, signal.SIGINT), 10), \
                "rstguard installed no signal handlers"
            time.sleep(0.2)
            for sig in (signal.SIGUSR1, signal.SIGHUP):
                p.send_signal(sig)
                time.sleep(0.3)
                assert p.poll() is None, (with_writer, sig, p.returncode)
            p.send_signal(signal.SIGINT)
            _, err = p.communicate(timeout=10)
        finally:
            if p.poll() is None:
                p.kill()
                p.communicate()
            if w is not None:
                os.close(w)
        assert p.returncode == 3 and message in err, (with_writer, p.returncode, err)



@test
def a_sweep_is_one_incident_on_the_terminal_and_in_the_events():
    # 65,537 resets across the sequence space: one incident with exact
    # counts; events and terminal lines bounded by sample_first (5) + one per
    # evidence kind's first sight + start and end (the sweep lasts 1.3 s).
    sc = path("sc-sweep")
    os.makedirs(sc, exist_ok=True)
    subprocess.run([gen, "--out", sc], check=True, stdout=subprocess.DEVNULL)
    cap, ev, st = os.path.join(sc, "sweep_65537.pcap"), path("sweep.json"), path("sweep-stats.json")
    r = run("-r", cap, "-e", ev, "--stats-json", st)
    assert r.returncode == 0, r.stderr
    lines = [l for l in r.stdout.splitlines() if l.startswith("20")]  # event lines start with the date
    incidents = incidents_of(ev)
    rsts = [e for e in events_of(ev) if e["event_type"] == "rst"]
    assert [i["incident"]["state"] for i in incidents] == ["start", "end"], incidents
    end = incidents[-1]["incident"]
    assert end["resets"] == 65537 and end["forged"] == 65537 and end["dropped"] == 65537, end
    assert end["events_written"] == len(rsts) and end["events_written"] + end["events_sampled"] == 65537, end
    assert len(rsts) <= 5 + 17, len(rsts)
    assert all(e["incident_id"] == incidents[0]["incident_id"] for e in rsts)
    assert len(lines) == len(rsts) + 2, (len(lines), lines[:3])
    assert sum("INCIDENT" in l for l in lines) == 2, lines
    c = json.load(open(st))["counters"]
    assert c["tcp.rst.total"] == 65537 and c["event.sampled"] == end["events_sampled"], c
    assert c["incident.started"] == 1, c
    assert "incidents " in r.stdout + r.stderr, r.stdout[-800:]



@test
def bsd_loopback_and_linux_cooked_v2_are_read_other_link_types_refused():
    # One reset (no flow) as BSD loopback (NULL, little-endian family 2),
    # LOOP (network order), Linux cooked v2, and an unknown link type.
    ip = bytes([0x45, 0, 0, 40, 0, 1, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2])
    tcp = struct.pack("!HHIIBBHHH", 40000, 443, 1000, 0, 5 << 4, 0x04, 0, 0, 0)
    cases = {
        "null": (0, struct.pack("<I", 2)),
        "loop": (108, struct.pack("!I", 2)),
        "sll2": (276, struct.pack("!HHIHBB8s", 0x0800, 0, 1, 1, 0, 6, bytes(8))),
    }
    for name, (linktype, hdr) in cases.items():
        p = path(name + ".pcap")
        fr = hdr + ip + tcp
        with open(p, "wb") as f:
            f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, linktype))
            f.write(struct.pack("<IIII", 1700000000, 0, len(fr), len(fr)) + fr)
        st = path(name + "-stats.json")
        r = run("-q", "-r", p, "-e", path(name + ".json"), "--stats-json", st)
        assert r.returncode == 0, (name, r.stderr)
        c = json.load(open(st))["counters"]
        assert c["tcp.rst.total"] == 1 and c["pkt.tcp"] == 1, (name, c)
    p = path("dlt228.pcap")
    with open(p, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 228))
        f.write(struct.pack("<IIII", 1700000000, 0, 40, 40) + ip + tcp)
    r = run("-q", "-r", p, "-e", path("dlt228.json"))
    assert r.returncode == 1 and "link type 228 is not one rstguard reads" in r.stderr, (r.returncode, r.stderr)


def sweep_capture():
    sc = path("sc-sweep")
    cap = os.path.join(sc, "sweep_65537.pcap")
    if not os.path.exists(cap):
        os.makedirs(sc, exist_ok=True)
        subprocess.run([gen, "--out", sc], check=True, stdout=subprocess.DEVNULL)
    return cap


def every_event_config():
    cfg = path("every-event.yaml")
    with open(cfg, "w") as f:
        f.write("incidents:\n  sample_every: 1\n")
    return cfg


def limit_file_size(limit):
    """preexec_fn: a file size limit stands in for a full disk (the write
    that crosses it is cut short, the next fails)."""
    import resource

    def set_limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))
    return set_limit


@test
def an_events_file_that_fills_up_ends_the_run_with_whole_lines_only():
    ev, st = path("full.json"), path("full-stats.json")
    # The stats file is checked (created) at start, before the limit bites.
    p = subprocess.run([rstguard, "-q", "-r", sweep_capture(), "-c", every_event_config(), "-e", ev,
                        "--stats-json", st], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, preexec_fn=limit_file_size(300_000))
    assert p.returncode == 1, (p.returncode, p.stderr)
    assert f"{ev}: write: File too large; stopping (output.on_error: stop)" in p.stderr, p.stderr
    text = open(ev).read()
    assert text and text.endswith("\n") and len(text) <= 300_000, len(text)
    lines = text.splitlines()
    for l in lines:
        json.loads(l)  # every line whole
    m = re.search(r"events\s+(\d+) produced, (\d+) written, (\d+) not written", p.stdout)
    assert m and int(m.group(2)) == len(lines) and int(m.group(3)) > 0, p.stdout[-1500:]
    assert "FAILED: " + ev in p.stdout and "ended on error: an output failed" in p.stdout, p.stdout[-800:]
    # The run stopped there: far fewer than the sweep's 65,537 packets read.
    packets = int(re.search(r"packets\s+(\d+)", p.stdout).group(1))
    assert packets < 65537, packets


@test
def dev_full_is_reported_and_on_error_continue_judges_the_rest():
    r = run("-q", "-r", demo, "-e", "/dev/full", "-w", path("full-w.pcap"))
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert "/dev/full: write: No space left on device; stopping" in r.stderr, r.stderr
    cfg = path("continue.yaml")
    with open(cfg, "w") as f:
        f.write("output:\n  on_error: continue\n")
    out = path("continue-w.pcap")
    r = run("-r", demo, "-c", cfg, "-e", "/dev/full", "-w", out)
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert "going on without it (output.on_error: continue)" in r.stderr, r.stderr
    assert r.stderr.count("/dev/full") == 1, r.stderr  # said once
    # Every packet judged and written, as a run with a working events file.
    assert read_pcap(out) == read_pcap(path("demo-out.pcap")), len(read_pcap(out))
    assert re.search(r"events\s+\d+ produced, 0 written, [1-9]\d* not written", r.stdout), r.stdout[-1500:]
    assert " RST [" in r.stdout  # the terminal lines still come


@test
def a_fifo_nobody_reads_and_a_full_pipe_answer_sigterm_at_once():
    fifo = path("events.fifo")
    if os.path.exists(fifo):
        os.unlink(fifo)
    os.mkfifo(fifo)
    p = subprocess.Popen([rstguard, "-q", "-r", demo, "-e", fifo],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert wait_for(lambda: catches(p.pid, signal.SIGTERM), 10), "no SIGTERM handler"
        time.sleep(0.3)
        assert p.poll() is None, "rstguard did not wait for the FIFO's reader"
        p.send_signal(signal.SIGTERM)
        t0 = time.time()
        _, err = p.communicate(timeout=5)
        took = time.time() - t0
    finally:
        if p.poll() is None:
            p.kill()
            p.communicate()
    assert p.returncode == 3 and took < 2, (p.returncode, took, err)
    assert "waiting for a reader of the FIFO" in err and "gave up waiting" in err, err
    # `-e -` into a pipe nobody reads: the write blocks; SIGINT ends it.
    p = subprocess.Popen([rstguard, "-r", sweep_capture(), "-c", every_event_config(), "-e", "-"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert wait_for(lambda: catches(p.pid, signal.SIGINT), 10), "no SIGINT handler"
        time.sleep(1.0)
        assert p.poll() is None, "the pipe should be full by now"
        p.send_signal(signal.SIGINT)
        t0 = time.time()
        assert wait_for(lambda: p.poll() is not None, 5), "SIGINT did not end a blocked write"
        took = time.time() - t0
        err = p.stderr.read().decode()
    finally:
        if p.poll() is None:
            p.kill()
        p.communicate()
    assert p.returncode == 3 and took < 3, (p.returncode, took, err[-800:])
    assert "gave up waiting for the reader (stopping)" in err and "ended on error: interrupted" in err, err[-1500:]
    assert "partial record" not in err, err[-1500:]  # cut on a line's end


@test
def an_interrupted_offline_run_exits_3():
    # A stream that has brought part of a capture, then SIGINT: 3, not 0.
    fifo = path("part.fifo")
    if os.path.exists(fifo):
        os.unlink(fifo)
    os.mkfifo(fifo)
    for f in ("part.json",):
        if os.path.exists(path(f)):
            os.unlink(path(f))
    p = subprocess.Popen([rstguard, "-q", "-r", fifo, "-e", path("part.json")],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    w = os.open(fifo, os.O_WRONLY)
    try:
        os.write(w, open(demo, "rb").read())  # whole records, no end of input
        assert wait_for(lambda: catches(p.pid, signal.SIGINT), 10)
        assert wait_for(lambda: os.path.exists(path("part.json")) and os.path.getsize(path("part.json")) > 0,
                        10), "nothing judged"
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=10)
    finally:
        os.close(w)
        if p.poll() is None:
            p.kill()
            p.communicate()
    assert p.returncode == 3 and "ended on error: interrupted" in out, (p.returncode, out[-500:], err)
    # The whole capture, ended: 0.
    r = run("-q", "-r", demo, "-e", path("whole.json"))
    assert r.returncode == 0, r.stderr


@test
def every_output_makes_its_folders_and_is_checked_at_start():
    base = path("deep/a/b")
    r = run("-q", "-r", demo, "-e", base + "/ev.json", "-w", base + "/w/out.pcap",
            "--flagged", base + "/f/flagged.pcap", "--stats-json", base + "/s/stats.json",
            "--metrics", base + "/m/x.prom")
    assert r.returncode == 0, r.stderr
    for f in ("ev.json", "w/out.pcap", "f/flagged.pcap", "s/stats.json", "m/x.prom"):
        assert os.path.getsize(os.path.join(base, f)) > 0, f
    # A file in the way of a folder, for each of them: exit 1, named, and
    # nothing judged (no events file).
    blocker = os.path.join(base, "ev.json")
    for opt in ("-w", "--flagged", "--stats-json", "--metrics"):
        ev = path("never" + opt.strip("-") + ".json")
        r = run("-q", "-r", demo, "-e", ev, opt, blocker + "/x")
        assert r.returncode == 1 and f"{blocker} is not a folder" in r.stderr, (opt, r.returncode, r.stderr)
        assert opt in ("-w", "--flagged") or not os.path.exists(ev), opt


def pcapng_of(records):
    """records: (ts_us, frame). Ethernet, microsecond timestamps."""
    def block(btype, body):
        body += bytes((4 - len(body) % 4) % 4)
        n = 12 + len(body)
        return struct.pack("<II", btype, n) + body + struct.pack("<I", n)
    out = block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    out += block(1, struct.pack("<HHI", 1, 0, 65535))
    for ts, fr in records:
        out += block(6, struct.pack("<IIIII", 0, ts >> 32, ts & 0xFFFFFFFF, len(fr), len(fr)) + fr)
    return out


@test
def a_record_past_2106_is_left_out_of_w_named_and_counted():
    recs = read_pcap(demo)
    late = 5
    ts = [1_700_000_000_000_000 + i for i in range(len(recs))]
    ts[late - 1] = (1 << 32) * 1_000_000 + 5_000_000  # 2106-02-07 plus a bit
    cap, out = path("late.pcapng"), path("late-out.pcap")
    open(cap, "wb").write(pcapng_of(list(zip(ts, (fr for _, _, fr in recs)))))
    r = run("-r", cap, "-w", out, "-e", path("late.json"))
    assert r.returncode == 0, r.stderr
    assert f"packet {late}: {out}: timestamp" in r.stderr and "past 2106" in r.stderr, r.stderr
    written = read_pcap(out)
    forwarded = int(re.search(r"packets out\s+(\d+) forwarded", r.stdout).group(1))
    assert len(written) == forwarded - 1, (len(written), forwarded)
    assert f"output write" in r.stdout and f"{len(written)} written, 1 left out" in r.stdout, r.stdout[-1500:]


tests.finish()

#!/usr/bin/env python3
"""Checks rstguard's EVENTS and STATS for the end-to-end tests (stdlib only).

  check.py events --events FILE --case CASE --policy POLICY --client IP:PORT
      The events of one connection (the client's address and port, either
      direction) must show what CASE expects (see EXPECT below). POLICY says
      what the actions must be, on every reset of the connection:
        drop     inline with the default policy (and offline: what inline would
                 do): every reset labelled forged is dropped
        alert    inline with --alert-only: nothing is dropped
        any      mirror mode: the action is not checked
  check.py taps --pcap FILE --client IP:PORT --rst-to-client N --rst-to-server M
             [--bad-checksums K]
      A capture (the mirror port) must hold exactly N resets toward the
      client and M toward the server on that connection (no copy missing,
      none doubled), and exactly K frames of it with a wrong checksum.
  check.py stats --stats FILE --workers N [--handoff]
      "flows_split" must be 0 and, when STATS has per-worker packet counts,
      more than one worker must have handled packets.

Prints one line (what was found, or why it failed) and exits 0 or 1.
"""

import argparse
import json
import os
import struct
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

EXPECT = {
    "plain": "no reset events",
    "oow": "a reset toward the client: forged, out_of_window",
    "inwin": "a reset toward the client: in_window, not legit",
    "exact": "a reset toward the client: forged, exact",
    "sweep": "some event with evidence sweep",
    "linger0": "the server's reset: legit, action pass; nothing forged",
    "closed": "a reset with cause port_closed, legit, action pass",
    "both": "some event with evidence both_directions",
    "badsum": "a reset toward the client with evidence insertion",
}


def load_events(path):
    events, bad = [], 0
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                events.append(json.loads(line))
            except ValueError:
                bad += 1
    return events, bad


def brief(e):
    v = e.get("verdict") or {}
    s = "%s %s:%s>%s:%s %s/%s/%s/%s" % (
        "upd" if e.get("event_type") == "rst_update" else "rst",
        e.get("src_ip"), e.get("src_port"), e.get("dest_ip"), e.get("dest_port"),
        v.get("label"), v.get("validity"), v.get("cause"), e.get("action"))
    if v.get("evidence"):
        s += "[" + ",".join(v["evidence"]) + "]"
    return s


def check_events(a):
    cip, cport = a.client.rsplit(":", 1)
    cport = int(cport)
    try:
        events, bad = load_events(a.events)
    except OSError as e:
        print("cannot read events: %s" % e)
        return 1
    if bad:
        print("%d unparsable lines in %s" % (bad, a.events))
        return 1

    def mine(e):
        return ((e.get("src_ip") == cip and e.get("src_port") == cport) or
                (e.get("dest_ip") == cip and e.get("dest_port") == cport))

    evs = [e for e in events if mine(e)]
    rst = [e for e in evs if e.get("event_type") == "rst"]
    to_client = [e for e in rst if e.get("dest_ip") == cip]
    V = lambda e, k: (e.get("verdict") or {}).get(k)
    ev_has = lambda e, name: name in ((e.get("verdict") or {}).get("evidence") or [])
    found = "; ".join(brief(e) for e in evs[:3])
    if len(evs) > 3:
        seen = sorted({x for e in evs for x in ((e.get("verdict") or {}).get("evidence") or [])})
        found += "; ... %d more, evidence seen: %s" % (len(evs) - 3, ",".join(seen) or "none")
    problems = []

    # The policy, on every reset of the connection: inline drops what it labels
    # forged (an update's reset was already forwarded, so it is not checked);
    # --alert-only never drops.
    if a.policy == "drop":
        passed = [e for e in rst if V(e, "label") == "forged" and e.get("action") != "drop"]
        if passed:
            problems.append("%d forged reset(s) not dropped (action %s)" % (len(passed), passed[0].get("action")))
    elif a.policy == "alert":
        dropped = [e for e in evs if e.get("action") == "drop"]
        if dropped:
            problems.append("%d reset(s) dropped despite --alert-only" % len(dropped))

    c = a.case
    if c == "plain":
        if evs:
            problems.append("expected no events")
    elif c in ("oow", "exact"):
        want = "out_of_window" if c == "oow" else "exact"
        if not any(V(e, "label") == "forged" and V(e, "validity") == want for e in to_client):
            problems.append("no forged %s reset toward the client" % want)
    elif c == "inwin":
        hits = [e for e in to_client if V(e, "validity") == "in_window" and V(e, "label") != "legit"]
        if not hits:
            problems.append("no in_window, non-legit reset toward the client")
    elif c in ("sweep", "both", "badsum"):
        name = {"sweep": "sweep", "both": "both_directions", "badsum": "insertion"}[c]
        if not any(ev_has(e, name) for e in evs):
            problems.append("no event with evidence %s" % name)
    elif c == "linger0":
        hits = [e for e in to_client if V(e, "label") == "legit" and e.get("action") == "pass"]
        if not hits:
            problems.append("no legit, passed reset from the server")
        if any(V(e, "label") == "forged" for e in evs):
            problems.append("a forged verdict on a real abortive close")
    elif c == "closed":
        hits = [e for e in rst if V(e, "cause") == "port_closed"]
        if not hits:
            problems.append("no reset with cause port_closed")
        elif not any(V(e, "label") == "legit" and e.get("action") == "pass" for e in hits):
            problems.append("port_closed reset not legit/pass")
    else:
        problems.append("unknown case %s" % c)

    if problems:
        print("%s (want %s; found %d events: %s)" % ("; ".join(problems), EXPECT.get(c, "?"), len(evs),
                                                     found or "none"))
        return 1
    print("%d events: %s" % (len(evs), found or "none"))
    return 0


def worker_packets(w):
    """Packets a worker handled, from whichever of the likely keys STATS uses."""
    if not isinstance(w, dict):
        return None
    for k in ("pkt.total", "packets", "rx_packets", "pkts", "rx"):
        if isinstance(w.get(k), (int, float)):
            return w[k]
    c = w.get("counters")
    if isinstance(c, dict):
        for k in ("pkt.total", "packets", "rx_packets"):
            if isinstance(c.get(k), (int, float)):
                return c[k]
    return None


def check_stats(a):
    try:
        with open(a.stats) as f:
            st = json.load(f)
    except (OSError, ValueError) as e:
        print("cannot read stats: %s" % e)
        return 1
    problems, notes = [], []
    rst_total = (st.get("counters") or {}).get("tcp.rst.total")
    notes.append("tcp.rst.total=%s" % rst_total)
    if "flows_split" not in st:
        problems.append('no "flows_split" in STATS')
    elif st["flows_split"] != 0:
        problems.append("flows_split=%s, want 0" % st["flows_split"])
    else:
        notes.append("flows_split=0")
    workers = st.get("workers")
    if not isinstance(workers, list):
        problems.append('no "workers" list in STATS')
    else:
        if len(workers) != a.workers:
            problems.append("%d workers in STATS, want %d" % (len(workers), a.workers))
        counts = [worker_packets(w) for w in workers]
        notes.append("worker packets=%s" % counts)
        if counts and all(n is not None for n in counts):
            if sum(1 for n in counts if n > 0) < 2:
                problems.append("only %d worker(s) handled packets" % sum(1 for n in counts if n > 0))
        else:
            notes.append("(no per-worker packet count in STATS: not checked)")
        if a.handoff:
            # Software re-hashing: packets moved between the workers, and
            # every one handed off was taken in by the other (none lost).
            sent = sum(w.get("handoff_out", 0) for w in workers)
            taken = sum(w.get("handoff_in", 0) for w in workers)
            notes.append("handoffs out=%d in=%d" % (sent, taken))
            if sent == 0:
                problems.append("no packet was re-hashed to another worker")
            elif sent != taken:
                problems.append("handoffs out=%d but in=%d" % (sent, taken))
    if problems:
        print("; ".join(problems) + " (" + ", ".join(notes) + ")")
        return 1
    print(", ".join(notes))
    return 0


def read_pcap(path):
    """Frames of a classic pcap file (usec or nsec, either byte order)."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        raise ValueError("short pcap")
    for endian in ("<", ">"):
        magic = struct.unpack(endian + "I", data[:4])[0]
        if magic in (0xA1B2C3D4, 0xA1B23C4D):
            break
    else:
        raise ValueError("not a pcap file")
    off, frames = 24, []
    while off + 16 <= len(data):
        _, _, incl, _ = struct.unpack(endian + "IIII", data[off:off + 16])
        frames.append(data[off + 16:off + 16 + incl])
        off += 16 + incl
    return frames


def check_taps(a):
    from attacker import parse, RST  # the same parser the attacker sniffs with
    cip, cport = a.client.rsplit(":", 1)
    cport = int(cport)
    try:
        frames = read_pcap(a.pcap)
    except (OSError, ValueError) as e:
        print("cannot read capture: %s" % e)
        return 1
    n = to_c = to_s = bad = 0
    for fr in frames:
        p = parse(fr)
        if p is None:
            continue
        if (p["dst"], p["dport"]) == (cip, cport):
            toward_client = True
        elif (p["src"], p["sport"]) == (cip, cport):
            toward_client = False
        else:
            continue
        n += 1
        if not p["csum_ok"]:
            bad += 1
        if p["flags"] & RST:
            if toward_client:
                to_c += 1
            else:
                to_s += 1
    got = "%d frames, resets to client %d, to server %d, bad checksums %d" % (n, to_c, to_s, bad)
    want = (a.rst_to_client, a.rst_to_server, a.bad_checksums)
    if n == 0 or (to_c, to_s, bad) != want:
        print("capture: %s; want resets %d/%d, bad checksums %d" % ((got,) + want))
        return 1
    print("capture: " + got)
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="what", required=True)
    e = sub.add_parser("events")
    e.add_argument("--events", required=True)
    e.add_argument("--case", required=True, choices=sorted(EXPECT))
    e.add_argument("--policy", required=True, choices=["drop", "alert", "any"])
    e.add_argument("--client", required=True, help="IP:PORT of the connection's client")
    s = sub.add_parser("stats")
    s.add_argument("--stats", required=True)
    s.add_argument("--workers", type=int, default=2)
    s.add_argument("--handoff", action="store_true",
                   help="software re-hashing: require handoffs, every one taken in")
    t = sub.add_parser("taps")
    t.add_argument("--pcap", required=True)
    t.add_argument("--client", required=True)
    t.add_argument("--rst-to-client", type=int, required=True)
    t.add_argument("--rst-to-server", type=int, default=0)
    t.add_argument("--bad-checksums", type=int, default=0)
    a = ap.parse_args()
    return {"events": check_events, "stats": check_stats, "taps": check_taps}[a.what](a)


if __name__ == "__main__":
    sys.exit(main())

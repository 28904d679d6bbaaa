#!/usr/bin/env python3
"""Runs rstguard over the real captures in ../shared/corpus (when present)
and reports, per capture, the resets by label and the evidence behind every
non-legit verdict. Nearly all resets in these captures are legitimate, so
anything labelled forged is a candidate false alarm to look at.

usage: tools/corpus_eval.py [--rstguard build/app/rstguard] [--corpus DIR]
                            [--show N] [--max-forged-ratio R]
Exits 1 when the forged share of all resets exceeds --max-forged-ratio;
--skip-status (default 0) when there is no corpus.
"""
import argparse
import collections
import json
import os
import subprocess
import sys
import tempfile
import time

here = os.path.dirname(os.path.abspath(__file__))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rstguard", default=os.path.join(here, "..", "build", "app", "rstguard"))
    ap.add_argument("--corpus", default=os.path.join(here, "..", "..", "shared", "corpus"))
    ap.add_argument("--show", type=int, default=0, help="print N non-legit events per capture")
    ap.add_argument("--max-forged-ratio", type=float, default=1.0)
    ap.add_argument("--skip-status", type=int, default=0,
                    help="exit status when there is no corpus to read (meson: 77, a skip)")
    ap.add_argument("--max-flagged", type=int, default=-1,
                    help="fail when more resets than this are suspicious or forged (CORPUS.md explains each)")
    args = ap.parse_args()
    captures = sorted(
        os.path.join(d, f)
        for d, _, files in os.walk(args.corpus)
        for f in files
        if f.endswith((".pcap", ".pcapng"))
    ) if os.path.isdir(args.corpus) else []
    if not captures:
        print(f"corpus_eval: SKIP: no captures at {args.corpus}; nothing evaluated")
        return args.skip_status
    totals = collections.Counter()
    tmp = tempfile.mkdtemp(prefix="rstguard-corpus-")
    # Every reset's event written (no incident sampling): the figures below
    # are counted from the events.
    cfg_path = os.path.join(tmp, "eval.yaml")
    with open(cfg_path, "w") as f:
        f.write("incidents:\n  sample_every: 1\n")
    print(f"{'capture':34} {'packets':>8} {'resets':>6} {'legit':>6} {'susp':>5} {'forged':>6} {'upd':>4} {'Mpps':>6}  evidence of non-legit")
    for path in captures:
        name = os.path.relpath(path, args.corpus)
        ev_path = os.path.join(tmp, "events.json")
        st_path = os.path.join(tmp, "stats.json")
        t0 = time.time()
        r = subprocess.run([args.rstguard, "-q", "-r", path, "-e", ev_path, "--stats-json", st_path,
                            "-c", cfg_path],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if r.returncode != 0:
            print(f"{name:34} exit {r.returncode}: {r.stderr.strip()}")
            totals["failed"] += 1
            continue
        stats = json.load(open(st_path))
        labels = collections.Counter()
        evidence = collections.Counter()
        shown = 0
        for line in open(ev_path):
            e = json.loads(line)
            if e["event_type"] == "incident":
                labels["incident"] += 1
                continue
            v = e["verdict"]
            if e["event_type"] == "rst_update":
                labels["update"] += 1
                continue
            labels[v["label"]] += 1
            if v["label"] != "legit":
                evidence.update(v["evidence"])
                if shown < args.show:
                    shown += 1
                    print(f"    #{e['pkt_num']} {e['src_ip']}:{e['src_port']} > {e['dest_ip']}:{e['dest_port']}"
                          f" {e['tcp']['flags']} seq {e['tcp']['seq']} {v['label']} {v['validity']} {v['evidence']}")
        c = stats["counters"]
        mpps = c["pkt.total"] / stats["seconds"] / 1e6 if stats["seconds"] > 0 else 0
        print(f"{name:34} {c['pkt.total']:>8} {c['tcp.rst.total']:>6} {labels['legit']:>6} {labels['suspicious']:>5}"
              f" {labels['forged']:>6} {labels['update']:>4} {mpps:>6.2f}  {dict(evidence)}")
        totals.update({"packets": c["pkt.total"], "resets": c["tcp.rst.total"], **labels})
    resets = totals["resets"] or 1
    print(f"total: {totals['packets']} packets, {totals['resets']} resets: {totals['legit']} legit,"
          f" {totals['suspicious']} suspicious ({100*totals['suspicious']/resets:.1f}%),"
          f" {totals['forged']} forged ({100*totals['forged']/resets:.1f}%), {totals['update']} updates")
    if totals["failed"]:
        return 1
    flagged = totals["forged"] + totals["suspicious"]
    if args.max_flagged >= 0 and flagged > args.max_flagged:
        print(f"corpus_eval: {flagged} resets flagged, more than the {args.max_flagged} CORPUS.md explains")
        return 1
    return 1 if totals["forged"] / resets > args.max_forged_ratio else 0


if __name__ == "__main__":
    sys.exit(main())

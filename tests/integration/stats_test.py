#!/usr/bin/env python3
"""Counters on demand while rstguard runs: the telemetry command
/rstguard/stats and SIGUSR1. rstguard runs inline between a net_pcap port
replaying the demo capture forever and a net_null port. Checks: the
telemetry counters move between two reads and are consistent within one
(every packet forwarded or dropped, every reset labelled once); the
Prometheus metrics file is rewritten while running and holds the final
count at exit; SIGUSR1 prints a "so far" summary and the run goes on; the
final summary is at least what telemetry saw.

usage: stats_test.py RSTGUARD SOURCE_DIR WORKDIR
"""
import json
import os
import signal
import sys
import time

from rgtest import Checks, start_inline_replay, stop, telemetry, wait_for

rstguard, src, work = sys.argv[1:4]
os.makedirs(work, exist_ok=True)
demo = os.path.join(src, "tools", "demo.pcap")
prefix = f"rgtest-stats-{os.getpid()}"
stats_path = os.path.join(work, "stats.json")
check = Checks("stats")


def stats():
    return telemetry(prefix, "/rstguard/stats")


prom = os.path.join(work, "rstguard.prom")
cfg = os.path.join(work, "metrics.yaml")
open(cfg, "w").write(f"output:\n  metrics: {prom}\n  metrics_interval: 200ms\n")
for leftover in (prom, stats_path):
    if os.path.exists(leftover):
        os.remove(leftover)


def prom_total():
    for line in open(prom):
        if line.startswith("rstguard_pkt_total "):
            return int(float(line.split()[1]))
    raise KeyError("rstguard_pkt_total")


p = start_inline_replay(rstguard, demo, prefix,
                        ["-q", "-c", cfg, "-e", os.devnull, "--stats-json", stats_path])
first = second = {}
try:
    if not check(wait_for(lambda: stats()["pkt_total"] > 0, 10),
                 "telemetry: packets counted while running"):
        check.finish()  # exits; the finally below stops rstguard
    first = stats()
    time.sleep(0.5)
    second = stats()
    check(second["pkt_total"] > first["pkt_total"],
          f"the counters move: {first['pkt_total']} -> {second['pkt_total']}")
    check(second["uptime_ms"] > first["uptime_ms"] and second["mode"] == "inline" and
          second["workers"] == 1, "uptime, mode and workers")
    for s in (first, second):
        check(s["pkt_total"] == s["pkt_forwarded"] + s["pkt_dropped"],
              f"one snapshot is consistent: {s['pkt_total']} = {s['pkt_forwarded']} + {s['pkt_dropped']}")
        check(sum(s["rst_label"].values()) == s["tcp_rst_total"] and s["tcp_rst_total"] > 0,
              f"every reset labelled once: {s['rst_label']} of {s['tcp_rst_total']}")
    check(second["rst_label"]["forged"] > 0 and second["pkt_dropped"] == second["tcp_rst_dropped"],
          "forged resets dropped, and only they")
    check(second["flows_active"] > 0 and second["flows_capacity"] >= second["flows_active"],
          f"flows: {second['flows_active']} active of {second['flows_capacity']}")
    check(set(second["rst_cause"]) >= {"injected", "abortive_close"}, "causes by name")

    check(wait_for(lambda: prom_total() > 0, 5), "metrics file written while running")
    seen = prom_total()
    check(wait_for(lambda: prom_total() > seen, 5), "metrics file rewritten every interval")

    p.send_signal(signal.SIGUSR1)
    time.sleep(0.7)
    check(p.poll() is None, "SIGUSR1 does not stop the run")
finally:
    out, err = stop(p)
check(p.returncode == 0, f"clean exit ({p.returncode}) {err[-300:] if p.returncode else ''}")
heads = [line for line in out.splitlines() if line.startswith("rstguard summary")]
check(len(heads) == 2 and heads[0].endswith("so far)") and not heads[1].endswith("so far)"),
      f"a summary so far on SIGUSR1, then the final one: {heads}")
final = json.load(open(stats_path))
c = final["counters"]
check(final["running"] is False and c["pkt.total"] >= second.get("pkt_total", 1 << 62),
      f"the final count ({c['pkt.total']}) is at least what telemetry saw")
check(c["pkt.total"] == c["pkt.forwarded"] + c["pkt.dropped"], "final: every packet accounted for")
check(prom_total() == c["pkt.total"], f"the metrics file's last word is the final count ({prom_total()})")
check.finish()

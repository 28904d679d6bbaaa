#!/usr/bin/env python3
"""Trigger attribution and trigger rules, offline on generated captures:
a reset after a ClientHello whose SNI (split over two segments) or an HTTP
Host matches a named pattern carries that trigger, and the rule for the
trigger decides: drop where the SNI is on the protected list, only alert
for the Host rule. A clean connection has no trigger; a pattern that does
not compile refuses the configuration.

usage: triggers_test.py RSTGUARD RSTGUARD_GEN WORKDIR
"""
import json
import os
import subprocess
import sys

from rgtest import Checks

rstguard, gen, work = sys.argv[1:4]
os.makedirs(work, exist_ok=True)
subprocess.run([gen, "--out", work], check=True, stdout=subprocess.DEVNULL)
check = Checks("triggers")


cfg = os.path.join(work, "triggers.yaml")
open(cfg, "w").write("""
triggers:
  patterns:
    - {name: blocked-sni, regex: '(^|\\.)blocked\\.example$', fields: [sni]}
    - {name: forbidden-host, literal: forbidden.example, fields: [host]}
    - {name: never, literal: 'zzz-not-there', fields: [payload]}
actions: {forged: drop}
rules:
  - name: protect-tls
    trigger: blocked-sni
    actions: {suspicious: drop, forged: drop}
  - name: watch-http
    trigger: forbidden-host
    actions: {forged: alert}
""")


def run(name):
    ev = os.path.join(work, name + ".json")
    st = os.path.join(work, name + "-stats.json")
    r = subprocess.run([rstguard, "-q", "-r", os.path.join(work, name + ".pcap"), "-c", cfg,
                        "-e", ev, "--stats-json", st], capture_output=True, text=True)
    check(r.returncode == 0, f"{name}: exit {r.returncode} {r.stderr.strip()}")
    return [json.loads(l) for l in open(ev)], json.load(open(st))


for name in ("trigger_sni", "trigger_sni.v6"):
    events, stats = run(name)
    rsts = [e for e in events if e["event_type"] == "rst"]
    check(len(rsts) == 2, f"{name}: two resets")
    for e in rsts:
        t = e.get("trigger")
        # A variable-width regex reports where its match ends in the field
        # ("www.blocked.example" is 19 bytes); a literal reports its start.
        check(t is not None and t["name"] == "blocked-sni" and t["field"] == "sni" and t["offset"] == 19,
              f"{name}: reset #{e['pkt_num']} carries the SNI trigger {t}")
        check(e["policy"]["rule"] == "protect-tls" and e["action"] == "drop",
              f"{name}: rule protect-tls drops it ({e['policy']}, {e['action']})")
    check(stats["counters"]["trigger.reassembled"] >= 1, f"{name}: the split ClientHello was joined")

events, stats = run("trigger_host")
rst = [e for e in events if e["event_type"] == "rst"][0]
t = rst.get("trigger")
check(t is not None and t["name"] == "forbidden-host" and t["field"] == "host",
      f"trigger_host: Host trigger {t}")
check(rst["verdict"]["label"] == "forged" and rst["policy"]["rule"] == "watch-http" and rst["action"] == "alert",
      f"trigger_host: rule watch-http only alerts ({rst['policy']}, {rst['action']})")

events, stats = run("trigger_clean")
rst = [e for e in events if e["event_type"] == "rst"][0]
check("trigger" not in rst and rst["policy"]["rule"] == "default" and rst["action"] == "pass",
      f"trigger_clean: no trigger, default rule, pass ({rst.get('trigger')}, {rst['policy']})")
check(stats["counters"]["trigger.scanned"] >= 1 and stats["counters"]["trigger.matched"] == 0,
      "trigger_clean: scanned, nothing matched")

# A pattern that does not compile refuses the configuration, naming it.
bad = os.path.join(work, "bad.yaml")
open(bad, "w").write("triggers:\n  patterns:\n    - {name: good, literal: abc}\n    - {name: broken, regex: 'a(b'}\n")
r = subprocess.run([rstguard, "-q", "-r", os.path.join(work, "trigger_clean.pcap"), "-c", bad],
                   capture_output=True, text=True)
check(r.returncode == 2 and f"{bad}:4:7" in r.stderr and "broken" in r.stderr and "parenthesis" in r.stderr,
      f"bad pattern refused with its position and Hyperscan's message: {r.stderr.strip()}")

check.finish()

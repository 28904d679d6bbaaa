#!/usr/bin/env python3
"""Reload under traffic: rstguard inline between a net_pcap port replaying
the demo capture forever and a net_null port. The policy is changed with
SIGHUP (forged: drop -> alert, a new rule), then a broken file is offered
through the DPDK telemetry command /rstguard/reload and refused. Checks:
every packet is accounted for (received = forwarded + dropped, nothing
lost in the event rings), events are judged by generation 1 up to the
switch and by generation 2 after it, never mixed, each with its own
policy's action, and the broken file changes nothing.

usage: reload_test.py RSTGUARD SOURCE_DIR WORKDIR
"""
import json
import os
import signal
import sys
import time

from rgtest import Checks, start_inline_replay, stop, telemetry as telemetry_at, wait_for

rstguard, src, work = sys.argv[1:4]
os.makedirs(work, exist_ok=True)
demo = os.path.join(src, "tools", "demo.pcap")
prefix = f"rgtest-reload-{os.getpid()}"
cfg = os.path.join(work, "policy.yaml")
events_path = os.path.join(work, "events.json")
stats_path = os.path.join(work, "stats.json")
check = Checks("reload")


def telemetry(command):
    return telemetry_at(prefix, command)


# The replay loops as fast as the core goes (tens of Mpps): a per-source
# event rate limit keeps the events file small (suppressed ones are counted).
open(cfg, "w").write("actions: {forged: drop}\nrate_limit: 200\n")
p = start_inline_replay(rstguard, demo, prefix,
                        ["-q", "-c", cfg, "-e", events_path, "--stats-json", stats_path])
try:
    check(wait_for(lambda: telemetry("/rstguard/policy")["generation"] == 1, 10), "started, generation 1")
    time.sleep(0.5)
    # The new policy: forged resets are only alerted, and a named rule.
    open(cfg, "w").write("actions: {forged: alert}\nrate_limit: 200\n"
                         "rules:\n  - name: servers\n    server: 10.2.0.0/16\n")
    p.send_signal(signal.SIGHUP)
    check(wait_for(lambda: telemetry("/rstguard/policy")["generation"] == 2, 10), "SIGHUP: generation 2")
    time.sleep(0.5)
    # A broken file is refused; the running policy stays.
    open(cfg, "w").write("rules:\n  - name: bad\n    server: 10.2.0.1/16\n")
    check(telemetry("/rstguard/reload").get("reload") == "requested", "telemetry reload accepted")
    check(wait_for(lambda: "refused" in telemetry("/rstguard/policy")["last_reload"], 10),
          "broken file refused")
    check(telemetry("/rstguard/policy")["generation"] == 2, "still generation 2")
    time.sleep(0.3)
finally:
    out, err = stop(p)
check(p.returncode == 0, f"clean exit ({p.returncode})")
check("10.2.0.1/16" in err and "stays" in err, "the refusal names the bad value and keeps the policy")

events = [json.loads(line) for line in open(events_path)]
stats = json.load(open(stats_path))
c = stats["counters"]
gens = [e["policy"]["generation"] for e in events if e["event_type"] == "rst"]
check(len(gens) > 20 and gens.count(1) > 0 and gens.count(2) > 0,
      f"resets judged under both generations ({gens.count(1)} / {gens.count(2)})")
first2 = gens.index(2) if 2 in gens else len(gens)
check(all(g == 1 for g in gens[:first2]) and all(g == 2 for g in gens[first2:]),
      "one switch: no reset judged by generation 1 after generation 2 began")
bad = []
for e in events:
    if e["event_type"] != "rst":
        continue
    g, label, action, rule = e["policy"]["generation"], e["verdict"]["label"], e["action"], e["policy"]["rule"]
    want = {"legit": "pass", "suspicious": "alert", "forged": "drop" if g == 1 else "alert"}[label]
    want_rule = "default" if g == 1 else ("servers" if e["src_ip"].startswith("10.2.") or e["dest_ip"].startswith("10.2.") else "default")
    if action != want or rule != want_rule:
        bad.append((g, label, action, rule))
check(not bad, f"every action follows its generation's policy {bad[:3]}")
check(c["pkt.total"] == c["pkt.forwarded"] + c["pkt.dropped"] and c["pkt.total"] > 1000,
      f"every packet accounted for: {c['pkt.total']} = {c['pkt.forwarded']} + {c['pkt.dropped']}")
check(c["pkt.dropped"] == c["tcp.rst.dropped"] and c["pkt.dropped"] > 0,
      f"drops are exactly the resets dropped by policy ({c['pkt.dropped']})")
check(c["event.rate_limited"] > 0, f"the rate limit suppressed and counted {c['event.rate_limited']} events")
check(sum(w["tx"] for w in stats["workers"]) == c["pkt.forwarded"], "tx equals forwarded")
check(c["event.overflow"] == 0 and c["event.emitted"] == len(events), "no event lost")
check.finish()

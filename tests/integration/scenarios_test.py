#!/usr/bin/env python3
"""Integration test: runs the built rstguard on every scenario capture the
generator writes (one per row of the RST field guide, with variants) and
checks the verdict of the reset that matters, and that no other reset in a
scenario is called forged.

usage: scenarios_test.py RSTGUARD RSTGUARD_GEN WORKDIR
"""
import json
import os
import subprocess
import sys

# name: expectations for the reset that matters.
#   pick: which "rst" event (index into the scenario's rst events; -1 last)
#   label / validity / cause: exact values (label may be a set)
#   evidence: names that must be present; no_evidence: names that must not
#   update: the rst_update that must follow (label, evidence it must add)
#   others_not_forged: every other rst event must not be labelled forged
LEGIT = {"label": "legit"}
EXPECT = {
    "port_closed": dict(LEGIT, validity="exact", cause="port_closed"),
    "refused": dict(LEGIT, validity="exact", cause="refused"),
    "malformed_syn": dict(LEGIT, validity="exact", cause="malformed_syn"),
    "syn_scan": dict(LEGIT, validity="exact", cause="syn_scan"),
    "listen_overflow": dict(LEGIT, validity="exact", cause="listen_overflow"),
    "connect_timeout": dict(LEGIT, validity="exact", cause="connect_timeout"),
    "connect_scan": dict(LEGIT, validity="exact", cause="connect_scan"),
    "duplicate_syn": dict(LEGIT, validity="exact", cause="duplicate_syn"),
    "retransmit_exhausted": dict(LEGIT, validity="exact", cause="retransmit_exhausted"),
    "idle_timeout": dict(LEGIT, validity="exact", cause="idle_timeout"),
    "abort_unread_data": dict(LEGIT, validity="exact", cause="abort_unread_or_linger0"),
    "half_open": dict(LEGIT, validity="exact", cause="half_open"),
    "fin_scan": dict(LEGIT, cause="fin_scan"),
    "null_scan": dict(LEGIT, cause="null_scan"),
    "xmas_scan": dict(LEGIT, cause="xmas_scan"),
    "abort_after_half_close": dict(LEGIT, validity="exact", cause="abort_after_half_close"),
    "abortive_close": dict(LEGIT, validity="exact", cause="abortive_close"),
    "data_after_close": dict(LEGIT, validity="exact", cause="data_after_close"),
    "keepalive_failure": dict(LEGIT, validity="exact", cause="keepalive_failure"),
    "after_fin": dict(LEGIT, validity="exact", cause="after_fin"),
    "time_wait_reuse": dict(LEGIT, validity="exact", cause="time_wait_reuse"),
    "no_flow": dict(LEGIT, validity="no_flow", cause="unknown"),
    "rst_with_diagnostic": dict(LEGIT, validity="exact", evidence=["with_payload"]),
    "midstream_one_side": dict(LEGIT, validity="unknown"),
    "out_of_window": dict(label="forged", validity="out_of_window", cause="injected",
                          evidence=["out_of_window"]),
    # The injector's TTL is 40 hops off the server's (forge_rst): ttl_gap.
    "in_window": dict(label="forged", validity="in_window", evidence=["ttl_gap", "inexact"]),
    "race": dict(LEGIT, validity="exact",
                 update=dict(label="forged", cause="injected", evidence=["data_after_rst"],
                             imitates="abort_unread_or_linger0")),
    "ttl_race": dict(label="suspicious", validity="exact", evidence=["ttl_mismatch"],
                     update=dict(label="forged", cause="injected", evidence=["data_after_rst"])),
    # The closed server's bare answer to the client's challenge ACK: genuine.
    "challenge_ack_exchange": dict(LEGIT, validity="exact", cause="abortive_close", pick=-1,
                                   answers="challenge_ack", no_evidence=["seq_change"],
                                   first=dict(label="legit", validity="in_window",
                                              evidence=["inexact"])),
    "challenge_ack_exchange_seen": dict(LEGIT, validity="exact", cause="abortive_close", pick=-1,
                                        answers="challenge_ack",
                                        first=dict(label="legit", validity="exact")),
    # The dead end's kernel answering the live end's segments: genuine, each.
    # On a passive monitor (forged: alert) the forged reset reaches the
    # client; inline it is dropped, and then nothing answers anything.
    "dead_end_answers": dict(LEGIT, validity="exact", cause="data_after_close", pick=-1,
                             config="actions:\n  forged: alert\n", forged_action="alert",
                             answers="segment", others_may_be_forged=True,
                             first=dict(label={"suspicious", "forged"}), update_optional=True,
                             all_after_first=dict(
                                 label="legit", answers="segment")),
    "both_directions": dict(label="forged", validity="exact", cause="injected",
                            evidence=["both_directions"], pick=-1,
                            update=dict(label="forged", evidence=["both_directions"])),
    "seq_change": dict(label="forged", evidence=["seq_change", "ttl_gap"], pick=-1,
                       others_may_be_forged=True),
    "ttl_ts_exact": dict(label="forged", validity="exact", cause="injected", imitates="abortive_close",
                         evidence=["ttl_gap", "ts_missing"]),
    "ipid_without_ack": dict(label="suspicious", validity="exact",
                             evidence=["ipid_anomaly", "rst_without_ack"]),
    "ts_stale": dict(label="suspicious", validity="exact", evidence=["ts_stale"]),
    "ack_mismatch": dict(label="suspicious", validity="exact", evidence=["ack_mismatch"]),
    # Every reset of the incident written (no sampling), to see the last.
    "sweep": dict(label="forged", validity="out_of_window", evidence=["sweep"], pick=-1,
                  config="incidents:\n  sample_every: 1\n",
                  others_may_be_forged=True),
    # 65,537 resets: one incident; its first reset is forged on its own.
    "sweep_65537": dict(label="forged", pick=0, others_may_be_forged=True),
    # Discarded by the receiver: no history, so no race check either.
    "insertion_bad_checksum": dict(label="suspicious", evidence=["insertion"]),
    # The censor's three resets: far TTLs, then a burst of two stacks.
    "censor_burst": dict(label="forged", validity="exact", cause="injected", pick=-1,
                         evidence=["ttl_gap", "burst"], others_may_be_forged=True,
                         first=dict(label="forged", evidence=["ttl_gap"])),
    "burst_near_ttl": dict(label="forged", validity="exact", cause="injected", pick=-1,
                           evidence=["burst"], first=dict(label="legit"),
                           update=dict(label="forged", cause="injected", evidence=["burst"])),
    # Discarded resets (a bad checksum, a missing signature) poison nothing:
    # the server's own reset after them is genuine.
    "insertion_then_genuine": dict(LEGIT, validity="exact", cause="abort_unread_or_linger0", pick=-1,
                                   no_evidence=["seq_change"], others_may_be_forged=True,
                                   first=dict(evidence=["insertion"])),
    "md5_forged_then_genuine": dict(LEGIT, validity="exact", cause="abortive_close", pick=-1,
                                    no_evidence=["seq_change", "both_directions"],
                                    others_may_be_forged=True,
                                    first=dict(label="forged", evidence=["auth_mismatch"])),
    "ao_forged_then_genuine": dict(LEGIT, validity="exact", cause="abortive_close", pick=-1,
                                   no_evidence=["seq_change", "both_directions"],
                                   others_may_be_forged=True,
                                   first=dict(label="forged", evidence=["auth_mismatch"])),
    "md5_unexpected": dict(label="forged", validity="exact", cause="injected",
                           evidence=["auth_mismatch"]),
    "trigger_sni": dict(label="forged", validity="exact", evidence=["both_directions"], pick=-1,
                        others_may_be_forged=True, update_optional=True),
    "trigger_host": dict(label="forged", validity="exact", evidence=["ttl_gap"]),
    "trigger_clean": dict(LEGIT, validity="exact"),
    "syn_sent_forged": dict(label="suspicious", validity="out_of_window",
                            evidence=["ack_mismatch"]),
}
# Variants that change what is knowable.
VARIANT_OVERRIDES = {
    # Another TTL and inexact: forged (the race check is not needed).
    "in_window.nots": dict(label="forged", evidence=["ttl_gap", "inexact"],
                           no_evidence=["ts_missing"]),
    "out_of_window.nots": dict(no_evidence=["ts_missing"]),
}


def check(name, events, exp, failures):
    incidents = [e for e in events if e["event_type"] == "incident"]
    events = [e for e in events if e["event_type"] != "incident"]
    check_incidents(name, events, incidents, failures)
    rsts = [e for e in events if e["event_type"] == "rst"]
    updates = [e for e in events if e["event_type"] == "rst_update"]
    if not rsts:
        failures.append(f"{name}: no rst event")
        return
    pick = exp.get("pick", 0 if len(rsts) == 1 else -1)
    target = rsts[pick]
    v = target["verdict"]
    labels = exp["label"] if isinstance(exp["label"], set) else {exp["label"]}
    if v["label"] not in labels:
        failures.append(f"{name}: label {v['label']}, want {sorted(labels)} ({v})")
    for e in events:
        ev = e["verdict"]
        if "imitates" in ev and (ev["label"] != "forged" or ev["imitates"] == "injected"):
            failures.append(f"{name}: #{e['pkt_num']} imitates {ev.get('imitates')} with label {ev['label']}")
    for key in ("validity", "cause", "imitates"):
        if key in exp and v.get(key) != exp[key]:
            failures.append(f"{name}: {key} {v.get(key)}, want {exp[key]} ({v})")
    for ev in exp.get("evidence", []):
        if ev not in v["evidence"]:
            failures.append(f"{name}: evidence {v['evidence']} lacks {ev}")
    for ev in exp.get("no_evidence", []):
        if ev in v["evidence"]:
            failures.append(f"{name}: evidence {v['evidence']} must not hold {ev}")
    if v.get("answers") != exp.get("answers"):
        failures.append(f"{name}: answers {v.get('answers')}, want {exp.get('answers')}")
    if "first" in exp:
        f = rsts[0]["verdict"]
        for key, want in exp["first"].items():
            got = f.get(key)
            if key == "evidence":
                if not set(want) <= set(got):
                    failures.append(f"{name}: first reset's evidence {got} lacks {want}")
            elif got != want and not (isinstance(want, set) and got in want):
                failures.append(f"{name}: first reset's {key} {got}, want {want}")
    for e in rsts[1:] if "all_after_first" in exp else []:
        for key, want in exp["all_after_first"].items():
            if e["verdict"].get(key) != want:
                failures.append(f"{name}: reset #{e['pkt_num']} {key} {e['verdict'].get(key)}, want {want}")
    if "all_after_first" in exp and len(rsts) < 4:
        failures.append(f"{name}: {len(rsts)} resets, want the forged one and three answers")
    if not exp.get("others_may_be_forged"):
        for e in rsts:
            if e is not target and e["verdict"]["label"] == "forged" and "both_directions" not in e["verdict"]["evidence"]:
                failures.append(f"{name}: another reset (#{e['pkt_num']}) called forged")
    # Events carry the schema's fields.
    for key in ("timestamp", "flow_id", "src_ip", "src_port", "dest_ip", "dest_port", "proto",
                "direction", "tcp", "verdict", "action"):
        if key not in target:
            failures.append(f"{name}: event lacks '{key}'")
    want_action = {"legit": "pass", "suspicious": "alert",
                   "forged": exp.get("forged_action", "drop")}[v["label"]]
    if target["action"] != want_action:
        failures.append(f"{name}: action {target['action']} for {v['label']}")
    up = exp.get("update")
    if up:
        mine = [u for u in updates if u["revises"]["pkt_num"] in {r["pkt_num"] for r in rsts}]
        if not mine:
            failures.append(f"{name}: no rst_update")
        else:
            u = mine[0]
            if u["verdict"]["label"] != up["label"]:
                failures.append(f"{name}: update label {u['verdict']['label']}, want {up['label']}")
            for ev in up.get("evidence", []):
                if ev not in u["verdict"]["evidence"]:
                    failures.append(f"{name}: update evidence {u['verdict']['evidence']} lacks {ev}")
            if "cause" in up and u["verdict"]["cause"] != up["cause"]:
                failures.append(f"{name}: update cause {u['verdict']['cause']}")
            if "imitates" in up and u["verdict"].get("imitates") != up["imitates"]:
                failures.append(f"{name}: update imitates {u['verdict'].get('imitates')}, want {up['imitates']}")
            if u["flow_id"] != next(r for r in rsts if r["pkt_num"] == u["revises"]["pkt_num"])["flow_id"]:
                failures.append(f"{name}: update names another flow")
    elif updates and not exp.get("update_optional"):
        failures.append(f"{name}: unexpected rst_update {updates[0]['verdict']}")


def check_incidents(name, events, incidents, failures):
    """Every flagged reset is in an incident; each incident starts once and
    ends once (end of input), and its end counts its members exactly."""
    members = {}
    for e in events:
        iid = e.get("incident_id")
        discarded = {"insertion", "auth_mismatch"} & set(e["verdict"]["evidence"])
        if e["event_type"] == "rst" and e["verdict"]["label"] != "legit" and iid is None and not discarded:
            failures.append(f"{name}: flagged reset #{e['pkt_num']} has no incident_id")
        if iid is not None:
            if e["event_type"] == "rst" and e["verdict"]["label"] == "legit":
                failures.append(f"{name}: legit reset #{e['pkt_num']} in incident {iid}")
            members.setdefault(iid, set()).add(
                e["pkt_num"] if e["event_type"] == "rst" else e["revises"]["pkt_num"])
    by_id = {}
    for inc in incidents:
        by_id.setdefault(inc["incident_id"], []).append(inc["incident"]["state"])
    for iid, states in by_id.items():
        if states[0] != "start" or states[-1] not in ("end", "evicted") or states.count("start") != 1:
            failures.append(f"{name}: incident {iid} states {states}")
    for iid, pkts in members.items():
        if iid not in by_id and len(pkts) > 1:
            failures.append(f"{name}: incident {iid} of {len(pkts)} resets has no incident event")
        if iid in by_id and len(pkts) < 2 and not any(i["incident"]["events_sampled"] for i in incidents):
            failures.append(f"{name}: incident {iid} announced for one reset")
    for inc in incidents:
        i = inc["incident"]
        if i["state"] == "end" and i["events_sampled"] == 0 and i["resets"] != len(members.get(inc["incident_id"], ())):
            failures.append(f"{name}: incident {inc['incident_id']} counts {i['resets']} resets, "
                            f"events name {len(members.get(inc['incident_id'], ()))}")


def main():
    rstguard, gen, work = sys.argv[1:4]
    os.makedirs(work, exist_ok=True)
    subprocess.run([gen, "--out", work], check=True, stdout=subprocess.DEVNULL)
    names = sorted(f[:-5] for f in os.listdir(work) if f.endswith(".pcap"))
    passed = failed = 0
    missing = set(EXPECT) - {n.split(".")[0] for n in names}
    for name in names:
        base = name.split(".")[0]
        if base not in EXPECT:
            print(f"FAIL {name}: no expectation for this scenario")
            failed += 1
            continue
        exp = dict(EXPECT[base])
        exp.update(VARIANT_OVERRIDES.get(name, {}))
        ev_path = os.path.join(work, name + ".json")
        extra = []
        if "config" in exp:
            cfg = os.path.join(work, name + ".yaml")
            open(cfg, "w").write(exp["config"])
            extra = ["-c", cfg]
        r = subprocess.run([rstguard, "-q", "-r", os.path.join(work, name + ".pcap"), "-e", ev_path, *extra],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        failures = []
        if r.returncode != 0:
            failures.append(f"{name}: exit {r.returncode}: {r.stderr}")
        else:
            events = [json.loads(line) for line in open(ev_path)]
            check(name, events, exp, failures)
        if failures:
            failed += 1
            for f in failures:
                print("FAIL", f)
        else:
            passed += 1
            print("ok  ", name)
    for m in sorted(missing):
        print(f"FAIL {m}: expected scenario not generated")
        failed += 1
    print(f"scenarios: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

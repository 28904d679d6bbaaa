#!/usr/bin/env bash
# End-to-end: resets the Linux kernels produce themselves, through rstguard
# inline (net_af_packet between two network namespaces, tests/e2e/netns.sh).
# None of them may be called forged, and each must reach its receiver.
#
#   sudo tests/e2e/kernel_e2e.sh [--rstguard PATH] [-v]
#
# Cases (tests/e2e/kernel_peer.py plays the endpoints):
#   challenge-before  the server's last data segment is dropped before
#                     rstguard (tc on the server's egress), then the server
#                     aborts with SO_LINGER {1, 0}: its RST+ACK is in the
#                     client's window but past RCV.NXT; the client's kernel
#                     sends a challenge ACK, the closed server's kernel answers
#                     with a bare exact reset. The client gets ECONNRESET at
#                     once; both resets pass, neither is forged.
#   challenge-after   the same, the segment dropped after rstguard (tc on the
#                     client's ingress): rstguard saw the data.
#   crash             the server process is killed while its FIN is blocked
#                     (tc on its egress): the client's next data reaches a
#                     kernel with no socket, which answers with a bare reset
#                     (cause half_open); it passes, the client gets ECONNRESET.
#   scan-fin, scan-null, scan-xmas
#                     raw probes from the client to a closed port; the server's
#                     kernel answers RST+ACK; they pass, named fin_scan,
#                     null_scan, xmas_scan.
# Prints ok/FAIL per case and `kernel-e2e: N passed, N failed`; exit 1 on a
# failure, 2 on a usage error. Needs root, ip, tc, ethtool, python3.
set -u
set -o pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
RSTGUARD=${RSTGUARD:-$REPO/build/app/rstguard}
VERBOSE=0
while (($#)); do
  case $1 in
    --rstguard) RSTGUARD=${2:-}; shift 2 ;;
    -v) VERBOSE=1; shift ;;
    *) echo "kernel_e2e: unknown option $1" >&2; exit 2 ;;
  esac
done
[[ $EUID -eq 0 ]] || { echo "kernel_e2e: needs root" >&2; exit 2; }
[[ -x $RSTGUARD ]] || { echo "kernel_e2e: no rstguard at $RSTGUARD" >&2; exit 2; }
PY=$(command -v python3)

RG_ID=k$$
# shellcheck source=netns.sh
source "$HERE/netns.sh"
WORK=$(mktemp -d /tmp/rstguard-kernel-e2e.XXXXXX)
RG_PID=""
PIDS=()
log() { ((VERBOSE)) && echo "  [$SECONDS s] $*" >&2; return 0; }

cleanup() {
  local p
  [[ -n $RG_PID ]] && kill -KILL "$RG_PID" 2>/dev/null
  for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
  rg_topo_down
  rm -rf "/var/run/dpdk/rg-kernel-$$"
  ((VERBOSE)) || rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

wait_line() {  # FILE REGEX SECONDS
  local i
  for ((i = 0; i < $3 * 20; i++)); do
    grep -qE "$2" "$1" 2>/dev/null && return 0
    sleep 0.05
  done
  return 1
}

rg_topo_up || { echo "kernel_e2e: topology failed" >&2; exit 1; }
# Egress and ingress filters (tc clsact) on the namespace ends. A frame is
# dropped by redirecting it (mirred: the one action this kernel need not
# load) into a veth pair with no address, whose far end discards it (not
# addressed to it). The sender's transmit succeeds: its kernel believes the
# segment left, as when a router drops it.
for ns in "$RG_NS_SRV" "$RG_NS_CLI"; do
  ip netns exec "$ns" ip link add blk0 type veth peer name blk1 || exit 1
  ip netns exec "$ns" ip link set blk0 up
  ip netns exec "$ns" ip link set blk1 up
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.blk0.disable_ipv6=1 net.ipv6.conf.blk1.disable_ipv6=1 2>/dev/null
done
rg_ns_srv tc qdisc add dev "$RG_IF_SRV" clsact
rg_ns_cli tc qdisc add dev "$RG_IF_CLI" clsact
DROP=(action mirred egress redirect dev blk0)

"$RSTGUARD" --no-huge --no-pci -m 512 --file-prefix "rg-kernel-$$" -l 0-1 \
  --vdev "net_af_packet0,iface=$RG_IF_A" --vdev "net_af_packet1,iface=$RG_IF_B" -- \
  --mode inline --workers 1 -e "$WORK/events.json" --stats-json "$WORK/stats.json" -q \
  >"$WORK/rstguard.out" 2>"$WORK/rstguard.err" &
RG_PID=$!
wait_line "$WORK/rstguard.err" 'rstguard: info: ready' 30 ||
  { echo "kernel_e2e: rstguard not ready: $(tail -c 400 "$WORK/rstguard.err")" >&2; exit 1; }

declare -A PORT FAIL INFO
ORDER=()
fail() { FAIL[$1]+="${FAIL[$1]:+; }$2"; }
info() { INFO[$1]+="${INFO[$1]:+; }$2"; }

# A drop filter for the 777-byte tail segment (IPv4 total length 20 + 32 +
# 777 = 829: Linux data segments carry the 12-byte timestamp block).
drop_tail() {  # ns-cmd dev direction
  "$1" tc filter add dev "$2" "$3" protocol ip pref 10 u32 match u16 829 0xffff at 2 "${DROP[@]}"
}

run_challenge() {  # ID where
  local id=$1 where=$2 sport=$((7100 + ${#ORDER[@]})) cport=$((42000 + ${#ORDER[@]}))
  PORT[$id]=$cport
  if [[ $where == before ]]; then drop_tail rg_ns_srv "$RG_IF_SRV" egress
  else drop_tail rg_ns_cli "$RG_IF_CLI" ingress; fi
  ip netns exec "$RG_NS_SRV" "$PY" "$HERE/kernel_peer.py" server --port "$sport" --mode abort-lost \
    >"$WORK/$id.srv" 2>&1 &
  PIDS+=($!)
  wait_line "$WORK/$id.srv" '^listening' 5 || fail "$id" "server did not start"
  ip netns exec "$RG_NS_CLI" "$PY" "$HERE/kernel_peer.py" client --connect "$RG_SRV_IP:$sport" \
    --bind-port "$cport" --mode abort >"$WORK/$id.cli" 2>&1
  local line
  line=$(grep -m1 '^abort ' "$WORK/$id.cli")
  read -r _ res secs <<<"$line"
  if [[ $res != reset ]]; then
    fail "$id" "client: '${line:-$(tail -c 200 "$WORK/$id.cli")}', want ECONNRESET"
  elif ! awk -v s="$secs" 'BEGIN { exit !(s < 1.5) }'; then
    fail "$id" "ECONNRESET only after ${secs} s"
  else
    info "$id" "ECONNRESET ${secs} s after the echo (0.3 s pause)"
  fi
  if ((VERBOSE)); then
    rg_ns_srv tc -s filter show dev "$RG_IF_SRV" egress >&2
    rg_ns_cli tc -s filter show dev "$RG_IF_CLI" ingress >&2
  fi
  if [[ $where == before ]]; then rg_ns_srv tc filter del dev "$RG_IF_SRV" egress pref 10
  else rg_ns_cli tc filter del dev "$RG_IF_CLI" ingress pref 10; fi
}

run_crash() {
  local id=crash sport=7200 cport=42100
  PORT[$id]=$cport
  ip netns exec "$RG_NS_SRV" "$PY" "$HERE/kernel_peer.py" server --port "$sport" --mode crash \
    >"$WORK/$id.srv" 2>&1 &
  local srv=$!
  PIDS+=($srv)
  wait_line "$WORK/$id.srv" '^listening' 5 || fail "$id" "server did not start"
  ip netns exec "$RG_NS_CLI" "$PY" "$HERE/kernel_peer.py" client --connect "$RG_SRV_IP:$sport" \
    --bind-port "$cport" --mode crash --flag "$WORK/$id.go" >"$WORK/$id.cli" 2>&1 &
  local cli=$!
  wait_line "$WORK/$id.cli" '^hello alive' 5 || fail "$id" "no hello: $(cat "$WORK/$id.cli")"
  # The crash: no FIN leaves the server (TCP flags FIN, byte 33 with IHL 5).
  rg_ns_srv tc filter add dev "$RG_IF_SRV" egress protocol ip pref 20 u32 \
    match ip sport "$sport" 0xffff match u8 0x01 0x01 at 33 "${DROP[@]}"
  { kill -KILL "$srv"; wait "$srv"; } 2>/dev/null
  sleep 0.3
  touch "$WORK/$id.go"
  wait "$cli"
  local line
  line=$(grep -m1 '^probe ' "$WORK/$id.cli")
  [[ $line == "probe reset" ]] || fail "$id" "client: '${line:-nothing}', want ECONNRESET"
  [[ $line == "probe reset" ]] && info "$id" "ECONNRESET on the next data"
  rg_ns_srv tc filter del dev "$RG_IF_SRV" egress pref 20
}

run_scan() {  # probe
  local id=scan-$1 sport=$((43000 + ${#ORDER[@]}))
  PORT[$id]=$sport
  local line
  line=$(ip netns exec "$RG_NS_CLI" "$PY" "$HERE/kernel_peer.py" scan --src "$RG_CLI_IP" \
    --dst "$RG_SRV_IP" --port 7999 --sport "$sport" --probe "$1" 2>&1)
  [[ $line == "scan $1 reset" ]] || fail "$id" "scanner: '$line', want the closed port's reset"
  [[ $line == "scan $1 reset" ]] && info "$id" "reset reached the scanner"
}

for c in challenge-before challenge-after crash scan-fin scan-null scan-xmas; do
  ORDER+=("$c")
  log "case $c"
  case $c in
    challenge-before) run_challenge "$c" before ;;
    challenge-after) run_challenge "$c" after ;;
    crash) run_crash ;;
    scan-*) run_scan "${c#scan-}" ;;
  esac
done
sleep 0.3
kill -INT "$RG_PID"
for _ in $(seq 100); do kill -0 "$RG_PID" 2>/dev/null || break; sleep 0.1; done
wait "$RG_PID"
rc=$?
RG_PID=""
((rc == 0)) || { echo "kernel_e2e: rstguard exit $rc: $(tail -c 400 "$WORK/rstguard.err")" >&2; exit 1; }

# The verdicts: per case, the resets on its client port.
ports=()
for c in "${ORDER[@]}"; do ports+=("${PORT[$c]}"); done
verdicts=$("$PY" - "$WORK/events.json" "${ORDER[@]}" -- "${ports[@]}" <<'EOF'
import json, sys
argv = sys.argv[1:]
path, rest = argv[0], argv[1:]
sep = rest.index("--")
ids, ports = rest[:sep], [int(p) for p in rest[sep + 1:]]
events = [json.loads(l) for l in open(path)]
want_cause = {"crash": "half_open", "scan-fin": "fin_scan", "scan-null": "null_scan",
              "scan-xmas": "xmas_scan"}
for cid, port in zip(ids, ports):
    mine = [e for e in events if e["event_type"] != "incident" and port in (e.get("src_port"), e.get("dest_port"))]
    rsts = [e for e in mine if e["event_type"] == "rst"]
    problems = []
    if not rsts:
        problems.append("no reset event")
    for e in mine:
        v = e["verdict"]
        if v["label"] == "forged" or e["action"] in ("drop", "hold"):
            problems.append(f"#{e['pkt_num']} {e['event_type']} {v['label']} {e['action']} {v['evidence']}")
    if cid.startswith("challenge"):
        if len(rsts) != 2:
            problems.append(f"{len(rsts)} resets, want the abort and the answer")
        elif rsts[1]["verdict"].get("answers") != "challenge_ack":
            problems.append(f"the second reset answers {rsts[1]['verdict'].get('answers')}, want challenge_ack")
    if cid in want_cause and rsts and rsts[-1]["verdict"]["cause"] != want_cause[cid]:
        problems.append(f"cause {rsts[-1]['verdict']['cause']}, want {want_cause[cid]}")
    brief = "; ".join(f"{e['verdict']['label']}/{e['verdict']['validity']}/{e['verdict']['cause']}/{e['action']}"
                      + (f" answers {e['verdict']['answers']}" if 'answers' in e['verdict'] else "") for e in rsts)
    print(cid, "FAIL" if problems else "ok", (", ".join(problems) + " | " if problems else "") + brief)
EOF
)
while read -r cid st rest; do
  [[ $st == FAIL ]] && fail "$cid" "$rest"
  [[ $st == ok ]] && info "$cid" "$rest"
done <<<"$verdicts"

PASS=0 FAILED=0
for c in "${ORDER[@]}"; do
  if [[ -z ${FAIL[$c]:-} ]]; then
    PASS=$((PASS + 1)); printf 'ok   %-17s %s\n' "$c" "${INFO[$c]:-}"
  else
    FAILED=$((FAILED + 1)); printf 'FAIL %-17s %s\n' "$c" "${FAIL[$c]}"
  fi
done
echo "kernel-e2e: $PASS passed, $FAILED failed"
((FAILED == 0))

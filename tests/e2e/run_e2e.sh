#!/usr/bin/env bash
# End-to-end test: real Linux TCP between two network namespaces, through a
# forwarder (rstguard, or a Linux bridge standing in for it), under forged
# resets injected by tests/e2e/attacker.py.
#
#   sudo tests/e2e/run_e2e.sh [--forwarder bridge|rstguard] [--rstguard PATH]
#                             [--suites LIST] [--offline-judge] [--keep] [-v]
#
# --forwarder bridge (default; env RG_E2E_FORWARDER): the two root-side veth
#     ends are joined by a bridge. Suite "bridge": TCP outcomes only, plus the
#     mirror tap (every frame copied exactly once, checksums real).
#     --offline-judge: also judge the mirror capture with `rstguard -r` and
#     check the verdicts (as an inline rstguard would have reported them).
# --forwarder rstguard: rstguard's live modes (--rstguard PATH, env RSTGUARD;
#     default build/app/rstguard). Suites (default all):
#       inline    --mode inline, default policy: forged resets dropped
#       alert     --mode inline --alert-only: the exact reset kills (proof)
#       mirror    --mode mirror on a tc mirror port; verdicts, no protection
#       workers2  inline, qpairs=2, --workers 2; STATS flows_split 0, >1 worker busy
#       workers2sw  the same with --software-rehash: connections kept on one
#                 worker by rstguard's own hash (STATS: handoffs, none lost)
#       stream    no DPDK: `tcpdump -U -w` on the mirror port into a FIFO that
#                 `rstguard -r` reads as it comes (events before the end)
# Environment: RG_E2E_LCORES (EAL core option, default "-l 0-1"),
#     RG_E2E_LCORES_W2 (for workers2, default "--lcores 0@0,1@0,2@1"),
#     RG_E2E_RSTGUARD_ARGS (extra app
#     options, e.g. "-c my.yaml"), RG_E2E_MAX_SECONDS (time budget, default 110).
#
# Prints ok/FAIL per case and `e2e: N passed, N failed`; exits 1 on any failure
# (2 on a usage error). Needs root, ip, tc, ethtool, python3.
set -u
set -o pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
FORWARDER=${RG_E2E_FORWARDER:-bridge}
RSTGUARD=${RSTGUARD:-$REPO/build/app/rstguard}
SUITES=""
OFFLINE_JUDGE=0
KEEP=0
VERBOSE=0
LCORES=${RG_E2E_LCORES:--l 0-1}
# Two workers need three lcores (main + one per worker); on a 2-CPU machine
# map them onto the two CPUs (the main lcore mostly sleeps).
LCORES_W2=${RG_E2E_LCORES_W2:---lcores 0@0,1@0,2@1}
MAX_SECONDS=${RG_E2E_MAX_SECONDS:-110}
read -r -a EXTRA_APP_ARGS <<<"${RG_E2E_RSTGUARD_ARGS:-}"

usage() { sed -n '2,29p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
while (($#)); do
  case $1 in
    --forwarder) FORWARDER=${2:-}; shift 2 ;;
    --forwarder=*) FORWARDER=${1#*=}; shift ;;
    --rstguard) RSTGUARD=${2:-}; shift 2 ;;
    --rstguard=*) RSTGUARD=${1#*=}; shift ;;
    --suites) SUITES=${2:-}; shift 2 ;;
    --suites=*) SUITES=${1#*=}; shift ;;
    --offline-judge) OFFLINE_JUDGE=1; shift ;;
    --keep) KEEP=1; shift ;;
    -v|--verbose) VERBOSE=1; shift ;;
    -h|--help) usage ;;
    *) echo "run_e2e: unknown option $1" >&2; usage ;;
  esac
done
case $FORWARDER in
  bridge) SUITES=${SUITES:-bridge} ;;
  rstguard) SUITES=${SUITES:-inline,alert,mirror,workers2,workers2sw,stream} ;;
  *) echo "run_e2e: --forwarder must be bridge or rstguard" >&2; exit 2 ;;
esac
SUITES=${SUITES//,/ }
for s in $SUITES; do
  case $s in
    bridge) [[ $FORWARDER == bridge ]] || { echo "run_e2e: suite bridge needs --forwarder bridge" >&2; exit 2; } ;;
    inline|alert|mirror|workers2|workers2sw|stream) [[ $FORWARDER == rstguard ]] ||
      { echo "run_e2e: suite $s needs --forwarder rstguard" >&2; exit 2; } ;;
    *) echo "run_e2e: unknown suite $s" >&2; exit 2 ;;
  esac
done
[[ $EUID -eq 0 ]] || { echo "run_e2e: needs root (namespaces, veths, raw sockets)" >&2; exit 2; }
for t in ip tc ethtool python3; do
  command -v "$t" >/dev/null || { echo "run_e2e: $t not found" >&2; exit 2; }
done
if [[ $FORWARDER == rstguard || $OFFLINE_JUDGE == 1 ]]; then
  [[ -x $RSTGUARD ]] || { echo "run_e2e: rstguard binary not found: $RSTGUARD (--rstguard PATH)" >&2; exit 2; }
fi
# The real interpreter, not a version-manager shim: it starts faster and works
# the same under `ip netns exec`.
PY=$(python3 -c 'import sys; print(sys.executable)') || exit 2

# shellcheck source=netns.sh
source "$HERE/netns.sh"
WORK=$(mktemp -d "/tmp/rg-e2e-$$.XXXXXX") || exit 2
START=$SECONDS

PIDS=()          # every background process this script started
RG_PID=""        # the running rstguard, if any
PASS=0 FAIL=0
ANY_FAIL=0

log() { ((VERBOSE)) && echo "  [$((SECONDS - START))s] $*" >&2; return 0; }

kill_pid() {  # PID: TERM, then KILL after 2 s; only processes we started
  local p=$1 i
  kill -0 "$p" 2>/dev/null || { wait "$p" 2>/dev/null; return 0; }
  kill -TERM "$p" 2>/dev/null
  for ((i = 0; i < 40; i++)); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
  if kill -0 "$p" 2>/dev/null; then
    kill -KILL "$p" 2>/dev/null
    for ((i = 0; i < 100; i++)); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
  fi
  if kill -0 "$p" 2>/dev/null; then
    # Stuck in the kernel: waiting for it would hang the whole run.
    echo "run_e2e: pid $p survives SIGKILL: $(ps -o stat=,wchan:32=,args= -p "$p" 2>/dev/null)" >&2
    return 1
  fi
  wait "$p" 2>/dev/null
  return 0
}

# A run that stops making progress fails with what every process it
# started is doing, instead of being killed silently by a test timeout.
WATCHDOG_SECONDS=${RG_E2E_WATCHDOG:-$((MAX_SECONDS + 100))}
on_watchdog() {
  echo "run_e2e: no end after ${WATCHDOG_SECONDS}s (current: ${CURRENT:-setup}); processes:" >&2
  local p
  for p in "${PIDS[@]}"; do
    kill -0 "$p" 2>/dev/null && echo "    $(ps -o pid=,stat=,etime=,wchan:32=,args= -p "$p" 2>/dev/null)" >&2
  done
  KEEP=1
  exit 1
}
trap on_watchdog USR1
# Detached from our output: a test runner waits for every holder of its pipe.
( sleep "$WATCHDOG_SECONDS" && kill -USR1 $$ ) </dev/null >/dev/null 2>&1 &
WATCHDOG_PID=$!

cleanup() {
  local p
  trap - EXIT INT TERM USR1
  pkill -P "$WATCHDOG_PID" 2>/dev/null  # its sleep
  kill "$WATCHDOG_PID" 2>/dev/null
  for p in "${PIDS[@]}"; do kill_pid "$p"; done
  rm_dpdk_runtime
  rg_topo_down
  local left
  left=$(rg_topo_leftovers)
  [[ -n $left ]] && echo "run_e2e: left behind: $left" >&2
  if ((KEEP || ANY_FAIL)); then
    echo "run_e2e: logs kept in $WORK" >&2
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT
trap 'echo "run_e2e: interrupted" >&2; exit 130' INT TERM

# wait_line FILE ERE SECONDS [PID]: wait until FILE has a line matching ERE;
# give up early when PID has exited.
wait_line() {
  local f=$1 re=$2 n=$(($3 * 20)) pid=${4:-} i
  for ((i = 0; i < n; i++)); do
    grep -qE -- "$re" "$f" 2>/dev/null && return 0
    if [[ -n $pid ]] && ! kill -0 "$pid" 2>/dev/null; then
      grep -qE -- "$re" "$f" 2>/dev/null
      return
    fi
    sleep 0.05
  done
  return 1
}

# wait_exit PID SECONDS: the exit status, or 124 (and the process killed) on timeout.
wait_exit() {
  local p=$1 n=$(($2 * 20)) i
  for ((i = 0; i < n; i++)); do
    if ! kill -0 "$p" 2>/dev/null; then
      wait "$p" 2>/dev/null
      return
    fi
    sleep 0.05
  done
  kill_pid "$p"
  return 124
}

bg() {  # start an external command in the background (no subshell: $! is the
        # command itself, so kill_pid reaches it), remember its pid in BG_PID
  "$@" &
  BG_PID=$!
  PIDS+=("$BG_PID")
}

# ------------------------------------------------------------- results --

declare -A C_PORT C_FAIL C_INFO C_KIND C_ATK
declare -a C_ORDER
case_fail() { C_FAIL[$1]+="${C_FAIL[$1]:+; }$2"; }
case_info() { C_INFO[$1]+="${C_INFO[$1]:+; }$2"; }

report_case() {
  local id=$1
  if [[ -z ${C_FAIL[$id]:-} ]]; then
    PASS=$((PASS + 1))
    printf 'ok   %-18s %s\n' "$id" "${C_INFO[$id]:-}"
  else
    FAIL=$((FAIL + 1)); ANY_FAIL=1
    printf 'FAIL %-18s %s\n' "$id" "${C_FAIL[$id]}${C_INFO[$id]:+ | ${C_INFO[$id]}}"
  fi
}

# ----------------------------------------------------------- the cases --

SRV_ECHO=7000      # echo server
SRV_LINGER=7001    # --linger0 server
SRV_CLOSED=7999    # nothing listens here

suite_cases() {
  case $1 in
    bridge|inline|mirror) echo "plain oow inwin exact sweep linger0 closed both badsum" ;;
    stream) echo "plain oow exact linger0 closed both" ;;
    alert) echo "plain exact both" ;;
    workers2) echo "plain oow exact linger0 closed both plain-2 plain-3 plain-4 plain-5 plain-6 plain-7" ;;
    workers2sw) echo "plain oow exact both plain-2 plain-3 plain-4 plain-5" ;;
  esac
}

# Does the forwarder protect the client in this suite (drop forged resets)?
protects() { [[ $FORWARDER == rstguard && ($1 == inline || $1 == workers2 || $1 == workers2sw) ]]; }

# The probe result a case must give after the attack.
expect_probe() {  # SUITE KIND
  case $2 in
    exact|both) if protects "$1"; then echo alive; else echo reset; fi ;;
    *) echo alive ;;
  esac
}

# run_conn_case ID SUITE KIND PORT: one fresh connection, attacked per KIND.
run_conn_case() {
  local id=$1 suite=$2 kind=$3 port=$4
  local dir=$WORK/${1//\//_}
  mkdir -p "$dir"
  local client=$RG_CLI_IP:$port
  local atk_pid="" cli_pid fd line want
  case $kind in
    linger0|closed)
      local dport=$SRV_LINGER
      [[ $kind == closed ]] && dport=$SRV_CLOSED
      bg ip netns exec "$RG_NS_CLI" "$PY" "$HERE/tcp_peer.py" client --connect "$RG_SRV_IP:$dport" \
        --bind "$RG_CLI_IP" --bind-port "$port" --timeout 3 --max-time 10 >"$dir/client.out" 2>"$dir/client.err"
      cli_pid=$BG_PID
      wait_exit "$cli_pid" 12 || case_fail "$id" "client exited $? ($(tail -c 300 "$dir/client.err"))"
      if [[ $kind == closed ]]; then
        line=$(grep -m1 '^connect ' "$dir/client.out")
        [[ $line == "connect refused" ]] || case_fail "$id" "client: '${line:-nothing}', want 'connect refused'"
        case_info "$id" "ECONNREFUSED"
      else
        line=$(grep -m1 '^hello ' "$dir/client.out")
        [[ $line == "hello reset" ]] || case_fail "$id" "client: '${line:-$(head -1 "$dir/client.out")}', want 'hello reset'"
        case_info "$id" "ECONNRESET from the abortive close"
      fi
      return
      ;;
  esac

  if [[ $kind != plain ]]; then
    local extra=()
    [[ $kind == both ]] && extra=(--peer-netns "$RG_NS_CLI" --peer-iface "$RG_IF_CLI")
    local atk=$kind
    [[ $kind == badsum ]] && { atk=exact; extra+=(--bad-checksum); }
    bg ip netns exec "$RG_NS_SRV" "$PY" "$HERE/attacker.py" --iface "$RG_IF_SRV" --client "$client" \
      --server "$RG_SRV_IP:$SRV_ECHO" --attack "$atk" "${extra[@]}" --max-time 8 \
      >"$dir/attacker.out" 2>"$dir/attacker.err"
    atk_pid=$BG_PID
    if ! wait_line "$dir/attacker.out" '^ready$' 5 "$atk_pid"; then
      case_fail "$id" "attacker did not start: $(tail -c 300 "$dir/attacker.err")"
      kill_pid "$atk_pid"
      return
    fi
  fi

  mkfifo "$dir/ctl"
  exec {fd}<>"$dir/ctl"   # read-write: never blocks, the client sees EOF only when we close
  bg ip netns exec "$RG_NS_CLI" "$PY" "$HERE/tcp_peer.py" client --connect "$RG_SRV_IP:$SRV_ECHO" \
    --bind "$RG_CLI_IP" --bind-port "$port" --ctl "$dir/ctl" --timeout 2 --max-time 20 \
    >"$dir/client.out" 2>"$dir/client.err"
  cli_pid=$BG_PID
  if ! wait_line "$dir/client.out" '^hello ' 5 "$cli_pid"; then
    case_fail "$id" "client: no hello ($(head -c 200 "$dir/client.out") $(tail -c 200 "$dir/client.err"))"
  else
    line=$(grep -m1 '^hello ' "$dir/client.out")
    [[ $line == "hello alive" ]] || case_fail "$id" "before the attack: '$line'"
  fi

  if [[ -n $atk_pid ]]; then
    wait_exit "$atk_pid" 10
    local rc=$?
    ((rc == 0)) || case_fail "$id" "attacker exit $rc: $(tail -c 300 "$dir/attacker.err")"
    sleep 0.3  # let challenge ACKs and late frames settle
  fi

  echo probe >&"$fd"
  if wait_line "$dir/client.out" '^probe ' 5 "$cli_pid"; then
    line=$(grep -m1 '^probe ' "$dir/client.out")
    want=$(expect_probe "$suite" "$kind")
    if [[ $line == "probe $want" ]]; then
      case_info "$id" "probe ${line#probe }"
    else
      case_fail "$id" "probe ${line#probe }, want $want"
    fi
  else
    case_fail "$id" "no probe result"
  fi
  echo quit >&"$fd"
  wait_exit "$cli_pid" 4 >/dev/null
  exec {fd}>&-

  if [[ -n $atk_pid && -s $dir/attacker.out ]]; then
    # Sent frames (for the tap check) and, where the reset reached the client,
    # the challenge ACK the kernel must answer an in-window reset with.
    C_ATK[$id]=$(tail -1 "$dir/attacker.out" | "$PY" -c '
import json, sys
j = json.loads(sys.stdin.read())
s = j.get("sent", [])
print(sum(1 for x in s if x["dir"] == "to_client"), sum(1 for x in s if x["dir"] == "to_server"),
      j.get("challenge_acks", 0))' 2>/dev/null)
    # An in-window reset (inwin, and the one of the sweep that lands in the
    # window) that reaches the client makes its kernel send a challenge ACK;
    # where rstguard drops it, the client must stay silent.
    if [[ $kind == inwin || $kind == sweep ]]; then
      local ca=${C_ATK[$id]##* }
      if protects "$suite"; then
        if [[ ${ca:-0} -eq 0 ]]; then case_info "$id" "no challenge ACK (reset dropped)"
        else case_fail "$id" "the client sent a challenge ACK: the in-window reset reached it"; fi
      else
        if [[ ${ca:-0} -ge 1 ]]; then case_info "$id" "challenge ACK seen"
        else case_fail "$id" "no challenge ACK from the client after the in-window reset"; fi
      fi
    fi
  fi
}

# ---------------------------------------------------- forwarder control --

# rstguard removes its DPDK runtime directory when it exits, but not when it
# is killed: remove ours (file prefix rg-e2e-<our pid>-<suite>) once it is gone.
rm_dpdk_runtime() {
  local d
  for d in "/var/run/dpdk/rg-e2e-$$-"*; do
    [[ -d $d ]] && rm -rf -- "$d"
  done
  return 0
}

start_rstguard() {  # SUITE
  local suite=$1 dir=$WORK/rstguard-$1 mode=inline workers=1 vdev=() cores
  read -r -a cores <<<"$LCORES"
  mkdir -p "$dir"
  case $suite in
    inline|alert) vdev=(--vdev "net_af_packet0,iface=$RG_IF_A" --vdev "net_af_packet1,iface=$RG_IF_B") ;;
    workers2|workers2sw) workers=2
      read -r -a cores <<<"$LCORES_W2"
      vdev=(--vdev "net_af_packet0,iface=$RG_IF_A,qpairs=2" --vdev "net_af_packet1,iface=$RG_IF_B,qpairs=2") ;;
    mirror) mode=mirror; vdev=(--vdev "net_af_packet0,iface=$RG_IF_M") ;;
  esac
  local app=(--mode "$mode" --workers "$workers" -e "$dir/events.json" --stats-json "$dir/stats.json" -q)
  [[ $suite == alert ]] && app+=(--alert-only)
  if [[ $suite == workers2sw ]]; then
    # rstguard's own hash picks each connection's worker, and its seed is
    # random per run by default; the client ports are fixed, so a pinned seed
    # makes the split the same every run (both workers get connections).
    printf 'flow_table:\n  hash_seed: 0\n' >"$dir/seed.yaml"
    app+=(--software-rehash -c "$dir/seed.yaml")
  fi
  app+=("${EXTRA_APP_ARGS[@]}")
  local cmd=("$RSTGUARD" --no-huge --no-pci -m 512 --file-prefix "rg-e2e-$$-$suite" "${cores[@]}"
    "${vdev[@]}" -- "${app[@]}")
  echo "${cmd[*]}" >"$dir/cmdline"
  log "start: ${cmd[*]}"
  bg "${cmd[@]}" >"$dir/stdout" 2>"$dir/stderr"
  RG_PID=$BG_PID
  if ! wait_line "$dir/stderr" 'rstguard: info: ready' 30 "$RG_PID"; then
    echo "run_e2e: rstguard ($suite) not ready in 30 s; stderr:" >&2
    tail -n 20 "$dir/stderr" | sed 's/^/    /' >&2
    kill_pid "$RG_PID"; RG_PID=""
    return 1
  fi
}

stop_rstguard() {  # SUITE -> 0 when it exited 0 on SIGINT and wrote its files
  local suite=$1 dir=$WORK/rstguard-$1 rc
  [[ -n $RG_PID ]] || return 1
  kill -INT "$RG_PID" 2>/dev/null
  wait_exit "$RG_PID" 15
  rc=$?
  RG_PID=""
  rm_dpdk_runtime
  if ((rc != 0)); then
    echo "run_e2e: rstguard ($suite) exit status $rc after SIGINT (124 = did not stop in 15 s); stderr:" >&2
    tail -n 20 "$dir/stderr" | sed 's/^/    /' >&2
    return 1
  fi
  [[ -f $dir/events.json && -f $dir/stats.json ]] || { echo "run_e2e: rstguard ($suite) wrote no EVENTS/STATS" >&2; return 1; }
}

# Suite "stream": tcpdump on the mirror port writes into a FIFO, rstguard
# reads it with -r as the packets come.
TD_PID=""
start_stream() {
  local dir=$WORK/rstguard-stream
  mkdir -p "$dir"
  command -v tcpdump >/dev/null || { echo "run_e2e: tcpdump not found (tools/install-deps)" >&2; return 1; }
  mkfifo "$dir/fifo"
  bg "$RSTGUARD" -r "$dir/fifo" -q -e "$dir/events.json" --stats-json "$dir/stats.json" \
    "${EXTRA_APP_ARGS[@]}" >"$dir/stdout" 2>"$dir/stderr"
  RG_PID=$BG_PID
  bg tcpdump -i "$RG_IF_M" -n -U -s 0 -w "$dir/fifo" tcp 2>"$dir/tcpdump.err"
  TD_PID=$BG_PID
  if ! wait_line "$dir/tcpdump.err" 'listening on' 10 "$TD_PID"; then
    echo "run_e2e: tcpdump did not start: $(tail -c 300 "$dir/tcpdump.err")" >&2
    return 1
  fi
}

# -> 0 when the events were written while the capture was still running,
# and rstguard ended cleanly (status 0) at the end of the stream.
stop_stream() {
  local dir=$WORK/rstguard-stream rc live
  [[ -n $RG_PID && -n $TD_PID ]] || return 1
  sleep 0.3  # the last frames reach the FIFO
  live=$(grep -c '"event_type":"rst"' "$dir/events.json" 2>/dev/null)
  kill -INT "$TD_PID" 2>/dev/null
  wait_exit "$TD_PID" 5 >/dev/null
  TD_PID=""
  wait_exit "$RG_PID" 10
  rc=$?
  RG_PID=""
  if ((rc != 0)); then
    echo "run_e2e: rstguard -r FIFO exit status $rc at the end of the stream; stderr:" >&2
    tail -n 20 "$dir/stderr" | sed 's/^/    /' >&2
    return 1
  fi
  if ((${live:-0} == 0)); then
    echo "run_e2e: no reset event was written while the capture ran" >&2
    return 1
  fi
  log "stream: $live reset events written before the end of the stream"
  [[ -f $dir/events.json && -f $dir/stats.json ]]
}

# ---------------------------------------------------------------- suites --

run_suite() {
  local suite=$1 sidx=$2 cap="" cap_pid="" dir=$WORK/suite-$1 ok=1
  mkdir -p "$dir"
  log "suite $suite: topology"
  CURRENT="suite $suite: setup"
  if ! { rg_topo_up && case $suite in
           bridge) rg_bridge_up && rg_mirror_up ;;
           mirror|stream) rg_bridge_up && rg_mirror_up ;;
           *) true ;;
         esac; } 2>"$dir/topo.err"; then
    C_ORDER+=("$suite/setup"); case_fail "$suite/setup" "topology: $(tail -c 300 "$dir/topo.err")"
    report_case "$suite/setup"; rg_topo_down; return
  fi

  bg ip netns exec "$RG_NS_SRV" "$PY" "$HERE/tcp_peer.py" server --port $SRV_ECHO --max-time 100 >"$dir/echo.out" 2>&1
  local srv1=$BG_PID
  bg ip netns exec "$RG_NS_SRV" "$PY" "$HERE/tcp_peer.py" server --port $SRV_LINGER --linger0 --max-time 100 >"$dir/linger.out" 2>&1
  local srv2=$BG_PID
  wait_line "$dir/echo.out" '^listening' 5 "$srv1" && wait_line "$dir/linger.out" '^listening' 5 "$srv2" || ok=0

  if [[ $suite == bridge || $suite == mirror ]]; then
    cap=$dir/mirror.pcap
    bg "$PY" "$HERE/capture.py" --iface "$RG_IF_M" -w "$cap" --max-time 100 >"$dir/capture.out" 2>"$dir/capture.err"
    cap_pid=$BG_PID
    wait_line "$dir/capture.out" '^ready$' 5 "$cap_pid" || ok=0
  fi
  if ((ok)) && [[ $suite == stream ]]; then
    start_stream || ok=0
  elif ((ok)) && [[ $FORWARDER == rstguard ]]; then
    start_rstguard "$suite" || ok=0
  fi
  if ((!ok)); then
    C_ORDER+=("$suite/setup"); case_fail "$suite/setup" "servers, capture or rstguard did not start (see $dir)"
    report_case "$suite/setup"
    [[ -n $RG_PID ]] && kill_pid "$RG_PID"
    [[ -n $TD_PID ]] && kill_pid "$TD_PID"
    kill_pid "$srv1"; kill_pid "$srv2"; [[ -n $cap_pid ]] && kill_pid "$cap_pid"
    rg_topo_down
    return
  fi

  local c idx=0 ids=()
  for c in $(suite_cases "$suite"); do
    local id=$suite/$c port=$((41000 + sidx * 100 + idx))
    idx=$((idx + 1))
    C_ORDER+=("$id"); ids+=("$id")
    C_PORT[$id]=$port
    C_KIND[$id]=${c%%-*}
    if ((SECONDS - START > MAX_SECONDS)); then
      case_fail "$id" "not run: time budget of ${MAX_SECONDS}s spent"
      continue
    fi
    log "case $id (client port $port)"
    CURRENT="case $id"
    run_conn_case "$id" "$suite" "${C_KIND[$id]}" "$port"
  done

  # Stop the forwarder side and check what it reported.
  CURRENT="suite $suite: stopping"
  local events="" policy=any stats_ok=1
  if [[ $suite == stream ]]; then
    if stop_stream; then
      events=$WORK/rstguard-stream/events.json
    else
      for id in "${ids[@]}"; do case_fail "$id" "no EVENTS: the stream run did not end cleanly"; done
    fi
    policy=any
  elif [[ $FORWARDER == rstguard ]]; then
    if stop_rstguard "$suite"; then
      events=$WORK/rstguard-$suite/events.json
    else
      stats_ok=0
      for id in "${ids[@]}"; do case_fail "$id" "no EVENTS: rstguard did not stop cleanly"; done
    fi
    case $suite in inline|workers2|workers2sw) policy=drop ;; alert) policy=alert ;; mirror) policy=any ;; esac
  fi
  if [[ -n $cap_pid ]]; then
    kill -INT "$cap_pid" 2>/dev/null
    wait_exit "$cap_pid" 5 >/dev/null
  fi
  if [[ $suite == bridge && $OFFLINE_JUDGE == 1 ]]; then
    local odir=$WORK/offline
    mkdir -p "$odir"
    if "$RSTGUARD" -r "$cap" -e "$odir/events.json" --stats-json "$odir/stats.json" -q \
        "${EXTRA_APP_ARGS[@]}" >"$odir/stdout" 2>"$odir/stderr"; then
      events=$odir/events.json policy=drop
    else
      for id in "${ids[@]}"; do case_fail "$id" "offline judge failed: $(tail -c 200 "$odir/stderr")"; done
    fi
  fi

  for id in "${ids[@]}"; do
    local kind=${C_KIND[$id]} client=$RG_CLI_IP:${C_PORT[$id]} out
    if [[ -n $events ]]; then
      if out=$("$PY" "$HERE/check.py" events --events "$events" --case "$kind" --policy "$policy" --client "$client" 2>&1); then
        case_info "$id" "$out"
      else
        case_fail "$id" "verdict: $out"
      fi
    fi
    if [[ -n $cap ]]; then
      # The mirror tap: each reset copied exactly once; only the badsum frame has a bad checksum.
      local to_c=0 to_s=0 bad=0
      case $kind in
        plain) ;;
        linger0|closed) to_c=1 ;;
        *) read -r to_c to_s _ <<<"${C_ATK[$id]:-0 0 0}" ;;
      esac
      [[ $kind == badsum ]] && bad=$to_c
      if out=$("$PY" "$HERE/check.py" taps --pcap "$cap" --client "$client" --rst-to-client "$to_c" \
          --rst-to-server "$to_s" --bad-checksums "$bad" 2>&1); then
        ((VERBOSE)) && case_info "$id" "$out"
      else
        case_fail "$id" "mirror tap: $out"
      fi
    fi
  done
  if [[ ($suite == workers2 || $suite == workers2sw) && $FORWARDER == rstguard ]]; then
    C_ORDER+=("$suite/stats"); ids+=("$suite/stats")
    if ((stats_ok)); then
      local out handoff=()
      [[ $suite == workers2sw ]] && handoff=(--handoff)
      if out=$("$PY" "$HERE/check.py" stats --stats "$WORK/rstguard-$suite/stats.json" --workers 2 "${handoff[@]}" 2>&1); then
        case_info "$suite/stats" "$out"
      else
        case_fail "$suite/stats" "$out"
      fi
    else
      case_fail "$suite/stats" "no STATS: rstguard did not stop cleanly"
    fi
  fi
  for id in "${ids[@]}"; do report_case "$id"; done

  kill_pid "$srv1"; kill_pid "$srv2"
  rg_topo_down
}

echo "e2e: forwarder $FORWARDER, suites: $SUITES$( ((OFFLINE_JUDGE)) && echo ', offline judge of the mirror capture')"
sidx=0
for s in $SUITES; do
  run_suite "$s" "$sidx"
  sidx=$((sidx + 1))
done
echo "e2e: $((SECONDS - START)) s"
echo "e2e: $PASS passed, $FAIL failed"
((FAIL == 0))

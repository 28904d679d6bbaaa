# shellcheck shell=bash
# Network-namespace topology for the rstguard end-to-end tests. Source it.
#
#   client ns rg-cli-ID            root ns                          server ns rg-srv-ID
#   cli0 10.77.0.1/24  <-veth->  rgA<ID>  [forwarder]  rgB<ID>  <-veth->  srv0 10.77.0.2/24
#
# The forwarder between rgA (rstguard port 0, client side) and rgB (port 1,
# server side) is either rstguard inline (nothing else needed) or a Linux
# bridge rgbr<ID> (rg_bridge_up): the stand-in, and the mirror-mode path.
# rg_mirror_up adds a veth pair rgM<ID>/rgMp<ID> and tc rules on rgA that copy
# every frame in both directions out of rgMp; the copies arrive on rgM, the
# port a mirror-mode rstguard (or tcpdump) reads.
#
# Every name carries RG_ID (default: the sourcing shell's $$), so parallel
# runs do not collide. Offloads are off on every veth end so frames cross
# whole (no TSO/GSO/GRO super-frames) with real checksums, and the receiving
# kernels verify checksums in software (rx off), so a bad checksum in an
# injected frame really gets it dropped.
#
# Functions: rg_topo_up, rg_bridge_up, rg_mirror_up, rg_topo_down,
# rg_ns_cli / rg_ns_srv (run a command in a namespace). All are idempotent on
# teardown and quiet; setup functions return non-zero on failure with a
# message on stderr.

RG_ID=${RG_ID:-$$}
RG_NS_CLI=rg-cli-$RG_ID
RG_NS_SRV=rg-srv-$RG_ID
RG_IF_CLI=cli0              # in the client namespace
RG_IF_SRV=srv0              # in the server namespace
RG_IF_A=rgA$RG_ID           # root end of the client veth: rstguard port 0
RG_IF_B=rgB$RG_ID           # root end of the server veth: rstguard port 1
RG_BR=rgbr$RG_ID            # the stand-in / mirror-mode bridge
RG_IF_M=rgM$RG_ID           # mirror copies arrive here (read by rstguard --mode mirror)
RG_IF_MP=rgMp$RG_ID         # tc mirrors onto this end
RG_CLI_IP=10.77.0.1
RG_SRV_IP=10.77.0.2
RG_PREFIX_LEN=24

_rg_err() { echo "netns.sh: $*" >&2; }

rg_ns_cli() { ip netns exec "$RG_NS_CLI" "$@"; }
rg_ns_srv() { ip netns exec "$RG_NS_SRV" "$@"; }

# rg_offloads_off DEV [NETNS]: frames whole, checksums computed and verified in software.
rg_offloads_off() {
  local dev=$1 ns=${2:-} pre=()
  [[ -n $ns ]] && pre=(ip netns exec "$ns")
  "${pre[@]}" ethtool -K "$dev" tx off rx off tso off gso off gro off >/dev/null 2>&1
  # Some features may be fixed; check the ones that matter.
  local k
  k=$("${pre[@]}" ethtool -k "$dev" 2>/dev/null) || { _rg_err "ethtool -k $dev failed"; return 1; }
  if grep -qE '^(tx-checksumming|tcp-segmentation-offload|generic-segmentation-offload|generic-receive-offload): on' <<<"$k"; then
    _rg_err "offloads still on for $dev: $(grep -E '^(tx-checksumming|tcp-segmentation-offload|generic-segmentation-offload|generic-receive-offload):' <<<"$k" | tr '\n' ' ')"
    return 1
  fi
}

_rg_no_ipv6() {  # DEV [NETNS]: no IPv6 link-local chatter (ND, MLD) on the test links
  local dev=$1 ns=${2:-} pre=()
  [[ -n $ns ]] && pre=(ip netns exec "$ns")
  "${pre[@]}" sysctl -qw "net.ipv6.conf.$dev.disable_ipv6=1" >/dev/null 2>&1 || true
}

# rg_topo_up: both namespaces, both veth pairs, addresses, static neighbours.
rg_topo_up() {
  ip netns add "$RG_NS_CLI" || { _rg_err "cannot create namespace $RG_NS_CLI"; return 1; }
  ip netns add "$RG_NS_SRV" || { _rg_err "cannot create namespace $RG_NS_SRV"; return 1; }
  local ns
  for ns in "$RG_NS_CLI" "$RG_NS_SRV"; do
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 >/dev/null 2>&1 || true
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.disable_ipv6=1 >/dev/null 2>&1 || true
    ip netns exec "$ns" ip link set lo up
  done
  ip link add "$RG_IF_A" type veth peer name "$RG_IF_CLI" netns "$RG_NS_CLI" ||
    { _rg_err "cannot create veth $RG_IF_A/$RG_IF_CLI"; return 1; }
  ip link add "$RG_IF_B" type veth peer name "$RG_IF_SRV" netns "$RG_NS_SRV" ||
    { _rg_err "cannot create veth $RG_IF_B/$RG_IF_SRV"; return 1; }
  _rg_no_ipv6 "$RG_IF_A"; _rg_no_ipv6 "$RG_IF_B"
  rg_offloads_off "$RG_IF_A" || return 1
  rg_offloads_off "$RG_IF_B" || return 1
  rg_offloads_off "$RG_IF_CLI" "$RG_NS_CLI" || return 1
  rg_offloads_off "$RG_IF_SRV" "$RG_NS_SRV" || return 1
  rg_ns_cli ip addr add "$RG_CLI_IP/$RG_PREFIX_LEN" dev "$RG_IF_CLI" || return 1
  rg_ns_srv ip addr add "$RG_SRV_IP/$RG_PREFIX_LEN" dev "$RG_IF_SRV" || return 1
  ip link set "$RG_IF_A" up && ip link set "$RG_IF_B" up || return 1
  rg_ns_cli ip link set "$RG_IF_CLI" up && rg_ns_srv ip link set "$RG_IF_SRV" up || return 1
  # Static neighbours: no ARP on the wire, nothing for the forwarder to learn first.
  local mac_cli mac_srv
  mac_cli=$(rg_ns_cli cat "/sys/class/net/$RG_IF_CLI/address") || return 1
  mac_srv=$(rg_ns_srv cat "/sys/class/net/$RG_IF_SRV/address") || return 1
  rg_ns_cli ip neigh replace "$RG_SRV_IP" lladdr "$mac_srv" dev "$RG_IF_CLI" nud permanent || return 1
  rg_ns_srv ip neigh replace "$RG_CLI_IP" lladdr "$mac_cli" dev "$RG_IF_SRV" nud permanent || return 1
  # shellcheck disable=SC2034  # for the sourcing script
  RG_MAC_CLI=$mac_cli RG_MAC_SRV=$mac_srv
}

# rg_bridge_up: join rgA and rgB with a plain Linux bridge (the stand-in forwarder).
rg_bridge_up() {
  ip link add "$RG_BR" type bridge stp_state 0 forward_delay 0 ||
    { _rg_err "cannot create bridge $RG_BR"; return 1; }
  # Keep bridged frames out of iptables even where br_netfilter is loaded.
  ip link set "$RG_BR" type bridge nf_call_iptables 0 nf_call_ip6tables 0 nf_call_arptables 0 2>/dev/null || true
  _rg_no_ipv6 "$RG_BR"
  ip link set "$RG_IF_A" master "$RG_BR" && ip link set "$RG_IF_B" master "$RG_BR" || return 1
  ip link set "$RG_BR" up || return 1
}

# rg_mirror_up: copy every frame crossing rgA (both directions: all client<->server
# traffic and every injected frame crosses it) to rgMp, so it arrives on rgM.
rg_mirror_up() {
  ip link add "$RG_IF_M" type veth peer name "$RG_IF_MP" ||
    { _rg_err "cannot create veth $RG_IF_M/$RG_IF_MP"; return 1; }
  _rg_no_ipv6 "$RG_IF_M"; _rg_no_ipv6 "$RG_IF_MP"
  rg_offloads_off "$RG_IF_M" || return 1
  rg_offloads_off "$RG_IF_MP" || return 1
  ip link set "$RG_IF_M" up && ip link set "$RG_IF_MP" up || return 1
  tc qdisc add dev "$RG_IF_A" clsact || { _rg_err "tc clsact on $RG_IF_A failed"; return 1; }
  local dir
  for dir in ingress egress; do
    # matchall where the kernel has it; otherwise u32 matching everything.
    tc filter add dev "$RG_IF_A" "$dir" matchall action mirred egress mirror dev "$RG_IF_MP" 2>/dev/null ||
      tc filter add dev "$RG_IF_A" "$dir" protocol all u32 match u32 0 0 \
        action mirred egress mirror dev "$RG_IF_MP" ||
      { _rg_err "tc mirror ($dir) on $RG_IF_A failed"; return 1; }
  done
}

# rg_topo_down: remove everything rg_topo_up / rg_bridge_up / rg_mirror_up made.
# Deleting a namespace deletes its veth end, and with it the root-side peer.
rg_topo_down() {
  ip link del "$RG_IF_M" >/dev/null 2>&1 || true
  ip link del "$RG_BR" >/dev/null 2>&1 || true
  ip netns del "$RG_NS_CLI" >/dev/null 2>&1 || true
  ip netns del "$RG_NS_SRV" >/dev/null 2>&1 || true
  ip link del "$RG_IF_A" >/dev/null 2>&1 || true
  ip link del "$RG_IF_B" >/dev/null 2>&1 || true
}

# rg_topo_leftovers: prints what is left with this RG_ID (for a final check).
rg_topo_leftovers() {
  ip netns list 2>/dev/null | grep -E "^rg-(cli|srv)-$RG_ID( |$)" || true
  ip -o link show 2>/dev/null | grep -oE "\b(rgA|rgB|rgbr|rgM|rgMp)$RG_ID\b" || true
}

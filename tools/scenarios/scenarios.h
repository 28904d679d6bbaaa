// The scenario catalogue: one synthetic capture per row of the RST field
// guide (legitimate causes and forgeries), with variants (IPv6, QinQ VLAN,
// no window scaling, no timestamps, sequence wrap, mid-stream pick-up).
#pragma once

#include <string>
#include <vector>

#include "scenarios/conversation.h"

namespace rstguard::scenario {

struct Variant {
  bool ipv6 = false;
  bool vlan = false;
  bool no_wscale = false;
  bool no_timestamps = false;
  bool wrap = false;       // sequence numbers cross 2^32
  bool midstream = false;  // the handshake is not in the capture
  std::string suffix() const;
};

struct NamedCapture {
  std::string name;  // "out_of_window", "out_of_window.v6", ...
  Capture capture;
};

// Every scenario in every variant it is defined for.
std::vector<NamedCapture> all_scenarios();
// The bundled demo: ordinary connections, legitimate resets, forged ones.
Capture demo_capture();

// Captures that put rstguard's bounded state under an attacker's pressure
// (issue: state a flood cannot evict):
//   "held_under_pressure": a suspicious reset (in window, no ACK, no
//     timestamps) on 10.1.0.10:40000 <-> 10.2.0.20:443, then genuine resets
//     on `others` other established connections within a millisecond, then
//     the supposed sender's next data segment (the held reset is forged);
//   "flood_syn", "flood_syn_ack", "flood_ack", "flood_rst", "flood_data":
//     `established` connections (10.1.x.y -> 10.2.0.1:443), then 10x as
//     many new tuples of that kind from random sources with the
//     connections' traffic going on, a forged exact reset (another TTL, no
//     timestamps) toward 10.1.0.118:30117 in the middle, and at the end a
//     genuine reset from the server on every established connection.
std::vector<NamedCapture> pressure_captures(int others = 10000, int established = 1000);

}  // namespace rstguard::scenario

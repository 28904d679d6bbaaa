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

}  // namespace rstguard::scenario

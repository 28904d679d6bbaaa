// TCP tracking: updates a flow's per-direction state with one segment.
// Pure functions of (state, segment, time); not thread-safe per entry (one
// worker owns each entry).
#pragma once

#include <cstdint>

#include "core/flow.h"
#include "core/packet_view.h"
#include "core/policy.h"

namespace rstguard {

// What tracking one segment observed, for counters.
struct TrackNote {
  bool retransmit = false;
  bool gap = false;          // the segment starts past what we saw sent
  bool reused = false;       // a SYN started a new connection on an old tuple
  bool syn_in_connection = false;  // a SYN inside a live connection, ignored
};

// Sets up a new entry from its first segment (SYN: the sender is the
// originator; anything else: a mid-stream pick-up).
void track_first(FlowEntry& f, int side, const PacketView& p, uint32_t now_ms,
                 uint64_t now_ns);

// Updates `f` with a non-reset segment from `side`.
TrackNote track_segment(FlowEntry& f, int side, const PacketView& p, uint32_t now_ms,
                        uint64_t now_ns, const JudgeParams& params);

// The window `side` advertises, in bytes: scaled when both SYNs offered
// scaling; for a mid-stream flow whose scale is unknown, the largest it could
// be (shift 14), so that nothing is called out of window on a guess.
uint32_t advertised_window(const FlowEntry& f, int side);

}  // namespace rstguard

// The reset judge. judge_rst() is a pure function of the reset, what the
// worker knows about its connection, the policy and the time: no state is
// changed, nothing is allocated, it is safe from any thread.
#pragma once

#include <cstdint>

#include "core/event.h"
#include "core/flow.h"
#include "core/packet_view.h"
#include "core/parser.h"
#include "core/policy.h"
#include "core/verdict.h"

namespace rstguard {

// Earlier resets on one connection: the worker keeps one per connection
// that has seen a reset, in a pool entry the flow names (FlowEntry::history)
// and frees with the flow. Times are worker ms; 0 means "none".
struct RstHistory {
  uint64_t flow_id = 0;          // the owner (a check: the pool gives it one flow)
  FlowKey key{};                 // the owner's key and table hash: a full pool
  uint64_t hash = 0;             // may take the entry back from a lesser flow
  uint32_t resets = 0;           // resets recorded here (names the newest)
  uint32_t seq = 0;            // newest reset's seq
  uint32_t ms = 0;             // newest reset's time
  uint32_t side_ms[2] = {0, 0};         // newest reset sent by each side
  uint32_t side_seq[2] = {0, 0};
  uint8_t side_ttl[2] = {0, 0};          // and its TTL and IP ID (a burst's
  uint16_t side_ipid[2] = {0, 0};        // resets are compared by them)
  bool side_reply[2] = {false, false};   // that reset was a closed socket's reply
  bool side_forged[2] = {false, false};  // that reset was judged forged
  uint32_t window_start_ms = 0;  // sweep/seq-change window on this flow
  uint16_t resets_in_window = 0;
  uint16_t seq_changes = 0;      // resets in the window whose seq differed
  uint8_t side = 0;              // sender side of the newest reset
  // The IPv4 ID of that sender's last segment before the newest reset, when
  // its IDs vary (0: not kept): a later segment of old sequence space with
  // that very ID is a late copy (check_race).
  uint16_t copy_ipid = 0;
  bool race_open = false;        // watching for data_after_rst
  bool closed_flow = false;      // the newest reset closed the connection
  Phase phase_before = Phase::kEmpty;
  uint32_t hold = 0;  // 1 + the hold queue slot of the newest reset, 0: not held
  // What each side sent since the newest reset (not a reset, not a SYN):
  // the ACK of its latest segment, when, and whether it was a pure ACK
  // (a challenge ACK, RFC 5961 3.2, is one). A bare reset whose seq is that
  // ACK answers it (RFC 9293 3.10.7.1), which a blind injector cannot do.
  bool after_seen[2] = {false, false};
  bool after_pure[2] = {false, false};
  uint32_t after_ack[2] = {0, 0};
  uint32_t after_ms[2] = {0, 0};
  // The newest reset's event as emitted: its verdict, and what an
  // rst_update that revises it names (the judge reads only its cause: the
  // cause an answer to a challenge ACK completes).
  RstEvent event;
};

// Everything the judge may look at besides the reset itself.
struct RstContext {
  const FlowEntry* flow = nullptr;   // nullptr: no connection known
  int sender_side = 0;               // side of `flow` that sent the reset
  const RstHistory* history = nullptr;  // nullptr: no recent reset on it
  // Non-exact resets toward the reset's destination (address and port)
  // within the sweep window, this one not counted.
  uint32_t resets_toward_destination = 0;
  Checksum checksum = Checksum::kUnknown;  // of the reset's TCP segment
  int host_ttl = -1;  // TTL the sender's address used in its last SYN/ACK
};

struct Verdict {
  Label label = Label::legit;
  Validity validity = Validity::unknown;
  EvidenceSet evidence;
  Cause cause = Cause::unknown;
  bool expected_known = false;
  uint32_t expected_seq = 0;     // what the receiver expects next
  uint32_t receiver_window = 0;  // bytes, scaled
  bool accepted = false;         // the receiver would tear the connection down
  // A closed socket's answer to a segment still in flight (RFC 9293
  // 3.10.7.1: no ACK, seq = that segment's ACK): not an injector's marks,
  // and not counted toward seq_change or sweep.
  bool reply = false;
  // What the reset answers (RstHistory::after_*): an answer is a reply too.
  Answer answers = Answer::none;
  // The receiver's TCP never acts on it (insertion or auth_mismatch
  // evidence: a bad checksum, a TTL too low to arrive, a missing or
  // unexpected TCP-MD5/TCP-AO option). It is judged and reported, but it
  // closes nothing and leaves no history that later resets are judged
  // against (no seq_change, sweep or both_directions for them).
  bool discarded = false;
  // For a forged reset, the cause it imitates (what classify would name
  // were it real); unknown otherwise.
  Cause imitated = Cause::unknown;
};

Verdict judge_rst(const PacketView& rst, const RstContext& ctx, const JudgeParams& params,
                  uint32_t now_ms);

// How evidence combines into a label (documented in README, "Verdicts"):
// 1. any strong evidence (weight 0 in verdict.def) -> forged;
// 2. else the weights add up (ts_missing and rst_without_ack together count
//    once: bare resets from XNU lack both): >= forged_score -> forged,
//    >= suspicious_score -> suspicious, else legit;
// 3. on a lossy tap (mirror port) where the flow shows a sequence gap,
//    "forged" that rests on out_of_window or on weights alone becomes
//    "suspicious": a missed packet could explain it.
Label label_for(EvidenceSet evidence, bool gap_seen, const JudgeParams& params);

// How long after the segment it answers a bare reset still counts as its
// answer: the peer's stack answers at once, so this is one round trip
// plus the retransmission of a segment it could have missed.
inline constexpr uint32_t kAnswerWindowMs = 3000;

// An injector's resets for one trigger leave within milliseconds of each
// other (Weaver et al. 2009 saw them back to back; the GFW sends two or
// three within one): the "burst" window, and how long after a forged reset
// another one is still tied to it.
inline constexpr uint32_t kInjectorBurstMs = 10;

// The post-reset check (Weaver, Sommer and Paxson, NDSS 2009: the "race"):
// a reset's supposed sender that keeps sending after it never sent it. For
// a segment `p` from `side` of a flow with reset history `h`:
enum class RaceCheck : uint8_t {
  kNotApplicable,  // nothing to watch, or not the reset's sender
  kWindowClosed,   // the race window is over: stop watching
  kQuiet,          // the sender's segment says nothing (a bare ACK of old data)
  kRevealed,       // data, a FIN or new sequence space: the sender is alive
};
RaceCheck check_race(const PacketView& p, const RstHistory& h, int side, uint32_t now_ms,
                     const JudgeParams& params);

}  // namespace rstguard

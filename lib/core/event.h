// The record a worker emits for every judged reset (and every revision of a
// verdict). Plain data, no strings: formatting happens off the worker
// (lib/output). Fixed size so it fits a ring slot.
#pragma once

#include <cstdint>

#include "core/packet_view.h"
#include "core/verdict.h"

namespace rstguard {

enum class EventType : uint8_t { kRst, kRstUpdate, kIncident };

// Incidents (core/incidents.h): the id every member event carries, and for
// incident events (EventType::kIncident) the incident's exact counts.
enum class IncidentState : uint8_t { kNone, kStart, kOngoing, kEnd, kEvicted };
inline constexpr const char* kIncidentStateNames[] = {"none", "start", "ongoing", "end",
                                                      "evicted"};

struct IncidentInfo {
  uint64_t id = 0;  // 0: not part of an incident
  // Incident events only.
  IncidentState state = IncidentState::kNone;
  bool pair = false;       // target: the two hosts (src, dst); else dst alone
  uint8_t ttl_count = 0;   // distinct TTLs kept in `ttls`
  bool ttl_more = false;   // more distinct TTLs than `ttls` holds
  uint8_t ttls[4] = {};
  uint8_t ttl_min = 0, ttl_max = 0;
  uint16_t port_min = 0, port_max = 0;  // destination ports of its resets
  uint32_t seq_min = 0, seq_max = 0;    // their sequence numbers (unsigned)
  uint64_t first_ns = 0, last_ns = 0;   // its first and newest member
  uint32_t resets = 0;      // distinct resets in it
  uint32_t suspicious = 0;  // ... whose verdict is suspicious
  uint32_t forged = 0;      // ... whose verdict is forged (revisions included)
  uint32_t dropped = 0;     // ... dropped (held and dropped included)
  uint32_t updates = 0;     // revisions that joined it
  uint32_t toward_src = 0;  // pair targets: resets toward `src`, and toward `dst`
  uint32_t toward_dst = 0;
  uint32_t written = 0;     // member events written
  uint32_t sampled = 0;     // member events not written (sampling)
};

// What a full bound kept rstguard from doing for this reset (bits of
// RstEvent::limits). The verdict stands on what it had; a limit never turns
// forged into legitimate, and never releases a reset already held.
enum Limit : uint8_t {
  kLimitHistoryPool = 1 << 0,  // no reset history entry: no race check, no hold
  kLimitHoldQueue = 1 << 1,    // a hold was wanted, the hold queue was full
};
inline constexpr const char* kLimitNames[] = {"reset_history_pool_full", "hold_queue_full"};

struct RstEvent {
  EventType type = EventType::kRst;
  uint64_t timestamp_ns = 0;  // packet time (UTC ns since the epoch)
  uint64_t flow_id = 0;
  uint64_t packet_number = 0;  // 1-based index of the reset in its input
  IpAddr src{};
  IpAddr dst{};
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  uint16_t vlan_outer = 0;
  uint16_t vlan_inner = 0;
  uint8_t vlan_count = 0;
  uint8_t ip_version = 0;
  bool to_server = true;  // direction relative to the connection's originator
  bool direction_known = true;
  // tcp
  uint32_t seq = 0;
  uint32_t ack = 0;
  uint8_t tcp_flags = 0;
  uint16_t window = 0;
  uint8_t ttl = 0;
  uint16_t ip_id = 0;
  uint16_t payload_len = 0;
  // verdict
  Label label = Label::legit;
  Validity validity = Validity::unknown;
  EvidenceSet evidence;
  Cause cause = Cause::unknown;
  Cause imitated = Cause::unknown;  // forged: the cause it imitates (Verdict::imitated)
  bool expected_known = false;
  uint32_t expected_seq = 0;
  uint32_t receiver_window = 0;  // scaled, bytes
  Answer answers = Answer::none;  // what a bare reset answers (Verdict::answers)
  Action action = Action::pass;
  uint8_t limits = 0;  // Limit bits
  // The policy rule that decided the action (truncated name) and the
  // policy generation (reloads count up from 1).
  // The trigger that preceded the reset on its connection (trigger_name[0]
  // == 0: none): its pattern name, the field it was found in and where.
  char trigger_name[24] = {};
  uint8_t trigger_field = 0;  // TriggerField
  uint32_t trigger_offset = 0;
  char rule[24] = {};
  uint32_t policy_generation = 0;
  // rst_update: which earlier reset this revises.
  uint64_t revises_packet_number = 0;
  uint32_t revises_seq = 0;
  IncidentInfo incident;
  bool sampled_out = false;  // a member event the incident's sampling did not write
};

// Revises `e` to forged: the cause it had becomes the one it imitated.
inline void mark_forged(RstEvent& e) {
  if (e.label != Label::forged && e.cause != Cause::injected) e.imitated = e.cause;
  e.label = Label::forged;
  e.cause = Cause::injected;
  e.answers = Answer::none;
}

}  // namespace rstguard

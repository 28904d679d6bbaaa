// Incidents: one attack, one record. Resets judged suspicious or forged
// (and verdicts revised to forged) that share a target, each within `idle`
// of the one before, are one incident: every event of it carries its id,
// and the worker writes incident events when it starts, at most every
// `interval` while it lasts, and when it ends, with exact counts. It is
// announced when its second reset joins: a reset alone is its own record
// (its incident_id names no incident event), so a lone forged reset is one
// event, not three. Past
// `sample_first` per-reset events an incident's resets are sampled (one in
// `sample_every`, or none), so a sweep of 65,537 resets is a handful of
// events, and every count stays exact in the incident's.
//
// The target: the two hosts of a connection rstguard tracks both ways (a
// blocker resetting both ends is one incident), otherwise the reset's
// destination (spoofed sources sweeping one victim are one incident). A
// reset on a tracked connection joins an incident open toward its
// destination when the pair has none (the sweep that found the connection).
//
// Bounded: `capacity` incidents open at once per worker; a new one past it
// ends the one quiet longest (its end event says so, counted). Lookup is a
// scan of 64-bit tags, done only for flagged resets. Not thread-safe: one
// table per worker. Allocates only in its constructor.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "core/event.h"
#include "core/policy.h"

namespace rstguard {

class IncidentTable {
 public:
  IncidentTable(const IncidentParams& params, uint16_t worker_index);

  // What joining decided for a member's event.
  struct Join {
    bool write = true;           // write the member's own event (sampling)
    bool started = false;        // a new incident: emit `report` before the member
    bool report_due = false;     // an ongoing report is due: emit `report` after it
    bool ended_one = false;      // an announced incident ended first (gone quiet, or
                                 // evicted: ended.incident.state says): emit `ended`
    bool evicted = false;        // an incident was evicted to make room (counted)
    int slot = -1;               // the member's incident (for unwritten())
    RstEvent report;
    RstEvent ended;
  };

  // A reset judged suspicious or forged (`e`, type kRst), or a revision to
  // forged (type kRstUpdate; `was` is the label it revises, `was_member`
  // whether that reset already joined). Sets e.incident.id.
  // `two_way`: e is on a connection tracked both ways. `first_of_connection`:
  // its connection has had no member event yet. A member event is written
  // when it is among the incident's first `sample_first`, the first of its
  // connection, the first to show some evidence in the incident, or one in
  // `sample_every` after that: per incident at most sample_first + the
  // evidence kinds + its connections + the 1-in-N.
  // `may_open`: false for a reset its receiver discards: it joins an open
  // incident but never opens one (a flood of them makes no incidents).
  Join join(RstEvent& e, bool two_way, Label was = Label::legit, bool was_member = false,
            bool first_of_connection = false, bool may_open = true);

  // A member event join() let through was then held back by the worker's
  // budget or a rate limit: not written after all (no longer counted so).
  void unwritten(const Join& j, uint64_t id);

  // Ends incidents quiet for `idle` (their end events are appended to
  // `out`) and appends the ongoing reports due. Cheap when none is open.
  void expire(uint64_t now_ns, std::vector<RstEvent>& out);
  // Ends every open incident (end of input, shutdown).
  void flush(uint64_t now_ns, std::vector<RstEvent>& out);

  uint32_t open() const { return open_; }
  uint64_t started() const { return started_; }
  uint64_t evicted() const { return evicted_; }
  uint64_t sampled() const { return sampled_; }

 private:
  struct Incident {
    IncidentInfo info;
    IpAddr a{}, b{};  // the target: a pair (a < b), or b alone (a zero) for a destination
    bool pair = false;
    uint16_t vlan = 0;
    uint64_t reported_ns = 0;
    uint64_t last_packet = 0;  // packet number of its newest member
    bool changed = false;     // counts moved since the last report
    bool announced = false;   // its start event was written (on the second reset)
    Label worst = Label::suspicious;
    Action strongest = Action::pass;
    EvidenceSet evidence;
  };
  int find(uint64_t tag, const IpAddr& a, const IpAddr& b, bool pair, uint16_t vlan) const;
  int open_slot(uint64_t now_ns, Join& j);
  RstEvent report(const Incident& in, IncidentState state, uint64_t now_ns) const;
  // Frees `slot`; writes its end event (to `out` or `one`) if it was
  // announced, and says so.
  bool end(int slot, IncidentState state, uint64_t now_ns, std::vector<RstEvent>* out,
           RstEvent* one);

  IncidentParams params_;
  uint64_t id_base_;
  uint64_t next_ = 1;
  std::unique_ptr<uint64_t[]> tags_;  // 0: free
  std::unique_ptr<Incident[]> slots_;
  uint32_t open_ = 0;
  uint64_t started_ = 0, evicted_ = 0, sampled_ = 0;
  uint64_t last_expire_ns_ = 0;
};

}  // namespace rstguard

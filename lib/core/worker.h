// The worker: one per lcore (or one for a capture file). Every mode feeds it
// bursts of frames and acts on the dispositions it returns; nothing in here
// knows where frames come from. Not thread-safe: a worker belongs to one
// thread. Allocates only in its constructor.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "core/counters.h"
#include "core/event.h"
#include "core/flow_table.h"
#include "core/hold_queue.h"
#include "core/host_tables.h"
#include "core/incidents.h"
#include "core/judge.h"
#include "core/parser.h"
#include "core/policy_set.h"
#include "core/policy.h"
#include "core/pool.h"
#include "core/trigger_state.h"

namespace rstguard {

inline constexpr uint16_t kMaxBurst = 256;

struct Frame {
  const uint8_t* data = nullptr;
  uint32_t len = 0;       // bytes present
  uint32_t wire_len = 0;  // bytes on the wire (>= len)
  uint64_t ts_ns = 0;     // packet time, UTC ns (the capture's, or the burst's TSC time)
  uint16_t link_type = 1;  // LINKTYPE_ETHERNET
};

struct WorkerParams {
  FlowTableParams flow;
  JudgeParams judge;
  ActionPolicy actions;
  EventVerbosity verbosity = EventVerbosity::kAll;  // used without a policy
  HoldParams hold;
  // False on a mirror port or an alert-only inline box: a drop or hold the
  // policy asks for becomes an alert (events say what really happened).
  bool can_drop = true;
  // Reset events written per second of packet time by this worker, whatever
  // their source (a flood of spoofed sources passes any per-source limit);
  // past it they are counted (event.over_budget), the action still applies.
  // 0: no limit.
  uint32_t max_events_per_second = 0;
  uint16_t index = 0;                // which of the policy's trigger scanners is ours
  PoolParams pools;
  IncidentParams incidents;
};

class Worker {
 public:
  explicit Worker(const WorkerParams& params);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // The policy to decide with from the next burst on; nullptr: the
  // WorkerParams actions alone. Read-only, owned by the caller, which keeps
  // it alive until the worker has moved past it (RCU).
  void set_policy(const PolicySet* policy) { policy_ = policy; }
  const PolicySet* policy() const { return policy_; }

  // Runs `n` (<= kMaxBurst) frames through parse, flow lookup, tracking and,
  // for resets, the judge; writes one disposition per frame. Events for the
  // burst are appended to events() (bounded; overflow is counted).
  void process_burst(const Frame* frames, uint16_t n, Disposition* out);

  // Events produced since the last clear_events(); the caller drains them
  // after each burst (live modes: into this lcore's ring).
  const std::vector<RstEvent>& events() const { return events_; }
  void clear_events() { events_.clear(); }

  // Holds: the slot (0 .. hold capacity - 1) of frame i when out[i] was
  // kHold; the releases decided since clear_releases(), in order.
  uint32_t hold_slot(uint16_t i) const { return hold_slot_[i]; }
  const std::vector<HoldRelease>& releases() const { return holds_.releases(); }
  void clear_releases() { holds_.clear_releases(); }
  uint32_t hold_capacity() const { return holds_.capacity(); }
  // Releases holds whose time is up and ends incidents gone quiet (call
  // between bursts, also when idle).
  void expire_holds(uint64_t now_ns);
  // Ends every hold: forwarded, or dropped if `drop` (shutdown policy); and
  // every open incident (end of input).
  void flush_holds(bool drop);

  const Counters& counters() const { return counters_; }
  const FlowTable& flows() const { return table_; }
  const Pool<RstHistory>& history_pool() const { return history_; }
  const TriggerState& triggers() const { return triggers_; }
  const IncidentTable& incidents() const { return incidents_; }
  // The reset history of `f`, or nullptr.
  const RstHistory* history_of(const FlowEntry& f) const {
    return f.history != 0 ? &history_[f.history] : nullptr;
  }

 private:
  void handle_segment(const PacketView& p, FlowEntry* f, const FlowKey& key, uint64_t hash,
                      int side, uint32_t now_ms, uint64_t now_ns);
  Disposition handle_rst(const PacketView& p, FlowEntry* f, const FlowKey& key, uint64_t hash,
                         int side, uint32_t now_ms, uint64_t now_ns);
  const Rule* rule_for(const PacketView& p, const FlowEntry* f, int side, uint32_t* index) const;
  RstEvent revise_earlier(FlowEntry& f, RstHistory& prev, Evidence tie, uint64_t now_ns);
  uint32_t reclaim_history(const FlowEntry& taker, uint32_t now_ms);
  RstHistory* record_history(const PacketView& p, FlowEntry& f, const FlowKey& key, uint64_t hash,
                             const Verdict& v, int side, uint32_t now_ms, const RstEvent& e);
  void watch_race(const PacketView& p, FlowEntry& f, int side, uint32_t now_ms,
                  uint64_t now_ns);
  void release_flow_state(const FlowEntry& f);
  static void on_flow_freed(void* self, const FlowEntry& f);
  void emit(const RstEvent& e);
  // A member of an incident (a flagged reset, or a revision to forged):
  // joins it (sets its incident id) ...
  IncidentTable::Join join_incident(RstEvent& e, const FlowEntry* f, Label was,
                                    bool first_of_connection, bool may_open);
  IncidentTable::Join join_update(RstEvent& u, const FlowEntry* f, Label was);
  void expire_incidents(uint64_t now_ns);
  void emit_incident_reports();  // what expire/flush left in incident_events_
  // ... and is emitted with what the join decided, in order: an evicted
  // incident's end, the start, the member (if sampled in and `allowed`),
  // a report due.
  void emit_member(const RstEvent& e, const IncidentTable::Join& j, bool allowed);
  bool emit_allowed(const PacketView& p, const Rule* rule, uint32_t rule_index,
                    const Verdict& v, uint32_t now_ms);
  RstEvent revise(const RstEvent& revised, uint64_t now_ns);
  void resolve_hold(const PacketView& p, FlowEntry& f, int side, uint64_t now_ns,
                    uint16_t frame);
  void release_hold_as_judged(uint32_t slot, uint64_t now_ns);
  void end_hold(uint32_t slot, Disposition d, uint16_t before_frame, FlowEntry* f,
                uint32_t now_ms);
  RstEvent make_event(const PacketView& p, const FlowEntry* f, int side, uint64_t now_ns) const;
  void count_verdict(const Verdict& v, Action a);

  WorkerParams params_;
  Counters counters_;
  // Per-burst scratch, kept here so a burst does not construct 256 views.
  PacketView views_[kMaxBurst];
  ParseResult results_[kMaxBurst];
  FlowKey keys_[kMaxBurst];
  uint64_t hashes_[kMaxBurst];
  int sides_[kMaxBurst];
  FlowTable table_;
  // Per-flow pools, reached from FlowEntry and freed with it.
  Pool<RstHistory> history_;
  TriggerState triggers_;
  // Per-host tables, shared by flows; overwrites counted.
  HostTtlTable host_ttl_;
  DestinationTable destinations_;
  SourceRateLimiter rate_;
  EventBudget budget_;
  HoldQueue holds_;
  IncidentTable incidents_;
  std::vector<RstEvent> incident_events_;  // expiry's scratch (reserved)
  const PolicySet* policy_ = nullptr;
  std::vector<RstEvent> events_;
  size_t events_capacity_;
  uint64_t packet_number_ = 0;
  uint32_t last_now_ms_ = 0;  // worker clock of the newest frame (0: none yet)
  uint64_t last_now_ns_ = 0;  // its packet time
  uint32_t hold_slot_[kMaxBurst] = {};
  uint16_t frame_index_ = 0;  // index in the current burst
  uint32_t reclaim_cursor_ = 0;  // where reclaim_history() looks next
};

}  // namespace rstguard

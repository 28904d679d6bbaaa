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
#include "core/judge.h"
#include "core/parser.h"
#include "core/policy_set.h"
#include "core/policy.h"

namespace rstguard {

inline constexpr uint16_t kMaxBurst = 256;

struct Frame {
  const uint8_t* data = nullptr;
  uint32_t len = 0;       // bytes present
  uint32_t wire_len = 0;  // bytes on the wire (>= len)
  uint64_t ts_ns = 0;     // packet time, UTC ns (the capture's, or the burst's TSC time)
  uint16_t link_type = 1;  // LINKTYPE_ETHERNET
};

// What the adapter does with a frame. kHold: keep it (the worker names the
// slot through hold_slot()) until a HoldRelease says forward or drop.
enum class Disposition : uint8_t { kForward, kDrop, kHold };

// A held frame's fate. `before_frame` orders it: the adapter acts on it
// before frame `before_frame` of the burst it came with (n: after the
// burst; releases from expire_holds()/flush_holds() all use 0).
struct HoldRelease {
  uint16_t before_frame;
  uint16_t slot;
  Disposition disposition;  // kForward or kDrop
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
  uint32_t rate_limit_slots = 4096;  // per-source event rate limiter entries
  // Reset events written per second of packet time by this worker, whatever
  // their source (a flood of spoofed sources passes any per-source limit);
  // past it they are counted (event.over_budget), the action still applies.
  // 0: no limit.
  uint32_t max_events_per_second = 0;
  uint16_t index = 0;                // which of the policy's trigger scanners is ours
  uint32_t trigger_slots = 4096;     // connections whose trigger details are kept
  uint32_t reassembly_slots = 64;    // ClientHellos / request headers being joined
  // Bounds of the side tables (entries, powers of two).
  uint32_t rst_history_slots = 4096;
  uint32_t destination_slots = 4096;
  uint32_t host_ttl_slots = 4096;
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
  uint16_t hold_slot(uint16_t i) const { return hold_slot_[i]; }
  const std::vector<HoldRelease>& releases() const { return releases_; }
  void clear_releases() { releases_.clear(); }
  uint32_t hold_capacity() const { return params_.hold.max_packets; }
  // Releases holds whose time is up (call between bursts, also when idle).
  void expire_holds(uint64_t now_ns);
  // Ends every hold: forwarded, or dropped if `drop` (shutdown policy).
  void flush_holds(bool drop);

  const Counters& counters() const { return counters_; }
  const FlowTable& flows() const { return table_; }

 private:
  struct DestinationSlot;
  struct HostTtlSlot;
  struct RateSlot;
  struct TriggerInfo;
  struct Reassembly;
  struct Held {
    RstEvent event;  // as emitted with action "hold"
    uint32_t deadline_ms = 0;
    bool in_use = false;
  };

  void handle_segment(const PacketView& p, FlowEntry* f, const FlowKey& key, uint64_t hash,
                      int side, uint32_t now_ms, uint64_t now_ns);
  Disposition handle_rst(const PacketView& p, FlowEntry* f, int side, uint32_t now_ms,
                         uint64_t now_ns);
  void check_race(const PacketView& p, FlowEntry& f, int side, uint32_t now_ms,
                  uint64_t now_ns);
  RstHistory* history_find(uint64_t flow_id);
  RstHistory& history_slot(uint64_t flow_id);
  uint32_t destination_count(const PacketView& p, uint32_t now_ms, bool add);
  int host_ttl_get(const IpAddr& a) const;
  void host_ttl_set(const IpAddr& a, uint8_t ttl);
  void emit(const RstEvent& e);
  RstEvent revise(const RstEvent& revised, uint64_t now_ns);
  bool hold(const RstEvent& e, FlowEntry& f, RstHistory& h, uint16_t frame);
  void release(uint32_t slot, uint16_t before_frame, Disposition d);
  void resolve_hold(const PacketView& p, FlowEntry& f, int side, uint32_t now_ms, uint64_t now_ns,
                    uint16_t frame);
  RstEvent make_event(const PacketView& p, const FlowEntry* f, int side, uint64_t now_ns) const;
  void count_verdict(const Verdict& v, Action a);
  bool rate_allows(const IpAddr& src, uint32_t rule, uint32_t per_second, uint32_t now_ms);
  bool budget_allows(uint32_t now_ms);
  void scan_triggers(const PacketView& p, FlowEntry& f, int side);
  bool record_trigger(FlowEntry& f, const TriggerMatch& m, TriggerField field, uint32_t base);
  const TriggerInfo* trigger_of(const FlowEntry& f) const;

  WorkerParams params_;
  Counters counters_;
  // Per-burst scratch, kept here so a burst does not construct 256 views.
  PacketView views_[kMaxBurst];
  ParseResult results_[kMaxBurst];
  FlowKey keys_[kMaxBurst];
  uint64_t hashes_[kMaxBurst];
  int sides_[kMaxBurst];
  FlowTable table_;
  std::vector<RstHistory> history_;
  std::unique_ptr<DestinationSlot[]> destinations_;
  std::unique_ptr<HostTtlSlot[]> host_ttl_;
  std::unique_ptr<RateSlot[]> rate_;
  std::unique_ptr<TriggerInfo[]> trigger_info_;
  std::unique_ptr<Reassembly[]> reassembly_;
  const PolicySet* policy_ = nullptr;
  std::vector<RstEvent> events_;
  size_t events_capacity_;
  uint64_t packet_number_ = 0;
  uint32_t budget_window_ms_ = 0;  // start of the event budget's second (0: none yet)
  uint32_t budget_used_ = 0;
  uint32_t last_now_ms_ = 0;  // worker clock of the newest frame (0: none yet)
  // Hold queue: a FIFO (deadlines only grow) over a fixed array; entries
  // released early are skipped when the head reaches them.
  std::vector<Held> held_;
  uint32_t held_head_ = 0;
  uint32_t held_count_ = 0;  // entries between head and tail, released or not
  uint16_t hold_slot_[kMaxBurst] = {};
  uint16_t frame_index_ = 0;  // index in the current burst
  std::vector<HoldRelease> releases_;
};

}  // namespace rstguard

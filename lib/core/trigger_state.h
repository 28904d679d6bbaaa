// What the trigger scanner learns about one connection, kept in two
// per-worker pools reached from FlowEntry::trigger: the match (pattern,
// field, offset, name) and, while a ClientHello or request header is split
// over segments, the buffer they are joined in. A connection's entries are
// its own: taken when it needs one, freed with the flow (release()). A full
// pool refuses and counts (pool.trigger.refused, pool.reassembly.refused):
// that connection's trigger goes unnamed, nothing else changes.
// Not thread-safe: one per worker.
#pragma once

#include <cstdint>
#include <span>

#include "core/counters.h"
#include "core/flow.h"
#include "core/pool.h"
#include "core/trigger.h"
#include "core/trigger_fields.h"

namespace rstguard {

class PolicySet;
struct PacketView;

// One connection's trigger state.
struct TriggerInfo {
  bool found = false;
  uint64_t generation = 0;  // of the policy whose patterns matched
  uint32_t id = 0;
  uint32_t offset = 0;
  TriggerField field = TriggerField::kPayload;
  char name[24] = {};
  uint32_t reassembly = 0;  // Reassembly pool reference while joining, 0: none
};

// The first bytes a client sent, joined in order until the SNI or Host
// they hold is complete (a ClientHello split over segments, on purpose or
// not). Bounded: kReassemblyBytes per connection.
inline constexpr uint32_t kReassemblyBytes = 4096;
struct Reassembly {
  uint32_t next_seq = 0;
  uint32_t length = 0;
  uint8_t side = 0;
  bool tls = false;  // joining a ClientHello (else HTTP request headers)
  uint8_t data[kReassemblyBytes];
};

class TriggerState {
 public:
  TriggerState(uint32_t trigger_entries, uint32_t reassembly_entries, Counters* counters);

  // Scans a payload segment of `f` (the caller checked that triggers are
  // configured and none was found yet): the SNI and the Host header of the
  // client's first bytes, then the payload of each side's first
  // window_segments segments (window_bytes of each).
  void scan(const PacketView& p, FlowEntry& f, int side, const PolicySet& policy,
            TriggerScanner& scanner);

  // The match on `f`, or nullptr.
  const TriggerInfo* found(const FlowEntry& f) const {
    if (f.trigger == 0) return nullptr;
    const TriggerInfo& t = info_[f.trigger];
    return t.found ? &t : nullptr;
  }
  bool has_match(const FlowEntry& f) const { return found(f) != nullptr; }

  // Frees what `f` holds (its flow is going; the caller clears f.trigger
  // if the entry lives on).
  void release(const FlowEntry& f);

 private:
  TriggerInfo* info_for(FlowEntry& f);  // f's entry, taken if need be; nullptr: pool full
  void stop_joining(TriggerInfo& t);
  bool record(FlowEntry& f, const TriggerMatch& m, TriggerField field, const PolicySet& policy);

  Pool<TriggerInfo> info_;
  Pool<Reassembly> reassembly_;
  Counters* counters_;
};

}  // namespace rstguard

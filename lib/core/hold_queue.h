// Resets held back while rstguard waits to learn whether their claimed
// sender is alive: a fixed set of slots (the adapter parks the frame under
// the same slot number), a free list, and a timer wheel for the deadlines,
// so each hold ends exactly at its own rule's hold time whatever the others
// say. A held reset's flow is pinned (FlowEntry::kHoldPending) until the
// hold ends: neither expiry nor eviction can make rstguard forget it.
// Not thread-safe: one per worker.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "core/counters.h"
#include "core/event.h"
#include "core/flow.h"
#include "core/timer_wheel.h"

namespace rstguard {

// What the adapter does with a frame. kHold: keep it (the worker names the
// slot through hold_slot()) until a HoldRelease says forward or drop.
enum class Disposition : uint8_t { kForward, kDrop, kHold };

// A held frame's fate. `before_frame` orders it: the adapter acts on it
// before frame `before_frame` of the burst it came with (n: after the
// burst; releases from expire_holds()/flush_holds() all use 0).
struct HoldRelease {
  uint16_t before_frame;
  uint32_t slot;
  Disposition disposition;  // kForward or kDrop
};

struct Held {
  RstEvent event;  // as emitted with action "hold"
  FlowKey key{};   // the flow it pins, found again by key and hash
  uint64_t hash = 0;
  uint32_t history = 0;  // the flow's reset history entry (pool reference)
  uint32_t resets = 0;   // RstHistory::resets when it was held
  uint8_t side = 0;      // the flow side the held reset claims to come from
  // The receiver would accept it: the flow closes when it is released (not
  // before: until then the receiver has not seen it).
  bool closes = false;
  bool in_use = false;
};

class HoldQueue {
 public:
  HoldQueue(uint32_t capacity, Counters* counters);

  uint32_t capacity() const { return capacity_; }
  uint32_t size() const { return size_; }
  bool full() const { return size_ == capacity_; }

  // Takes a slot for `h` from `now_ms` until `deadline_ms`; returns it (the
  // caller checked full()).
  uint32_t push(const Held& h, uint32_t now_ms, uint32_t deadline_ms);
  Held& operator[](uint32_t slot) { return held_[slot]; }
  const Held& operator[](uint32_t slot) const { return held_[slot]; }

  // Ends a hold: records the release for the adapter, counts it, frees the
  // slot.
  void release(uint32_t slot, uint16_t before_frame, Disposition d);

  // Calls due(slot) for every hold whose deadline is at or before now_ms
  // (the callback releases it).
  template <typename Due>
  void expire(uint32_t now_ms, Due&& due) {
    wheel_.advance(now_ms, [&](uint32_t slot) { due(slot); });
  }
  // Calls fn(slot) for every hold in progress, oldest slot number first.
  template <typename Fn>
  void for_each(Fn&& fn) {
    for (uint32_t s = 0; s < capacity_; ++s) {
      if (held_[s].in_use) fn(s);
    }
  }

  const std::vector<HoldRelease>& releases() const { return releases_; }
  void clear_releases() { releases_.clear(); }

 private:
  uint32_t capacity_;
  uint32_t size_ = 0;
  std::unique_ptr<Held[]> held_;
  std::unique_ptr<uint32_t[]> free_;
  uint32_t free_count_ = 0;
  TimerWheel wheel_;
  Counters* counters_;
  std::vector<HoldRelease> releases_;
};

}  // namespace rstguard

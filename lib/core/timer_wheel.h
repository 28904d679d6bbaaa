// A hashed timing wheel over a fixed set of timer ids (0 .. entries-1), at
// a resolution of one worker-clock millisecond. Each id is armed at most
// once; its node lives in arrays allocated at construction (an intrusive
// doubly linked list per bucket), so schedule() and cancel() are O(1) and
// allocate nothing. advance() visits one bucket per elapsed tick (at most
// one turn of the wheel per call, however long the gap) and fires exactly
// the ids whose deadline has come: a deadline further away than one turn
// stays in its bucket until a later visit finds it due.
//
// Times are the worker's wrap-aware ms clock; deadlines must lie less than
// 2^31 ms ahead. Not thread-safe.
#pragma once

#include <cstdint>
#include <memory>

#include "core/seq.h"

namespace rstguard {

class TimerWheel {
 public:
  // `buckets` is rounded up to a power of two.
  TimerWheel(uint32_t entries, uint32_t buckets = 1024) {
    uint32_t b = 1;
    while (b < buckets) b <<= 1;
    mask_ = b - 1;
    head_ = std::make_unique<uint32_t[]>(b);
    tail_ = std::make_unique<uint32_t[]>(b);
    for (uint32_t i = 0; i < b; ++i) head_[i] = tail_[i] = kNone;
    next_ = std::make_unique<uint32_t[]>(entries);
    prev_ = std::make_unique<uint32_t[]>(entries);
    deadline_ = std::make_unique<uint32_t[]>(entries);
    armed_ = std::make_unique<bool[]>(entries);
  }

  // Arms `id` (re-arms it if armed) for `deadline_ms`; `now_ms` starts the
  // wheel's clock if no advance() has yet.
  void schedule(uint32_t id, uint32_t deadline_ms, uint32_t now_ms) {
    if (!started_) {
      started_ = true;
      last_ms_ = now_ms;
    }
    if (armed_[id]) cancel(id);
    // A deadline already past fires at the next advance(): it goes in the
    // first bucket that advance() visits.
    if (!seq_gt(deadline_ms, last_ms_)) deadline_ms = last_ms_ + 1;
    const uint32_t b = deadline_ms & mask_;
    deadline_[id] = deadline_ms;
    // At the tail: ids due in the same tick fire in the order they came.
    next_[id] = kNone;
    prev_[id] = tail_[b];
    if (tail_[b] != kNone) {
      next_[tail_[b]] = id;
    } else {
      head_[b] = id;
    }
    tail_[b] = id;
    armed_[id] = true;
    ++armed_count_;
  }

  void cancel(uint32_t id) {
    if (!armed_[id]) return;
    const uint32_t b = deadline_[id] & mask_;
    if (prev_[id] != kNone) {
      next_[prev_[id]] = next_[id];
    } else {
      head_[b] = next_[id];
    }
    if (next_[id] != kNone) {
      prev_[next_[id]] = prev_[id];
    } else {
      tail_[b] = prev_[id];
    }
    armed_[id] = false;
    --armed_count_;
  }

  bool armed(uint32_t id) const { return armed_[id]; }
  uint32_t deadline(uint32_t id) const { return deadline_[id]; }
  uint32_t armed_count() const { return armed_count_; }

  // Fires (disarms, then calls fire(id)) every armed id whose deadline is
  // at or before `now_ms`, bucket by bucket from the last advance on. fire
  // may schedule or cancel any id, itself included (a deadline at or
  // before now then fires in this same call only if its bucket is still to come).
  template <typename Fire>
  void advance(uint32_t now_ms, Fire&& fire) {
    if (!started_) {
      started_ = true;
      last_ms_ = now_ms - 1;
    }
    if (!seq_gt(now_ms, last_ms_)) return;
    const uint32_t elapsed = now_ms - last_ms_;
    const uint32_t ticks = elapsed > mask_ ? mask_ + 1 : elapsed;
    for (uint32_t t = 0; t < ticks && armed_count_ > 0; ++t) {
      const uint32_t tick = now_ms - (ticks - 1) + t;  // oldest first
      uint32_t id = head_[tick & mask_];
      while (id != kNone) {
        if (seq_gt(deadline_[id], now_ms)) {
          id = next_[id];  // a later turn's
          continue;
        }
        cancel(id);
        fire(id);  // may change this bucket: start it over
        id = head_[tick & mask_];
      }
    }
    last_ms_ = now_ms;
  }

 private:
  static constexpr uint32_t kNone = UINT32_MAX;
  uint32_t mask_ = 0;
  uint32_t armed_count_ = 0;
  uint32_t last_ms_ = 0;
  bool started_ = false;
  std::unique_ptr<uint32_t[]> head_;
  std::unique_ptr<uint32_t[]> tail_;
  std::unique_ptr<uint32_t[]> next_;
  std::unique_ptr<uint32_t[]> prev_;
  std::unique_ptr<uint32_t[]> deadline_;
  std::unique_ptr<bool[]> armed_;
};

}  // namespace rstguard

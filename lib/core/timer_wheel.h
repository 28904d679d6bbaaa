// A hashed timing wheel over a fixed set of timer ids (0 .. entries-1), in
// ticks of 2^tick_shift worker-clock milliseconds. Each id is armed at most
// once; its node lives in arrays allocated at construction (an intrusive
// doubly linked list per bucket), so schedule(), cancel() and move() are
// O(1) and allocate nothing.
//
// advance(now) visits each tick's bucket once the tick is over (with a
// shift of 0: at the tick itself) and fires the ids whose deadline has
// come; a deadline further away than one turn of the wheel stays in its
// bucket until a later visit finds it due. However long the gap, one call
// visits each bucket at most once, and a budget bounds how many ids one
// call fires (the rest fire at the next call), so the work per call is
// bounded. A deadline fires at most one tick late, never early.
//
// Ids are below 2^32 - 2. Times are the worker's wrap-aware ms clock; deadlines must lie less than
// 2^31 ms ahead. Not thread-safe.
#pragma once

#include <cstdint>
#include <memory>

#include "core/seq.h"

namespace rstguard {

class TimerWheel {
 public:
  // `buckets` is rounded up to a power of two, at most 2^(32 - tick_shift).
  TimerWheel(uint32_t entries, uint32_t buckets = 1024, unsigned tick_shift = 0)
      : shift_(tick_shift), tick_mask_(UINT32_MAX >> tick_shift) {
    uint32_t b = 1;
    while (b < buckets && b <= tick_mask_ / 2) b <<= 1;
    mask_ = b - 1;
    head_ = std::make_unique<uint32_t[]>(b);
    tail_ = std::make_unique<uint32_t[]>(b);
    for (uint32_t i = 0; i < b; ++i) head_[i] = tail_[i] = kNone;
    next_.reset(new uint32_t[entries]);
    prev_.reset(new uint32_t[entries]);
    deadline_.reset(new uint32_t[entries]);
    for (uint32_t i = 0; i < entries; ++i) next_[i] = kUnarmed;
    bytes_ = size_t{entries} * kBytesPerTimer + size_t{b} * 2 * sizeof(uint32_t);
  }

  // What the arrays take: kBytesPerTimer per id plus 8 bytes per bucket.
  static constexpr size_t kBytesPerTimer = 3 * sizeof(uint32_t);
  size_t memory_bytes() const { return bytes_; }
  uint32_t buckets() const { return mask_ + 1; }

  // Arms `id` (re-arms it if armed) for `deadline_ms`; `now_ms` starts the
  // wheel's clock if no advance() has yet. A deadline in a tick already
  // visited fires at the next tick's visit.
  void schedule(uint32_t id, uint32_t deadline_ms, uint32_t now_ms) {
    start(now_ms);
    if (armed(id)) cancel(id);
    if (((tick(deadline_ms) - last_tick_) & tick_mask_) - 1 >= tick_mask_ / 2) {
      deadline_ms = ((last_tick_ + 1) & tick_mask_) << shift_;
    }
    const uint32_t b = tick(deadline_ms) & mask_;
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
    ++armed_count_;
  }

  void cancel(uint32_t id) {
    if (!armed(id)) return;
    const uint32_t b = tick(deadline_[id]) & mask_;
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
    next_[id] = kUnarmed;
    --armed_count_;
  }

  // Gives `from`'s timer (armed or not) to `to`, which must not be armed;
  // `from` ends unarmed. For owners whose ids move (a table that shifts
  // entries on deletion).
  void move(uint32_t from, uint32_t to) {
    if (!armed(from)) return;
    const uint32_t b = tick(deadline_[from]) & mask_;
    next_[to] = next_[from];
    prev_[to] = prev_[from];
    deadline_[to] = deadline_[from];
    if (prev_[to] != kNone) {
      next_[prev_[to]] = to;
    } else {
      head_[b] = to;
    }
    if (next_[to] != kNone) {
      prev_[next_[to]] = to;
    } else {
      tail_[b] = to;
    }
    next_[from] = kUnarmed;
  }

  bool armed(uint32_t id) const { return next_[id] != kUnarmed; }
  uint32_t deadline(uint32_t id) const { return deadline_[id]; }
  uint32_t armed_count() const { return armed_count_; }

  // Fires (disarms, then calls fire(id)) armed ids whose deadline is at or
  // before `now_ms`, bucket by bucket from the last visit on, at most
  // `budget` of them; returns how many. fire may schedule, cancel or move
  // any id, itself included.
  template <typename Fire>
  uint32_t advance(uint32_t now_ms, uint32_t budget, Fire&& fire) {
    if (!started_) {
      start(now_ms);
      return 0;
    }
    const uint32_t through = ((now_ms + 1) >> shift_) - 1;  // last finished tick
    const uint32_t elapsed = (through - last_tick_) & tick_mask_;
    if (elapsed == 0 || elapsed > tick_mask_ / 2) return 0;
    const uint32_t ticks = elapsed > mask_ ? mask_ + 1 : elapsed;
    uint32_t fired = 0;
    for (uint32_t t = 0; t < ticks && armed_count_ > 0; ++t) {
      // Ticks before this one count as visited: a past deadline scheduled
      // by fire() lands in this bucket, and this visit fires it.
      const uint32_t cur = (last_tick_ + 1) & tick_mask_;
      const uint32_t b = cur & mask_;
      uint32_t id = head_[b];
      while (id != kNone) {
        if (seq_gt(deadline_[id], now_ms)) {
          id = next_[id];  // a later turn's
          continue;
        }
        if (fired == budget) return fired;  // this bucket again next time
        cancel(id);
        ++fired;
        fire(id);  // may change this bucket: start it over
        id = head_[b];
      }
      last_tick_ = cur;
    }
    last_tick_ = through & tick_mask_;
    return fired;
  }
  template <typename Fire>
  uint32_t advance(uint32_t now_ms, Fire&& fire) {
    return advance(now_ms, UINT32_MAX, static_cast<Fire&&>(fire));
  }

 private:
  static constexpr uint32_t kNone = UINT32_MAX;         // ends a bucket's list
  static constexpr uint32_t kUnarmed = UINT32_MAX - 1;  // next_ of an unarmed id
  uint32_t tick(uint32_t ms) const { return ms >> shift_; }
  void start(uint32_t now_ms) {
    if (started_) return;
    started_ = true;
    last_tick_ = (((now_ms + 1) >> shift_) - 1) & tick_mask_;
  }

  unsigned shift_;
  uint32_t tick_mask_;  // ticks wrap with the ms clock: 2^(32 - shift) of them
  uint32_t mask_ = 0;
  uint32_t armed_count_ = 0;
  uint32_t last_tick_ = 0;  // every tick up to this one has been visited
  bool started_ = false;
  std::unique_ptr<uint32_t[]> head_;
  std::unique_ptr<uint32_t[]> tail_;
  std::unique_ptr<uint32_t[]> next_;
  std::unique_ptr<uint32_t[]> prev_;
  std::unique_ptr<uint32_t[]> deadline_;
  size_t bytes_ = 0;
};

}  // namespace rstguard

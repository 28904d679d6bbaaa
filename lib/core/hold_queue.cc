#include "core/hold_queue.h"

#include <algorithm>

namespace rstguard {

namespace {
constexpr uint32_t kMaxBurstReleases = 2 * 256;  // two per frame of a full burst
}

HoldQueue::HoldQueue(uint32_t capacity, Counters* counters)
    : capacity_(capacity),
      held_(std::make_unique<Held[]>(std::max<uint32_t>(capacity, 1))),
      free_(std::make_unique<uint32_t[]>(std::max<uint32_t>(capacity, 1))),
      wheel_(std::max<uint32_t>(capacity, 1)),
      counters_(counters) {
  for (uint32_t i = 0; i < capacity_; ++i) free_[i] = capacity_ - 1 - i;  // slot 0 first
  free_count_ = capacity_;
  releases_.reserve(kMaxBurstReleases + capacity_);
}

uint32_t HoldQueue::push(const Held& h, uint32_t now_ms, uint32_t deadline_ms) {
  const uint32_t slot = free_[--free_count_];
  held_[slot] = h;
  held_[slot].in_use = true;
  wheel_.schedule(slot, deadline_ms, now_ms);
  ++size_;
  return slot;
}

void HoldQueue::release(uint32_t slot, uint16_t before_frame, Disposition d) {
  if (!held_[slot].in_use) return;
  held_[slot].in_use = false;
  wheel_.cancel(slot);
  free_[free_count_++] = slot;
  --size_;
  releases_.push_back(HoldRelease{before_frame, slot, d});
  if (d == Disposition::kDrop) {
    ++counters_->hold_dropped;
    ++counters_->pkt_dropped;
  } else {
    ++counters_->hold_released;
    ++counters_->pkt_forwarded;
  }
}

}  // namespace rstguard

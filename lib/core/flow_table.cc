#include "core/flow_table.h"

#include <sys/mman.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

#include "core/seq.h"

namespace rstguard {
namespace {

// Slots looked at for a victim when the table is full.
constexpr size_t kEvictionScan = 16;

// Expiry wheel: 16 ms ticks, and up to 65536 buckets (one turn is 17.5
// minutes: an established flow's timer, 2 h 15 min away, is passed over
// about 8 times before it is due; shorter timeouts fire on their first
// visit). Fewer buckets for a small table, whose few timers share them.
constexpr unsigned kWheelTickShift = 4;
constexpr uint32_t kWheelMaxBuckets = 1u << 16;
constexpr uint32_t kWheelMinBuckets = 256;

bool ms_before(uint32_t a, uint32_t b) { return seq_lt(a, b); }  // wrap-aware

// 2 MiB alignment and a transparent-huge-page hint for an array of 2 MiB or
// more: it is touched at random, and 4 KiB pages would add a TLB miss to
// most lookups. (Smaller arrays stay cache-line aligned and unrounded.)
void* allocate(size_t raw, size_t& bytes) {
  constexpr size_t kHugePage = 2u << 20;
  const size_t align = raw >= kHugePage ? kHugePage : 64;
  bytes = (raw + align - 1) / align * align;
  void* mem = std::aligned_alloc(align, bytes);
  if (mem == nullptr) throw std::bad_alloc();  // the constructor says what for
  if (align == kHugePage) madvise(mem, bytes, MADV_HUGEPAGE);  // a hint only
  return mem;
}

}  // namespace

const char* phase_name(Phase p) {
  switch (p) {
    case Phase::kEmpty: return "empty";
    case Phase::kSynSent: return "syn_sent";
    case Phase::kSynReceived: return "syn_received";
    case Phase::kEstablished: return "established";
    case Phase::kHalfClosed: return "half_closed";
    case Phase::kClosing: return "closing";
    case Phase::kTimeWait: return "time_wait";
    case Phase::kClosed: return "closed";
  }
  return "?";
}

FlowTable::FlowTable(const FlowTableParams& params, Counters* counters)
    : capacity_(params.capacity), hasher_(params.hash_seed), counters_(counters) {
  slots_ = capacity_ + capacity_ / 2 + 1;
  size_t tag_bytes = 0;
  try {
    table_ = static_cast<FlowEntry*>(allocate(slots_ * sizeof(FlowEntry), bytes_));
    tags_ = static_cast<uint16_t*>(allocate(slots_ * sizeof(uint16_t), tag_bytes));
    const auto buckets = static_cast<uint32_t>(
        std::clamp<size_t>(slots_, kWheelMinBuckets, kWheelMaxBuckets));
    wheel_ = std::make_unique<TimerWheel>(static_cast<uint32_t>(slots_), buckets, kWheelTickShift);
  } catch (const std::bad_alloc&) {
    std::free(table_);
    std::free(tags_);
    throw CapacityError("cannot allocate " +
                        std::to_string((slots_ * (sizeof(FlowEntry) + 2 + TimerWheel::kBytesPerTimer)) >> 20) +
                        " MiB for a flow table of " + std::to_string(capacity_) +
                        " flows: lower flow_table.capacity (--flow-capacity)");
  }
  for (size_t i = 0; i < slots_; ++i) new (&table_[i]) FlowEntry();
  std::memset(tags_, 0, slots_ * sizeof(uint16_t));
  bytes_ += tag_bytes + wheel_->memory_bytes();
  const auto to_ms = [](uint64_t ns) {
    return static_cast<uint32_t>(std::min<uint64_t>(ns / kNsPerMs, INT32_MAX));
  };
  const FlowTimeouts& t = params.timeouts;
  timeout_ms_[static_cast<int>(Phase::kSynSent)] = to_ms(t.embryonic_ns);
  timeout_ms_[static_cast<int>(Phase::kSynReceived)] = to_ms(t.embryonic_ns);
  timeout_ms_[static_cast<int>(Phase::kEstablished)] = to_ms(t.established_ns);
  timeout_ms_[static_cast<int>(Phase::kHalfClosed)] = to_ms(t.closing_ns);
  timeout_ms_[static_cast<int>(Phase::kClosing)] = to_ms(t.closing_ns);
  timeout_ms_[static_cast<int>(Phase::kTimeWait)] = to_ms(t.time_wait_ns);
  timeout_ms_[static_cast<int>(Phase::kClosed)] = to_ms(t.closed_ns);
}

FlowTable::~FlowTable() {
  std::free(table_);
  std::free(tags_);
}

FlowEntry* FlowTable::find(const FlowKey& key, uint64_t hash, uint32_t now_ms) {
  const uint16_t tag = slot_tag(hash);
  for (size_t i = home(hash);; i = next(i)) {
    const uint16_t t = tags_[i];
    if (t == 0) return nullptr;
    if (t != tag) continue;
    FlowEntry& e = table_[i];
    if (e.key == key) return expired(e, now_ms) ? nullptr : &e;
  }
}

// Lower yields first. An inserter (one new packet: what it knows least)
// may take only ranks up to kRankUnanswered, so a flood of new tuples of
// any kind churns through its own entries and never reaches a connection
// seen from both ends.
int FlowTable::eviction_rank(const FlowEntry& e, uint32_t now_ms) const {
  if (e.has(FlowEntry::kHoldPending)) return kRankPinned;
  if (expired(e, now_ms)) return kRankExpired;
  // Reset history on a connection seen both ways: a race to watch, a
  // verdict to revise. (On a one-way pick-up it earns nothing: else two
  // spoofed packets per tuple would pin entries.)
  if (e.history != 0 && e.two_way()) return kRankValued;
  switch (e.phase) {
    case Phase::kClosed:
    case Phase::kTimeWait: return kRankClosed;
    case Phase::kSynSent:
    case Phase::kSynReceived: return kRankUnanswered;
    default: return e.two_way() ? kRankTwoWay : kRankUnanswered;
  }
}

FlowEntry* FlowTable::insert(const FlowKey& key, uint64_t hash, uint32_t now_ms) {
  const uint16_t tag = slot_tag(hash);
  size_t i = home(hash);
  size_t slot = slots_;
  // An existing (expired) entry for this very key is reused in place.
  for (size_t j = i;; j = next(j)) {
    if (tags_[j] == 0) break;
    if (tags_[j] == tag && table_[j].key == key) {
      slot = j;
      ++counters_->flow_expired;
      --size_;
      release_pools(table_[j]);
      wheel_->cancel(static_cast<uint32_t>(j));
      break;
    }
  }
  if (slot == slots_ && size_ < capacity_) {
    for (size_t j = i;; j = next(j)) {
      if (tags_[j] == 0) {
        slot = j;
        break;
      }
    }
  }
  if (slot == slots_) {
    // Full: the least valuable entry near the key's home gives way. The
    // sample is the next kEvictionScan occupied slots (empty ones skipped,
    // at most 4x as many looked at), so a short probe chain still finds one.
    size_t victim = slots_;
    int victim_rank = kRankPinned + 1;
    size_t j = i;
    for (size_t seen = 0, looked = 0; seen < kEvictionScan && looked < 4 * kEvictionScan;
         ++looked, j = next(j)) {
      if (tags_[j] == 0) continue;
      const FlowEntry& e = table_[j];
      ++seen;
      const int rank = eviction_rank(e, now_ms);
      if (rank < victim_rank ||
          (rank == victim_rank && ms_before(e.last_seen_ms, table_[victim].last_seen_ms))) {
        victim = j;
        victim_rank = rank;
      }
    }
    if (victim == slots_ || victim_rank > kRankUnanswered) {
      ++counters_->flow_insert_refused;
      return nullptr;
    }
    switch (victim_rank) {
      case kRankExpired: ++counters_->flow_expired; break;
      case kRankClosed: ++counters_->flow_evicted_closed; break;
      default:
        if (table_[victim].phase == Phase::kSynSent || table_[victim].phase == Phase::kSynReceived) {
          ++counters_->flow_evicted_embryonic;
        } else {
          ++counters_->flow_evicted_one_way;
        }
        break;
    }
    erase(victim);  // moves entries; nothing outside the table points at them
    for (size_t k = i;; k = next(k)) {
      if (tags_[k] == 0) {
        slot = k;
        break;
      }
    }
  }
  FlowEntry& e = table_[slot];
  e = FlowEntry();
  e.key = key;
  e.last_seen_ms = now_ms;
  e.phase = Phase::kEstablished;  // the tracker sets the real phase
  tags_[slot] = tag;
  ++size_;
  ++counters_->flow_created;
  wheel_->schedule(static_cast<uint32_t>(slot), deadline(e), now_ms);
  return &e;
}

// Backward-shift deletion for linear probing (Knuth 6.4 algorithm R):
// entries after the hole move back if their home is not between hole and
// them, so no tombstones are needed.
void FlowTable::erase(size_t hole) {
  release_pools(table_[hole]);
  wheel_->cancel(static_cast<uint32_t>(hole));
  size_t j = hole;
  for (;;) {
    j = next(j);
    if (tags_[j] == 0) break;
    FlowEntry& e = table_[j];
    // The stored tags keep only part of the hash: recompute the home.
    const size_t h = home(hasher_(e.key));
    const bool movable = (hole <= j) ? (h <= hole || h > j) : (h <= hole && h > j);
    if (movable) {
      table_[hole] = e;
      tags_[hole] = tags_[j];
      wheel_->move(static_cast<uint32_t>(j), static_cast<uint32_t>(hole));
      hole = j;
    }
  }
  table_[hole] = FlowEntry();
  tags_[hole] = 0;
  --size_;
}

size_t FlowTable::expire(uint32_t now_ms, uint32_t budget) {
  size_t freed = 0;
  wheel_->advance(now_ms, budget, [&](uint32_t slot) {
    FlowEntry& e = table_[slot];
    if (expired(e, now_ms)) {
      erase(slot);
      ++counters_->flow_expired;
      ++freed;
    } else if (e.has(FlowEntry::kHoldPending)) {
      // Pinned: the hold's end re-arms it (rearm()); until then, look again
      // one timeout on.
      wheel_->schedule(slot, now_ms + timeout_ms_[static_cast<int>(e.phase)] + 1, now_ms);
    } else {
      wheel_->schedule(slot, deadline(e), now_ms);  // a packet came since
    }
  });
  return freed;
}

}  // namespace rstguard

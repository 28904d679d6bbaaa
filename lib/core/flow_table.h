// Per-worker flow table: open addressing with linear probing over 128-byte
// FlowEntry slots, allocated once (capacity * 3/2 slots, so the load factor
// stays at or under 2/3). Nothing is allocated after construction.
//
// Beside the slots, a tag array holds 16 bits of each occupied slot's hash
// (0: empty). Probing walks the tags, so a lookup reads entries only where
// a tag matches: normally exactly one, the right one. At a million flows
// the tags (3 MB) stay in the last-level cache while the slots (200 MB) do
// not, so a packet costs one tag line from cache and its own entry's two
// lines from memory, which a staged lookup prefetches across the burst:
// prefetch_tags(), then prefetch_slot(), then find().
//
// Memory: 213 bytes per flow of capacity (3/2 slots of a 128-byte entry,
// a 2-byte tag and a 12-byte expiry timer) and at most 512 KiB of wheel
// buckets; 10 million flows take 2.13 GB (1.99 GiB).
//
// Not thread-safe: one table per worker, used only from its lcore.
//
// Expiry is exact and costs nothing per packet. A lookup treats an entry
// idle past its phase's timeout as absent, whatever the traffic. Each
// occupied slot has a timer on a wheel (ticks of 16 ms), armed when the
// entry is made; a packet only moves last_seen_ms. When the timer fires,
// expire() frees the entry if it is idle past its timeout and otherwise
// re-arms it for the deadline its last packet gives, so an entry fires
// about once per timeout of its life and is freed within one tick of its
// deadline. A phase with a shorter timeout (a close) re-arms at once
// (rearm()). No sweep: expire() does at most `budget` timers per call.
//
// expire() and an evicting insert() move entries (backward-shift deletion,
// the timers moving with them), so a pointer from find()/insert() is valid
// only until the next insert() or expire(): the worker holds one for the
// packet at hand and refers to flows elsewhere by key.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>

#include "core/counters.h"
#include "core/flow.h"
#include "core/policy.h"
#include "core/prefetch.h"
#include "core/timer_wheel.h"

namespace rstguard {

// A flow table the machine cannot hold (the message says how big and what
// to lower). Front ends report it and exit 2.
class CapacityError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The 16 bits of a key's hash kept in the tag array (never 0, which marks
// an empty slot). Low bits: the home slot comes from the high ones.
inline uint16_t slot_tag(uint64_t hash) {
  const auto t = static_cast<uint16_t>(hash);
  return t != 0 ? t : 1;
}

class FlowTable {
 public:
  FlowTable(const FlowTableParams& params, Counters* counters);
  ~FlowTable();
  FlowTable(const FlowTable&) = delete;
  FlowTable& operator=(const FlowTable&) = delete;

  // The table's flow hash (keyed by FlowTableParams::hash_seed): callers
  // hash keys with it for find(), insert() and the prefetches.
  uint64_t hash(const FlowKey& key) const { return hasher_(key); }

  // Staged lookup, step 1: hints the cache about the tags at the key's home.
  void prefetch_tags(uint64_t hash) const { prefetch_line(&tags_[home(hash)]); }

  // Step 2 (once the tags are in cache): hints the cache about the slot
  // find() or insert() will touch: the first one on the probe path whose
  // tag matches, or the empty one that ends it. A hint only: nothing is
  // decided here, so the table may change before find().
  void prefetch_slot(uint64_t hash) const {
    const uint16_t tag = slot_tag(hash);
    size_t i = home(hash);
    for (int n = 0; n < 8; ++n, i = next(i)) {
      const uint16_t t = tags_[i];
      if (t == tag || t == 0) break;
    }
    const char* e = reinterpret_cast<const char*>(&table_[i]);
    prefetch_line(e);
    prefetch_line(e + 64);
  }

  // The live entry for `key`, or nullptr. An expired entry counts as absent.
  FlowEntry* find(const FlowKey& key, uint64_t hash, uint32_t now_ms);

  // Creates an entry for `key` (which must be absent). When the table is
  // full, the lowest-ranked entry among the next kEvictionScan on the key's
  // probe path yields (oldest first within a rank), but only an expired,
  // closed, unanswered or one-way one: never a connection seen from both
  // ends, one with reset history, or one with a held reset. Returns nullptr
  // (counted as flow.insert_refused) when nothing may go. The new entry is
  // zeroed but for key, hash and times.
  FlowEntry* insert(const FlowKey& key, uint64_t hash, uint32_t now_ms);

  // Called with every entry the table frees (expired, evicted, reused in
  // place) before it is overwritten, so that its owner releases the pool
  // entries it names. Not called by the destructor.
  using ReleaseHook = void (*)(void* context, const FlowEntry& freed);
  void set_release_hook(ReleaseHook hook, void* context) {
    release_hook_ = hook;
    release_context_ = context;
  }

  // Eviction ranks, lowest yields first (see eviction_rank()).
  static constexpr int kRankExpired = 0;
  static constexpr int kRankClosed = 1;      // closed or time-wait, no reset history
  static constexpr int kRankUnanswered = 2;  // a handshake or pick-up seen one way
  static constexpr int kRankTwoWay = 3;      // seen from both ends
  static constexpr int kRankValued = 4;      // reset history (race window, verdicts)
  static constexpr int kRankPinned = 5;      // a held reset waits on it: never
  int eviction_rank(const FlowEntry& e, uint32_t now_ms) const;

  // Runs at most `budget` due timers (at least the oldest due ones) and
  // frees the entries that are idle past their timeout; the others are
  // re-armed for their real deadline. Returns how many were freed.
  size_t expire(uint32_t now_ms, uint32_t budget);

  // After a change of phase: if the new phase's timeout ends `e` sooner
  // than its timer, moves the timer up (a later deadline waits for the
  // timer to fire). Also after a held reset unpins `e`.
  void rearm(FlowEntry& e) {
    const auto slot = static_cast<uint32_t>(&e - table_);
    const uint32_t due = deadline(e);
    if (!wheel_->armed(slot) || ms_before(due, wheel_->deadline(slot))) {
      wheel_->schedule(slot, due, e.last_seen_ms);
    }
  }
  // The time an entry idle since its last packet expires (the first ms at
  // which expired() holds).
  uint32_t deadline(const FlowEntry& e) const {
    return e.last_seen_ms + timeout_ms_[static_cast<int>(e.phase)] + 1;
  }
  // Timers armed: one per occupied slot (for tests).
  uint32_t timers_armed() const { return wheel_->armed_count(); }

  // The entry for `key`, expired or not (nullptr: none). For rare,
  // bounded uses (a full pool taking an entry back), not per packet.
  FlowEntry* find_any(const FlowKey& key, uint64_t hash) {
    const size_t i = slot_of(key, hash);
    return i == slots_ ? nullptr : &table_[i];
  }

  // Whether `key` has an entry, expired or not (for after-run checks).
  bool contains(const FlowKey& key) const { return slot_of(key, hasher_(key)) != slots_; }
  // Calls fn(const FlowEntry&) for every occupied slot. Not for the packet
  // path: it walks the whole table.
  template <typename Fn>
  void for_each(Fn&& fn) const {
    for (size_t i = 0; i < slots_; ++i) {
      if (tags_[i] != 0) fn(table_[i]);
    }
  }

  // A flow with a held reset does not expire: the hold's deadline (far
  // shorter than any timeout) ends first and unpins it.
  bool expired(const FlowEntry& e, uint32_t now_ms) const {
    if (e.phase == Phase::kEmpty || e.has(FlowEntry::kHoldPending)) return false;
    const int32_t idle = static_cast<int32_t>(now_ms - e.last_seen_ms);
    return idle > 0 && static_cast<uint32_t>(idle) > timeout_ms_[static_cast<int>(e.phase)];
  }
  size_t size() const { return size_; }
  size_t capacity() const { return capacity_; }
  size_t slot_count() const { return slots_; }
  // Slots and tags (each allocation rounded to 2 MiB once that big) and
  // the expiry wheel.
  size_t memory_bytes() const { return bytes_; }
  // Whether slot i's tag and entry agree (occupied or empty): for tests.
  bool consistent() const {
    for (size_t i = 0; i < slots_; ++i) {
      if ((tags_[i] == 0) != (table_[i].phase == Phase::kEmpty)) return false;
      if (tags_[i] != 0 && tags_[i] != slot_tag(hasher_(table_[i].key))) return false;
    }
    return true;
  }

 private:
  size_t home(uint64_t hash) const {
    return static_cast<size_t>((static_cast<unsigned __int128>(hash) * slots_) >> 64);
  }
  size_t next(size_t i) const { return i + 1 == slots_ ? 0 : i + 1; }
  static bool ms_before(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b) < 0; }
  // The slot holding `key`, expired or not; slots_ if none.
  size_t slot_of(const FlowKey& key, uint64_t hash) const {
    const uint16_t tag = slot_tag(hash);
    for (size_t i = home(hash);; i = next(i)) {
      if (tags_[i] == 0) return slots_;
      if (tags_[i] == tag && table_[i].key == key) return i;
    }
  }
  void erase(size_t i);
  void release_pools(const FlowEntry& e) {
    if (release_hook_ != nullptr && (e.history != 0 || e.trigger != 0)) {
      release_hook_(release_context_, e);
    }
  }

  FlowEntry* table_ = nullptr;
  uint16_t* tags_ = nullptr;  // slot_tag() of each occupied slot, 0 if empty
  size_t slots_ = 0;
  size_t bytes_ = 0;
  size_t capacity_ = 0;
  size_t size_ = 0;
  std::unique_ptr<TimerWheel> wheel_;  // expiry timer per slot (id = slot)
  uint32_t timeout_ms_[8] = {};  // idle timeout by Phase, ms
  FlowHasher hasher_;
  Counters* counters_;
  ReleaseHook release_hook_ = nullptr;
  void* release_context_ = nullptr;
};

}  // namespace rstguard

// The per-worker fixed structures: Pool (full, refused, freed, reused),
// TimerWheel (exact deadlines, cancel, long gaps, far deadlines) and the
// per-host tables (overwrites counted).
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>
#include <vector>

#include "core/host_tables.h"
#include "core/pool.h"
#include "core/seq.h"
#include "core/timer_wheel.h"

namespace rstguard {
namespace {

TEST(Pool, HandsOutEveryEntryOnceThenRefuses) {
  Pool<int> p(3);
  std::set<uint32_t> refs;
  for (int i = 0; i < 3; ++i) {
    const uint32_t r = p.acquire();
    ASSERT_NE(r, 0u);
    EXPECT_TRUE(refs.insert(r).second) << "handed out twice: " << r;
    p[r] = i;
  }
  EXPECT_EQ(p.used(), 3u);
  EXPECT_EQ(p.acquire(), 0u);  // full: refused
  EXPECT_EQ(p.used(), 3u);
}

TEST(Pool, ReleasedEntriesAreReusedAndDoubleReleaseIsIgnored) {
  Pool<int> p(2);
  const uint32_t a = p.acquire(), b = p.acquire();
  ASSERT_NE(a, 0u);
  ASSERT_NE(b, 0u);
  EXPECT_TRUE(p.release(a));
  EXPECT_FALSE(p.release(a));  // not in use any more
  EXPECT_FALSE(p.release(0));
  EXPECT_FALSE(p.release(99));
  EXPECT_EQ(p.available(), 1u);
  EXPECT_EQ(p.acquire(), a);
  EXPECT_EQ(p.acquire(), 0u);
  EXPECT_TRUE(p.in_use(b));
}

// Random acquire/release against a model: no reference is ever held twice,
// the counts agree, and refusals happen exactly when the model is full.
TEST(Pool, RandomUseMatchesAModel) {
  std::mt19937 rng(5);
  Pool<uint64_t> p(17);
  std::set<uint32_t> held;
  for (int step = 0; step < 20000; ++step) {
    if (rng() % 2 == 0) {
      const uint32_t r = p.acquire();
      if (held.size() == 17) {
        ASSERT_EQ(r, 0u);
      } else {
        ASSERT_NE(r, 0u);
        ASSERT_TRUE(held.insert(r).second);
      }
    } else if (!held.empty()) {
      auto it = held.begin();
      std::advance(it, rng() % held.size());
      ASSERT_TRUE(p.release(*it));
      held.erase(it);
    }
    ASSERT_EQ(p.used(), held.size());
  }
}

TEST(TimerWheel, FiresEachIdAtItsOwnDeadline) {
  TimerWheel w(8, 16);
  const uint32_t t0 = 1001;
  w.schedule(0, t0 + 50, t0);
  w.schedule(1, t0 + 5, t0);   // shorter, scheduled later: fires first
  w.schedule(2, t0 + 40, t0);  // more than one turn (16 ms) ahead
  std::vector<std::pair<uint32_t, uint32_t>> fired;  // id, time
  for (uint32_t now = t0; now <= t0 + 60; ++now) {
    w.advance(now, [&](uint32_t id) { fired.emplace_back(id, now); });
  }
  ASSERT_EQ(fired.size(), 3u);
  EXPECT_EQ(fired[0], std::make_pair(1u, t0 + 5));
  EXPECT_EQ(fired[1], std::make_pair(2u, t0 + 40));
  EXPECT_EQ(fired[2], std::make_pair(0u, t0 + 50));
  EXPECT_EQ(w.armed_count(), 0u);
}

TEST(TimerWheel, CancelledIdsNeverFireAndALongGapFiresEverythingDue) {
  TimerWheel w(64, 8);
  const uint32_t t0 = 5;
  for (uint32_t id = 0; id < 64; ++id) w.schedule(id, t0 + 1 + id * 3, t0);
  for (uint32_t id = 0; id < 64; id += 2) w.cancel(id);
  std::set<uint32_t> fired;
  // One call long after every deadline (many turns of an 8-bucket wheel).
  w.advance(t0 + 1000, [&](uint32_t id) { EXPECT_TRUE(fired.insert(id).second); });
  EXPECT_EQ(fired.size(), 32u);
  for (uint32_t id : fired) EXPECT_EQ(id % 2, 1u);
  EXPECT_EQ(w.armed_count(), 0u);
}

TEST(TimerWheel, NothingFiresEarlyAcrossTheClockWrap) {
  TimerWheel w(4, 32);
  const uint32_t t0 = 0xFFFFFFF0u;
  w.schedule(0, t0 + 40, t0);  // past the wrap
  for (uint32_t d = 0; d < 40; ++d) {
    w.advance(t0 + d, [&](uint32_t) { ADD_FAILURE() << "fired at +" << d; });
  }
  int n = 0;
  w.advance(t0 + 40, [&](uint32_t id) { EXPECT_EQ(id, 0u); ++n; });
  EXPECT_EQ(n, 1);
}

// Random schedule/cancel/advance against a model: exactly the armed ids
// whose deadline has come fire, each once.
TEST(TimerWheel, RandomUseMatchesAModel) {
  std::mt19937 rng(11);
  TimerWheel w(32, 16);
  std::map<uint32_t, uint32_t> armed;  // id -> deadline
  uint32_t now = 100;
  w.advance(now, [](uint32_t) {});
  for (int step = 0; step < 20000; ++step) {
    const uint32_t id = rng() % 32;
    switch (rng() % 3) {
      case 0: {
        const uint32_t d = now + 1 + rng() % 70;
        w.schedule(id, d, now);
        armed[id] = d;
        break;
      }
      case 1:
        w.cancel(id);
        armed.erase(id);
        break;
      default: {
        now += rng() % 9;
        std::set<uint32_t> want, got;
        for (const auto& [i, d] : armed) {
          if (d <= now) want.insert(i);
        }
        w.advance(now, [&](uint32_t i) { EXPECT_TRUE(got.insert(i).second); });
        ASSERT_EQ(got, want) << "step " << step;
        for (uint32_t i : got) armed.erase(i);
      }
    }
    ASSERT_EQ(w.armed_count(), armed.size());
  }
}

// Ticks of 16 ms: a timer fires at the first advance() at or after the end
// of its deadline's tick, never before its deadline, at most 15 ms late;
// across the clock's wrap too.
TEST(TimerWheel, CoarseTicksFireWithinOneTickAndNeverEarly) {
  for (uint32_t t0 : {1000u, 0xFFFFF000u}) {
    SCOPED_TRACE(t0);
    TimerWheel w(64, 64, 4);
    std::map<uint32_t, uint32_t> deadline;
    for (uint32_t id = 0; id < 64; ++id) {
      deadline[id] = t0 + 1 + id * 37;  // up to 2.3 s: several turns of 1 s
      w.schedule(id, deadline[id], t0);
    }
    std::map<uint32_t, uint32_t> fired_at;
    for (uint32_t now = t0; now != t0 + 3000; ++now) {
      w.advance(now, [&](uint32_t id) { EXPECT_TRUE(fired_at.emplace(id, now).second); });
    }
    ASSERT_EQ(fired_at.size(), 64u);
    for (const auto& [id, at] : fired_at) {
      EXPECT_FALSE(seq_lt(at, deadline[id])) << id;
      EXPECT_LT(at - deadline[id], 16u) << id;
      EXPECT_EQ(((at + 1) & 15u), 0u) << id;  // at the last ms of a tick
    }
  }
}

// The budget bounds one call's work; what it leaves fires at the next
// calls, oldest deadline first, none lost.
TEST(TimerWheel, BudgetLeavesTheRestForTheNextCall) {
  TimerWheel w(100, 16, 0);
  for (uint32_t id = 0; id < 100; ++id) w.schedule(id, 10 + id / 10, 5);
  std::vector<uint32_t> order;
  uint32_t calls = 0;
  while (w.armed_count() > 0) {
    const uint32_t n = w.advance(500, 7, [&](uint32_t id) { order.push_back(id); });
    EXPECT_LE(n, 7u);
    ASSERT_LT(++calls, 100u);
  }
  EXPECT_EQ(calls, (100u + 6) / 7);
  ASSERT_EQ(order.size(), 100u);
  for (uint32_t i = 0; i < 100; ++i) EXPECT_EQ(order[i], i);  // by deadline, then arrival
}

// move() hands a timer to another id, keeping its place and deadline; the
// old id is free, and lists stay intact around it.
TEST(TimerWheel, MoveKeepsTheDeadlineUnderTheNewId) {
  TimerWheel w(8, 4, 0);
  w.schedule(0, 20, 0);
  w.schedule(1, 20, 0);
  w.schedule(2, 20, 0);
  w.move(1, 5);
  EXPECT_FALSE(w.armed(1));
  EXPECT_TRUE(w.armed(5));
  EXPECT_EQ(w.deadline(5), 20u);
  EXPECT_EQ(w.armed_count(), 3u);
  w.move(6, 7);  // unarmed: nothing
  EXPECT_FALSE(w.armed(7));
  std::vector<uint32_t> fired;
  w.advance(20, [&](uint32_t id) { fired.push_back(id); });
  EXPECT_EQ(fired, (std::vector<uint32_t>{0, 5, 2}));
}

IpAddr v4(uint32_t a) {
  const uint8_t b[4] = {static_cast<uint8_t>(a >> 24), static_cast<uint8_t>(a >> 16),
                        static_cast<uint8_t>(a >> 8), static_cast<uint8_t>(a)};
  return IpAddr::from_v4(b);
}

TEST(HostTables, TtlOverwritesAreCountedAndOnlyLoseTheBaseline) {
  Counters c;
  HostTtlTable t(1, &c);  // one slot: every other host overwrites
  t.set(v4(0x0A000001), 57);
  EXPECT_EQ(t.get(v4(0x0A000001)), 57);
  t.set(v4(0x0A000001), 58);  // the same host: no overwrite
  EXPECT_EQ(c.host_ttl_overwritten, 0u);
  t.set(v4(0x0A000002), 120);
  EXPECT_EQ(c.host_ttl_overwritten, 1u);
  EXPECT_EQ(t.get(v4(0x0A000001)), -1);  // unknown, never another host's TTL
  EXPECT_EQ(t.get(v4(0x0A000002)), 120);
}

TEST(HostTables, DestinationCountsRestartWhenAnotherTakesTheSlot) {
  Counters c;
  DestinationTable d(1, 1000 * 1'000'000ull, &c);
  EXPECT_EQ(d.add(v4(1), 80, 11), 1u);
  EXPECT_EQ(d.add(v4(1), 80, 21), 2u);
  EXPECT_EQ(d.count(v4(1), 80, 31), 2u);
  EXPECT_EQ(d.add(v4(2), 80, 41), 1u);  // overwrites a live window
  EXPECT_EQ(c.host_destination_overwritten, 1u);
  EXPECT_EQ(d.count(v4(1), 80, 51), 0u);
  EXPECT_EQ(d.add(v4(1), 80, 5001), 1u);  // v4(2)'s window is over: not counted
  EXPECT_EQ(c.host_destination_overwritten, 1u);
}

TEST(HostTables, RateOverwritesGiveMoreEventsNeverFewer) {
  Counters c;
  SourceRateLimiter r(1, &c);
  EXPECT_TRUE(r.allows(v4(1), 0, 2, 11));
  EXPECT_TRUE(r.allows(v4(1), 0, 2, 12));
  EXPECT_FALSE(r.allows(v4(1), 0, 2, 13));
  EXPECT_TRUE(r.allows(v4(2), 0, 2, 14));  // takes the slot
  EXPECT_EQ(c.host_rate_overwritten, 1u);
  EXPECT_TRUE(r.allows(v4(1), 0, 2, 15));  // a fresh window: allowed again
}

TEST(HostTables, EventBudgetPerSecond) {
  EventBudget b(2);
  EXPECT_TRUE(b.allows(11));
  EXPECT_TRUE(b.allows(12));
  EXPECT_FALSE(b.allows(13));
  EXPECT_TRUE(b.allows(1013));
  EventBudget unlimited(0);
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(unlimited.allows(11));
}

}  // namespace
}  // namespace rstguard

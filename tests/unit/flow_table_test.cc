// Flow table tests: key canonicalisation (both directions, IPv4/IPv6, VLANs),
// lookup and per-phase expiry, bounded collection with backward-shift
// deletion (randomised, against a reference model), eviction ranks when the
// table is full, and the memory figures.
#include "core/flow_table.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <map>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "core/counters.h"
#include "core/flow.h"
#include "builder/packet_builder.h"
#include "core/packet_view.h"
#include "core/policy.h"

namespace rstguard {

// Readable failure messages (found by ADL).
static void PrintTo(Phase p, std::ostream* os) { *os << phase_name(p); }

namespace {

constexpr uint32_t kT0 = 5'000'000;  // ms, an arbitrary worker clock value

// The default timeouts in ms (policy.h FlowTimeouts).
constexpr uint32_t kEmbryonicMs = 30'000;
constexpr uint32_t kEstablishedMs = 8'100'000;
constexpr uint32_t kClosingMs = 120'000;
constexpr uint32_t kTimeWaitMs = 60'000;
constexpr uint32_t kClosedMs = 10'000;

FlowTableParams params_with_capacity(uint32_t capacity) {
  FlowTableParams p;
  p.capacity = capacity;
  return p;
}

PacketView view_of(const char* src, uint16_t src_port, const char* dst, uint16_t dst_port,
                   uint16_t vlan_outer = 0, uint16_t vlan_inner = 0) {
  PacketView v;
  v.src = ip(src);
  v.dst = ip(dst);
  v.src_port = src_port;
  v.dst_port = dst_port;
  v.vlan_outer = vlan_outer;
  v.vlan_inner = vlan_inner;
  return v;
}

PacketView reversed(const PacketView& v) {
  PacketView r = v;
  r.src = v.dst;
  r.dst = v.src;
  r.src_port = v.dst_port;
  r.dst_port = v.src_port;
  return r;
}

// A distinct key per index: 10.x.y.z:port <-> 192.0.2.1:443.
FlowKey key_for(uint32_t index, uint16_t port = 40000) {
  FlowKey k{};
  const uint8_t a[4] = {10, static_cast<uint8_t>(index >> 16), static_cast<uint8_t>(index >> 8),
                        static_cast<uint8_t>(index)};
  const uint8_t b[4] = {192, 0, 2, 1};
  k.addr_a = IpAddr::from_v4(a);
  k.addr_b = IpAddr::from_v4(b);
  k.port_a = port;
  k.port_b = 443;
  return k;
}

// Where linear probing starts for a hash: multiplicative range reduction of
// the 64-bit hash onto the slot array (FlowTable::home). The layout test
// below checks this assumption through the public interface.
size_t home_slot(const FlowTable& t, uint64_t hash) {
  return static_cast<size_t>((static_cast<unsigned __int128>(hash) * t.slot_count()) >> 64);
}

// `count` distinct keys whose home slot is `home`, searched from `*next_index`.
std::vector<FlowKey> keys_with_home(const FlowTable& t, size_t home, size_t count,
                                    uint32_t* next_index) {
  std::vector<FlowKey> out;
  while (out.size() < count) {
    const FlowKey k = key_for((*next_index)++);
    if (home_slot(t, hash_flow_key(k)) == home) out.push_back(k);
  }
  return out;
}

// Inserts `k`; a `two_way` entry is marked as seen from both ends (what
// the tracker does once the other side answers).
FlowEntry* insert(FlowTable& t, const FlowKey& k, uint32_t now_ms, bool two_way = true) {
  FlowEntry* e = t.insert(k, t.hash(k), now_ms);
  if (e != nullptr && two_way) {
    e->dir[0].set(DirState::kSeen);
    e->dir[1].set(DirState::kSeen);
  }
  return e;
}
FlowEntry* find(FlowTable& t, const FlowKey& k, uint32_t now_ms) {
  return t.find(k, t.hash(k), now_ms);
}

// ---- Layout ---------------------------------------------------------------

TEST(FlowTableLayout, EntryIsTwoCacheLines) {
  EXPECT_EQ(sizeof(FlowEntry), 128u);
  EXPECT_EQ(alignof(FlowEntry), 64u);
  EXPECT_EQ(sizeof(FlowKey), 40u);
  EXPECT_EQ(sizeof(DirState), 28u);
}

TEST(FlowTableLayout, MemoryFigures) {
  Counters c;
  for (uint32_t capacity : {1u, 2u, 1000u, 65536u}) {
    SCOPED_TRACE(capacity);
    FlowTable t(params_with_capacity(capacity), &c);
    EXPECT_EQ(t.capacity(), capacity);
    EXPECT_EQ(t.size(), 0u);
    // Load factor at most 2/3: capacity * 3/2 slots (plus one).
    EXPECT_EQ(t.slot_count(), capacity + capacity / 2 + 1);
    EXPECT_GE(t.slot_count() * 2, capacity * 3u);
    // The slot array and the tag array (2 bytes per slot), each rounded up
    // to 2 MiB (huge pages) once it is that big, else to a cache line; a
    // 12-byte timer per slot; 8 bytes per wheel bucket, a power of two
    // from 256 to 65536 near the slot count.
    const auto rounded = [](size_t raw) {
      const size_t align = raw >= (2u << 20) ? (2u << 20) : 64u;
      return (raw + align - 1) / align * align;
    };
    size_t buckets = 256;
    while (buckets < t.slot_count() && buckets < 65536) buckets <<= 1;
    EXPECT_EQ(t.memory_bytes(), rounded(t.slot_count() * 128u) + rounded(t.slot_count() * 2u) +
                                    t.slot_count() * 12u + buckets * 8u);
  }
  // "213 bytes per flow of capacity" (and the buckets).
  FlowTable t(params_with_capacity(1000), &c);  // 1501 slots, 2048 buckets
  EXPECT_NEAR(static_cast<double>(t.memory_bytes() - 2048 * 8) / t.capacity(), 213.0, 0.5);
  // "10 million flows take 2.13 GB (1.99 GiB)" (arithmetic only: nothing
  // allocated), within 2 GiB with each big array rounded to 2 MiB.
  const uint64_t ten_million = 10'000'000;
  const uint64_t slots = ten_million + ten_million / 2 + 1;
  const uint64_t bytes = slots * (sizeof(FlowEntry) + sizeof(uint16_t) + 12) + 65536 * 8;
  EXPECT_EQ(bytes, 2'130'524'430ull);
  EXPECT_LT(bytes + (4u << 20), 2ull << 30);
  EXPECT_EQ(c.flow_created, 0u);
}

// Checks home_slot() (the test's model of where probing starts) through
// the public interface: keys sharing a home land in consecutive slots.
TEST(FlowTableLayout, ProbingIsLinearFromTheHomeSlot) {
  Counters c;
  FlowTable t(params_with_capacity(8), &c);  // 13 slots
  const size_t slots = t.slot_count();
  ASSERT_EQ(slots, 13u);
  for (size_t home : {size_t{3}, slots - 2}) {
    SCOPED_TRACE(home);
    FlowTable table(params_with_capacity(8), &c);
    uint32_t next = 1;
    const auto same = keys_with_home(table, home, 3, &next);
    const auto after = keys_with_home(table, (home + 1) % slots, 1, &next);
    FlowEntry* p0 = insert(table, same[0], kT0);
    FlowEntry* p1 = insert(table, same[1], kT0);
    FlowEntry* p2 = insert(table, after[0], kT0);  // its home is taken by same[1]
    FlowEntry* p3 = insert(table, same[2], kT0);
    const auto index = [&](FlowEntry* p) {
      return static_cast<size_t>(
          (p - p0 + static_cast<ptrdiff_t>(home) + static_cast<ptrdiff_t>(slots)) %
          static_cast<ptrdiff_t>(slots));
    };
    EXPECT_EQ(index(p1), (home + 1) % slots);
    EXPECT_EQ(index(p2), (home + 2) % slots);
    EXPECT_EQ(index(p3), (home + 3) % slots);  // wraps past the end for home = slots - 2
  }
}

// ---- Keys -----------------------------------------------------------------

struct KeyRow {
  const char* name;
  PacketView forward;
  int forward_side;  // expected side of the forward packet's sender
};

TEST(FlowTableKey, BothDirectionsGiveOneKey) {
  const KeyRow rows[] = {
      {"v4_client_low", view_of("10.0.0.1", 40000, "10.0.0.2", 443), 0},
      {"v4_client_high", view_of("10.0.0.9", 40000, "10.0.0.2", 443), 1},
      {"v4_same_address_ports_order", view_of("10.0.0.1", 5000, "10.0.0.1", 80), 1},
      {"v4_same_address_low_port", view_of("10.0.0.1", 80, "10.0.0.1", 5000), 0},
      {"v4_self_connect", view_of("10.0.0.1", 80, "10.0.0.1", 80), 0},
      {"v6", view_of("2001:db8::2", 40000, "2001:db8::1", 443), 1},
      {"v6_vs_v4_mapped_order", view_of("2001:db8::1", 1, "10.0.0.1", 2), 1},
      {"v6_link_local", view_of("fe80::1", 546, "fe80::2", 547), 0},
      {"vlan", view_of("10.0.0.5", 1234, "10.0.0.4", 22, 100, 0), 1},
      {"qinq", view_of("10.0.0.4", 1234, "10.0.0.5", 22, 100, 20), 0},
  };
  for (const KeyRow& row : rows) {
    SCOPED_TRACE(row.name);
    int side_f = -1, side_r = -1;
    const FlowKey kf = make_flow_key(row.forward, side_f);
    const FlowKey kr = make_flow_key(reversed(row.forward), side_r);
    EXPECT_TRUE(kf == kr);
    EXPECT_EQ(hash_flow_key(kf), hash_flow_key(kr));
    EXPECT_EQ(side_f, row.forward_side);
    if (!(row.forward.src == row.forward.dst && row.forward.src_port == row.forward.dst_port)) {
      EXPECT_EQ(side_r, 1 - row.forward_side);
    }
    // Side 0 is (addr_a, port_a).
    const PacketView& side0 = row.forward_side == 0 ? row.forward : reversed(row.forward);
    EXPECT_TRUE(kf.addr_a == side0.src);
    EXPECT_EQ(kf.port_a, side0.src_port);
    EXPECT_EQ(kf.vlan_outer, row.forward.vlan_outer);
    EXPECT_EQ(kf.vlan_inner, row.forward.vlan_inner);
  }
}

// The hash spreads every key bit over the output: flipping any one of the
// 320 input bits flips about half of the 64 output bits on average, and the
// 16-bit slot tag and the home slot each see it. (A weak mix would give
// a word that barely moves some output bits, so that IPv4 flows differing
// only in a port pile onto a few home slots.)
TEST(FlowTableKey, HashAvalanche) {
  std::mt19937_64 rng(5);
  constexpr int kKeys = 300;
  double worst = 64, best = 0, total = 0;
  for (int bit = 0; bit < 320; ++bit) {
    uint64_t flipped = 0;
    int tag_changed = 0;
    for (int n = 0; n < kKeys; ++n) {
      uint64_t w[5];
      for (uint64_t& x : w) x = rng();
      FlowKey a;
      std::memcpy(&a, w, sizeof(a));
      w[bit / 64] ^= 1ull << (bit % 64);
      FlowKey b;
      std::memcpy(&b, w, sizeof(b));
      const uint64_t ha = hash_flow_key(a), hb = hash_flow_key(b);
      flipped += static_cast<uint64_t>(__builtin_popcountll(ha ^ hb));
      tag_changed += slot_tag(ha) != slot_tag(hb) ? 1 : 0;
    }
    const double mean = static_cast<double>(flipped) / kKeys;
    worst = std::min(worst, mean);
    best = std::max(best, mean);
    total += mean;
    EXPECT_GE(tag_changed, kKeys - 2) << "bit " << bit;
  }
  EXPECT_NEAR(total / 320, 32.0, 0.5);
  EXPECT_GT(worst, 29.0);
  EXPECT_LT(best, 35.0);
}

// Sequential IPv4 clients (the common real population) fill home slots
// like random keys would: the fullest of 4096 slots after 65536 keys is far
// below what a clustered hash gives (expected maximum ~33 for uniform).
TEST(FlowTableKey, SequentialClientsSpreadOverHomeSlots) {
  std::vector<int> load(4096, 0);
  for (uint32_t i = 0; i < 65536; ++i) {
    const uint64_t h = hash_flow_key(key_for(i, static_cast<uint16_t>(32768 + i % 7)));
    ++load[static_cast<size_t>((static_cast<unsigned __int128>(h) * load.size()) >> 64)];
  }
  EXPECT_LT(*std::max_element(load.begin(), load.end()), 40);
  EXPECT_GT(*std::min_element(load.begin(), load.end()), 2);
}

// The seeded hash: seed 0 is the fixed hash; another seed gives other
// hashes, as well mixed.
TEST(FlowTableKey, SeededHash) {
  const FlowHasher fixed(0), seeded(0x5EED), other(0x5EEE);
  std::mt19937_64 rng(9);
  int same = 0;
  for (int n = 0; n < 10000; ++n) {
    uint64_t w[5];
    for (uint64_t& x : w) x = rng();
    FlowKey k;
    std::memcpy(&k, w, sizeof(k));
    EXPECT_EQ(fixed(k), hash_flow_key(k));
    same += seeded(k) == fixed(k) || seeded(k) == other(k) ? 1 : 0;
  }
  EXPECT_EQ(same, 0);
}

// Hash flooding: keys an attacker computed to share one home slot under the
// fixed hash land all over the table under a seeded one, so the probe
// chain they were meant to build does not form.
TEST(FlowTableKey, SeedDefeatsPrecomputedCollisions) {
  FlowTableParams fixed_params = params_with_capacity(4096);
  Counters c;
  const FlowTable fixed(fixed_params, &c);
  uint32_t next = 1;
  const std::vector<FlowKey> crafted = keys_with_home(fixed, 17, 200, &next);
  // Under the fixed hash they all start probing at slot 17: one chain.
  for (const FlowKey& k : crafted) ASSERT_EQ(home_slot(fixed, fixed.hash(k)), 17u);
  FlowTableParams seeded_params = fixed_params;
  seeded_params.hash_seed = 0x1234'5678'9ABC'DEF1ull;
  FlowTable seeded(seeded_params, &c);
  std::map<size_t, int> homes;
  for (const FlowKey& k : crafted) {
    ASSERT_NE(insert(seeded, k, kT0), nullptr);
    ++homes[home_slot(seeded, seeded.hash(k))];
  }
  int most = 0;
  for (const auto& [home, n] : homes) most = std::max(most, n);
  EXPECT_LE(most, 4) << "crafted keys still share a home under a seed";
  EXPECT_GT(homes.size(), 190u);
  EXPECT_TRUE(seeded.consistent());
  for (const FlowKey& k : crafted) EXPECT_NE(find(seeded, k, kT0), nullptr);
}

TEST(FlowTableKey, VlanIdsAndFamilyArePartOfTheKey) {
  int side = 0;
  const PacketView base = view_of("10.0.0.1", 40000, "10.0.0.2", 443);
  const FlowKey k = make_flow_key(base, side);
  PacketView other = base;
  other.vlan_outer = 7;
  EXPECT_FALSE(k == make_flow_key(other, side));
  other = base;
  other.vlan_inner = 7;
  EXPECT_FALSE(k == make_flow_key(other, side));
  other.vlan_outer = 7;
  other.vlan_inner = 0;
  PacketView swapped = base;
  swapped.vlan_outer = 0;
  swapped.vlan_inner = 7;
  EXPECT_FALSE(make_flow_key(other, side) == make_flow_key(swapped, side));
  other = base;
  other.dst_port = 444;
  EXPECT_FALSE(k == make_flow_key(other, side));
  // 10.0.0.1 as IPv6 is not the IPv4-mapped address.
  const FlowKey v6 = make_flow_key(view_of("::a00:1", 40000, "::a00:2", 443), side);
  EXPECT_FALSE(k == v6);
}

TEST(FlowTableKey, BothDirectionsFindOneEntry) {
  Counters c;
  FlowTable t(params_with_capacity(64), &c);
  const PacketView packets[] = {
      view_of("10.0.0.1", 40000, "10.0.0.2", 443),
      view_of("2001:db8::7", 50000, "2001:db8::3", 8080),
      view_of("10.0.0.1", 40000, "10.0.0.2", 443, 100),
      view_of("10.0.0.1", 40000, "10.0.0.2", 443, 100, 20),
  };
  std::vector<FlowEntry*> entries;
  for (const PacketView& p : packets) {
    int side = 0;
    const FlowKey k = make_flow_key(p, side);
    const uint64_t h = hash_flow_key(k);
    ASSERT_EQ(t.find(k, h, kT0), nullptr);
    FlowEntry* e = t.insert(k, h, kT0);
    ASSERT_NE(e, nullptr);
    entries.push_back(e);
  }
  EXPECT_EQ(t.size(), 4u);
  EXPECT_EQ(c.flow_created, 4u);
  for (size_t i = 0; i < std::size(packets); ++i) {
    SCOPED_TRACE(i);
    int side_f = 0, side_r = 0;
    const FlowKey kf = make_flow_key(packets[i], side_f);
    const FlowKey kr = make_flow_key(reversed(packets[i]), side_r);
    EXPECT_EQ(t.find(kf, hash_flow_key(kf), kT0 + 1), entries[i]);
    EXPECT_EQ(t.find(kr, hash_flow_key(kr), kT0 + 1), entries[i]);
  }
  // The same tuple on VLAN 101 is another connection.
  int side = 0;
  const FlowKey other = make_flow_key(view_of("10.0.0.2", 443, "10.0.0.1", 40000, 101), side);
  EXPECT_EQ(t.find(other, hash_flow_key(other), kT0), nullptr);
}

// ---- Insert, find, expiry --------------------------------------------------

TEST(FlowTableInsert, NewEntryIsZeroedButForKeyTagAndTime) {
  Counters c;
  FlowTable t(params_with_capacity(16), &c);
  const FlowKey k = key_for(1);
  const uint64_t h = hash_flow_key(k);
  EXPECT_EQ(t.find(k, h, kT0), nullptr);
  FlowEntry* e = t.insert(k, h, kT0);
  ASSERT_NE(e, nullptr);
  EXPECT_TRUE(e->key == k);
  EXPECT_TRUE(t.consistent());  // its tag is slot_tag(h)
  EXPECT_EQ(e->last_seen_ms, kT0);
  EXPECT_EQ(Phase{e->phase}, Phase::kEstablished);
  EXPECT_EQ(e->flags, 0);
  EXPECT_EQ(e->flow_id, 0u);
  EXPECT_EQ(e->dir[0].flags, 0);
  EXPECT_EQ(e->dir[1].packets, 0);
  EXPECT_EQ(t.find(k, h, kT0), e);
  EXPECT_EQ(t.size(), 1u);
  EXPECT_EQ(c.flow_created, 1u);
  EXPECT_EQ(c.flow_expired, 0u);
  // A time before last_seen (reordering across workers' bursts) is no expiry.
  EXPECT_EQ(t.find(k, h, kT0 - 50'000'000), e);
}

// Two keys with the same home slot and the same 16-bit slot tag: the tag
// only says where to look, the key decides. Both are found, and expiring
// the first (which shifts the second back into its slot) keeps the second.
TEST(FlowTableInsert, KeysWithTheSameSlotTagStayApart) {
  Counters c;
  FlowTable t(params_with_capacity(8), &c);  // 13 slots
  std::vector<FlowKey> twins;
  const FlowKey first = key_for(1);
  const uint64_t h1 = hash_flow_key(first);
  for (uint32_t i = 2; twins.empty() && i < 16'000'000; ++i) {
    const FlowKey k = key_for(i);
    const uint64_t h = hash_flow_key(k);
    if (slot_tag(h) == slot_tag(h1) && home_slot(t, h) == home_slot(t, h1)) twins.push_back(k);
  }
  ASSERT_EQ(twins.size(), 1u) << "no twin key found";
  FlowEntry* a = insert(t, first, kT0);
  ASSERT_NE(a, nullptr);
  a->flow_id = 111;
  a->phase = Phase::kClosed;  // expires first
  t.rearm(*a);
  FlowEntry* b = insert(t, twins[0], kT0 + 100'000);
  ASSERT_NE(b, nullptr);
  b->flow_id = 222;
  EXPECT_EQ(find(t, first, kT0 + 1)->flow_id, 111u);
  EXPECT_EQ(find(t, twins[0], kT0 + 100'001)->flow_id, 222u);
  ASSERT_TRUE(t.consistent());
  const uint32_t later = kT0 + 100'001;  // the closed entry is long expired
  EXPECT_EQ(find(t, first, later), nullptr);
  EXPECT_EQ(t.expire(later, t.slot_count()), 1u);
  ASSERT_TRUE(t.consistent());
  ASSERT_NE(find(t, twins[0], later), nullptr);
  EXPECT_EQ(find(t, twins[0], later)->flow_id, 222u);
  EXPECT_EQ(t.size(), 1u);
}

TEST(FlowTableInsert, SlotTagIsNeverZero) {
  EXPECT_EQ(slot_tag(0), 1u);
  EXPECT_EQ(slot_tag(0xFFFF'FFFF'FFFF'0000ull), 1u);
  EXPECT_EQ(slot_tag(0x1234), 0x1234u);
  EXPECT_EQ(slot_tag(0xABCD'0000'0000'BEEFull), 0xBEEFu);
}

struct ExpiryRow {
  Phase phase;
  uint32_t timeout_ms;
};

void PrintTo(const ExpiryRow& r, std::ostream* os) { *os << phase_name(r.phase); }

class FlowTableExpiry : public ::testing::TestWithParam<ExpiryRow> {};

// An entry is live up to and including its phase's timeout of idleness and
// absent one millisecond later; insert() then reuses its slot. Starts just
// below 2^32 ms so that the clock wraps during the idle time.
TEST_P(FlowTableExpiry, ExpiresAfterItsPhaseTimeout) {
  const ExpiryRow row = GetParam();
  for (uint32_t t0 : {kT0, 0xFFFFF000u}) {
    SCOPED_TRACE(t0);
    Counters c;
    FlowTable t(params_with_capacity(16), &c);
    const FlowKey k = key_for(7);
    FlowEntry* e = insert(t, k, t0);
    ASSERT_NE(e, nullptr);
    e->phase = row.phase;
    e->flow_id = 99;
    EXPECT_FALSE(t.expired(*e, t0 + row.timeout_ms));
    EXPECT_EQ(find(t, k, t0 + row.timeout_ms), e);
    EXPECT_TRUE(t.expired(*e, t0 + row.timeout_ms + 1));
    EXPECT_EQ(find(t, k, t0 + row.timeout_ms + 1), nullptr);
    EXPECT_EQ(t.size(), 1u);  // lazy: still in the slot array
    // Reinsertion reuses the expired entry in place.
    FlowEntry* again = insert(t, k, t0 + row.timeout_ms + 1, false);
    EXPECT_EQ(again, e);
    EXPECT_EQ(t.size(), 1u);
    EXPECT_EQ(c.flow_created, 2u);
    EXPECT_EQ(c.flow_expired, 1u);
    EXPECT_EQ(again->flow_id, 0u);  // zeroed
    EXPECT_EQ(Phase{again->phase}, Phase::kEstablished);
    EXPECT_EQ(again->last_seen_ms, t0 + row.timeout_ms + 1);
    EXPECT_EQ(find(t, k, t0 + row.timeout_ms + 1), e);
  }
}

INSTANTIATE_TEST_SUITE_P(FlowTablePhases, FlowTableExpiry,
                         ::testing::Values(ExpiryRow{Phase::kSynSent, kEmbryonicMs},
                                           ExpiryRow{Phase::kSynReceived, kEmbryonicMs},
                                           ExpiryRow{Phase::kEstablished, kEstablishedMs},
                                           ExpiryRow{Phase::kHalfClosed, kClosingMs},
                                           ExpiryRow{Phase::kClosing, kClosingMs},
                                           ExpiryRow{Phase::kTimeWait, kTimeWaitMs},
                                           ExpiryRow{Phase::kClosed, kClosedMs}),
                         [](const ::testing::TestParamInfo<ExpiryRow>& info) {
                           return std::string(phase_name(info.param.phase));
                         });

TEST(FlowTableExpiryConfig, TimeoutsComeFromParamsInMilliseconds) {
  FlowTableParams p = params_with_capacity(16);
  p.timeouts.embryonic_ns = 1'500 * kNsPerMs;
  p.timeouts.established_ns = 7 * kNsPerSec;
  p.timeouts.closing_ns = 3 * kNsPerSec;
  p.timeouts.time_wait_ns = 2 * kNsPerSec + 999'999;  // sub-ms part truncated
  p.timeouts.closed_ns = 250 * kNsPerMs;
  const std::pair<Phase, uint32_t> rows[] = {
      {Phase::kSynSent, 1500},  {Phase::kEstablished, 7000}, {Phase::kClosing, 3000},
      {Phase::kTimeWait, 2000}, {Phase::kClosed, 250},
  };
  Counters c;
  FlowTable t(p, &c);
  for (const auto& [phase, ms] : rows) {
    SCOPED_TRACE(phase_name(phase));
    FlowEntry e;
    e.phase = phase;
    e.last_seen_ms = kT0;
    EXPECT_FALSE(t.expired(e, kT0 + ms));
    EXPECT_TRUE(t.expired(e, kT0 + ms + 1));
  }
  FlowEntry empty;
  empty.last_seen_ms = kT0;
  EXPECT_FALSE(t.expired(empty, kT0 + 100'000'000));
}

// ---- Collection -------------------------------------------------------------

// Fills a small table, lets a random subset expire, collects, and checks
// that every survivor is still found (and the expired ones are gone from the
// slot array, not just hidden): backward-shift deletion must keep every
// probe chain intact, including chains that wrap past the end of the array.
TEST(FlowTableCollect, SurvivorsStayFindableAfterRandomExpiry) {
  std::mt19937_64 rng(20240601);
  size_t total_expired = 0;
  for (int round = 0; round < 400; ++round) {
    SCOPED_TRACE(round);
    const uint32_t capacity = 4 + static_cast<uint32_t>(rng() % 45);
    Counters c;
    FlowTable t(params_with_capacity(capacity), &c);
    const size_t fill = 1 + rng() % capacity;
    const uint32_t base = static_cast<uint32_t>(rng() % 1'000'000) * 16;
    std::vector<FlowKey> keys;
    std::vector<bool> expire;
    for (size_t i = 0; i < fill; ++i) {
      const FlowKey k = key_for(base + static_cast<uint32_t>(i), static_cast<uint16_t>(rng()));
      FlowEntry* e = insert(t, k, kT0);
      ASSERT_NE(e, nullptr);
      e->flow_id = i + 1;
      const bool dies = rng() % 2 == 0;
      e->phase = dies ? Phase::kClosed : Phase::kEstablished;
      t.rearm(*e);
      keys.push_back(k);
      expire.push_back(dies);
    }
    ASSERT_EQ(t.size(), fill);
    const size_t dead = static_cast<size_t>(std::count(expire.begin(), expire.end(), true));
    // Past the closed timeout by one wheel tick (16 ms): every closed
    // entry's timer has fired by then, none of the others'.
    const uint32_t later = kT0 + kClosedMs + 1 + 16;
    EXPECT_EQ(t.expire(later, static_cast<uint32_t>(dead)), dead);
    EXPECT_EQ(t.size(), fill - dead);
    EXPECT_EQ(c.flow_expired, dead);
    EXPECT_EQ(t.expire(later, t.slot_count()), 0u);
    for (size_t i = 0; i < fill; ++i) {
      // At kT0 nothing is expired: absence means the entry was freed.
      FlowEntry* e = find(t, keys[i], kT0);
      if (expire[i]) {
        EXPECT_EQ(e, nullptr) << "expired key " << i << " still stored";
      } else {
        ASSERT_NE(e, nullptr) << "survivor " << i << " lost";
        EXPECT_EQ(e->flow_id, i + 1);
        EXPECT_EQ(Phase{e->phase}, Phase::kEstablished);
        EXPECT_EQ(find(t, keys[i], later), e);
      }
    }
    total_expired += dead;
  }
  EXPECT_GT(total_expired, 1000u);
}

TEST(FlowTableCollect, WorkIsBoundedByTheBudget) {
  Counters c;
  FlowTable t(params_with_capacity(64), &c);
  std::vector<FlowKey> keys;
  for (uint32_t i = 0; i < 64; ++i) {
    keys.push_back(key_for(i));
    FlowEntry* e = insert(t, keys.back(), kT0);
    ASSERT_NE(e, nullptr);
    e->phase = (i % 4 == 0) ? Phase::kEstablished : Phase::kTimeWait;
    t.rearm(*e);
  }
  EXPECT_EQ(t.timers_armed(), 64u);
  const uint32_t later = kT0 + kTimeWaitMs + 1 + 16;
  EXPECT_EQ(t.expire(later, 0), 0u);
  EXPECT_EQ(t.size(), 64u);
  // Each call runs at most `budget` timers, and only due ones: exactly
  // 48 / 3 calls free the 48 time-wait entries, none of the others.
  size_t calls = 0, freed = 0;
  const uint32_t budget = 3;
  while (t.size() > 16) {
    const size_t n = t.expire(later, budget);
    EXPECT_EQ(n, budget);
    freed += n;
    ASSERT_LE(++calls, 48u / budget);
  }
  EXPECT_EQ(freed, 48u);
  EXPECT_EQ(calls, 48u / budget);
  EXPECT_EQ(t.timers_armed(), 16u);
  for (uint32_t i = 0; i < 64; ++i) {
    EXPECT_EQ(find(t, keys[i], kT0) != nullptr, i % 4 == 0) << i;
  }
  // Nothing expired: a collection frees nothing and moves nothing.
  FlowEntry* survivor = find(t, keys[0], later);
  EXPECT_EQ(t.expire(later, 1000), 0u);
  EXPECT_EQ(find(t, keys[0], later), survivor);
}

// A reference model run: random inserts, touches, phase changes, clock
// steps and collections of random budget; after every step each key must
// be findable exactly when the model says it is live.
TEST(FlowTableCollect, MatchesAModelUnderRandomOperations) {
  FlowTableParams p = params_with_capacity(24);
  p.timeouts.embryonic_ns = 5 * kNsPerSec;
  p.timeouts.established_ns = 40 * kNsPerSec;
  p.timeouts.closing_ns = 20 * kNsPerSec;
  p.timeouts.time_wait_ns = 10 * kNsPerSec;
  p.timeouts.closed_ns = 2 * kNsPerSec;
  const auto timeout_of = [](Phase ph) -> uint32_t {
    switch (ph) {
      case Phase::kSynSent:
      case Phase::kSynReceived:
        return 5000;
      case Phase::kEstablished:
        return 40000;
      case Phase::kHalfClosed:
      case Phase::kClosing:
        return 20000;
      case Phase::kTimeWait:
        return 10000;
      default:
        return 2000;
    }
  };
  const Phase phases[] = {Phase::kSynSent, Phase::kEstablished, Phase::kHalfClosed,
                          Phase::kTimeWait, Phase::kClosed};
  struct ModelEntry {
    uint32_t last_seen;
    Phase phase;
    uint64_t id;
  };
  for (uint64_t seed : {1u, 2u, 3u, 4u}) {
    SCOPED_TRACE(seed);
    std::mt19937_64 rng(seed);
    Counters c;
    p.hash_seed = seed % 2 == 0 ? 0 : rng();  // the fixed hash and seeded ones
    FlowTable t(p, &c);
    std::map<uint32_t, ModelEntry> model;                      // key index -> state
    uint32_t now = 0xFFF00000u + static_cast<uint32_t>(seed);  // wraps during the run
    uint64_t next_id = 1;
    const auto live = [&](const ModelEntry& m) {
      return static_cast<int32_t>(now - m.last_seen) <= static_cast<int32_t>(timeout_of(m.phase));
    };
    for (int step = 0; step < 6000; ++step) {
      const uint32_t index = static_cast<uint32_t>(rng() % 80);
      const FlowKey k = key_for(index);
      switch (rng() % 6) {
        case 0:
        case 1: {  // a packet: insert or touch
          FlowEntry* e = find(t, k, now);
          auto it = model.find(index);
          if (e != nullptr) {
            ASSERT_TRUE(it != model.end() && live(it->second));
            e->last_seen_ms = now;
            it->second.last_seen = now;
          } else if (t.size() < t.capacity()) {
            e = insert(t, k, now);
            ASSERT_NE(e, nullptr);
            const Phase ph = phases[rng() % std::size(phases)];
            e->phase = ph;
            t.rearm(*e);
            e->flow_id = next_id;
            model[index] = ModelEntry{now, ph, next_id++};
          }
          break;
        }
        case 2: {  // a phase change
          FlowEntry* e = find(t, k, now);
          if (e != nullptr) {
            const Phase ph = phases[rng() % std::size(phases)];
            e->phase = ph;
            t.rearm(*e);
            model[index].phase = ph;
          }
          break;
        }
        case 3:
        case 4:
          now += static_cast<uint32_t>(rng() % 3000);
          break;
        default:
          t.expire(now, rng() % 12);
          break;
      }
      size_t live_count = 0;
      for (const auto& [i, m] : model) {
        FlowEntry* e = find(t, key_for(i), now);
        if (live(m)) {
          ++live_count;
          ASSERT_NE(e, nullptr) << "step " << step << " key " << i;
          ASSERT_EQ(e->flow_id, m.id);
          ASSERT_EQ(Phase{e->phase}, m.phase);
        } else {
          ASSERT_EQ(e, nullptr) << "step " << step << " key " << i;
        }
      }
      ASSERT_GE(t.size(), live_count);
      ASSERT_LE(t.size(), t.capacity());
      ASSERT_TRUE(t.consistent()) << "step " << step;
      ASSERT_EQ(t.timers_armed(), t.size()) << "step " << step;
    }
    // One tick later, running every due timer leaves exactly the live
    // entries: each expired one is freed within a tick of its deadline.
    now += 16;
    t.expire(now, UINT32_MAX);
    size_t live_count = 0;
    for (const auto& [i, m] : model) live_count += live(m) ? 1 : 0;
    EXPECT_EQ(t.size(), live_count);
  }
}

// The expiry wheel frees an idle entry within one 16 ms tick of its
// deadline, and never a flow that a packet kept alive (the packet does not
// touch the timer: the timer, firing early, re-arms for the real deadline).
TEST(FlowTableCollect, EachEntryIsFreedWithinATickOfItsDeadline) {
  Counters c;
  FlowTable t(params_with_capacity(16), &c);
  const FlowKey idle = key_for(1), busy = key_for(2), closed = key_for(3), held = key_for(4);
  FlowEntry* e = insert(t, closed, kT0);
  e->phase = Phase::kClosed;
  t.rearm(*e);  // a close: the timer moves up from the established deadline
  EXPECT_EQ(t.deadline(*e), kT0 + kClosedMs + 1);
  e = insert(t, held, kT0);
  e->phase = Phase::kClosed;
  e->set(FlowEntry::kHoldPending);
  t.rearm(*e);
  e = insert(t, idle, kT0);
  e->phase = Phase::kTimeWait;
  t.rearm(*e);
  e = insert(t, busy, kT0);
  e->phase = Phase::kTimeWait;
  t.rearm(*e);
  std::map<uint32_t, uint32_t> freed_at;  // key index -> time
  for (uint32_t now = kT0; now < kT0 + 3 * kTimeWaitMs; now += 1) {
    if (now % 1000 == 0 && now < kT0 + 2 * kTimeWaitMs) {
      if (FlowEntry* b = find(t, busy, now)) b->last_seen_ms = now;  // a packet a second
    }
    t.expire(now, 64);
    for (uint32_t i : {1u, 2u, 3u, 4u}) {
      if (!freed_at.count(i) && !t.contains(key_for(i))) freed_at[i] = now;
    }
  }
  ASSERT_EQ(freed_at.count(4), 0u) << "a flow with a held reset was freed";
  ASSERT_EQ(freed_at.count(1) + freed_at.count(2) + freed_at.count(3), 3u);
  EXPECT_GE(freed_at[3], kT0 + kClosedMs + 1);
  EXPECT_LT(freed_at[3], kT0 + kClosedMs + 1 + 16);
  EXPECT_GE(freed_at[1], kT0 + kTimeWaitMs + 1);
  EXPECT_LT(freed_at[1], kT0 + kTimeWaitMs + 1 + 16);
  const uint32_t last_packet = kT0 + 2 * kTimeWaitMs - 1000;  // the last whole second before
  EXPECT_GE(freed_at[2], last_packet + kTimeWaitMs + 1);
  EXPECT_LT(freed_at[2], last_packet + kTimeWaitMs + 1 + 16);
  EXPECT_EQ(c.flow_expired, 3u);
  // The hold ends: unpinned, its (long past) deadline frees it at once.
  const uint32_t end = kT0 + 3 * kTimeWaitMs;
  FlowEntry* h = t.find_any(held, hash_flow_key(held));
  ASSERT_NE(h, nullptr);
  h->clear(FlowEntry::kHoldPending);
  t.rearm(*h);
  EXPECT_EQ(t.expire(end + 16, 64), 1u);
  EXPECT_FALSE(t.contains(held));
  EXPECT_EQ(t.timers_armed(), 0u);
}

// ---- Eviction ---------------------------------------------------------------

TEST(FlowTableEvict, SynFloodIsRefusedAndNeverEvictsEstablished) {
  Counters c;
  FlowTable t(params_with_capacity(64), &c);
  std::vector<FlowKey> established;
  for (uint32_t i = 0; i < 64; ++i) {
    established.push_back(key_for(i));
    ASSERT_NE(insert(t, established.back(), kT0 + i), nullptr);
  }
  ASSERT_EQ(t.size(), t.capacity());
  for (uint32_t i = 0; i < 1000; ++i) {
    EXPECT_EQ(insert(t, key_for(100'000 + i, 1024), kT0 + 100, /*established=*/false), nullptr);
  }
  EXPECT_EQ(c.flow_insert_refused, 1000u);
  EXPECT_EQ(c.flow_evicted_one_way, 0u);
  EXPECT_EQ(c.flow_evicted_embryonic, 0u);
  EXPECT_EQ(c.flow_evicted_closed, 0u);
  EXPECT_EQ(c.flow_created, 64u);
  EXPECT_EQ(t.size(), 64u);
  for (const FlowKey& k : established) EXPECT_NE(find(t, k, kT0 + 100), nullptr);
}

// With embryonic entries in a full table, a SYN flood churns through them
// and never touches an established entry.
TEST(FlowTableEvict, EmbryonicInsertsEvictOnlyEmbryonicOrClosed) {
  Counters c;
  FlowTable t(params_with_capacity(64), &c);
  std::vector<FlowKey> established;
  for (uint32_t i = 0; i < 64; ++i) {
    FlowEntry* e = insert(t, key_for(i), kT0 + i);
    ASSERT_NE(e, nullptr);
    if (i % 2 == 0) {
      established.push_back(key_for(i));
    } else {
      e->phase = (i % 4 == 1) ? Phase::kSynSent : Phase::kClosed;
    }
  }
  size_t inserted = 0;
  for (uint32_t i = 0; i < 500; ++i) {
    FlowEntry* e = insert(t, key_for(100'000 + i, 2048), kT0 + 1000 + i, false);
    if (e != nullptr) {
      e->phase = Phase::kSynSent;  // what the tracker does with a SYN
      ++inserted;
    }
    ASSERT_EQ(t.size(), 64u);
  }
  EXPECT_GT(inserted, 100u);
  EXPECT_EQ(inserted, c.flow_evicted_embryonic + c.flow_evicted_closed);
  EXPECT_EQ(inserted + c.flow_insert_refused, 500u);
  EXPECT_GT(c.flow_evicted_closed, 0u);
  EXPECT_EQ(c.flow_evicted_one_way, 0u);
  for (const FlowKey& k : established) EXPECT_NE(find(t, k, kT0 + 2000), nullptr);
}

// Random full tables: every insert is either refused and changes nothing,
// or evicts exactly one entry (for an embryonic insert, never an
// established one) and leaves every other entry findable, whatever entries
// the eviction moved.
TEST(FlowTableEvict, EvictionKeepsEveryOtherEntryFindable) {
  std::mt19937_64 rng(77);
  const Phase phases[] = {Phase::kSynSent,    Phase::kSynReceived, Phase::kEstablished,
                          Phase::kHalfClosed, Phase::kTimeWait,    Phase::kClosed};
  const auto rank = [](Phase p) {
    switch (p) {
      case Phase::kClosed:
      case Phase::kTimeWait:
        return 1;
      case Phase::kSynSent:
      case Phase::kSynReceived:
        return 2;
      default:
        return 3;
    }
  };
  for (int round = 0; round < 60; ++round) {
    SCOPED_TRACE(round);
    const uint32_t capacity = 4 + static_cast<uint32_t>(rng() % 45);
    Counters c;
    FlowTable t(params_with_capacity(capacity), &c);
    std::map<uint32_t, Phase> present;  // key index -> phase
    uint32_t next = static_cast<uint32_t>(round) << 16;
    while (t.size() < capacity) {
      const Phase ph = phases[rng() % std::size(phases)];
      FlowEntry* e = insert(t, key_for(next), kT0, ph != Phase::kSynSent);
      ASSERT_NE(e, nullptr);
      e->phase = ph;
      present[next++] = ph;
    }
    for (int step = 0; step < 150; ++step) {
      const bool established = rng() % 2 == 0;
      const uint32_t index = next++;
      FlowEntry* e = insert(t, key_for(index), kT0 + 1 + step, established);
      std::vector<uint32_t> gone;
      for (const auto& [i, ph] : present) {
        if (find(t, key_for(i), kT0 + 1 + step) == nullptr) gone.push_back(i);
      }
      if (e == nullptr) {
        ASSERT_TRUE(gone.empty()) << "a refused insert lost entry " << gone[0];
        continue;
      }
      ASSERT_EQ(gone.size(), 1u) << "step " << step;
      const Phase victim = present[gone[0]];
      ASSERT_LT(rank(victim), 3) << phase_name(victim);  // never a two-way connection
      present.erase(gone[0]);
      const Phase ph = established ? Phase::kEstablished : Phase::kSynSent;
      e->phase = ph;
      e->last_seen_ms = kT0 + 1 + step;
      present[index] = ph;
      ASSERT_EQ(find(t, key_for(index), kT0 + 1 + step), e);
      ASSERT_EQ(t.size(), capacity);
      ASSERT_TRUE(t.consistent()) << "step " << step;
    }
  }
}

struct ClusterMember {
  Phase phase;
  uint32_t age_ms;  // how long before `now` it was last seen
};

class FlowTableEvictOrder : public ::testing::TestWithParam<int> {};

// A full table whose entries all share one home slot, so that every new
// key with that home sees all of them on its probe path. The victim is the
// lowest rank (expired < closed/time-wait < embryonic < established), the
// oldest within a rank. Parameter: the home slot (a wrapping cluster too).
TEST_P(FlowTableEvictOrder, LowestRankThenOldestGoesFirst) {
  Counters c;
  FlowTable t(params_with_capacity(8), &c);  // 13 slots
  const size_t home = static_cast<size_t>(GetParam()) % t.slot_count();
  const uint32_t now = kT0 + 10'000'000;
  const ClusterMember members[8] = {
      {Phase::kEstablished, 900},        // 0
      {Phase::kSynSent, 700},            // 1
      {Phase::kEstablished, 9'000'000},  // 2: expired (established timeout 8100 s)
      {Phase::kClosed, 500},             // 3
      {Phase::kSynReceived, 800},        // 4: older embryonic
      {Phase::kTimeWait, 600},           // 5: older closed
      {Phase::kEstablished, 950},        // 6: oldest established
      {Phase::kEstablished, 100},        // 7
  };
  uint32_t next = 1;
  const std::vector<FlowKey> keys = keys_with_home(t, home, 8, &next);
  for (int i = 0; i < 8; ++i) {
    FlowEntry* e = insert(t, keys[i], now - members[i].age_ms);
    ASSERT_NE(e, nullptr);
    e->phase = members[i].phase;
  }
  ASSERT_EQ(t.size(), t.capacity());
  const std::vector<FlowKey> newcomers = keys_with_home(t, home, 8, &next);
  const auto present = [&](int i) { return find(t, keys[i], now) != nullptr; };

  // Expected victims in order, and which counter each bumps.
  struct Step {
    bool established;
    int victim;  // index into keys, or -1: refused
    uint64_t Counters::*counter;
  };
  const Step steps[] = {
      {false, 2, &Counters::flow_expired},
      {false, 5, &Counters::flow_evicted_closed},
      {false, 3, &Counters::flow_evicted_closed},
      {true, 4, &Counters::flow_evicted_embryonic},  // established prefers embryonic
      {false, 1, &Counters::flow_evicted_embryonic},
      // Left: 0, 6, 7 established plus the newcomers, made established
      // below: nothing a new tuple may take.
      {false, -1, &Counters::flow_insert_refused},
      {true, -1, &Counters::flow_insert_refused},
  };
  size_t n = 0;
  for (const Step& s : steps) {
    SCOPED_TRACE(n);
    const uint64_t before = c.*(s.counter);
    std::vector<bool> was(8);
    for (int i = 0; i < 8; ++i) was[i] = present(i);
    FlowEntry* e = insert(t, newcomers[n], now, s.established);
    EXPECT_EQ(c.*(s.counter), before + 1);
    if (s.victim < 0) {
      EXPECT_EQ(e, nullptr);
    } else {
      ASSERT_NE(e, nullptr);
      e->phase = Phase::kEstablished;  // and answered: a two-way connection
      e->dir[0].set(DirState::kSeen);
      e->dir[1].set(DirState::kSeen);
      e->last_seen_ms = now - 10;  // newer than every original entry
      EXPECT_EQ(find(t, newcomers[n], now), e);
      ++n;
    }
    for (int i = 0; i < 8; ++i) {
      if (i == s.victim || (i == 2 && s.victim != 2)) continue;  // 2 reads absent: expired
      EXPECT_EQ(present(i), was[i]) << "entry " << i;
    }
    if (s.victim >= 0) {
      EXPECT_FALSE(present(s.victim));
    }
    EXPECT_EQ(t.size(), t.capacity());
  }
  for (size_t i = 0; i < n; ++i) EXPECT_NE(find(t, newcomers[i], now), nullptr) << i;
  EXPECT_TRUE(present(0));
  EXPECT_TRUE(present(6));
  EXPECT_TRUE(present(7));
}

INSTANTIATE_TEST_SUITE_P(FlowTableHomes, FlowTableEvictOrder, ::testing::Values(2, 9, 12),
                         [](const ::testing::TestParamInfo<int>& info) {
                           return "home_" + std::to_string(info.param);
                         });

// A full table of embryonic entries (a SYN flood that got in first) must
// still admit new connections: each evicts an embryonic entry, also when
// the new key's home slot is empty (about a third of keys at the 2/3 load
// bound), i.e. when nothing sits on its own probe path.
TEST(FlowTableEvict, FullOfEmbryonicStillAdmitsEveryNewConnection) {
  Counters c;
  FlowTable t(params_with_capacity(64), &c);
  for (uint32_t i = 0; i < 64; ++i) {
    FlowEntry* e = insert(t, key_for(i), kT0 + i, false);
    ASSERT_NE(e, nullptr);
    e->phase = Phase::kSynSent;
  }
  for (uint32_t i = 0; i < 20; ++i) {
    const FlowKey k = key_for(500'000 + i, 4096);
    FlowEntry* e = insert(t, k, kT0 + 100, true);
    EXPECT_NE(e, nullptr) << "insert " << i << " refused";
    if (e != nullptr) e->phase = Phase::kEstablished;
  }
  EXPECT_EQ(c.flow_insert_refused, 0u);
  EXPECT_EQ(c.flow_evicted_embryonic, 20u);
  EXPECT_EQ(t.size(), 64u);
}

}  // namespace
}  // namespace rstguard

// Rules: first match wins over client/server prefixes, ports, VLAN and
// trigger; the bitset lookup must agree with a plain first-match scan.
#include <gtest/gtest.h>

#include <random>

#include "builder/packet_builder.h"
#include "core/policy_set.h"

namespace rstguard {
namespace {

Prefix pfx(const char* text) {
  Prefix p;
  EXPECT_TRUE(Prefix::parse(text, &p)) << text;
  return p;
}

ConnectionView conn(const char* client, const char* server, uint16_t cport = 40000,
                    uint16_t sport = 443, uint16_t vlan = 0, int trigger = -1) {
  ConnectionView c;
  c.client = ip(client);
  c.server = ip(server);
  c.client_port = cport;
  c.server_port = sport;
  c.vlan = vlan;
  c.trigger = trigger;
  return c;
}

Rule named(const char* name) {
  Rule r;
  r.name = name;
  return r;
}

TEST(Prefix, Parse) {
  Prefix p;
  EXPECT_TRUE(Prefix::parse("10.0.0.0/8", &p));
  EXPECT_EQ(p.length, 96 + 8);
  EXPECT_TRUE(Prefix::parse("10.1.2.3", &p));
  EXPECT_EQ(p.length, 128);
  EXPECT_TRUE(Prefix::parse("0.0.0.0/0", &p));
  EXPECT_EQ(p.length, 96);  // every IPv4 address, and no IPv6 one
  EXPECT_TRUE(Prefix::parse("2001:db8::/32", &p));
  EXPECT_EQ(p.length, 32);
  EXPECT_TRUE(Prefix::parse("::/0", &p));
  EXPECT_EQ(p.length, 0);
  for (const char* bad : {"10.0.0.1/8", "10.0.0.0/33", "2001:db8::/129", "10.0.0.0/", "x/8",
                          "10.0.0.0/-1", "10.0.0.0/8x", ""}) {
    EXPECT_FALSE(Prefix::parse(bad, &p)) << bad;
  }
}

TEST(PolicySet, FirstMatchWinsAndDefaultCatchesTheRest) {
  Rule web = named("web");
  web.server = {pfx("192.0.2.0/24")};
  web.server_ports = {{443, 443}, {8000, 8100}};
  Rule net = named("net");
  net.server = {pfx("192.0.0.0/16")};
  Rule v6 = named("v6");
  v6.client = {pfx("2001:db8::/32")};
  const PolicySet set({web, net, v6}, named("default"), {}, 1);
  EXPECT_EQ(set.match(conn("10.0.0.1", "192.0.2.7")).name, "web");
  EXPECT_EQ(set.match(conn("10.0.0.1", "192.0.2.7", 1, 8100)).name, "web");
  EXPECT_EQ(set.match(conn("10.0.0.1", "192.0.2.7", 1, 8101)).name, "net");
  EXPECT_EQ(set.match(conn("10.0.0.1", "192.0.3.7", 1, 443)).name, "net");
  EXPECT_EQ(set.match(conn("10.0.0.1", "192.1.2.7")).name, "default");
  EXPECT_EQ(set.match(conn("2001:db8:1::5", "2001:db9::1")).name, "v6");
  EXPECT_EQ(set.match(conn("2001:db9::5", "2001:db8::1")).name, "default");
}

TEST(PolicySet, PrefixEdges) {
  Rule all4 = named("all-v4");
  all4.client = {pfx("0.0.0.0/0")};
  Rule host = named("host");
  host.server = {pfx("203.0.113.9/32")};
  Rule all = named("all");
  all.client = {pfx("::/0")};
  {
    const PolicySet set({host, all4, all}, named("default"), {}, 1);
    EXPECT_EQ(set.match(conn("10.0.0.1", "203.0.113.9")).name, "host");
    EXPECT_EQ(set.match(conn("10.0.0.1", "203.0.113.8")).name, "all-v4");
    // ::/0 covers IPv6 and IPv4-mapped addresses alike; 0.0.0.0/0 only IPv4.
    EXPECT_EQ(set.match(conn("2001:db8::1", "2001:db8::2")).name, "all");
  }
  Rule mapped = named("v4-by-v6-prefix");
  mapped.client = {pfx("::ffff:0:0/96")};
  const PolicySet set({mapped}, named("default"), {}, 1);
  EXPECT_EQ(set.match(conn("198.51.100.1", "10.0.0.1")).name, "v4-by-v6-prefix");
  EXPECT_EQ(set.match(conn("2001:db8::1", "10.0.0.1")).name, "default");
}

TEST(PolicySet, VlanAndTriggers) {
  Rule tagged = named("tagged");
  tagged.vlans = {100, 200};
  Rule blocked = named("blocked-sni");
  blocked.triggers = {"sni-list"};
  Rule quiet = named("no-trigger");
  quiet.no_trigger = true;
  quiet.server = {pfx("198.51.100.0/24")};
  const PolicySet set({blocked, tagged, quiet}, named("default"), {"kw", "sni-list"}, 1);
  EXPECT_EQ(set.trigger_index("sni-list"), 1);
  EXPECT_EQ(set.match(conn("10.0.0.1", "10.0.0.2", 1, 2, 200)).name, "tagged");
  EXPECT_EQ(set.match(conn("10.0.0.1", "10.0.0.2", 1, 2, 300)).name, "default");
  EXPECT_EQ(set.match(conn("10.0.0.1", "10.0.0.2", 1, 2, 100, 1)).name, "blocked-sni");
  EXPECT_EQ(set.match(conn("10.0.0.1", "10.0.0.2", 1, 2, 100, 0)).name, "tagged");
  EXPECT_EQ(set.match(conn("10.0.0.1", "198.51.100.3")).name, "no-trigger");
  EXPECT_EQ(set.match(conn("10.0.0.1", "198.51.100.3", 1, 2, 0, 0)).name, "default");
}

TEST(RuleActions, MostSevereOfLabelAndEvidenceWins) {
  RuleActions a;
  a.by_label.by_label = {Action::pass, Action::alert, Action::alert};
  a.by_evidence[static_cast<int>(Evidence::sweep)] = static_cast<int8_t>(Action::drop);
  a.by_evidence[static_cast<int>(Evidence::with_payload)] = static_cast<int8_t>(Action::pass);
  EvidenceSet sweep;
  sweep.add(Evidence::sweep);
  EvidenceSet payload;
  payload.add(Evidence::with_payload);
  EXPECT_EQ(a.decide(Label::forged, sweep), Action::drop);
  EXPECT_EQ(a.decide(Label::suspicious, payload), Action::alert);  // pass is milder
  EXPECT_EQ(a.decide(Label::legit, EvidenceSet{}), Action::pass);
}

// Random rule sets against a linear first-match reference.
bool covers(const Prefix& p, const IpAddr& a) {
  for (int bit = 0; bit < p.length; ++bit) {
    const int byte = bit / 8, shift = 7 - bit % 8;
    if (((p.addr.bytes[byte] >> shift) & 1) != ((a.bytes[byte] >> shift) & 1)) return false;
  }
  return true;
}

uint32_t reference(const std::vector<Rule>& rules, const ConnectionView& c,
                   const std::vector<std::string>& triggers) {
  const auto in_prefixes = [](const std::vector<Prefix>& ps, const IpAddr& a) {
    if (ps.empty()) return true;
    for (const Prefix& p : ps) {
      if (covers(p, a)) return true;
    }
    return false;
  };
  const auto in_ports = [](const std::vector<PortRange>& rs, uint16_t port) {
    if (rs.empty()) return true;
    for (const PortRange& r : rs) {
      if (port >= r.lo && port <= r.hi) return true;
    }
    return false;
  };
  for (uint32_t i = 0; i < rules.size(); ++i) {
    const Rule& r = rules[i];
    if (!in_prefixes(r.client, c.client) || !in_prefixes(r.server, c.server)) continue;
    if (!in_ports(r.client_ports, c.client_port) || !in_ports(r.server_ports, c.server_port)) {
      continue;
    }
    if (!r.vlans.empty() &&
        std::find(r.vlans.begin(), r.vlans.end(), c.vlan) == r.vlans.end()) {
      continue;
    }
    if (r.no_trigger && c.trigger >= 0) continue;
    if (!r.triggers.empty() &&
        (c.trigger < 0 || std::find(r.triggers.begin(), r.triggers.end(), triggers[c.trigger]) ==
                              r.triggers.end())) {
      continue;
    }
    return i;
  }
  return static_cast<uint32_t>(rules.size());
}

TEST(PolicySet, AgreesWithALinearFirstMatch) {
  std::mt19937 rng(7);
  const std::vector<std::string> triggers = {"a", "b", "c"};
  // Few addresses and ports, so that rules overlap and queries hit them.
  const std::vector<const char*> addrs = {"10.0.0.1", "10.0.1.1", "10.1.0.1", "192.0.2.1",
                                          "2001:db8::1", "2001:db8:1::1", "2001:db9::1"};
  const std::vector<const char*> prefixes = {
      "10.0.0.0/8", "10.0.0.0/16", "10.0.0.0/24", "10.0.0.1", "192.0.2.0/24", "0.0.0.0/0",
      "2001:db8::/32", "2001:db8::/48", "::/0", "2001:db8:1::1", "10.1.0.0/16"};
  for (size_t n_rules : {1u, 5u, 63u, 64u, 65u, 200u, 1100u}) {
    SCOPED_TRACE(n_rules);
    std::vector<Rule> rules;
    for (size_t i = 0; i < n_rules; ++i) {
      Rule r = named(("r" + std::to_string(i)).c_str());
      const auto pick_prefixes = [&](std::vector<Prefix>& out) {
        const int k = rng() % 3;
        for (int j = 0; j < k; ++j) out.push_back(pfx(prefixes[rng() % prefixes.size()]));
      };
      pick_prefixes(r.client);
      pick_prefixes(r.server);
      if (rng() % 2) {
        const uint16_t lo = static_cast<uint16_t>(rng() % 100);
        r.server_ports.push_back({lo, static_cast<uint16_t>(lo + rng() % 50)});
      }
      if (rng() % 3 == 0) r.client_ports.push_back({static_cast<uint16_t>(rng() % 100), 65535});
      if (rng() % 4 == 0) r.vlans.push_back(static_cast<uint16_t>(rng() % 3));
      const int t = rng() % 5;
      if (t == 0) r.no_trigger = true;
      if (t == 1) r.triggers.push_back(triggers[rng() % 3]);
      rules.push_back(r);
    }
    const PolicySet set(rules, named("default"), triggers, 1);
    for (int q = 0; q < 3000; ++q) {
      const ConnectionView c =
          conn(addrs[rng() % addrs.size()], addrs[rng() % addrs.size()],
               static_cast<uint16_t>(rng() % 120), static_cast<uint16_t>(rng() % 120),
               static_cast<uint16_t>(rng() % 3), static_cast<int>(rng() % 4) - 1);
      ASSERT_EQ(set.match_index(c), reference(rules, c, triggers)) << "query " << q;
    }
  }
}

TEST(PolicySet, ThousandsOfDistinctPrefixesPortsAndVlansAgreeWithALinearFirstMatch) {
  // A generated file: one rule per customer prefix, many with their own
  // port or VLAN (the sparse lists, and the scratch past 1024 rules).
  std::mt19937 rng(11);
  std::vector<Rule> rules;
  for (int i = 0; i < 3000; ++i) {
    Rule r = named(("c" + std::to_string(i)).c_str());
    const int len = 16 + static_cast<int>(rng() % 9);
    const int third = (i & 255) & (0xff << (24 - len)) & 0xff;
    r.server.push_back(pfx(("10." + std::to_string(i >> 8) + "." + std::to_string(third) + ".0/" +
                            std::to_string(len)).c_str()));
    if (rng() % 2) {
      const uint16_t lo = static_cast<uint16_t>(rng() % 2000);
      r.server_ports.push_back({lo, static_cast<uint16_t>(lo + rng() % 3)});
    }
    if (rng() % 5 == 0) r.vlans.push_back(static_cast<uint16_t>(rng() % 4));
    rules.push_back(r);
  }
  const PolicySet set(rules, named("default"), {}, 1);
  for (int q = 0; q < 20000; ++q) {
    const std::string a = "10." + std::to_string(rng() % 12) + "." + std::to_string(rng() % 256) +
                          "." + std::to_string(rng() % 256);
    const ConnectionView c = conn("192.0.2.1", a.c_str(), 40000,
                                  static_cast<uint16_t>(rng() % 2005),
                                  static_cast<uint16_t>(rng() % 4), -1);
    ASSERT_EQ(set.match_index(c), reference(rules, c, {})) << "query " << q << " " << a;
  }
}

TEST(PolicySet, WithGenerationKeepsTheRules) {
  Rule web = named("web");
  web.server_ports = {{443, 443}};
  const PolicySet set({web}, named("default"), {}, 1);
  const auto next = set.with_generation(2);
  EXPECT_EQ(next->generation(), 2u);
  EXPECT_EQ(next->rules().size(), 2u);
  EXPECT_EQ(next->match(conn("10.0.0.1", "10.0.0.2")).name, "web");
}

}  // namespace
}  // namespace rstguard

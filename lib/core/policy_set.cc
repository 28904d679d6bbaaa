#include "core/policy_set.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <set>

namespace rstguard {
namespace {

int severity(Action a) {
  switch (a) {
    case Action::pass: return 0;
    case Action::alert: return 1;
    case Action::hold: return 2;
    case Action::drop: return 3;
  }
  return 0;
}

IpAddr masked(const IpAddr& a, uint8_t length) {
  IpAddr m{};
  for (int i = 0; i < 16; ++i) {
    const int bits = std::clamp(static_cast<int>(length) - 8 * i, 0, 8);
    m.bytes[i] = static_cast<uint8_t>(a.bytes[i] & static_cast<uint8_t>(0xFF00 >> bits));
  }
  return m;
}

}  // namespace

PolicySet::PrefixKey PolicySet::key_of(const IpAddr& a, uint8_t length) {
  PolicySet::PrefixKey k;
  k.length = length;
  const IpAddr m = masked(a, length);
  std::copy(m.bytes, m.bytes + 16, k.addr);
  return k;
}

size_t PolicySet::PrefixKeyHash::operator()(const PrefixKey& k) const {
  uint64_t w[2];
  std::memcpy(w, k.addr, 16);
  uint64_t h = (w[0] ^ (w[1] * 0x9E3779B97F4A7C15ull) ^ k.length) * 0xBF58476D1CE4E5B9ull;
  return static_cast<size_t>(h ^ (h >> 31));
}

namespace {

void set_bit(std::vector<uint64_t>& b, size_t i) { b[i / 64] |= 1ull << (i % 64); }

}  // namespace

bool Prefix::parse(std::string_view text, Prefix* out) {
  const size_t slash = text.find('/');
  const std::string addr(text.substr(0, slash));
  uint8_t buf[16];
  int max_len;
  if (inet_pton(AF_INET, addr.c_str(), buf) == 1) {
    out->addr = IpAddr::from_v4(buf);
    max_len = 32;
  } else if (inet_pton(AF_INET6, addr.c_str(), buf) == 1) {
    out->addr = IpAddr::from_v6(buf);
    max_len = 128;
  } else {
    return false;
  }
  int len = max_len;
  if (slash != std::string_view::npos) {
    const std::string_view l = text.substr(slash + 1);
    auto [p, ec] = std::from_chars(l.data(), l.data() + l.size(), len);
    if (l.empty() || ec != std::errc() || p != l.data() + l.size() || len < 0 || len > max_len) {
      return false;
    }
  }
  out->length = static_cast<uint8_t>(max_len == 32 ? 96 + len : len);
  // A prefix with host bits set ("10.1.2.3/8") is an operator's typo.
  return masked(out->addr, out->length) == out->addr;
}

Action RuleActions::decide(Label label, EvidenceSet evidence) const {
  Action a = by_label.for_label(label);
  for (int i = 0; i < kEvidenceCount; ++i) {
    if (by_evidence[i] < 0 || !evidence.has(static_cast<Evidence>(i))) continue;
    const auto e = static_cast<Action>(by_evidence[i]);
    if (severity(e) > severity(a)) a = e;
  }
  return a;
}

void PolicySet::PrefixField::build(const std::vector<Rule>& rules,
                                   std::vector<Prefix> Rule::*field, size_t words) {
  any.assign(words, 0);
  std::set<uint8_t, std::greater<>> lens;
  for (size_t r = 0; r < rules.size(); ++r) {
    const auto& prefixes = rules[r].*field;
    if (prefixes.empty()) {
      set_bit(any, r);
      continue;
    }
    for (const Prefix& p : prefixes) {
      lens.insert(p.length);
      RuleList& list = by_prefix[key_of(p.addr, p.length)];
      if (list.empty() || list.back() != r) list.push_back(static_cast<uint32_t>(r));
    }
  }
  lengths.assign(lens.begin(), lens.end());
}

void PolicySet::PrefixField::lookup(const IpAddr& a, size_t words, uint64_t* out) const {
  for (size_t w = 0; w < words; ++w) out[w] = any[w];
  for (uint8_t len : lengths) {
    const auto it = by_prefix.find(key_of(a, len));
    if (it == by_prefix.end()) continue;
    for (uint32_t r : it->second) out[r / 64] |= 1ull << (r % 64);
  }
}

void PolicySet::PortField::build(const std::vector<Rule>& rules,
                                 std::vector<PortRange> Rule::*field, size_t words) {
  any.assign(words, 0);
  std::set<uint32_t> cuts = {0};
  for (const Rule& r : rules) {
    for (const PortRange& p : r.*field) {
      cuts.insert(p.lo);
      cuts.insert(static_cast<uint32_t>(p.hi) + 1);
    }
  }
  cuts.erase(65536);
  starts.assign(cuts.begin(), cuts.end());
  allowed.assign(starts.size(), RuleList());
  // Each range adds its rule to the intervals it covers (every port of an
  // interval behaves alike): the work is the ranges' coverage.
  for (size_t r = 0; r < rules.size(); ++r) {
    const auto& ranges = rules[r].*field;
    if (ranges.empty()) {
      set_bit(any, r);
      continue;
    }
    for (const PortRange& p : ranges) {
      const auto first = std::lower_bound(starts.begin(), starts.end(), uint32_t{p.lo});
      for (auto it = first; it != starts.end() && *it <= p.hi; ++it) {
        RuleList& list = allowed[static_cast<size_t>(it - starts.begin())];
        if (list.empty() || list.back() != r) list.push_back(static_cast<uint32_t>(r));
      }
    }
  }
}

void PolicySet::PortField::lookup(uint16_t port, size_t words, uint64_t* out) const {
  for (size_t w = 0; w < words; ++w) out[w] = any[w];
  const auto it = std::upper_bound(starts.begin(), starts.end(), static_cast<uint32_t>(port));
  for (uint32_t r : allowed[static_cast<size_t>(it - starts.begin()) - 1]) {
    out[r / 64] |= 1ull << (r % 64);
  }
}

PolicySet::PolicySet(std::vector<Rule> rules, Rule fallback,
                     std::vector<std::string> trigger_names, uint64_t generation)
    : rules_(std::move(rules)), trigger_names_(std::move(trigger_names)), generation_(generation) {
  // The default matches everything, whatever it was given.
  fallback.client.clear();
  fallback.server.clear();
  fallback.client_ports.clear();
  fallback.server_ports.clear();
  fallback.vlans.clear();
  fallback.triggers.clear();
  fallback.no_trigger = false;
  if (fallback.name.empty()) fallback.name = "default";
  rules_.push_back(std::move(fallback));
  words_ = (rules_.size() + 63) / 64;
  client_.build(rules_, &Rule::client, words_);
  server_.build(rules_, &Rule::server, words_);
  client_ports_.build(rules_, &Rule::client_ports, words_);
  server_ports_.build(rules_, &Rule::server_ports, words_);
  vlan_any_.assign(words_, 0);
  trigger_any_.assign(words_, 0);
  trigger_none_.assign(words_, 0);
  trigger_.assign(trigger_names_.size(), Bits(words_, 0));
  for (size_t r = 0; r < rules_.size(); ++r) {
    const Rule& rule = rules_[r];
    if (rule.vlans.empty()) set_bit(vlan_any_, r);
    for (uint16_t v : rule.vlans) {
      RuleList& list = vlan_[v];
      if (list.empty() || list.back() != r) list.push_back(static_cast<uint32_t>(r));
    }
    if (rule.no_trigger) {
      set_bit(trigger_none_, r);
    } else if (rule.triggers.empty()) {
      set_bit(trigger_any_, r);
      set_bit(trigger_none_, r);
    } else {
      for (const std::string& t : rule.triggers) {
        const int i = trigger_index(t);
        if (i >= 0) set_bit(trigger_[i], r);
      }
    }
  }
}

std::shared_ptr<const PolicySet> PolicySet::with_generation(uint64_t generation) const {
  std::vector<Rule> rules(rules_.begin(), rules_.end() - 1);
  auto next = std::make_shared<PolicySet>(std::move(rules), rules_.back(), trigger_names_,
                                          generation);
  next->set_triggers(triggers_, window_segments_, window_bytes_);
  return next;
}

void PolicySet::set_triggers(std::shared_ptr<const TriggerDatabase> db, uint32_t window_segments,
                             uint32_t window_bytes) {
  triggers_ = std::move(db);
  window_segments_ = window_segments;
  window_bytes_ = window_bytes;
  scanners_.clear();
}

void PolicySet::prepare_scanners(size_t workers) const {
  if (triggers_ == nullptr) return;
  while (scanners_.size() < workers) scanners_.push_back(triggers_->make_scanner());
}

int PolicySet::trigger_index(std::string_view name) const {
  for (size_t i = 0; i < trigger_names_.size(); ++i) {
    if (trigger_names_[i] == name) return static_cast<int>(i);
  }
  return -1;
}

uint32_t PolicySet::match_index(const ConnectionView& c) const {
  // The working sets live on the stack for up to 1024 rules, so a lookup
  // never allocates; beyond, in per-thread scratch that grows once.
  constexpr size_t kStackWords = 16;
  constexpr size_t kSets = 5;  // client, server, client port, server port, VLAN
  uint64_t stack_buf[kSets * kStackWords];
  uint64_t* buf = stack_buf;
  if (words_ > kStackWords) {
    thread_local Bits scratch;
    if (scratch.size() < kSets * words_) scratch.resize(kSets * words_);
    buf = scratch.data();
  }
  uint64_t* cb = buf;
  uint64_t* sb = buf + words_;
  uint64_t* cp = buf + 2 * words_;
  uint64_t* sp = buf + 3 * words_;
  uint64_t* vb = buf + 4 * words_;
  client_.lookup(c.client, words_, cb);
  server_.lookup(c.server, words_, sb);
  client_ports_.lookup(c.client_port, words_, cp);
  server_ports_.lookup(c.server_port, words_, sp);
  for (size_t w = 0; w < words_; ++w) vb[w] = vlan_any_[w];
  if (const auto vit = vlan_.find(c.vlan); vit != vlan_.end()) {
    for (uint32_t r : vit->second) vb[r / 64] |= 1ull << (r % 64);
  }
  const Bits& tr = c.trigger < 0 ? trigger_none_
                   : static_cast<size_t>(c.trigger) < trigger_.size() ? trigger_[c.trigger]
                                                                       : trigger_any_;
  for (size_t w = 0; w < words_; ++w) {
    uint64_t m = cb[w] & sb[w] & cp[w] & sp[w] & vb[w] &
                 (tr[w] | (c.trigger >= 0 ? trigger_any_[w] : 0));
    if (m != 0) return static_cast<uint32_t>(w * 64 + __builtin_ctzll(m));
  }
  return static_cast<uint32_t>(rules_.size() - 1);
}

}  // namespace rstguard

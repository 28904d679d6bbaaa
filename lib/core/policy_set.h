// Policies: first-match rules over a connection (client and server
// prefixes, port ranges, VLAN, the trigger seen on it), each setting what
// to do with its resets. A PolicySet is immutable once built and shared
// read-only by every worker; reload builds a new one and swaps the pointer
// (RCU). Lookup is thread-safe and allocation-free.
//
// Lookup cost: each field gives a bitset of the rules it allows; the rule
// is the lowest bit of their AND. A prefix field costs one hash probe per
// distinct prefix length used in that field (at most 33 for IPv4 and 129
// for IPv6, usually a handful); a port field a binary search over the
// range boundaries; then one bit set per rule that names the matching
// prefix, port or VLAN, and the AND is rules/64 words. Storage is sparse
// (a list of rules per prefix, port interval and VLAN, plus one bitset of
// the rules without a condition per field), so building and memory grow
// with the rules' conditions, not with their square: a generated file of
// one rule per customer prefix loads in linear time.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/packet_view.h"
#include "core/policy.h"
#include "core/trigger.h"
#include "core/verdict.h"

namespace rstguard {

struct Prefix {
  IpAddr addr{};
  uint8_t length = 0;  // in bits of the 128-bit (IPv4-mapped) address
  static bool parse(std::string_view text, Prefix* out);  // "10.0.0.0/8", "2001:db8::/32", "10.1.2.3"
};

struct PortRange {
  uint16_t lo = 0;
  uint16_t hi = 65535;
};

// What a rule decides. Fields left unset in a rule come from the default.
struct RuleActions {
  ActionPolicy by_label;
  // Per evidence: an action that applies when the reset shows it (the most
  // severe of the label's and these wins: drop > hold > alert > pass).
  std::array<int8_t, kEvidenceCount> by_evidence;  // -1: none, else an Action
  uint64_t hold_time_ns = 200 * kNsPerMs;
  uint8_t ttl_tolerance = 1;
  EventVerbosity verbosity = EventVerbosity::kAll;
  uint32_t rate_limit = 0;  // events per second per source address, 0: unlimited

  RuleActions() { by_evidence.fill(-1); }
  Action decide(Label label, EvidenceSet evidence) const;
};

struct Rule {
  std::string name;
  std::vector<Prefix> client;  // empty: any
  std::vector<Prefix> server;
  std::vector<PortRange> client_ports;
  std::vector<PortRange> server_ports;
  std::vector<uint16_t> vlans;          // outer VID; empty: any
  std::vector<std::string> triggers;    // trigger names; empty: any
  bool no_trigger = false;              // match only connections without one
  RuleActions actions;
};

// The connection a reset belongs to, as rules see it.
struct ConnectionView {
  IpAddr client{};
  IpAddr server{};
  uint16_t client_port = 0;
  uint16_t server_port = 0;
  uint16_t vlan = 0;
  int trigger = -1;  // index into PolicySet::trigger_names(), -1: none
};

class PolicySet {
 public:
  // `rules` are tried in order; `fallback` is the default rule (matches
  // everything). Trigger names in rules must be in `trigger_names`
  // (checked by the config loader, which names the file position).
  PolicySet(std::vector<Rule> rules, Rule fallback, std::vector<std::string> trigger_names,
            uint64_t generation);

  // Trigger patterns (names in trigger_names() order) and how much of each
  // connection is scanned; reloaded with the policy.
  void set_triggers(std::shared_ptr<const TriggerDatabase> db, uint32_t window_segments,
                    uint32_t window_bytes);
  bool has_triggers() const { return triggers_ != nullptr && triggers_->size() > 0; }
  uint32_t window_segments() const { return window_segments_; }
  uint32_t window_bytes() const { return window_bytes_; }
  // One scanner per worker, made before the policy is published (main lcore,
  // allocates). scanner(i) is then used by worker i alone.
  void prepare_scanners(size_t workers) const;
  TriggerScanner* scanner(size_t worker) const {
    return worker < scanners_.size() ? scanners_[worker].get() : nullptr;
  }

  // The first rule matching the connection (the default if none does).
  const Rule& match(const ConnectionView& c) const { return rules_[match_index(c)]; }
  uint32_t match_index(const ConnectionView& c) const;

  const std::vector<Rule>& rules() const { return rules_; }  // default last
  const std::vector<std::string>& trigger_names() const { return trigger_names_; }
  int trigger_index(std::string_view name) const;
  uint64_t generation() const { return generation_; }
  // The same rules under another generation number (a reload's result).
  std::shared_ptr<const PolicySet> with_generation(uint64_t generation) const;

 private:
  using Bits = std::vector<uint64_t>;
  using RuleList = std::vector<uint32_t>;  // rule indices, ascending
  struct PrefixKey {
    uint8_t length;
    uint8_t addr[16];  // masked to length
    bool operator==(const PrefixKey& o) const {
      return length == o.length && std::equal(addr, addr + 16, o.addr);
    }
  };
  struct PrefixKeyHash {
    size_t operator()(const PrefixKey& k) const;
  };
  static PrefixKey key_of(const IpAddr& a, uint8_t length);
  struct PrefixField {
    Bits any;  // rules without a condition on this field
    std::vector<uint8_t> lengths;  // distinct lengths, longest first
    std::unordered_map<PrefixKey, RuleList, PrefixKeyHash> by_prefix;
    void build(const std::vector<Rule>& rules, std::vector<Prefix> Rule::*field, size_t words);
    void lookup(const IpAddr& a, size_t words, uint64_t* out) const;
  };
  struct PortField {
    Bits any;                      // rules without a condition on this field
    std::vector<uint32_t> starts;  // elementary interval starts, sorted
    std::vector<RuleList> allowed; // rules with ranges covering each interval
    void build(const std::vector<Rule>& rules, std::vector<PortRange> Rule::*field, size_t words);
    void lookup(uint16_t port, size_t words, uint64_t* out) const;
  };

  std::vector<Rule> rules_;
  std::vector<std::string> trigger_names_;
  std::shared_ptr<const TriggerDatabase> triggers_;
  uint32_t window_segments_ = 4;
  uint32_t window_bytes_ = 2048;
  // Mutable scratch owned per worker; made once, before publication.
  mutable std::vector<std::unique_ptr<TriggerScanner>> scanners_;
  uint64_t generation_;
  size_t words_;
  PrefixField client_, server_;
  PortField client_ports_, server_ports_;
  Bits vlan_any_;
  std::unordered_map<uint16_t, RuleList> vlan_;
  Bits trigger_any_, trigger_none_;
  std::vector<Bits> trigger_;  // by trigger index
};

}  // namespace rstguard

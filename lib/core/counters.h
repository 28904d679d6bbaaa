// Per-worker counters. One writer (the worker's lcore); the main lcore reads
// them only after the worker stops or through a snapshot copy. Not atomic:
// plain increments on the packet path.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "core/parser.h"
#include "core/verdict.h"

namespace rstguard {

struct alignas(64) Counters {
#define X(id, name) uint64_t id = 0;
#include "core/counters.def"
#undef X
  std::array<uint64_t, kParseResultCount> parse{};
  std::array<uint64_t, kLabelCount> rst_label{};
  std::array<uint64_t, kValidityCount> rst_validity{};
  std::array<uint64_t, kCauseCount> rst_cause{};
  std::array<uint64_t, kEvidenceCount> rst_evidence{};

  void add(const Counters& o);

  // Calls fn(name, value) for every scalar counter, in counters.def order.
  template <typename Fn>
  void for_each_scalar(Fn&& fn) const {
#define X(id, name) fn(std::string_view(name), id);
#include "core/counters.def"
#undef X
  }
};

}  // namespace rstguard

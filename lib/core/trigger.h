// Triggers as the worker sees them: a database of named patterns, scanned
// through a per-worker scanner. lib/core only knows this interface; the
// Hyperscan implementation lives in lib/match (its only user).
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include "core/trigger_fields.h"

namespace rstguard {

struct TriggerMatch {
  bool found = false;
  uint32_t id = 0;      // pattern index (PolicySet::trigger_names())
  uint32_t offset = 0;  // within the scanned field
};

// One per worker (it owns scratch space). Not thread-safe; no allocation.
class TriggerScanner {
 public:
  virtual ~TriggerScanner() = default;
  // The earliest match in `data`, of a pattern that applies to `field`.
  virtual TriggerMatch scan(std::span<const uint8_t> data, TriggerField field) = 0;
};

// Immutable, shared by workers. make_scanner allocates (configuration time).
class TriggerDatabase {
 public:
  virtual ~TriggerDatabase() = default;
  virtual size_t size() const = 0;
  virtual std::unique_ptr<TriggerScanner> make_scanner() const = 0;
};

}  // namespace rstguard

// Trigger patterns: the configured names, keywords and expressions that censoring devices react
// to, compiled into one Hyperscan block-mode database that every worker scans with its own
// scratch. The only Hyperscan user (DESIGN.md); hs.h stays inside matcher.cc.
//
// Thread safety: a Database is immutable once compiled and may be shared by any number of
// threads; a Scratch is used by one thread at a time (each worker makes its own).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/trigger_fields.h"

struct hs_database;
struct hs_scratch;

namespace rstguard::match {

struct PatternSpec {
  std::string name;        // shown in events and errors
  std::string expression;  // a Hyperscan (PCRE-syntax) regex, or the bytes to find if `literal`
  bool literal = false;
  bool caseless = true;
  std::vector<TriggerField> fields;  // the fields it applies to; empty = all fields
};

// At most this many patterns: a flow remembers its trigger as 1 + id in 16 bits
// (FlowEntry::trigger).
inline constexpr size_t kMaxPatterns = 65535;

// A refused pattern set. what() reads `pattern "NAME" (/EXPRESSION/): REASON` (a literal is
// shown in double quotes), or just REASON for an error of the whole set; reason() is Hyperscan's
// compile error message (or ours, for checks made before Hyperscan sees the patterns).
class PatternError : public std::runtime_error {
 public:
  PatternError(int pattern_index, std::string pattern_name, std::string reason,
               const std::string& what);
  const std::string& pattern_name() const { return pattern_name_; }  // "" if none
  int pattern_index() const { return pattern_index_; }               // -1 if none
  const std::string& reason() const { return reason_; }

 private:
  int pattern_index_;
  std::string pattern_name_;
  std::string reason_;
};

class Database {
 public:
  // Per-thread Hyperscan scratch space, made by the database it scans with (make_scratch, or
  // clone() of one of its scratches). Move-only; a moved-from Scratch must not be scanned with.
  class Scratch {
   public:
    Scratch(Scratch&& other) noexcept;
    Scratch& operator=(Scratch&& other) noexcept;
    Scratch(const Scratch&) = delete;
    Scratch& operator=(const Scratch&) = delete;
    ~Scratch();
    // Another scratch for the same database (hs_clone_scratch). Allocates; throws
    // std::bad_alloc when Hyperscan cannot.
    std::unique_ptr<Scratch> clone() const;

   private:
    friend class Database;
    Scratch(const Database* database, hs_scratch* scratch) noexcept
        : database_(database), scratch_(scratch) {}
    const Database* database_;
    hs_scratch* scratch_;  // null for an empty database
  };

  struct Match {
    bool found = false;
    uint32_t id = 0;      // the pattern's index in the compiled vector
    uint32_t offset = 0;  // start of the match when start_known, else its end
    uint32_t end = 0;     // one past the match's last byte
    bool start_known = false;
  };

  // Compiles every pattern into one block-mode database: HS_FLAG_SINGLEMATCH on each (one report
  // per pattern and scan), HS_FLAG_CASELESS when asked; a literal is escaped into a regex so both
  // kinds share the database. Start offsets: Hyperscan refuses HS_FLAG_SOM_LEFTMOST together with
  // HS_FLAG_SINGLEMATCH, and SOM also costs speed and refuses some patterns, so instead a pattern
  // whose matches all have one length (every literal; regexes such as "ab[0-9]{3}") gets its start
  // computed from the end; for the others only the end is known.
  //
  // Patterns that can match an empty buffer (".*", an empty literal) are refused by Hyperscan.
  // An empty vector gives a valid database that never matches (Hyperscan cannot compile zero
  // patterns). Throws PatternError naming the first refused pattern, or for more than
  // kMaxPatterns, an unknown field, a regex containing a NUL byte (write \x00), a CPU that
  // Hyperscan cannot run on. Allocates; call at configuration time, never on the packet path.
  static std::shared_ptr<const Database> compile(const std::vector<PatternSpec>& patterns);

  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  size_t size() const { return patterns_.size(); }
  // The pattern compiled as `id`; throws std::out_of_range for id >= size().
  const PatternSpec& pattern(uint32_t id) const { return patterns_.at(id); }

  // A scratch for one thread (hs_alloc_scratch). Allocates; throws std::bad_alloc when
  // Hyperscan cannot.
  std::unique_ptr<Scratch> make_scratch() const;

  // Scans `data` (< 2^32 bytes) as `field` and returns the earliest match of a pattern that
  // applies to that field: lowest end offset, then lowest id. Hyperscan does not promise to
  // report matches in order (dev-reference "Semantics"), so the whole buffer is scanned and the
  // earliest kept; with HS_FLAG_SINGLEMATCH each pattern reports at most once, its first match.
  // Thread-safe with a distinct Scratch per thread; `scratch` must come from this database.
  // Does not allocate. Nothing found (and, in release builds, a misused scratch) is found=false.
  // Measured cost: about 30 ns for a 283-byte payload against 1001 patterns (-O2, one core).
  Match scan_first(std::span<const uint8_t> data, TriggerField field, Scratch& scratch) const;

 private:
  Database() = default;

  std::vector<PatternSpec> patterns_;
  std::vector<uint8_t> field_masks_;    // per pattern: bit (1 << field) set if it applies
  std::vector<uint32_t> fixed_widths_;  // per pattern: its one match length, 0 if it varies
  hs_database* database_ = nullptr;     // null when there are no patterns
};

}  // namespace rstguard::match

#include "core/trigger.h"

namespace rstguard::match {

// The worker's view of a compiled Database (core/trigger.h).
std::shared_ptr<const TriggerDatabase> as_trigger_database(std::shared_ptr<const Database> db);

}  // namespace rstguard::match

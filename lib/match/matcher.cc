#include "match/matcher.h"

#include <hs.h>

#include <cassert>
#include <climits>
#include <cstdlib>
#include <new>
#include <utility>

namespace rstguard::match {

namespace {

// `s` with the bytes `keep` accepts as they are and every other one as \xHH.
template <typename Keep>
std::string hex_escaped(const std::string& s, Keep keep) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(s.size() * 4);
  for (unsigned char c : s) {
    if (keep(c)) {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    }
  }
  return out;
}

// Bytes of a pattern's expression as they appear in messages: printable ASCII as is, the rest
// as \xHH, so a configuration error prints on one line.
std::string printable(const std::string& s) {
  return hex_escaped(s, [](unsigned char c) { return c >= 0x20 && c < 0x7f; });
}

[[noreturn]] void refuse(const std::vector<PatternSpec>& patterns, int index, std::string reason) {
  if (index < 0) throw PatternError(-1, "", reason, reason);
  const PatternSpec& p = patterns[static_cast<size_t>(index)];
  const std::string shown =
      p.literal ? "\"" + printable(p.expression) + "\"" : "/" + printable(p.expression) + "/";
  throw PatternError(index, p.name, reason,
                     "pattern \"" + p.name + "\" (" + shown + "): " + reason);
}

// A literal as a Hyperscan regex: letters and digits as they are (so HS_FLAG_CASELESS still
// applies to them), every other byte as \xHH, which no regex syntax can misread.
std::string escape_literal(const std::string& literal) {
  return hex_escaped(literal, [](unsigned char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  });
}

struct CompileErrorFree {
  void operator()(hs_compile_error_t* e) const { hs_free_compile_error(e); }
};
using CompileError = std::unique_ptr<hs_compile_error_t, CompileErrorFree>;

// What a scan is looking for and the best match so far. Lives on the scanning thread's stack.
struct ScanState {
  const uint8_t* field_masks;
  uint8_t field_bit;
  bool found = false;
  uint32_t id = 0;
  unsigned long long end = 0;
};

// Hyperscan match callback: keeps the earliest match (end, then id) of a pattern that applies to
// the scanned field. Always continues: matches may come out of order.
int on_match(unsigned int id, unsigned long long /*from*/, unsigned long long to,
             unsigned int /*flags*/, void* context) {
  ScanState& state = *static_cast<ScanState*>(context);
  if ((state.field_masks[id] & state.field_bit) == 0) return 0;
  if (!state.found || to < state.end || (to == state.end && id < state.id)) {
    state.found = true;
    state.id = id;
    state.end = to;
  }
  return 0;
}

}  // namespace

PatternError::PatternError(int pattern_index, std::string pattern_name, std::string reason,
                           const std::string& what)
    : std::runtime_error(what),
      pattern_index_(pattern_index),
      pattern_name_(std::move(pattern_name)),
      reason_(std::move(reason)) {}

Database::Scratch::Scratch(Scratch&& other) noexcept
    : database_(std::exchange(other.database_, nullptr)),
      scratch_(std::exchange(other.scratch_, nullptr)) {}

Database::Scratch& Database::Scratch::operator=(Scratch&& other) noexcept {
  if (this != &other) {
    if (scratch_ != nullptr) hs_free_scratch(scratch_);
    database_ = std::exchange(other.database_, nullptr);
    scratch_ = std::exchange(other.scratch_, nullptr);
  }
  return *this;
}

Database::Scratch::~Scratch() {
  if (scratch_ != nullptr) hs_free_scratch(scratch_);
}

std::unique_ptr<Database::Scratch> Database::Scratch::clone() const {
  hs_scratch_t* copy = nullptr;
  if (scratch_ != nullptr && hs_clone_scratch(scratch_, &copy) != HS_SUCCESS) {
    throw std::bad_alloc();
  }
  return std::unique_ptr<Scratch>(new Scratch(database_, copy));
}

std::shared_ptr<const Database> Database::compile(const std::vector<PatternSpec>& patterns) {
  if (patterns.size() > kMaxPatterns) {
    refuse(patterns, -1,
           std::to_string(patterns.size()) + " patterns, at most " + std::to_string(kMaxPatterns) +
               " are supported");
  }
  std::shared_ptr<Database> db(new Database());
  db->patterns_ = patterns;
  db->field_masks_.resize(patterns.size());
  db->fixed_widths_.resize(patterns.size());
  if (patterns.empty()) return db;
  if (hs_valid_platform() != HS_SUCCESS) {
    refuse(patterns, -1, "this CPU lacks SSSE3, which Hyperscan needs");
  }

  // 1. Expressions, flags and field masks; checks Hyperscan cannot make for us.
  std::vector<std::string> expressions(patterns.size());
  std::vector<const char*> expression_ptrs(patterns.size());
  std::vector<unsigned int> flags(patterns.size());
  std::vector<unsigned int> ids(patterns.size());
  for (size_t i = 0; i < patterns.size(); ++i) {
    const PatternSpec& p = patterns[i];
    const int index = static_cast<int>(i);
    if (p.literal) {
      expressions[i] = escape_literal(p.expression);
    } else if (p.expression.find('\0') != std::string::npos) {
      refuse(patterns, index, "the expression contains a NUL byte; write it as \\x00");
    } else {
      expressions[i] = p.expression;
    }
    expression_ptrs[i] = expressions[i].c_str();
    flags[i] = HS_FLAG_SINGLEMATCH | (p.caseless ? HS_FLAG_CASELESS : 0u);
    ids[i] = static_cast<unsigned int>(i);
    uint8_t mask = 0;
    for (TriggerField f : p.fields) {
      if (static_cast<int>(f) >= kTriggerFieldCount) {
        refuse(patterns, index, "unknown trigger field " + std::to_string(static_cast<int>(f)));
      }
      mask |= static_cast<uint8_t>(1u << static_cast<unsigned>(f));
    }
    db->field_masks_[i] =
        p.fields.empty() ? static_cast<uint8_t>((1u << kTriggerFieldCount) - 1) : mask;
  }

  // 2. One block-mode database for all of them.
  hs_database_t* compiled = nullptr;
  hs_compile_error_t* raw_error = nullptr;
  if (hs_compile_multi(expression_ptrs.data(), flags.data(), ids.data(),
                       static_cast<unsigned int>(patterns.size()), HS_MODE_BLOCK, nullptr,
                       &compiled, &raw_error) != HS_SUCCESS) {
    const CompileError error(raw_error);
    const int index = error != nullptr ? error->expression : -1;
    const std::string reason =
        error != nullptr && error->message != nullptr ? error->message : "compile failed";
    refuse(patterns, index >= 0 && static_cast<size_t>(index) < patterns.size() ? index : -1,
           reason);
  }
  db->database_ = compiled;

  // 3. Fixed match widths, for start offsets. Asked without HS_FLAG_SINGLEMATCH, which can make
  //    the widths conservative bounds (hs_expr_info_t).
  for (size_t i = 0; i < patterns.size(); ++i) {
    hs_expr_info_t* info = nullptr;
    hs_compile_error_t* raw_info_error = nullptr;
    if (hs_expression_info(expression_ptrs[i], flags[i] & ~HS_FLAG_SINGLEMATCH, &info,
                           &raw_info_error) != HS_SUCCESS) {
      const CompileError info_error(raw_info_error);
      continue;  // width unknown: report end offsets only
    }
    if (info->min_width == info->max_width && info->max_width != UINT_MAX) {
      db->fixed_widths_[i] = info->max_width;
    }
    std::free(info);  // hs_expression_info allocates with the default misc allocator (malloc)
  }
  return db;
}

Database::~Database() {
  if (database_ != nullptr) hs_free_database(database_);
}

std::unique_ptr<Database::Scratch> Database::make_scratch() const {
  hs_scratch_t* scratch = nullptr;
  if (database_ != nullptr && hs_alloc_scratch(database_, &scratch) != HS_SUCCESS) {
    throw std::bad_alloc();
  }
  return std::unique_ptr<Scratch>(new Scratch(this, scratch));
}

Database::Match Database::scan_first(std::span<const uint8_t> data, TriggerField field,
                                     Scratch& scratch) const {
  Match match;
  if (database_ == nullptr || data.empty()) return match;  // empty matches are refused
  assert(scratch.database_ == this && scratch.scratch_ != nullptr);
  assert(data.size() <= UINT_MAX);
  ScanState state{field_masks_.data(), static_cast<uint8_t>(1u << static_cast<unsigned>(field))};
  const hs_error_t rc =
      hs_scan(database_, reinterpret_cast<const char*>(data.data()),
              static_cast<unsigned int>(data.size()), 0, scratch.scratch_, on_match, &state);
  // HS_SCRATCH_IN_USE (a scratch shared between threads) or HS_INVALID: a caller's bug.
  assert(rc == HS_SUCCESS);
  if (rc != HS_SUCCESS || !state.found) return match;
  match.found = true;
  match.id = state.id;
  match.end = static_cast<uint32_t>(state.end);
  const uint32_t width = fixed_widths_[state.id];
  match.start_known = width != 0 && width <= match.end;
  match.offset = match.start_known ? match.end - width : match.end;
  return match;
}

}  // namespace rstguard::match

namespace rstguard::match {
namespace {

class HsScanner final : public TriggerScanner {
 public:
  HsScanner(std::shared_ptr<const Database> db) : db_(std::move(db)), scratch_(db_->make_scratch()) {}
  TriggerMatch scan(std::span<const uint8_t> data, TriggerField field) override {
    const Database::Match m = db_->scan_first(data, field, *scratch_);
    return TriggerMatch{m.found, m.id, m.offset};
  }

 private:
  std::shared_ptr<const Database> db_;
  std::unique_ptr<Database::Scratch> scratch_;
};

class HsTriggerDatabase final : public TriggerDatabase {
 public:
  explicit HsTriggerDatabase(std::shared_ptr<const Database> db) : db_(std::move(db)) {}
  size_t size() const override { return db_->size(); }
  std::unique_ptr<TriggerScanner> make_scanner() const override {
    return std::make_unique<HsScanner>(db_);
  }

 private:
  std::shared_ptr<const Database> db_;
};

}  // namespace

std::shared_ptr<const TriggerDatabase> as_trigger_database(std::shared_ptr<const Database> db) {
  return std::make_shared<HsTriggerDatabase>(std::move(db));
}

}  // namespace rstguard::match

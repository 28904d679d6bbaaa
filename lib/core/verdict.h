// Verdict vocabulary: labels, validity, evidence, causes and actions.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace rstguard {

enum class Label : uint8_t {
#define RSTG_LABEL(id, name) id,
#include "core/verdict.def"
#undef RSTG_LABEL
};
enum class Validity : uint8_t {
#define RSTG_VALIDITY(id, name) id,
#include "core/verdict.def"
#undef RSTG_VALIDITY
};
enum class Evidence : uint8_t {
#define RSTG_EVIDENCE(id, name, weight) id,
#include "core/verdict.def"
#undef RSTG_EVIDENCE
};
enum class Cause : uint8_t {
#define RSTG_CAUSE(id, name) id,
#include "core/verdict.def"
#undef RSTG_CAUSE
};
enum class Answer : uint8_t {
#define RSTG_ANSWER(id, name) id,
#include "core/verdict.def"
#undef RSTG_ANSWER
};
enum class Action : uint8_t {
#define RSTG_ACTION(id, name) id,
#include "core/verdict.def"
#undef RSTG_ACTION
};

inline constexpr int kLabelCount = 0
#define RSTG_LABEL(id, name) +1
#include "core/verdict.def"
#undef RSTG_LABEL
    ;
inline constexpr int kValidityCount = 0
#define RSTG_VALIDITY(id, name) +1
#include "core/verdict.def"
#undef RSTG_VALIDITY
    ;
inline constexpr int kEvidenceCount = 0
#define RSTG_EVIDENCE(id, name, weight) +1
#include "core/verdict.def"
#undef RSTG_EVIDENCE
    ;
inline constexpr int kCauseCount = 0
#define RSTG_CAUSE(id, name) +1
#include "core/verdict.def"
#undef RSTG_CAUSE
    ;
inline constexpr int kActionCount = 0
#define RSTG_ACTION(id, name) +1
#include "core/verdict.def"
#undef RSTG_ACTION
    ;

std::string_view name_of(Label v);
std::string_view name_of(Validity v);
std::string_view name_of(Evidence v);
std::string_view name_of(Cause v);
std::string_view name_of(Action v);
std::string_view name_of(Answer v);
// 0 for strong evidence, else its points (verdict.def).
int evidence_weight(Evidence e);

std::optional<Label> label_from_name(std::string_view s);
std::optional<Action> action_from_name(std::string_view s);
std::optional<Evidence> evidence_from_name(std::string_view s);

// A set of Evidence as a bit mask.
class EvidenceSet {
 public:
  constexpr void add(Evidence e) { bits_ |= bit(e); }
  constexpr bool has(Evidence e) const { return (bits_ & bit(e)) != 0; }
  constexpr bool empty() const { return bits_ == 0; }
  constexpr uint32_t bits() const { return bits_; }
  constexpr void merge(EvidenceSet o) { bits_ |= o.bits_; }
  static constexpr EvidenceSet from_bits(uint32_t b) {
    EvidenceSet s;
    s.bits_ = b;
    return s;
  }
  friend constexpr bool operator==(EvidenceSet, EvidenceSet) = default;

 private:
  static constexpr uint32_t bit(Evidence e) { return 1u << static_cast<int>(e); }
  uint32_t bits_ = 0;
};
static_assert(kEvidenceCount <= 32);

}  // namespace rstguard

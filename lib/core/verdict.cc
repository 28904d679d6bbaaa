#include "core/verdict.h"

namespace rstguard {
namespace {
constexpr std::string_view kLabelNames[] = {
#define RSTG_LABEL(id, name) name,
#include "core/verdict.def"
#undef RSTG_LABEL
};
constexpr std::string_view kValidityNames[] = {
#define RSTG_VALIDITY(id, name) name,
#include "core/verdict.def"
#undef RSTG_VALIDITY
};
constexpr std::string_view kEvidenceNames[] = {
#define RSTG_EVIDENCE(id, name, weight) name,
#include "core/verdict.def"
#undef RSTG_EVIDENCE
};
constexpr int kEvidenceWeights[] = {
#define RSTG_EVIDENCE(id, name, weight) weight,
#include "core/verdict.def"
#undef RSTG_EVIDENCE
};
constexpr std::string_view kCauseNames[] = {
#define RSTG_CAUSE(id, name) name,
#include "core/verdict.def"
#undef RSTG_CAUSE
};
constexpr std::string_view kAnswerNames[] = {
#define RSTG_ANSWER(id, name) name,
#include "core/verdict.def"
#undef RSTG_ANSWER
};
constexpr std::string_view kActionNames[] = {
#define RSTG_ACTION(id, name) name,
#include "core/verdict.def"
#undef RSTG_ACTION
};

template <typename E, size_t N>
std::optional<E> lookup(const std::string_view (&names)[N], std::string_view s) {
  for (size_t i = 0; i < N; ++i) {
    if (names[i] == s) return static_cast<E>(i);
  }
  return std::nullopt;
}
}  // namespace

std::string_view name_of(Label v) { return kLabelNames[static_cast<int>(v)]; }
std::string_view name_of(Validity v) { return kValidityNames[static_cast<int>(v)]; }
std::string_view name_of(Evidence v) { return kEvidenceNames[static_cast<int>(v)]; }
std::string_view name_of(Cause v) { return kCauseNames[static_cast<int>(v)]; }
std::string_view name_of(Action v) { return kActionNames[static_cast<int>(v)]; }
std::string_view name_of(Answer v) { return kAnswerNames[static_cast<int>(v)]; }
int evidence_weight(Evidence e) { return kEvidenceWeights[static_cast<int>(e)]; }

std::optional<Label> label_from_name(std::string_view s) { return lookup<Label>(kLabelNames, s); }
std::optional<Action> action_from_name(std::string_view s) {
  return lookup<Action>(kActionNames, s);
}
std::optional<Evidence> evidence_from_name(std::string_view s) {
  return lookup<Evidence>(kEvidenceNames, s);
}

}  // namespace rstguard

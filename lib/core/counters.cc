#include "core/counters.h"

namespace rstguard {

void Counters::add(const Counters& o) {
#define X(id, name) id += o.id;
#include "core/counters.def"
#undef X
  for (size_t i = 0; i < parse.size(); ++i) parse[i] += o.parse[i];
  for (size_t i = 0; i < rst_label.size(); ++i) rst_label[i] += o.rst_label[i];
  for (size_t i = 0; i < rst_validity.size(); ++i) rst_validity[i] += o.rst_validity[i];
  for (size_t i = 0; i < rst_cause.size(); ++i) rst_cause[i] += o.rst_cause[i];
  for (size_t i = 0; i < rst_evidence.size(); ++i) rst_evidence[i] += o.rst_evidence[i];
}

}  // namespace rstguard

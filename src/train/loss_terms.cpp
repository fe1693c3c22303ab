#include "train/loss_terms.h"

#include <cstdio>

namespace cg::train {

std::string loss_columns(const StepLosses& losses) {
  std::string text;
  const char* previous = nullptr;
  for (const LossTerm& term : kLossTerms) {
    if (term.column == nullptr) continue;
    char value[32];
    std::snprintf(value, sizeof(value), "%.4f", losses.*term.value);
    const bool same = previous != nullptr && std::string(previous) == term.column;
    text += same ? "/" : (text.empty() ? "" : " ") + std::string(term.column) + " ";
    text += value;
    previous = term.column;
  }
  return text;
}

}  // namespace cg::train

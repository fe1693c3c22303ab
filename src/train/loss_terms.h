#pragma once
// The loss terms of a CycleGAN step, in one table that every reader iterates: the trainer
// (which collects the step's loss tensors into it), the non-finite check, the progress
// line, Prometheus (cyclegan_loss{term}) and TensorBoard (loss/<name>). Adding a term is a
// field in StepLosses, one line here and its arithmetic in the trainer.
#include <array>
#include <cstddef>
#include <string>

#include "train/metrics_sink.h"

namespace cg::train {

struct LossTerm {
  /// How logs, non-finite warnings and TensorBoard (loss/<name>) spell it: "D_A".
  const char* name;
  /// Prometheus' label value, cyclegan_loss{term="d_a"}.
  const char* label;
  /// Its column on the progress line; consecutive terms of one column share it ("cyc
  /// 0.1/0.2"); nullptr: not shown.
  const char* column;
  /// Where a step's value is.
  double StepLosses::*value;
  /// True for the sum of the generators' terms (not a term of its own: a non-finite check
  /// names its terms instead).
  bool total;
};

inline constexpr std::array<LossTerm, 9> kLossTerms = {{
    {"D_A", "d_a", "D_A", &StepLosses::d_a, false},
    {"D_B", "d_b", "D_B", &StepLosses::d_b, false},
    {"G_adv", "g_adv", "G", &StepLosses::g_adv, false},
    {"F_adv", "f_adv", "F", &StepLosses::f_adv, false},
    {"cycle_A", "cycle_a", "cyc", &StepLosses::cycle_a, false},
    {"cycle_B", "cycle_b", "cyc", &StepLosses::cycle_b, false},
    {"idt_A", "idt_a", "idt", &StepLosses::idt_a, false},
    {"idt_B", "idt_b", "idt", &StepLosses::idt_b, false},
    {"G_total", "g_total", nullptr, &StepLosses::g_total, true},
}};

/// The row of kLossTerms whose value is `value`; a term missing from the table does not
/// compile where this is a constant expression.
constexpr size_t loss_index(double StepLosses::*value) {
  for (size_t i = 0; i < kLossTerms.size(); ++i) {
    if (kLossTerms[i].value == value) return i;
  }
  throw "loss_index: the term is not in kLossTerms";
}

/// "D_A 0.4936 D_B 0.4910 G 0.9479 F 0.9605 cyc 1.6451/2.1764 idt 0.0000/0.0000": the
/// terms with a column, each column once, its terms' values joined by '/'.
std::string loss_columns(const StepLosses& losses);

}  // namespace cg::train

// The loss table (train/loss_terms.h) is what the progress line and the non-finite check
// name; tests/metrics check Prometheus' cyclegan_loss{term} and TensorBoard's loss/<name>
// against the same table.
#include "train/loss_terms.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <set>

#include "train/nonfinite.h"
#include "train/run_report.h"

namespace cg::train {
namespace {

// Term i of the table holds i + 0.125.
StepLosses distinct_losses() {
  StepLosses l;
  for (size_t i = 0; i < kLossTerms.size(); ++i)
    l.*kLossTerms[i].value = static_cast<double>(i) + 0.125;
  return l;
}

TEST(LossTerms, EveryFieldOnceWithUniqueNamesAndLabels) {
  std::set<std::string> names, labels;
  for (const LossTerm& term : kLossTerms) {
    names.insert(term.name);
    labels.insert(term.label);
  }
  EXPECT_EQ(names.size(), kLossTerms.size());
  EXPECT_EQ(labels.size(), kLossTerms.size());
  // Every StepLosses field is a row: the struct holds doubles only.
  EXPECT_EQ(sizeof(StepLosses), kLossTerms.size() * sizeof(double));
  const StepLosses l = distinct_losses();
  for (size_t i = 0; i < kLossTerms.size(); ++i) {
    EXPECT_EQ(loss_index(kLossTerms[i].value), i);
    EXPECT_EQ(l.*kLossTerms[i].value, static_cast<double>(i) + 0.125);
  }
}

TEST(LossTerms, TheProgressLineShowsEveryColumnTermInTableOrder) {
  // The line users and tests/metrics/tensorboard_e2e.py read, unchanged by the table.
  EXPECT_EQ(progress_text(distinct_losses(), 3 << 20, nullptr),
            "D_A 0.1250 D_B 1.1250 G 2.1250 F 3.1250 cyc 4.1250/5.1250 idt 6.1250/7.1250 "
            "peak 3 MiB");
  std::string columns = loss_columns(distinct_losses());
  for (const LossTerm& term : kLossTerms) {
    if (term.column == nullptr) continue;
    EXPECT_NE(columns.find(term.column), std::string::npos) << term.name;
  }
}

TEST(LossTerms, TheNonFiniteCheckNamesEachTermButNotTheTotal) {
  for (const LossTerm& term : kLossTerms) {
    StepLosses l = distinct_losses();
    l.*term.value = std::numeric_limits<double>::quiet_NaN();
    EXPECT_EQ(nonfinite_terms(l), term.total ? "" : std::string(term.name) + " nan");
    l.*term.value = -std::numeric_limits<double>::infinity();
    EXPECT_EQ(nonfinite_terms(l), term.total ? "" : std::string(term.name) + " inf");
  }
  EXPECT_EQ(nonfinite_terms(distinct_losses()), "");
}

}  // namespace
}  // namespace cg::train

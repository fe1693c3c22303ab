#include "train/nonfinite.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <sstream>

#include "common/error.h"
#include "common/log.h"
#include "train/element_loop.h"
#include "train/loss_terms.h"

namespace cg::train {

namespace {

struct Span {
  const void* data;
  int64_t n;
  bool is_double;
};

// Whether some element of v is NaN or infinite: |x| <= max fails for exactly those, and the
// loop vectorises (no early exit: a pass over memory costs less than a branch per element).
template <typename T>
bool any_nonfinite(const T* __restrict v, int64_t begin, int64_t end) {
  constexpr T kMax = std::numeric_limits<T>::max();
  int bad = 0;
  for (int64_t k = begin; k < end; ++k) bad |= !(std::fabs(v[k]) <= kMax);
  return bad != 0;
}

}  // namespace

bool gradients_finite(const std::vector<torch::Tensor>& params) {
  std::vector<torch::Tensor> grads;
  grads.reserve(params.size());
  for (const auto& p : params) {
    if (p.grad().defined()) grads.push_back(p.grad());
  }
  if (grads.empty()) return true;
  const bool flat = std::all_of(grads.begin(), grads.end(), [](const torch::Tensor& g) {
    return g.device().is_cpu() && g.is_contiguous() && !g.is_sparse() &&
           (g.scalar_type() == torch::kFloat || g.scalar_type() == torch::kDouble);
  });
  if (flat) {
    // On CPU: one parallel pass over all gradients, no tensor made.
    std::vector<Span> spans;
    spans.reserve(grads.size());
    for (const auto& g : grads)
      spans.push_back({g.data_ptr(), g.numel(), g.scalar_type() == torch::kDouble});
    std::atomic<bool> found{false};
    for_all_elements(spans, [&](const Span& s, int64_t begin, int64_t end) {
      const bool bad = s.is_double ? any_nonfinite(static_cast<const double*>(s.data), begin, end)
                                   : any_nonfinite(static_cast<const float*>(s.data), begin, end);
      if (bad) found.store(true, std::memory_order_relaxed);
    });
    return !found.load();
  }
  // Elsewhere (CUDA, other types): a sum is NaN or inf when one of its terms is, and a sum
  // of finite gradients overflows only near the type's maximum, where the optimizers'
  // squared gradients overflowed long before; one host read for all.
  std::vector<torch::Tensor> sums;
  sums.reserve(grads.size());
  for (const auto& g : grads) sums.push_back(g.sum());
  return torch::stack(sums).isfinite().all().item<bool>();
}

std::string nonfinite_terms(const StepLosses& l) {
  std::string text;
  for (const LossTerm& term : kLossTerms) {
    const double value = l.*term.value;
    if (term.total || std::isfinite(value)) continue;
    text +=
        (text.empty() ? "" : ", ") + std::string(term.name) + (std::isnan(value) ? " nan" : " inf");
  }
  return text;
}

void NonFiniteSteps::record(int64_t step, const std::vector<std::string>& dropped,
                            const StepLosses& losses, int rank) {
  if (dropped.empty()) {
    in_a_row_ = 0;
    return;
  }
  ++in_a_row_;
  ++skipped_total_;
  std::string terms = nonfinite_terms(losses);
  // The gradients are the all-reduced ones: the loss at fault may be another rank's.
  if (terms.empty()) terms = "gradients only (a loss of another rank?)";
  const bool stop = policy_ == NonFinitePolicy::kStop && in_a_row_ >= limit_;
  if (rank == 0 && !stop) {
    std::string which;
    for (size_t i = 0; i < dropped.size(); ++i) {
      which += (i == 0 ? "" : i + 1 == dropped.size() ? " and " : ", ") + dropped[i];
    }
    log::warn("step ", step, ": non-finite loss or gradients (", terms, "); the update",
              dropped.size() == 1 ? " of " : "s of ", which, dropped.size() == 1 ? " was" : " were",
              " dropped on every rank (", in_a_row_, " in a row, ", skipped_total_,
              " so far; --on-nonfinite ",
              policy_ == NonFinitePolicy::kStop ? "stop after " + std::to_string(limit_) : "skip",
              ")");
  }
  CG_REQUIRE(!stop, Error, "step ", step, ": non-finite loss or gradients for ", in_a_row_,
             " step(s) in a row (", terms,
             "); stopped without a checkpoint of this state (--on-nonfinite stop, "
             "--nonfinite-limit ",
             limit_,
             "): lower the learning rates, or resume from the last "
             "checkpoint with --resume auto");
}

std::set<int64_t> injected_nonfinite_steps(int rank) {
  const char* spec = std::getenv("CYCLEGAN_TEST_NONFINITE");
  if (spec == nullptr || *spec == '\0') return {};
  std::string text = spec;
  int only_rank = -1;
  if (const size_t at = text.find('@'); at != std::string::npos) {
    char* end = nullptr;
    only_rank = static_cast<int>(std::strtol(text.c_str() + at + 1, &end, 10));
    CG_REQUIRE(end != text.c_str() + at + 1 && *end == '\0' && only_rank >= 0, ConfigError,
               "CYCLEGAN_TEST_NONFINITE='", spec, "': expected STEP[,STEP...][@RANK]");
    text.resize(at);
  }
  std::set<int64_t> steps;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) {
    char* end = nullptr;
    const long long step = std::strtoll(item.c_str(), &end, 10);
    CG_REQUIRE(!item.empty() && *end == '\0' && step >= 1, ConfigError, "CYCLEGAN_TEST_NONFINITE='",
               spec, "': expected STEP[,STEP...][@RANK]");
    steps.insert(step);
  }
  if (only_rank >= 0 && only_rank != rank) return {};
  return steps;
}

}  // namespace cg::train

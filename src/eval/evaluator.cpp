#include "eval/evaluator.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <unordered_map>

#include "common/error.h"
#include "common/stop_request.h"
#include "eval/checkerboard.h"
#include "eval/image_quality.h"
#include "eval/test_rows.h"
#include "image/tensor_color.h"

namespace cg::eval {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Per-image sums of the image scores (a batch's mean times its size; every image of a
// domain has the same size, so their totals over the images give the means of the whole
// split), added up across ranks in one tensor.
enum Slot : int64_t {
  kCycleASquared,
  kCycleAAbs,
  kCycleBSquared,
  kCycleBAbs,
  kTranslationSquared,
  kTranslationSsim,
  kBaselineSquared,
  kBaselineSsim,
  kColorizedSquared,
  kColorizedSsim,
  kColorfulnessTranslated,
  kColorfulnessReal,
  kColorfulnessColorized,
  kSlots
};

double psnr_of(double mse) {
  return mse == 0 ? std::numeric_limits<double>::infinity() : 10.0 * std::log10(1.0 / mse);
}

}  // namespace

Evaluator::Evaluator(const std::string& dir, int64_t channels_a, int64_t channels_b,
                     EvalOptions options, const torch::Device& device)
    : dir_(dir),
      manifest_(data::read_manifest(dir)),
      channels_a_(channels_a),
      channels_b_(channels_b),
      options_(std::move(options)) {
  CG_REQUIRE(options_.batch_size >= 1, ConfigError, "--eval-batch-size must be at least 1, got ",
             options_.batch_size);
  CG_REQUIRE(options_.fid_images == 0 || options_.fid_images == EvalOptions::kWholeSplit ||
                 options_.fid_images >= 2,
             ConfigError, "--fid-images must be 0 (no FID/KID), ", EvalOptions::kWholeSplit,
             " (the whole test split) or at least 2, got ", options_.fid_images);
  for (const char* domain : {"A", "B"}) {
    CG_REQUIRE(manifest_.count(domain, "test") > 0, ConfigError, "data set ", dir,
               " has no test images in domain ", domain);
  }
  test_a_ = std::make_unique<data::ImageSet>(dir, manifest_, "A", "test");
  test_b_ = std::make_unique<data::ImageSet>(dir, manifest_, "B", "test");
  const auto capped = [&](int64_t n) {
    return options_.max_images > 0 ? std::min(options_.max_images, n) : n;
  };
  n_a_ = capped(test_a_->size());
  n_b_ = capped(test_b_->size());
  paired_ = manifest_.paired_test && n_a_ == n_b_ && test_a_->height() == test_b_->height() &&
            test_a_->width() == test_b_->width();
  if (options_.fid_images == 0) return;

  if (options_.inception.empty()) {
    inception_ =
        InceptionFeatures::load_if_present(default_inception_path(), device, fid_unavailable_);
    if (!inception_) return;
  } else {
    // Weights the user named must be there and be the network: a problem is a bad flag.
    try {
      inception_.emplace(options_.inception, device);
    } catch (const FileError& e) {
      throw ConfigError(detail::str_cat("--inception: ", e.what()));
    }
  }
  const auto fid_set = [&](int64_t n) {
    return options_.fid_images == EvalOptions::kWholeSplit ? n : std::min(options_.fid_images, n);
  };
  k_a_ = fid_set(n_a_);
  k_b_ = fid_set(n_b_);
  if (k_a_ < 2 || k_b_ < 2) {
    fid_unavailable_ = "FID/KID unavailable: they need at least 2 test images per domain, " + dir +
                       " has " + std::to_string(n_a_) + " in A and " + std::to_string(n_b_) +
                       " in B";
    inception_.reset();
    return;
  }
  if (options_.fid_floor && manifest_.count("A", "train") >= 2 &&
      manifest_.count("B", "train") >= 2) {
    train_a_ = std::make_unique<data::ImageSet>(dir, manifest_, "A", "train");
    train_b_ = std::make_unique<data::ImageSet>(dir, manifest_, "B", "train");
  }
}

EvalReport Evaluator::evaluate(model::CycleGan& net, int64_t batch_size, double colour_gain) const {
  TORCH_CHECK(batch_size >= 1, "Evaluator: batch size must be positive, got ", batch_size);
  return run(net, EvalRanks{}, batch_size, colour_gain);
}

EvalReport Evaluator::evaluate(model::CycleGan& net, const EvalRanks& ranks,
                               double colour_gain) const {
  return run(net, ranks, options_.batch_size, colour_gain);
}

EvalReport Evaluator::run(model::CycleGan& net, const EvalRanks& ranks, int64_t batch,
                          double colour_gain) const {
  raise_test_signal("evaluation");
  TORCH_CHECK(ranks.world >= 1 && ranks.rank >= 0 && ranks.rank < ranks.world, "Evaluator: rank ",
              ranks.rank, " of ", ranks.world);
  TORCH_CHECK(ranks.world == 1 || ranks.sum, "Evaluator: ", ranks.world,
              " ranks need a SumAcrossRanks");
  const auto start = Clock::now();
  torch::NoGradGuard no_grad;
  const bool was_training = net->is_training();
  net->eval();
  const torch::TensorOptions options = net->parameters().front().options();
  const model::ImageRange range = net->range();
  auto g = [&](const torch::Tensor& x) { return net->g(x); };
  auto f = [&](const torch::Tensor& x) { return net->f(x); };
  // The checkerboard measure at the generators' upsampling period, where images allow it:
  // the spectra of G(a), a, F(b) and b summed over this rank's images.
  const int64_t period = net->size_multiple();
  const bool checkerboard =
      period >= 2 && std::min({test_a_->height(), test_a_->width(), test_b_->height(),
                               test_b_->width()}) >= 2 * period;
  enum { kSpectraGA, kSpectraA, kSpectraFB, kSpectraB };
  torch::Tensor spectra =
      torch::zeros({4, 2, checkerboard ? period * period - 1 : 1}, torch::kDouble);
  const auto add_spectra = [&](int which, const torch::Tensor& images) {
    spectra[which] += checkerboard_spectra(images, period).sum(0);
  };

  // Which test images are FID/KID rows, and the tables their translations go to.
  std::unordered_map<int64_t, int64_t> row_a, row_b;
  for (int64_t j = 0; j < k_a_; ++j) row_a[picked(j, n_a_, k_a_)] = j;
  for (int64_t j = 0; j < k_b_; ++j) row_b[picked(j, n_b_, k_b_)] = j;
  // Gray A, colour B: G(a)'s colours on a's luma, as cyclegan_translate --keep-luma
  // colorizes, is scored beside G(a) itself.
  const bool colorizes = channels_a_ == 1 && channels_b_ == 3;
  std::optional<FeatureCollector> fake_b, fake_a, colorized_b;
  if (inception_) {
    fake_b.emplace(k_a_, *inception_, batch);  // G(picked test A)
    fake_a.emplace(k_b_, *inception_, batch);  // F(picked test B)
    if (colorizes) colorized_b.emplace(k_a_, *inception_, batch);
  }
  const auto push_picked = [](FeatureCollector& to,
                              const std::unordered_map<int64_t, int64_t>& rows,
                              const std::vector<int64_t>& indices, const torch::Tensor& images) {
    std::vector<int64_t> at, where;
    for (size_t i = 0; i < indices.size(); ++i) {
      if (auto it = rows.find(indices[i]); it != rows.end()) {
        at.push_back(static_cast<int64_t>(i));
        where.push_back(it->second);
      }
    }
    if (!at.empty()) to.push(images.index_select(0, torch::tensor(at, torch::kLong)), where);
  };

  double sums[kSlots] = {};
  double fid_seconds = 0;
  const std::vector<int64_t> mine_a = owned(n_a_, ranks), mine_b = owned(n_b_, ranks);
  for (size_t s = 0; s < mine_a.size(); s += static_cast<size_t>(batch)) {
    const std::vector<int64_t> idx = slice(mine_a, s, batch);
    const double n = static_cast<double>(idx.size());
    const torch::Tensor a = read_images(*test_a_, idx, channels_a_);
    const torch::Tensor g_a = translate(g, a, range, options);
    const torch::Tensor a_cycled = translate(f, g_a, range, options);
    const torch::Tensor colorized =
        colorizes ? image::with_luma(g_a, a, colour_gain).clamp(0, 1) : torch::Tensor();
    sums[kCycleASquared] += mean_squared_error(a_cycled, a) * n;
    sums[kCycleAAbs] += mean_abs_error(a_cycled, a) * n;
    if (paired_) {
      const torch::Tensor b = read_images(*test_b_, idx, channels_b_);
      const torch::Tensor baseline = a.size(1) == b.size(1) ? a
                                     : b.size(1) == 3       ? a.expand({-1, 3, -1, -1})
                                                            : image::to_gray(a);
      sums[kTranslationSquared] += mean_squared_error(g_a, b) * n;
      sums[kTranslationSsim] += ssim(g_a, b) * n;
      sums[kBaselineSquared] += mean_squared_error(baseline, b) * n;
      sums[kBaselineSsim] += ssim(baseline, b) * n;
      if (colorizes) {
        sums[kColorizedSquared] += mean_squared_error(colorized, b) * n;
        sums[kColorizedSsim] += ssim(colorized, b) * n;
      }
    }
    if (channels_b_ == 3) sums[kColorfulnessTranslated] += colorfulness(g_a) * n;
    if (colorizes) sums[kColorfulnessColorized] += colorfulness(colorized) * n;
    if (checkerboard) {
      add_spectra(kSpectraGA, g_a);
      add_spectra(kSpectraA, a);
    }
    if (fake_b) {
      const auto t = Clock::now();
      push_picked(*fake_b, row_a, idx, g_a);
      if (colorized_b) push_picked(*colorized_b, row_a, idx, colorized);
      fid_seconds += seconds_since(t);
    }
  }
  for (size_t s = 0; s < mine_b.size(); s += static_cast<size_t>(batch)) {
    const std::vector<int64_t> idx = slice(mine_b, s, batch);
    const double n = static_cast<double>(idx.size());
    const torch::Tensor b = read_images(*test_b_, idx, channels_b_);
    const torch::Tensor f_b = translate(f, b, range, options);
    const torch::Tensor b_cycled = translate(g, f_b, range, options);
    sums[kCycleBSquared] += mean_squared_error(b_cycled, b) * n;
    sums[kCycleBAbs] += mean_abs_error(b_cycled, b) * n;
    if (channels_b_ == 3) sums[kColorfulnessReal] += colorfulness(b) * n;
    if (checkerboard) {
      add_spectra(kSpectraFB, f_b);
      add_spectra(kSpectraB, b);
    }
    if (fake_a) {
      const auto t = Clock::now();
      push_picked(*fake_a, row_b, idx, f_b);
      fid_seconds += seconds_since(t);
    }
  }
  net->train(was_training);

  torch::Tensor total = torch::from_blob(sums, {kSlots}, torch::kDouble).clone();
  if (ranks.sum) ranks.sum(total);
  if (ranks.sum && checkerboard) ranks.sum(spectra);
  const double* t = total.data_ptr<double>();
  const double na = static_cast<double>(n_a_), nb = static_cast<double>(n_b_);
  EvalReport r;
  r.images_a = n_a_;
  r.images_b = n_b_;
  r.cycle_a_l1 = t[kCycleAAbs] / na;
  r.cycle_a_psnr_db = psnr_of(t[kCycleASquared] / na);
  r.cycle_b_l1 = t[kCycleBAbs] / nb;
  r.cycle_b_psnr_db = psnr_of(t[kCycleBSquared] / nb);
  if (paired_) {
    r.paired = true;
    r.translation_psnr_db = psnr_of(t[kTranslationSquared] / na);
    r.translation_ssim = t[kTranslationSsim] / na;
    r.baseline_psnr_db = psnr_of(t[kBaselineSquared] / na);
    r.baseline_ssim = t[kBaselineSsim] / na;
    if (channels_a_ == 1 && channels_b_ == 3) {
      r.colorization = true;
      r.colorized_psnr_db = psnr_of(t[kColorizedSquared] / na);
      r.colorized_ssim = t[kColorizedSsim] / na;
    }
  }
  if (channels_b_ == 3) {
    r.colour_b = true;
    r.colorfulness_translated = t[kColorfulnessTranslated] / na;
    r.colorfulness_real = t[kColorfulnessReal] / nb;
  }
  if (colorizes) {
    r.colorizes = true;
    r.colorfulness_colorized = t[kColorfulnessColorized] / na;
    r.colour_gain = colour_gain;
  }
  if (checkerboard) {
    r.checkerboard_period = period;
    const auto scores = [&](int translated, int input, int real) {
      return CheckerboardScores{checkerboard_measure(spectra[translated], spectra[real]),
                                checkerboard_measure(spectra[input], spectra[real]),
                                checkerboard_peak(spectra[translated]),
                                checkerboard_peak(spectra[input]),
                                checkerboard_peak(spectra[real])};
    };
    r.checkerboard_a_to_b = scores(kSpectraGA, kSpectraA, kSpectraB);
    r.checkerboard_b_to_a = scores(kSpectraFB, kSpectraB, kSpectraA);
  }
  r.fid_unavailable = fid_unavailable_;
  if (fake_b) {
    const auto t0 = Clock::now();
    score_fid(r, *fake_b, *fake_a, colorized_b ? &*colorized_b : nullptr, ranks, batch);
    fid_seconds += seconds_since(t0);
    r.fid_seconds = fid_seconds;
  }
  r.seconds = seconds_since(start);
  return r;
}

}  // namespace cg::eval

#include "eval/eval_report.h"

#include <c10/util/Exception.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "eval/inception_features.h"

namespace cg::eval {

std::string eval_report_path(const std::string& run_dir, int64_t step) {
  return (std::filesystem::path(run_dir) / "eval" / ("step_" + std::to_string(step) + ".json"))
      .string();
}

namespace {

// NaN (no reference) as JSON null.
nlohmann::json number_or_null(double value) {
  return std::isnan(value) ? nlohmann::json(nullptr) : nlohmann::json(value);
}

}  // namespace

std::string FidScores::note() const {
  return std::min(images, reference_images) < InceptionFeatures::kFeatureDim
             ? "comparable only at equal N"
             : "";
}

nlohmann::json FidScores::to_json() const {
  nlohmann::json j = {{"fid", fid},
                      {"kid", kid},
                      {"kid_std", kid_std ? nlohmann::json(*kid_std) : nlohmann::json(nullptr)},
                      {"kid_subsets", kid_subsets},
                      {"kid_subset_size", kid_subset_size},
                      {"images", images},
                      {"reference_images", reference_images},
                      {"images_of", images_of},
                      {"reference_of", reference_of}};
  if (const std::string n = note(); !n.empty()) j["note"] = n;
  return j;
}

nlohmann::json CheckerboardScores::to_json() const {
  return {{"translated", number_or_null(translated)},
          {"baseline", number_or_null(baseline)},
          {"peak_translated", number_or_null(peak_translated)},
          {"peak_input", number_or_null(peak_input)},
          {"peak_real", number_or_null(peak_real)}};
}

bool EvalReport::fid_subset() const {
  return fid_a_to_b.images < fid_test_images_a || fid_b_to_a.images < fid_test_images_b;
}

nlohmann::json EvalReport::to_json() const {
  nlohmann::json j = {{"images_a", images_a},     {"images_b", images_b},
                      {"cycle_a_l1", cycle_a_l1}, {"cycle_a_psnr_db", cycle_a_psnr_db},
                      {"cycle_b_l1", cycle_b_l1}, {"cycle_b_psnr_db", cycle_b_psnr_db},
                      {"seconds", seconds}};
  if (paired) {
    j["translation_psnr_db"] = translation_psnr_db;
    j["translation_ssim"] = translation_ssim;
    j["baseline_psnr_db"] = baseline_psnr_db;
    j["baseline_ssim"] = baseline_ssim;
  }
  if (colorization) {
    j["colorized_psnr_db"] = colorized_psnr_db;
    j["colorized_ssim"] = colorized_ssim;
  }
  if (colour_b) {
    j["colorfulness_translated"] = colorfulness_translated;
    j["colorfulness_real"] = colorfulness_real;
  }
  if (colorizes) {
    j["colorfulness_colorized"] = colorfulness_colorized;
    j["colour_gain"] = colour_gain;
  }
  if (checkerboard_period > 0) {
    j["checkerboard"] = {{"period", checkerboard_period},
                         {"AtoB", checkerboard_a_to_b.to_json()},
                         {"BtoA", checkerboard_b_to_a.to_json()}};
  }
  if (fid) {
    nlohmann::json f = {{"AtoB", fid_a_to_b.to_json()},
                        {"BtoA", fid_b_to_a.to_json()},
                        {"baseline_AtoB", baseline_a_to_b.to_json()},
                        {"baseline_BtoA", baseline_b_to_a.to_json()},
                        {"test_images_A", fid_test_images_a},
                        {"test_images_B", fid_test_images_b},
                        {"whole_test_split", !fid_subset()},
                        {"extractor_sha1", fid_extractor_sha1},
                        {"resize", InceptionFeatures::kResizeRule},
                        {"gray", std::string(InceptionFeatures::kGrayRule) +
                                     "; the baseline's input in the target's channels: gray "
                                     "repeated to RGB, colour to BT.601 luma"},
                        {"real_sets_cached", fid_real_sets_cached},
                        {"real_sets_computed", fid_real_sets_computed},
                        {"seconds", fid_seconds}};
    if (fid_colorized) f["colorized_AtoB"] = colorized_a_to_b.to_json();
    if (fid_floor) {
      f["floor_A"] = floor_a.to_json();
      f["floor_B"] = floor_b.to_json();
    }
    j["fid"] = f;
  }
  if (!fid_unavailable.empty()) j["fid_unavailable"] = fid_unavailable;
  return j;
}

std::string EvalReport::summary() const {
  std::string line;
  const auto add = [&line](const char* format, auto... values) {
    char part[160];
    std::snprintf(part, sizeof(part), format, values...);
    line += part;
  };
  if (paired) {
    add("test PSNR %.2f dB (do nothing %.2f dB), ", translation_psnr_db, baseline_psnr_db);
    if (colorization) add("colorized (input's luma) %.2f dB, ", colorized_psnr_db);
    add("SSIM %.3f (do nothing %.3f), ", translation_ssim, baseline_ssim);
  }
  if (colour_b) {
    add("colorfulness %.1f", colorfulness_translated);
    if (colorizes) {
      add(" (on the input's luma %.1f, chroma x%.2f)", colorfulness_colorized, colour_gain);
    }
    add(" (real %.1f), ", colorfulness_real);
  }
  add("cycle A %.2f dB, cycle B %.2f dB", cycle_a_psnr_db, cycle_b_psnr_db);
  if (checkerboard_period > 0) {
    add("; checkerboard (period %lld, real = 1) A->B %.2f (do nothing %.2f), B->A %.2f (do "
        "nothing %.2f)",
        static_cast<long long>(checkerboard_period), checkerboard_a_to_b.translated,
        checkerboard_a_to_b.baseline, checkerboard_b_to_a.translated, checkerboard_b_to_a.baseline);
  }
  if (fid) {
    add("; FID A->B %.2f (do nothing %.2f), KID %.4f (%.4f)", fid_a_to_b.fid, baseline_a_to_b.fid,
        fid_a_to_b.kid, baseline_a_to_b.kid);
    if (fid_colorized) {
      add(", on the input's luma FID %.2f, KID %.4f", colorized_a_to_b.fid, colorized_a_to_b.kid);
    }
    add("; B->A %.2f (do nothing %.2f), KID %.4f (%.4f)", fid_b_to_a.fid, baseline_b_to_a.fid,
        fid_b_to_a.kid, baseline_b_to_a.kid);
    add(" on %lld images of test A and %lld of test B", static_cast<long long>(fid_a_to_b.images),
        static_cast<long long>(fid_b_to_a.images));
    line += fid_subset() ? " (a subset of the test split's " + std::to_string(fid_test_images_a) +
                               " and " + std::to_string(fid_test_images_b) + ")"
                         : " (the whole test split)";
    if (const std::string note = fid_a_to_b.note(); !note.empty()) line += ", " + note;
    if (fid_floor) add("; real train vs test %.2f (B), %.2f (A)", floor_b.fid, floor_a.fid);
  }
  add(" [%.1f s]", seconds);
  return line;
}

const char* metric_name(Metric metric) {
  switch (metric) {
    case Metric::kFidAtoB:
      return "fid-AtoB";
    case Metric::kFidBtoA:
      return "fid-BtoA";
    case Metric::kKidAtoB:
      return "kid-AtoB";
    case Metric::kKidBtoA:
      return "kid-BtoA";
  }
  return "?";
}

double EvalReport::metric(Metric metric) const {
  TORCH_CHECK(fid, "EvalReport: no FID/KID scores for metric ", metric_name(metric));
  switch (metric) {
    case Metric::kFidAtoB:
      return fid_a_to_b.fid;
    case Metric::kFidBtoA:
      return fid_b_to_a.fid;
    case Metric::kKidAtoB:
      return fid_a_to_b.kid;
    case Metric::kKidBtoA:
      return fid_b_to_a.kid;
  }
  TORCH_CHECK(false, "EvalReport: unknown metric");
}

}  // namespace cg::eval

#include "eval/eval_report.h"

#include <c10/util/Exception.h>

#include <algorithm>
#include <filesystem>

namespace cg::eval {

std::string eval_report_path(const std::string& run_dir, int64_t step) {
  return (std::filesystem::path(run_dir) / "eval" / ("step_" + std::to_string(step) + ".json"))
      .string();
}

nlohmann::json FidScores::to_json() const {
  return {{"fid", fid},
          {"kid", kid},
          {"kid_std", kid_std},
          {"images", images},
          {"reference_images", reference_images}};
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
  if (fid) {
    nlohmann::json f = {{"AtoB", fid_a_to_b.to_json()},
                        {"BtoA", fid_b_to_a.to_json()},
                        {"extractor_sha1", fid_extractor_sha1},
                        {"real_sets_cached", fid_real_sets_cached},
                        {"real_sets_computed", fid_real_sets_computed},
                        {"seconds", fid_seconds}};
    if (fid_floor) {
      f["floor_A"] = floor_a.to_json();
      f["floor_B"] = floor_b.to_json();
    }
    j["fid"] = f;
  }
  if (!fid_unavailable.empty()) j["fid_unavailable"] = fid_unavailable;
  return j;
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

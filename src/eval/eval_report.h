#pragma once
// The scores of one evaluation on a test split, as plain values (see Evaluator).
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace cg::eval {

struct EvalReport {
  int64_t images_a = 0, images_b = 0;                    ///< test images scored per domain
  bool paired = false;                                   ///< the translation scores below are set
  double translation_psnr_db = 0, translation_ssim = 0;  ///< G(a) vs b
  double baseline_psnr_db = 0, baseline_ssim = 0;        ///< a in B's channels vs b
  bool colorization = false;  ///< gray A, colour B: the colorized scores below are set
  double colorized_psnr_db = 0, colorized_ssim = 0;  ///< G(a)'s colours on a's luma vs b
  bool colour_b = false;  ///< B has 3 channels: the colorfulness scores are set
  double colorfulness_translated = 0, colorfulness_real = 0;  ///< of G(a) and of b
  double cycle_a_l1 = 0, cycle_a_psnr_db = 0;                 ///< F(G(a)) vs a, values in [0, 1]
  double cycle_b_l1 = 0, cycle_b_psnr_db = 0;                 ///< G(F(b)) vs b

  /// The report as JSON, with names as in this struct (unset groups left out).
  nlohmann::json to_json() const;
};

/// Where the report of the evaluation after `step` steps of the run in `run_dir` goes:
/// <run_dir>/eval/step_<step>.json (both the trainer and cyclegan_translate write there).
std::string eval_report_path(const std::string& run_dir, int64_t step);

}  // namespace cg::eval

#pragma once
// The scores of one evaluation on a test split, as plain values (see Evaluator).
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace cg::eval {

/// A score a best checkpoint can follow (--best-metric): FID or KID of one direction.
enum class Metric { kFidAtoB, kFidBtoA, kKidAtoB, kKidBtoA };

/// "fid-AtoB", "fid-BtoA", "kid-AtoB" or "kid-BtoA": the --best-metric word, also the name
/// ckpt_best.json records.
const char* metric_name(Metric metric);

/// FID and KID of one set of images against another.
struct FidScores {
  double fid = 0;                ///< Fréchet Inception Distance (lower is closer)
  double kid = 0;                ///< Kernel Inception Distance: mean over the subsets
  double kid_std = 0;            ///< KID's standard deviation over the subsets
  int64_t images = 0;            ///< images of the first set (translated, or train)
  int64_t reference_images = 0;  ///< images of the real set it is compared with (test)

  nlohmann::json to_json() const;
};

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
  bool fid = false;  ///< the FID/KID scores below are set (rank 0, Inception weights present)
  std::string fid_unavailable;         ///< why FID/KID are missing although asked for, else ""
  FidScores fid_a_to_b;                ///< G(test A) vs test B
  FidScores fid_b_to_a;                ///< F(test B) vs test A
  bool fid_floor = false;              ///< the floor scores below are set
  FidScores floor_a, floor_b;          ///< train vs test of A and of B: what real images score
  int64_t fid_real_sets_cached = 0;    ///< real sets whose features came from the cache
  int64_t fid_real_sets_computed = 0;  ///< real sets whose features were extracted now
  std::string fid_extractor_sha1;      ///< SHA-1 of the Inception weights used
  double seconds = 0;                  ///< the whole evaluation, wall clock
  double fid_seconds = 0;              ///< of which FID/KID: feature extraction and the distances

  /// The report as JSON, with names as in this struct (unset groups left out; FID/KID
  /// under "fid": {"AtoB", "BtoA", "floor_A", "floor_B", ...}).
  nlohmann::json to_json() const;

  /// The score `metric` names (lower is better for all). Throws c10::Error when `fid` is
  /// false.
  double metric(Metric metric) const;
};

/// Where the report of the evaluation after `step` steps of the run in `run_dir` goes:
/// <run_dir>/eval/step_<step>.json (both the trainer and cyclegan_translate write there).
std::string eval_report_path(const std::string& run_dir, int64_t step);

}  // namespace cg::eval

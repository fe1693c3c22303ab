#pragma once
// The scores of one evaluation on a test split, as plain values (see Evaluator).
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
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
  double fid = 0;  ///< Fréchet Inception Distance (lower is closer)
  double kid = 0;  ///< Kernel Inception Distance: mean over the subsets
  /// KID's standard deviation over the subsets; nullopt when the subsets cannot differ (one
  /// subset, or subsets as large as both sets: every subset is the whole of both).
  std::optional<double> kid_std;
  int64_t kid_subsets = 0;       ///< subsets KID averaged over
  int64_t kid_subset_size = 0;   ///< features per subset
  int64_t images = 0;            ///< images of the first set (translated, input, or train)
  int64_t reference_images = 0;  ///< images of the real set it is compared with (test)
  std::string images_of;         ///< what the first set is, e.g. "G(test split of A)"
  std::string reference_of;      ///< what the real set is, e.g. "test split of B"

  /// "comparable only at equal N" when either set has fewer images than the 2048 feature
  /// dimensions (FID is then biased upwards by the sample size), else "".
  std::string note() const;
  /// {"fid", "kid", "kid_std" (null when undefined), "kid_subsets", "kid_subset_size",
  /// "images", "reference_images", "images_of", "reference_of", "note" (when there is one)}.
  nlohmann::json to_json() const;
};

/// The checkerboard measure of one direction (eval/checkerboard.h); NaN where undefined.
struct CheckerboardScores {
  double translated = 0;       ///< checkerboard(translations, real): 1.0 is like real images
  double baseline = 0;         ///< checkerboard(untranslated inputs, real): doing nothing
  double peak_translated = 0;  ///< checkerboard_peak of the translations
  double peak_input = 0;       ///< ... of the untranslated inputs
  double peak_real = 0;        ///< ... of the real test images of the target domain
  /// {"translated", "baseline", "peak_translated", "peak_input", "peak_real"}, NaN as null.
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
  /// Gray A and colour B (colorization, paired or not): colorfulness_colorized is set, and
  /// with `fid` colorized_a_to_b too.
  bool colorizes = false;
  double colorfulness_colorized = 0;  ///< of G(a)'s colours on a's luma (--keep-luma)
  double colour_gain = 1;             ///< the chroma gain those colours had (eval/colour_match.h)
  double cycle_a_l1 = 0, cycle_a_psnr_db = 0;  ///< F(G(a)) vs a, values in [0, 1]
  double cycle_b_l1 = 0, cycle_b_psnr_db = 0;  ///< G(F(b)) vs b
  /// The generator's upsampling period p the checkerboard scores below are measured at (its
  /// size multiple); 0 when the images are smaller than 2p (no checkerboard scores).
  int64_t checkerboard_period = 0;
  CheckerboardScores checkerboard_a_to_b;  ///< G(test A) and test A against test B
  CheckerboardScores checkerboard_b_to_a;  ///< F(test B) and test B against test A
  bool fid = false;  ///< the FID/KID scores below are set (rank 0, Inception weights present)
  std::string fid_unavailable;  ///< why FID/KID are missing although asked for, else ""
  FidScores fid_a_to_b;         ///< G(test A) vs test B
  FidScores fid_b_to_a;         ///< F(test B) vs test A
  /// The do-nothing baseline: test A in B's channels (gray repeated to RGB, colour to BT.601
  /// gray) vs test B, the same picked images and real set as fid_a_to_b; and the reverse.
  FidScores baseline_a_to_b, baseline_b_to_a;
  /// Colorization: G(test A)'s colours on test A's luma (what cyclegan_translate --keep-luma
  /// writes) vs test B, the same picked images and real set as fid_a_to_b.
  bool fid_colorized = false;
  FidScores colorized_a_to_b;
  bool fid_floor = false;              ///< the floor scores below are set
  FidScores floor_a, floor_b;          ///< train vs test of A and of B: what real images score
  int64_t fid_test_images_a = 0;       ///< test images of A the FID/KID sets are picked from
  int64_t fid_test_images_b = 0;       ///< ... and of B
  int64_t fid_real_sets_cached = 0;    ///< image sets whose features came from the cache
  int64_t fid_real_sets_computed = 0;  ///< image sets whose features were extracted now
  std::string fid_extractor_sha1;      ///< SHA-1 of the Inception weights used
  double seconds = 0;                  ///< the whole evaluation, wall clock
  double fid_seconds = 0;              ///< of which FID/KID: feature extraction and the distances

  /// Whether the FID/KID sets are a subset of the test split (fewer images than it has).
  bool fid_subset() const;

  /// The report as JSON, with names as in this struct (unset groups left out; the
  /// checkerboard under "checkerboard": {"period", "AtoB", "BtoA"}; FID/KID under "fid":
  /// {"AtoB", "BtoA", "baseline_AtoB", "baseline_BtoA", "colorized_AtoB", "floor_A", "floor_B", and
  /// the protocol: "extractor_sha1", "resize", "gray", "test_images_A", "test_images_B",
  /// "whole_test_split", ...}).
  nlohmann::json to_json() const;

  /// The scores on one line for a log, each beside its do-nothing baseline where there is
  /// one, with the FID sets' sizes, whether they are a subset of the test split, and the
  /// "comparable only at equal N" note.
  std::string summary() const;

  /// The score `metric` names (lower is better for all). Throws c10::Error when `fid` is
  /// false.
  double metric(Metric metric) const;
};

/// Where the report of the evaluation after `step` steps of the run in `run_dir` goes:
/// <run_dir>/eval/step_<step>.json (both the trainer and cyclegan_translate write there).
std::string eval_report_path(const std::string& run_dir, int64_t step);

}  // namespace cg::eval

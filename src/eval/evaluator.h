#pragma once
// Scores a CycleGAN on the test split of a data set made by cyclegan_data, streaming it in
// batches (memory is bounded by the batch size, not by the split):
// - for every data set: the cycle reconstruction F(G(a)) vs a and G(F(b)) vs b;
// - for paired test splits (image i of A and of B show the same scene, as colorization sets
//   do): PSNR and SSIM of G(a) against b and of the input copied to B's channels (the
//   baseline a translation has to beat), and for gray A and colour B of G(a)'s colours on
//   a's luminance (as `cyclegan_translate --keep-luma` colorizes, with the checkpoint's
//   chroma gain);
// - for colour B: the colorfulness of G(a) and of real b, and for gray A of G(a)'s colours on
//   a's luminance;
// - the checkerboard measure (eval/checkerboard.h) at the generators' period (their size
//   multiple) of G(a) against real b and of F(b) against real a, and of the untranslated
//   inputs (the do-nothing baseline);
// - with EvalOptions::fid_images != 0 and the Inception weights present: FID and KID of
//   G(test A) against test B and of F(test B) against test A, of the do-nothing baseline
//   (test A in B's channels against test B, and test B in A's against test A: gray is
//   repeated to RGB, colour converted to BT.601 gray), for gray A and colour B of G(a)'s colours
//   on a's luminance against test B, and the real-vs-real floor (train vs
//   test of each domain). Each test set is `fid_images` images (or the whole split) spread
//   evenly over its split (image floor(j * n / k) for j < k), so a cap keeps them
//   representative of sets stored in any order; the floor's train set has as many images as
//   the domain's test set (at most the train split). The features of the data set's images
//   (real sets and baseline inputs) are cached in the data set (FeatureCache).
//
// Several processes can evaluate together: each translates and extracts the images whose
// index is its rank modulo the world size, and the sums and feature tables are added up
// through a SumAcrossRanks; the result does not depend on the number of processes.
#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "data/dataset_manifest.h"
#include "data/image_set.h"
#include "eval/eval_report.h"
#include "eval/feature_collector.h"
#include "eval/inception_features.h"
#include "eval/kid.h"
#include "model/cycle_gan.h"

namespace cg::eval {

struct EvalOptions {
  /// Test images per domain for the PSNR, SSIM, colorfulness and cycle scores (0: all).
  int64_t max_images = 0;
  /// Images per translation and per Inception forward pass: what bounds an evaluation's
  /// memory.
  int64_t batch_size = 32;
  /// fid_images: every image of each test split.
  static constexpr int64_t kWholeSplit = -1;
  /// Images per set for FID/KID, spread evenly over each split and capped at its size
  /// (kWholeSplit: the whole split, the field's protocol; 0: no FID/KID). FID is biased
  /// upwards for small sets: compare equal sizes only.
  int64_t fid_images = 0;
  /// The Inception weights ("": default_inception_path(), and FID/KID are unavailable when
  /// that file is missing). A named file must exist and pass InceptionFeatures' probe.
  std::string inception;
  /// KID's subsets (their size is further capped at the sets' sizes).
  KidOptions kid;
  /// Also score train against test of each domain: the FID/KID real images reach.
  bool fid_floor = true;
  /// Keep the real sets' features in <data set>/fid_cache and read them from there.
  bool cache = true;
};

/// The processes that evaluate together, from this one's point of view.
struct EvalRanks {
  int rank = 0;        ///< this process, in [0, world)
  int world = 1;       ///< how many there are
  SumAcrossRanks sum;  ///< adds tensors across them (needed when world > 1)
};

class Evaluator {
 public:
  /// Opens the test split of the data set at `dir` (and its train split, for the floor),
  /// converted to the model's channels (gray <-> colour as the loader does) when read, and
  /// loads the Inception weights onto `device` if FID/KID are asked for and they exist.
  /// Throws FileError when the data set is unreadable or the default weights file is
  /// damaged, ConfigError (naming --inception) when the weights named by
  /// EvalOptions::inception are missing or not the network, or when it has no test split.
  Evaluator(const std::string& dir, int64_t channels_a, int64_t channels_b,
            EvalOptions options = {}, const torch::Device& device = torch::kCPU);

  /// Translates this process's share of the test split with `net` (in eval mode, no
  /// gradients; its device and dtype) and scores it. With several processes every rank
  /// calls this with its EvalRanks; rank 0 gets the whole report, the others the image
  /// scores without FID/KID (only rank 0 computes those from the gathered features).
  /// `colour_gain` scales the chroma of G(a)'s colours on a's luminance (the colorized
  /// scores; eval/colour_match.h), as the model's checkpoint says.
  EvalReport evaluate(model::CycleGan& net, const EvalRanks& ranks = {},
                      double colour_gain = 1.0) const;

  /// As above on one process, with `batch_size` in place of the options' batch size.
  EvalReport evaluate(model::CycleGan& net, int64_t batch_size, double colour_gain = 1.0) const;

  /// Why FID/KID are not computed although asked for (no weights), else "".
  const std::string& fid_unavailable() const { return fid_unavailable_; }
  /// The extractor, when FID/KID are computed.
  const InceptionFeatures* inception() const { return inception_ ? &*inception_ : nullptr; }
  const EvalOptions& options() const { return options_; }

 private:
  EvalReport run(model::CycleGan& net, const EvalRanks& ranks, int64_t batch,
                 double colour_gain) const;
  void score_fid(EvalReport& report, FeatureCollector& fake_b, FeatureCollector& fake_a,
                 FeatureCollector* colorized_b, const EvalRanks& ranks, int64_t batch) const;

  std::string dir_;
  data::DatasetManifest manifest_;
  int64_t channels_a_, channels_b_;
  EvalOptions options_;
  std::unique_ptr<data::ImageSet> test_a_, test_b_, train_a_, train_b_;
  int64_t n_a_ = 0, n_b_ = 0;  // test images scored per domain
  bool paired_ = false;
  std::optional<InceptionFeatures> inception_;
  std::string fid_unavailable_;
  int64_t k_a_ = 0, k_b_ = 0;  // FID/KID images per set of domain A and of B
};

}  // namespace cg::eval

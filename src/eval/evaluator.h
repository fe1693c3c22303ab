#pragma once
// Scores a CycleGAN on the test split of a data set made by cyclegan_data: for data sets
// whose test split is paired (image i of A and of B show the same scene, as colorization
// sets are), PSNR and SSIM of G(a) against b and of the input copied to B's channels (the
// baseline a translation has to beat), and for gray A and colour B of G(a)'s colours on a's
// luminance (as `cyclegan_translate --keep-luma` colorizes); for colour B, the colorfulness
// of G(a) and of real b; for every data set, the cycle reconstruction F(G(a)) vs a and
// G(F(b)) vs b.
#include <torch/torch.h>

#include <cstdint>
#include <string>

#include "eval/eval_report.h"
#include "model/cycle_gan.h"

namespace cg::eval {

class Evaluator {
 public:
  /// Reads the test split of the data set at `dir` (at most `max_images` per domain, 0: all)
  /// into memory, converted to the model's channels (gray <-> colour as the loader does).
  /// Throws FileError when the data set is unreadable, ConfigError when it has no test split.
  Evaluator(const std::string& dir, int64_t channels_a, int64_t channels_b, int64_t max_images = 0);

  /// Translates the whole test split with `net` (in eval mode, no gradients; its device
  /// and dtype) in batches of `batch_size` and scores it.
  EvalReport evaluate(model::CycleGan& net, int64_t batch_size = 32) const;

  /// The test images in [0, 1]: (N, channels_a, H, W) and (N, channels_b, H, W).
  const torch::Tensor& images_a() const { return a_; }
  const torch::Tensor& images_b() const { return b_; }

 private:
  torch::Tensor a_, b_;
  bool paired_ = false;
};

}  // namespace cg::eval

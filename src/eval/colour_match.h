#pragma once
// How strongly a gray -> colour model's colorizations are coloured: matched to the colour
// photographs it was trained on (issue 27).
//
// A colorization keeps the gray input's luminance and takes the generator's chroma
// (image::with_luma); a chroma gain k scales that chroma: a + k (G(a) - Y(G(a))). CycleGAN's
// losses fix which colours G paints but leave their strength to a balance of the cycle and
// adversarial terms that lands differently on every photo set (on the demo's nature crops a
// quarter too strong, on opencv's sample photographs a third too weak, after the same 200
// steps). ColourMatch picks, for the current weights, the k at which the mean colorfulness
// (Hasler and Suesstrunk, eval/image_quality.h) of the colorized training images of domain A
// equals that of the training photographs of domain B. Unpaired, as CycleGAN is: the two
// means come from different images, and no test image is used, so the test split scores
// the gain like everything else.
//
// The trainer stores the gain in every checkpoint ("colour_gain"); --keep-luma
// translations, evaluations and the sample grids' colorized column apply it.
#include <torch/torch.h>

#include <cstdint>
#include <string>

#include "model/cycle_gan.h"

namespace cg::eval {

class ColourMatch {
 public:
  /// Training images sampled per domain (evenly spread over each split).
  static constexpr int64_t kImages = 256;
  /// The gains tried: 2^(i / 6) for i in [-12, 12]; the answer is interpolated between the
  /// two around the target and capped at the ends.
  static constexpr double kMinGain = 0.25, kMaxGain = 4.0;

  /// Reads up to `images` training images of each domain of the data set at `dir` (domain
  /// A as gray, B as colour, converted as the loader does), each cut to its central
  /// `crop` x `crop` pixels as training crops it (0 or larger than the images: whole), and
  /// the mean colorfulness of the B ones. Throws FileError when the data set is unreadable
  /// and ConfigError when a domain has no training images.
  ColourMatch(const std::string& dir, int64_t crop, int64_t images = kImages,
              int64_t batch_size = 32);

  /// The chroma gain that gives `net`'s colorizations of the sampled A images (their
  /// centres, cut to multiples of the generator's size multiple) the target colorfulness
  /// (1 when G paints no colour at all or gives non-finite values). Runs G in eval mode without
  /// gradients on the net's device and restores its mode; deterministic for given weights.
  double gain(model::CycleGan& net) const;

  /// Mean colorfulness of the sampled training photographs of B.
  double target() const { return target_; }

 private:
  torch::Tensor gray_;  // (N, 1, H, W) uint8: the sampled A images
  double target_ = 0;
  int64_t batch_size_;
};

}  // namespace cg::eval

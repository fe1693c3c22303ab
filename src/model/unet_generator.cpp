#include "model/unet_generator.h"

#include "model/activation_checkpoint.h"
#include "model/conv.h"
#include "model/conv_transpose.h"
#include "model/inert_bias.h"
#include "model/instance_norm.h"

namespace cg::model {
namespace nn = torch::nn;
namespace {

torch::Tensor run_layer(const std::shared_ptr<nn::Module>& layer, const torch::Tensor& x,
                        bool checkpointed) {
  auto seq = std::dynamic_pointer_cast<nn::SequentialImpl>(layer);
  TORCH_INTERNAL_ASSERT(seq, "UnetGenerator layers are Sequential");
  if (!checkpointed) return seq->forward(x);
  return checkpoint([seq](const torch::Tensor& t) { return seq->forward(t); }, x,
                    seq->parameters());
}

}  // namespace

std::string to_string(UnetNorm norm) { return norm == UnetNorm::kInstance ? "instance" : "none"; }

UnetGeneratorImpl::UnetGeneratorImpl(UnetGeneratorOptions options_) : options(std::move(options_)) {
  reset();
}

void UnetGeneratorImpl::reset() {
  const auto& enc = options.encoder_filters();
  const auto& dec = options.decoder_filters();
  const int64_t k = options.kernel_size();
  TORCH_CHECK(enc.size() >= 2, "UnetGenerator needs at least 2 encoder layers");
  TORCH_CHECK(dec.size() + 1 == enc.size(), "UnetGenerator needs one decoder layer fewer than ",
              "encoder layers, got ", enc.size(), " and ", dec.size());
  TORCH_CHECK(k >= 2, "UnetGenerator kernel_size must be at least 2, got ", k);
  const bool transposed = options.upsample() == Upsample::kTransposed;
  TORCH_CHECK(transposed || k % 2 == 1, "UnetGenerator with upsample ",
              to_string(options.upsample()), " needs an odd kernel_size (a stride-1 convolution ",
              "keeps the size only with odd kernels), got ", k);
  // "same" padding: a stride-2 conv halves H, a stride-2 transposed conv doubles it.
  const int64_t pad = (k - 1) / 2;
  const int64_t out_pad = 2 + 2 * pad - k;

  const bool normalized = options.norm() == UnetNorm::kInstance;
  const auto norm = [&](int64_t c) {
    if (!normalized) return nn::AnyModule(nn::Identity());
    return nn::AnyModule(InstanceNorm(nn::InstanceNorm2dOptions(c).affine(options.norm_affine())));
  };
  encoder = nn::ModuleList();
  int64_t channels = options.in_channels();
  for (size_t i = 0; i < enc.size(); ++i) {
    encoder->push_back(nn::Sequential(
        norm(channels), nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(0.2)),
        nn::Conv2d(nn::Conv2dOptions(channels, enc[i], k).stride(i == 0 ? 1 : 2).padding(pad))));
    channels = enc[i];
  }
  decoder = nn::ModuleList();
  for (size_t j = 0; j < dec.size(); ++j) {
    nn::Sequential layer(norm(channels), nn::ReLU());
    if (transposed) {
      layer->push_back(ConvTranspose(nn::ConvTranspose2dOptions(channels, dec[j], k)
                                         .stride(2)
                                         .padding(pad)
                                         .output_padding(out_pad)));
    } else {
      // Zero "same" padding, as every other convolution of this U-Net.
      layer->push_back(make_resize(options.upsample()));
      layer->push_back(Conv(nn::Conv2dOptions(channels, dec[j], k).stride(1).padding(pad)));
    }
    decoder->push_back(layer);
    channels = dec[j] + enc[enc.size() - 2 - j];
  }
  output = nn::ConvTranspose2d(
      nn::ConvTranspose2dOptions(channels, options.out_channels(), k).stride(1).padding(pad));
  // Inert biases (see inert_bias.h): every encoder conv but the first feeds only
  // InstanceNorms (the next layer's, and through its skip the decoder's); so does every
  // decoder conv but the last, whose output reaches the output convolution.
  for (size_t i = 1; normalized && i < encoder->size(); ++i) {
    encoder[i]->as<nn::Sequential>()->ptr(2)->as<nn::Conv2d>()->bias.set_requires_grad(false);
  }
  for (size_t j = 0; normalized && j + 1 < decoder->size(); ++j) {
    auto layer = decoder[j]->as<nn::Sequential>();
    const auto conv = layer->ptr(layer->size() - 1);
    if (auto* deconv = conv->as<nn::ConvTranspose2d>()) {
      deconv->bias.set_requires_grad(false);
    } else {
      conv->as<nn::Conv2d>()->bias.set_requires_grad(false);
    }
  }
  register_module("encoder", encoder);
  register_module("decoder", decoder);
  register_module("output", output);
}

torch::Tensor UnetGeneratorImpl::forward(const torch::Tensor& x) {
  const int64_t factor = int64_t{1} << (options.encoder_filters().size() - 1);
  TORCH_CHECK(x.dim() == 4 && x.size(1) == options.in_channels(), "UnetGenerator expects (N, ",
              options.in_channels(), ", H, W), got ", x.sizes());
  TORCH_CHECK(x.size(2) % factor == 0 && x.size(3) % factor == 0,
              "UnetGenerator needs H and W divisible by ", factor, ", got ", x.sizes());
  std::vector<torch::Tensor> skips;
  torch::Tensor h = x;
  for (const auto& layer : *encoder) {
    h = run_layer(layer, h, options.checkpoint_activations());
    skips.push_back(h);
  }
  for (size_t j = 0; j < decoder->size(); ++j) {
    h = run_layer(decoder[j], h, options.checkpoint_activations());
    h = torch::cat({h, skips[skips.size() - 2 - j]}, 1);
  }
  h = output->forward(h);
  return options.output_activation() == OutputActivation::kSigmoid ? torch::sigmoid(h)
                                                                   : torch::tanh(h);
}

}  // namespace cg::model

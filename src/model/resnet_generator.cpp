#include "model/resnet_generator.h"

#include "model/activation_checkpoint.h"
#include "model/conv.h"
#include "model/conv_transpose.h"
#include "model/inert_bias.h"
#include "model/instance_norm.h"

namespace cg::model {
namespace nn = torch::nn;
namespace {

InstanceNorm instance_norm(int64_t channels) {
  return InstanceNorm(nn::InstanceNorm2dOptions(channels).affine(false));
}

}  // namespace

ResnetBlockImpl::ResnetBlockImpl(int64_t channels_) : channels(channels_) { reset(); }

void ResnetBlockImpl::reset() {
  conv_block =
      nn::Sequential(nn::ReflectionPad2d(1), Conv(nn::Conv2dOptions(channels, channels, 3)),
                     instance_norm(channels), nn::ReLU(), nn::ReflectionPad2d(1),
                     Conv(nn::Conv2dOptions(channels, channels, 3)), instance_norm(channels));
  freeze_biases_before_instance_norm(conv_block);
  register_module("conv_block", conv_block);
}

torch::Tensor ResnetBlockImpl::forward(const torch::Tensor& x) {
  return x + conv_block->forward(x);
}

ResnetGeneratorImpl::ResnetGeneratorImpl(ResnetGeneratorOptions options_)
    : options(std::move(options_)) {
  reset();
}

void ResnetGeneratorImpl::reset() {
  const int64_t ngf = options.ngf();
  TORCH_CHECK(ngf > 0 && options.n_blocks() >= 0, "ResnetGenerator: bad ngf or n_blocks");
  model = nn::Sequential();
  model->push_back(nn::ReflectionPad2d(3));
  model->push_back(nn::Conv2d(nn::Conv2dOptions(options.in_channels(), ngf, 7)));
  model->push_back(instance_norm(ngf));
  model->push_back(nn::ReLU());
  for (int64_t mult : {1, 2}) {
    model->push_back(
        nn::Conv2d(nn::Conv2dOptions(ngf * mult, ngf * mult * 2, 3).stride(2).padding(1)));
    model->push_back(instance_norm(ngf * mult * 2));
    model->push_back(nn::ReLU());
  }
  for (int64_t i = 0; i < options.n_blocks(); ++i) model->push_back(ResnetBlock(ngf * 4));
  for (int64_t mult : {4, 2}) {
    if (options.upsample() == Upsample::kTransposed) {
      model->push_back(ConvTranspose(nn::ConvTranspose2dOptions(ngf * mult, ngf * mult / 2, 3)
                                         .stride(2)
                                         .padding(1)
                                         .output_padding(1)));
    } else {
      // Reflection, not zero, padding: every other stride-1 convolution of this generator
      // (c7s1, the residual blocks) pads by reflection, which the paper chose to reduce
      // border artifacts; zero padding here would give each upsampled map a frame of zeros
      // at the image border, the artifact the rest of the network avoids.
      model->push_back(make_resize(options.upsample()));
      model->push_back(nn::ReflectionPad2d(1));
      model->push_back(Conv(nn::Conv2dOptions(ngf * mult, ngf * mult / 2, 3)));
    }
    model->push_back(instance_norm(ngf * mult / 2));
    model->push_back(nn::ReLU());
  }
  model->push_back(nn::ReflectionPad2d(3));
  model->push_back(nn::Conv2d(nn::Conv2dOptions(ngf, options.out_channels(), 7)));
  if (options.output_activation() == OutputActivation::kTanh) {
    model->push_back(nn::Tanh());
  } else {
    model->push_back(nn::Sigmoid());
  }
  freeze_biases_before_instance_norm(model);
  register_module("model", model);
}

torch::Tensor ResnetGeneratorImpl::forward(const torch::Tensor& x) {
  TORCH_CHECK(x.dim() == 4 && x.size(1) == options.in_channels(), "ResnetGenerator expects (N, ",
              options.in_channels(), ", H, W), got ", x.sizes());
  TORCH_CHECK(x.size(2) % 4 == 0 && x.size(3) % 4 == 0,
              "ResnetGenerator needs H and W divisible by 4, got ", x.sizes());
  if (!options.checkpoint_activations()) return model->forward(x);
  torch::Tensor h = x;
  for (auto& layer : *model) {
    if (auto block = std::dynamic_pointer_cast<ResnetBlockImpl>(layer.ptr())) {
      h = checkpoint([block](const torch::Tensor& t) { return block->forward(t); }, h,
                     block->parameters());
    } else {
      h = layer.forward(h);
    }
  }
  return h;
}

}  // namespace cg::model

#include "model/cycle_gan.h"

#include "model/patch_discriminator.h"
#include "model/resnet_generator.h"
#include "model/seed_discriminator.h"
#include "model/unet_generator.h"

namespace cg::model {
namespace {

torch::nn::AnyModule make_generator(const CycleGanOptions& o, int64_t in, int64_t out) {
  if (o.generator == GeneratorArch::kUnet) {
    return torch::nn::AnyModule(
        UnetGenerator(UnetGeneratorOptions(in, out)
                          .encoder_filters(o.unet_encoder_filters)
                          .decoder_filters(o.unet_decoder_filters)
                          .kernel_size(o.unet_kernel_size)
                          .norm(o.unet_norm)
                          .output_activation(o.output_activation)
                          .upsample(o.upsample)
                          .checkpoint_activations(o.checkpoint_activations)));
  }
  return torch::nn::AnyModule(
      ResnetGenerator(ResnetGeneratorOptions(in, out)
                          .ngf(o.ngf)
                          .n_blocks(o.n_blocks)
                          .output_activation(o.output_activation)
                          .upsample(o.upsample)
                          .checkpoint_activations(o.checkpoint_activations)));
}

torch::nn::AnyModule make_discriminator(const CycleGanOptions& o, int64_t in) {
  if (o.discriminator == DiscriminatorArch::kSeed) {
    return torch::nn::AnyModule(
        SeedDiscriminator(SeedDiscriminatorOptions(in).filters(o.seed_d_filters)));
  }
  return torch::nn::AnyModule(
      PatchDiscriminator(PatchDiscriminatorOptions(in).ndf(o.ndf).n_layers(o.n_layers)));
}

std::vector<torch::Tensor> trainable(const torch::nn::Module& module) {
  std::vector<torch::Tensor> params;
  for (const auto& p : module.parameters()) {
    if (p.requires_grad()) params.push_back(p);
  }
  return params;
}

}  // namespace

CycleGanImpl::CycleGanImpl(const CycleGanOptions& options)
    : options_(options),
      g_(make_generator(options, options.channels_a, options.channels_b)),
      f_(make_generator(options, options.channels_b, options.channels_a)),
      d_a_(make_discriminator(options, options.channels_a)),
      d_b_(make_discriminator(options, options.channels_b)) {
  register_module("G", g_.ptr());
  register_module("F", f_.ptr());
  register_module("D_A", d_a_.ptr());
  register_module("D_B", d_b_.ptr());
  // Remembered now: while frozen for the G step, requires_grad no longer tells them apart.
  d_a_trainable_ = trainable(*d_a_.ptr());
  d_b_trainable_ = trainable(*d_b_.ptr());
}

std::vector<torch::Tensor> CycleGanImpl::generator_parameters() const {
  std::vector<torch::Tensor> params = trainable(*g_.ptr());
  for (auto& p : trainable(*f_.ptr())) params.push_back(p);
  return params;
}

std::vector<torch::Tensor> CycleGanImpl::d_a_parameters() const { return d_a_trainable_; }
std::vector<torch::Tensor> CycleGanImpl::d_b_parameters() const { return d_b_trainable_; }

void CycleGanImpl::set_discriminators_trainable(bool trainable) {
  for (auto& p : d_a_trainable_) p.set_requires_grad(trainable);
  for (auto& p : d_b_trainable_) p.set_requires_grad(trainable);
}

std::string to_string(GeneratorArch arch) {
  return arch == GeneratorArch::kUnet ? "unet" : "resnet";
}

std::string to_string(DiscriminatorArch arch) {
  return arch == DiscriminatorArch::kSeed ? "seed" : "patch";
}

int64_t CycleGanImpl::size_multiple() const {
  return options_.generator == GeneratorArch::kUnet
             ? int64_t{1} << (options_.unet_encoder_filters.size() - 1)
             : 4;
}

}  // namespace cg::model

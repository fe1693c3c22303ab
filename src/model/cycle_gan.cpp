#include "model/cycle_gan.h"

#include "model/patch_discriminator.h"
#include "model/resnet_generator.h"
#include "model/seed_discriminator.h"
#include "model/unet_generator.h"

namespace cg::model {
namespace {

torch::nn::AnyModule make_generator(const CycleGanOptions& o, int64_t in, int64_t out) {
  if (o.generator == GeneratorArch::kUnet) {
    return torch::nn::AnyModule(UnetGenerator(UnetGeneratorOptions(in, out)
                                                  .encoder_filters(o.unet_encoder_filters)
                                                  .decoder_filters(o.unet_decoder_filters)
                                                  .kernel_size(o.unet_kernel_size)
                                                  .output_activation(o.output_activation)));
  }
  return torch::nn::AnyModule(ResnetGenerator(ResnetGeneratorOptions(in, out)
                                                  .ngf(o.ngf)
                                                  .n_blocks(o.n_blocks)
                                                  .output_activation(o.output_activation)));
}

torch::nn::AnyModule make_discriminator(const CycleGanOptions& o, int64_t in) {
  if (o.discriminator == DiscriminatorArch::kSeed) {
    return torch::nn::AnyModule(
        SeedDiscriminator(SeedDiscriminatorOptions(in).filters(o.seed_d_filters)));
  }
  return torch::nn::AnyModule(
      PatchDiscriminator(PatchDiscriminatorOptions(in).ndf(o.ndf).n_layers(o.n_layers)));
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
}

std::vector<torch::Tensor> CycleGanImpl::generator_parameters() const {
  std::vector<torch::Tensor> params = g_.ptr()->parameters();
  for (auto& p : f_.ptr()->parameters()) params.push_back(p);
  return params;
}

void CycleGanImpl::set_discriminators_trainable(bool trainable) {
  for (auto& p : d_a_.ptr()->parameters()) p.set_requires_grad(trainable);
  for (auto& p : d_b_.ptr()->parameters()) p.set_requires_grad(trainable);
}

std::string to_string(GeneratorArch arch) {
  return arch == GeneratorArch::kUnet ? "unet" : "resnet";
}

std::string to_string(DiscriminatorArch arch) {
  return arch == DiscriminatorArch::kSeed ? "seed" : "patch";
}

}  // namespace cg::model

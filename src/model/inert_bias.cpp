#include "model/inert_bias.h"

namespace cg::model {

void freeze_biases_before_instance_norm(torch::nn::Sequential& seq) {
  for (size_t i = 0; i + 1 < seq->size(); ++i) {
    if (!seq->ptr(i + 1)->as<torch::nn::InstanceNorm2d>()) continue;
    if (auto* conv = seq->ptr(i)->as<torch::nn::Conv2d>()) {
      if (conv->bias.defined()) conv->bias.set_requires_grad(false);
    } else if (auto* deconv = seq->ptr(i)->as<torch::nn::ConvTranspose2d>()) {
      if (deconv->bias.defined()) deconv->bias.set_requires_grad(false);
    }
  }
}

}  // namespace cg::model

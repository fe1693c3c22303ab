#include "model/init.h"

namespace cg::model {

void init_weights(torch::nn::Module& module, double gain) {
  torch::NoGradGuard no_grad;
  for (auto& child : module.modules(/*include_self=*/true)) {
    if (auto* conv = child->as<torch::nn::Conv2d>()) {
      conv->weight.normal_(0.0, gain);
      if (conv->bias.defined()) conv->bias.zero_();
    } else if (auto* deconv = child->as<torch::nn::ConvTranspose2d>()) {
      deconv->weight.normal_(0.0, gain);
      if (deconv->bias.defined()) deconv->bias.zero_();
    } else if (auto* norm = child->as<torch::nn::InstanceNorm2d>()) {
      if (norm->weight.defined()) norm->weight.fill_(1.0);
      if (norm->bias.defined()) norm->bias.zero_();
    }
  }
}

}  // namespace cg::model

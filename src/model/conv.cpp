#include "model/conv.h"

#include <variant>

#include "model/winograd_conv.h"

namespace cg::model {

bool ConvImpl::winograd(const torch::Tensor& input) const {
  const auto* padding = std::get_if<torch::ExpandingArray<2>>(&options.padding());
  return padding != nullptr && (*padding)->at(0) == (*padding)->at(1) &&
         std::holds_alternative<torch::enumtype::kZeros>(options.padding_mode()) &&
         options.stride()->at(0) == 1 && options.stride()->at(1) == 1 &&
         options.dilation()->at(0) == 1 && options.dilation()->at(1) == 1 &&
         options.groups() == 1 && winograd_applies(input, weight);
}

torch::Tensor ConvImpl::filters() {
  const std::lock_guard<std::mutex> lock(filters_->mutex);
  if (!filters_->weight.is_same(weight) || filters_->version != weight._version()) {
    filters_->filters = winograd_filters(weight);
    filters_->weight = weight;
    filters_->version = weight._version();
  }
  return filters_->filters;
}

torch::Tensor ConvImpl::forward(const torch::Tensor& input) {
  if (!winograd(input)) return torch::nn::Conv2dImpl::forward(input);
  const auto& padding = std::get<torch::ExpandingArray<2>>(options.padding());
  return winograd_conv2d(input, filters(), bias, padding->at(0));
}

}  // namespace cg::model

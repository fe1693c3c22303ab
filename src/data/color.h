#pragma once
// forwarding header: colour conversion of image tensors is image/tensor_color.h; users
// (apps/cyclegan_dist.cpp, eval/evaluator.cpp, bench/metrics_bench.cpp, tests) switch to it
// and to cg::image:: next.
#include "image/tensor_color.h"

namespace cg::data {

using image::from_unit_range;
using image::to_gray;
using image::with_luma;

}  // namespace cg::data

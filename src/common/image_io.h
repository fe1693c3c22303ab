#pragma once
// forwarding header: trainer.cpp switches to image/tensor_image.h next. PNG output of image
// tensors and their conversion to uint8 live in the image module.
#include "image/tensor_image.h"

namespace cg {

using image::encode_png;
using image::to_uint8_hwc;
using image::write_png;

}  // namespace cg

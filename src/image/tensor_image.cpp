#include "image/tensor_image.h"

#include "common/file_util.h"
#include "image/png.h"

namespace cg::image {

torch::Tensor to_uint8_hwc(const torch::Tensor& images, double lo, double hi) {
  TORCH_CHECK(images.dim() == 4, "to_uint8_hwc expects NCHW, got ", images.sizes());
  torch::Tensor unit = (images.detach().to(torch::kCPU, torch::kFloat) - lo) / (hi - lo);
  return (unit.clamp(0.0, 1.0) * 255.0)
      .round()
      .to(torch::kUInt8)
      .permute({0, 2, 3, 1})
      .contiguous();
}

torch::Tensor to_tensor(const Image& image) {
  check_image(image, "to_tensor");
  return torch::from_blob(const_cast<uint8_t*>(image.pixels.data()),
                          {image.height, image.width, image.channels}, torch::kUInt8)
      .clone();
}

Image to_image(const torch::Tensor& pixels) {
  TORCH_CHECK(pixels.dim() == 3 && pixels.scalar_type() == torch::kUInt8 && pixels.size(2) >= 1 &&
                  pixels.size(2) <= 4,
              "to_image expects (H, W, C) uint8 with C in 1..4, got ", pixels.sizes(), " ",
              pixels.scalar_type());
  const torch::Tensor cpu = pixels.to(torch::kCPU).contiguous();
  const uint8_t* data = cpu.data_ptr<uint8_t>();
  return Image{cpu.size(0), cpu.size(1), cpu.size(2),
               std::vector<uint8_t>(data, data + cpu.numel())};
}

std::string encode_png(const torch::Tensor& image) {
  TORCH_CHECK(image.dim() == 3 && image.scalar_type() == torch::kUInt8,
              "encode_png expects (H, W, C) uint8, got ", image.sizes(), " ", image.scalar_type());
  TORCH_CHECK(image.size(2) == 1 || image.size(2) == 3, "encode_png expects 1 or 3 channels, got ",
              image.size(2));
  return encode_png(to_image(image));
}

void write_png(const std::string& path, const torch::Tensor& image) {
  write_file_atomic(path, encode_png(image));
}

}  // namespace cg::image

#include "common/image_io.h"

#include <stb/stb_image_write.h>

#include "common/error.h"
#include "common/file_util.h"

namespace cg {

std::string encode_png(const torch::Tensor& image) {
  TORCH_CHECK(image.dim() == 3 && image.scalar_type() == torch::kUInt8,
              "encode_png expects (H, W, C) uint8, got ", image.sizes(), " ", image.scalar_type());
  const int h = static_cast<int>(image.size(0));
  const int w = static_cast<int>(image.size(1));
  const int c = static_cast<int>(image.size(2));
  TORCH_CHECK(c == 1 || c == 3, "encode_png expects 1 or 3 channels, got ", c);
  torch::Tensor pixels = image.to(torch::kCPU).contiguous();
  std::string png;
  auto append = [](void* out, void* data, int size) {
    static_cast<std::string*>(out)->append(static_cast<const char*>(data), size);
  };
  const int ok = stbi_write_png_to_func(append, &png, w, h, c, pixels.data_ptr<uint8_t>(), w * c);
  TORCH_CHECK(ok != 0, "PNG encoding of a ", h, "x", w, "x", c, " image failed");
  return png;
}

void write_png(const std::string& path, const torch::Tensor& image) {
  write_file_atomic(path, encode_png(image));
}

torch::Tensor to_uint8_hwc(const torch::Tensor& images, double lo, double hi) {
  TORCH_CHECK(images.dim() == 4, "to_uint8_hwc expects NCHW, got ", images.sizes());
  torch::Tensor unit = (images.detach().to(torch::kCPU, torch::kFloat) - lo) / (hi - lo);
  return (unit.clamp(0.0, 1.0) * 255.0).round().to(torch::kUInt8).permute({0, 2, 3, 1})
      .contiguous();
}

}  // namespace cg

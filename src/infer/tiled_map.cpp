#include "infer/tiled_map.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <vector>

#include "common/error.h"
#include "common/file_util.h"

namespace cg::infer {
namespace {

void pread_all(int fd, char* data, size_t bytes, off_t offset) {
  while (bytes > 0) {
    const ssize_t got = ::pread(fd, data, bytes, offset);
    if (got < 0 && errno == EINTR) continue;
    CG_REQUIRE(got > 0, FileError, "tiled translation: reading a feature map from its temporary ",
               "file: ", got < 0 ? os_error_text(errno) : "unexpected end of file");
    data += got;
    bytes -= static_cast<size_t>(got);
    offset += got;
  }
}

void pwrite_all(int fd, const char* data, size_t bytes, off_t offset) {
  while (bytes > 0) {
    const ssize_t put = ::pwrite(fd, data, bytes, offset);
    if (put < 0 && errno == EINTR) continue;
    CG_REQUIRE(put > 0, FileError, "tiled translation: writing a feature map to its temporary ",
               "file: ", put < 0 ? os_error_text(errno) : "nothing written");
    data += put;
    bytes -= static_cast<size_t>(put);
    offset += put;
  }
}

}  // namespace

TiledMap::TiledMap(int64_t channels, int64_t height, int64_t width, const std::string& temp_dir)
    : channels_(channels), height_(height), width_(width), temp_dir_(temp_dir) {
  const std::string dir =
      temp_dir.empty() ? std::filesystem::temp_directory_path().string() : temp_dir;
  std::string name = (std::filesystem::path(dir) / "cyclegan_tile_XXXXXX").string();
  std::vector<char> path(name.begin(), name.end());
  path.push_back('\0');
  fd_ = ::mkstemp(path.data());
  CG_REQUIRE(fd_ >= 0, FileError, "tiled translation: cannot create a temporary file in ", dir,
             ": ", os_error_text(errno));
  ::unlink(path.data());
  const off_t bytes = static_cast<off_t>(channels * height * width * sizeof(float));
  if (::ftruncate(fd_, bytes) != 0) {
    const int error = errno;
    ::close(fd_);
    throw FileError(detail::str_cat("tiled translation: cannot size a temporary file in ", dir,
                                    " to ", bytes, " bytes: ", os_error_text(error)));
  }
  sum_ = torch::zeros({channels}, torch::kDouble);
  sum_squares_ = torch::zeros({channels}, torch::kDouble);
}

TiledMap::TiledMap(torch::Tensor chw)
    : channels_(chw.size(0)), height_(chw.size(1)), width_(chw.size(2)), tensor_(std::move(chw)) {
  TORCH_CHECK(
      tensor_.dim() == 3 && tensor_.scalar_type() == torch::kFloat && tensor_.device().is_cpu(),
      "TiledMap expects a (C, H, W) float32 CPU tensor, got ", tensor_.sizes());
  sum_ = torch::zeros({channels_}, torch::kDouble);
  sum_squares_ = torch::zeros({channels_}, torch::kDouble);
  accumulate(tensor_);
}

TiledMap::TiledMap(int64_t channels, int64_t height, int64_t width)
    : channels_(channels),
      height_(height),
      width_(width),
      tensor_(torch::zeros({channels, height, width})) {
  sum_ = torch::zeros({channels}, torch::kDouble);
  sum_squares_ = torch::zeros({channels}, torch::kDouble);
}

TiledMap::~TiledMap() {
  if (fd_ >= 0) ::close(fd_);
}

torch::Tensor TiledMap::read(int64_t y0, int64_t y1, int64_t x0, int64_t x1) const {
  torch::Tensor chw = torch::empty({y1 - y0, x1 - x0, channels_}).permute({2, 0, 1});
  read_into(y0, x0, chw);
  return chw;
}

namespace {

// Whether each row of `chw` (C, h, w) is w x C contiguous floats: channels-last, any row
// stride.
bool rows_contiguous(const torch::Tensor& chw) {
  return (chw.size(0) == 1 || chw.stride(0) == 1) &&
         (chw.size(2) == 1 || chw.stride(2) == chw.size(0));
}

}  // namespace

void TiledMap::read_into(int64_t y0, int64_t x0, const torch::Tensor& chw) const {
  const int64_t y1 = y0 + chw.size(1), x1 = x0 + chw.size(2);
  TORCH_INTERNAL_ASSERT(0 <= y0 && y0 < y1 && y1 <= height_ && 0 <= x0 && x0 < x1 && x1 <= width_ &&
                            chw.size(0) == channels_ && chw.scalar_type() == torch::kFloat &&
                            chw.device().is_cpu(),
                        "TiledMap::read_into outside the map");
  if (in_ram()) {
    chw.copy_(tensor_.slice(1, y0, y1).slice(2, x0, x1));
    return;
  }
  if (!rows_contiguous(chw)) {
    chw.copy_(read(y0, y1, x0, x1));
    return;
  }
  const size_t pixel_bytes = static_cast<size_t>(channels_) * sizeof(float);
  const size_t row_bytes = static_cast<size_t>(x1 - x0) * pixel_bytes;
  const size_t row_stride = static_cast<size_t>(chw.stride(1)) * sizeof(float);
  char* out = static_cast<char*>(chw.data_ptr());
  if (x0 == 0 && x1 == width_ && (row_stride == row_bytes || y1 - y0 == 1)) {
    pread_all(fd_, out, static_cast<size_t>(y1 - y0) * row_bytes,
              static_cast<off_t>(y0 * width_ * pixel_bytes));
    return;
  }
  for (int64_t y = y0; y < y1; ++y, out += row_stride) {
    pread_all(fd_, out, row_bytes, static_cast<off_t>((y * width_ + x0) * pixel_bytes));
  }
}

void TiledMap::write(int64_t y0, int64_t x0, const torch::Tensor& chw) {
  const int64_t h = chw.size(1), w = chw.size(2);
  TORCH_INTERNAL_ASSERT(
      chw.size(0) == channels_ && y0 >= 0 && x0 >= 0 && y0 + h <= height_ && x0 + w <= width_,
      "TiledMap::write outside the map");
  torch::Tensor cpu = chw.to(torch::kCPU, torch::kFloat);
  if (in_ram()) {
    if (statistics_) accumulate(cpu);
    tensor_.slice(1, y0, y0 + h).slice(2, x0, x0 + w).copy_(cpu);
    return;
  }
  // A channels-last tile (what read() gives and a convolution of it returns) is already in
  // the file's order: no copy.
  if (!rows_contiguous(cpu)) cpu = cpu.permute({1, 2, 0}).contiguous().permute({2, 0, 1});
  if (statistics_) accumulate(cpu);
  const size_t pixel_bytes = static_cast<size_t>(channels_) * sizeof(float);
  const size_t row_bytes = static_cast<size_t>(w) * pixel_bytes;
  const size_t row_stride = static_cast<size_t>(cpu.stride(1)) * sizeof(float);
  const char* in = static_cast<const char*>(cpu.data_ptr());
  if (x0 == 0 && w == width_ && (row_stride == row_bytes || h == 1)) {
    pwrite_all(fd_, in, static_cast<size_t>(h) * row_bytes,
               static_cast<off_t>(y0 * width_ * pixel_bytes));
    return;
  }
  for (int64_t y = y0; y < y0 + h; ++y, in += row_stride) {
    pwrite_all(fd_, in, row_bytes, static_cast<off_t>((y * width_ + x0) * pixel_bytes));
  }
}

void TiledMap::accumulate(const torch::Tensor& chw) {
  // Summed in float64 without a float64 copy of the tile (the reduction widens as it reads).
  sum_ += chw.sum({1, 2}, false, torch::kDouble);
  sum_squares_ += (chw * chw).sum({1, 2}, false, torch::kDouble);
}

torch::Tensor TiledMap::mean() const { return sum_ / static_cast<double>(height_ * width_); }

torch::Tensor TiledMap::variance() const {
  const torch::Tensor m = mean();
  return (sum_squares_ / static_cast<double>(height_ * width_) - m * m).clamp_min(0.0);
}

}  // namespace cg::infer

#pragma once
// One feature map of one image, (C, H, W) float32, as the tiled forward pass keeps it
// between layers (see tiled_generator.h): either in RAM (the input and output images) or
// in an unlinked temporary file read and written with pread/pwrite, so that a map of a
// 4096x4096 image (4 GiB at 64 channels) lives in the page cache, which the kernel may
// evict, and never in the process' resident set. The file stores the map pixel-major,
// (H, W, C), channels innermost: a region of h rows is h reads of w x C floats (one read
// when it spans the width), and the tile comes back channels-last, the layout oneDNN's
// convolutions take and give without reordering. (A (C, H, W) file needed C x h reads of
// a row's span: tens of thousands of system calls of a few hundred bytes per tile.)
//
// Every write also adds the written pixels to per-channel sums and sums of squares in
// float64, from which mean() and variance() give the statistics of the whole map once
// every pixel was written once: what the next InstanceNorm needs.
//
// Not thread-safe. Owns its file descriptor: neither copyable nor movable.
#include <torch/torch.h>

#include <cstdint>
#include <string>

namespace cg::infer {

class TiledMap {
 public:
  /// A map of zeros in a new temporary file in `temp_dir`, unlinked at once (nothing is
  /// left behind, even by a killed process). Throws FileError naming the folder when the
  /// file cannot be created or sized (no space left on device).
  TiledMap(int64_t channels, int64_t height, int64_t width, const std::string& temp_dir);
  /// A map in RAM of `chw`: (C, H, W) float32 on the CPU, shared, not copied. Its
  /// statistics are computed here.
  explicit TiledMap(torch::Tensor chw);
  /// A map in RAM of zeros.
  TiledMap(int64_t channels, int64_t height, int64_t width);
  ~TiledMap();
  TiledMap(const TiledMap&) = delete;
  TiledMap& operator=(const TiledMap&) = delete;

  int64_t channels() const { return channels_; }
  int64_t height() const { return height_; }
  int64_t width() const { return width_; }
  bool in_ram() const { return fd_ < 0; }

  /// Rows [y0, y1) and columns [x0, x1), inside the map -> (C, y1 - y0, x1 - x0) float32
  /// on the CPU, channels-last strides (a permuted (h, w, C) tensor): a copy the caller may
  /// change in place.
  torch::Tensor read(int64_t y0, int64_t y1, int64_t x0, int64_t x1) const;
  /// The same into `chw` (C, h, w) float32 on the CPU, rows [y0, y0 + h), columns
  /// [x0, x0 + w): straight from the file when each of its rows is w x C contiguous floats
  /// (channels-last, any row stride: the inside of a padded tile), else through a copy.
  void read_into(int64_t y0, int64_t x0, const torch::Tensor& chw) const;
  /// Writes `chw` (C, h, w) float32, any strides (channels-last ones are written without a
  /// copy), at rows [y0, y0 + h), columns [x0, x0 + w) and adds it to the statistics.
  /// Throws FileError on a failed write.
  void write(int64_t y0, int64_t x0, const torch::Tensor& chw);

  /// Whether write() accumulates statistics (default true): off for maps no norm reads.
  void set_statistics(bool on) { statistics_ = on; }

  /// Per-channel mean and biased variance (float64, (C)) of everything written so far,
  /// over H * W pixels.
  torch::Tensor mean() const;
  torch::Tensor variance() const;
  /// The map in RAM (in_ram() only).
  const torch::Tensor& tensor() const { return tensor_; }

 private:
  void accumulate(const torch::Tensor& chw);

  int64_t channels_, height_, width_;
  int fd_ = -1;
  bool statistics_ = true;
  std::string temp_dir_;
  torch::Tensor tensor_;  ///< (C, H, W) when in RAM
  torch::Tensor sum_, sum_squares_;
};

}  // namespace cg::infer

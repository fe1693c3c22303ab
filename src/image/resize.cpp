#include "image/resize.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "common/error.h"

namespace cg::image {
namespace {

// Catmull-Rom: the cubic convolution kernel with a = -0.5, support [-2, 2].
double catmull_rom(double x) {
  x = std::abs(x);
  if (x < 1.0) return (1.5 * x - 2.5) * x * x + 1.0;
  if (x < 2.0) return ((-0.5 * x + 2.5) * x - 4.0) * x + 2.0;
  return 0.0;
}

// The weights of one axis: output pixel o reads inputs [first[o], first[o] + count[o]) with
// weights[o * taps + k]. Pixel centres sit at i + 0.5 on both sides; shrinking stretches
// the kernel by in / out so every input pixel contributes (an average, not a subsample).
// Taps past an edge add their weight to the edge pixel (clamped edges), and each output's
// weights are normalized to sum to 1, so flat areas stay exactly flat.
struct Axis {
  int64_t taps = 0;
  std::vector<int64_t> first, count;
  std::vector<float> weights;
};

Axis make_axis(int64_t in, int64_t out) {
  const double scale = static_cast<double>(out) / static_cast<double>(in);
  const double stretch = std::min(scale, 1.0);
  const double support = 2.0 / stretch;
  Axis axis;
  axis.taps = static_cast<int64_t>(std::ceil(2.0 * support)) + 2;
  axis.first.resize(out);
  axis.count.resize(out);
  axis.weights.assign(static_cast<size_t>(out * axis.taps), 0.0f);
  std::vector<double> w;
  for (int64_t o = 0; o < out; ++o) {
    const double centre = (static_cast<double>(o) + 0.5) / scale;
    const int64_t lo = static_cast<int64_t>(std::floor(centre - support + 0.5));
    const int64_t hi = static_cast<int64_t>(std::floor(centre + support - 0.5));
    const int64_t first = std::clamp<int64_t>(lo, 0, in - 1);
    const int64_t last = std::clamp<int64_t>(hi, 0, in - 1);
    w.assign(static_cast<size_t>(last - first + 1), 0.0);
    double total = 0.0;
    for (int64_t i = lo; i <= hi; ++i) {
      const double weight = catmull_rom((static_cast<double>(i) + 0.5 - centre) * stretch);
      w[static_cast<size_t>(std::clamp<int64_t>(i, 0, in - 1) - first)] += weight;
      total += weight;
    }
    if (last - first + 1 > axis.taps || !(total > 0.0)) {
      throw std::logic_error(detail::str_cat("resize: ", last - first + 1, " taps of ", axis.taps,
                                             ", weight ", total, " for ", in, " -> ", out));
    }
    axis.first[o] = first;
    axis.count[o] = last - first + 1;
    for (size_t k = 0; k < w.size(); ++k) {
      axis.weights[static_cast<size_t>(o * axis.taps) + k] = static_cast<float>(w[k] / total);
    }
  }
  return axis;
}

}  // namespace

Image resize(const Image& image, int64_t height, int64_t width) {
  check_image(image, "resize");
  if (!(height > 0 && width > 0 && height <= kMaxImageSide && width <= kMaxImageSide &&
        image.height <= kMaxImageSide && image.width <= kMaxImageSide)) {
    throw std::invalid_argument(detail::str_cat("resize takes sides in [1, ", kMaxImageSide,
                                                "], got ", image.height, "x", image.width, " -> ",
                                                height, "x", width));
  }
  if (height == image.height && width == image.width) return image;
  const int64_t c = image.channels;
  const Axis across = make_axis(image.width, width);
  const Axis down = make_axis(image.height, height);

  // Rows first (every input row to the new width, kept in float), then columns.
  std::vector<float> rows(static_cast<size_t>(image.height * width * c));
  for (int64_t y = 0; y < image.height; ++y) {
    const uint8_t* in = image.pixels.data() + y * image.width * c;
    float* out = rows.data() + y * width * c;
    for (int64_t x = 0; x < width; ++x) {
      const float* w = across.weights.data() + x * across.taps;
      const uint8_t* src = in + across.first[x] * c;
      float sum[4] = {0, 0, 0, 0};
      for (int64_t k = 0; k < across.count[x]; ++k, src += c) {
        for (int64_t ch = 0; ch < c; ++ch) sum[ch] += w[k] * static_cast<float>(src[ch]);
      }
      for (int64_t ch = 0; ch < c; ++ch) out[x * c + ch] = sum[ch];
    }
  }

  Image result{height, width, c, std::vector<uint8_t>(static_cast<size_t>(height * width * c))};
  const int64_t row_values = width * c;
  std::vector<float> sum(static_cast<size_t>(row_values));
  for (int64_t y = 0; y < height; ++y) {
    std::fill(sum.begin(), sum.end(), 0.0f);
    const float* w = down.weights.data() + y * down.taps;
    for (int64_t k = 0; k < down.count[y]; ++k) {
      const float* src = rows.data() + (down.first[y] + k) * row_values;
      const float weight = w[k];
      for (int64_t i = 0; i < row_values; ++i) sum[i] += weight * src[i];
    }
    uint8_t* out = result.pixels.data() + y * row_values;
    for (int64_t i = 0; i < row_values; ++i) {
      out[i] = static_cast<uint8_t>(std::clamp(sum[i], 0.0f, 255.0f) + 0.5f);
    }
  }
  return result;
}

}  // namespace cg::image

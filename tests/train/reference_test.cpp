// Replays the steps of tests/reference/cyclegan_ref.py (PyTorch, same wheel) from the same
// initial weights and inputs, and matches every loss and every updated weight to 1e-5
// relative. The reference file comes from the ReferenceGenerate CTest fixture.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>

#include "common/file_util.h"
#include "trainer_test_util.h"

namespace cg::train {
namespace {

constexpr double kRelTol = 1e-5;

class Reference {
 public:
  Reference() {
    const char* path = std::getenv("CYCLEGAN_REFERENCE_FILE");
    if (path == nullptr) throw std::runtime_error("CYCLEGAN_REFERENCE_FILE is not set");
    std::string bytes = read_file(path);
    auto dict = torch::pickle_load(std::vector<char>(bytes.begin(), bytes.end())).toGenericDict();
    for (const auto& item : dict) tensors_[item.key().toStringRef()] = item.value().toTensor();
  }
  torch::Tensor operator[](const std::string& key) const {
    auto found = tensors_.find(key);
    if (found == tensors_.end()) throw std::runtime_error("reference file has no tensor " + key);
    return found->second;
  }

 private:
  std::map<std::string, torch::Tensor> tensors_;
};

void replay(const std::string& preset, testing::Setup s) {
  static const Reference ref;
  const std::string p = preset + "/";
  torch::Tensor meta = ref[p + "meta"];  // size, batch, steps, pool, n_blocks, seed
  const int64_t steps = meta[2].item<int64_t>();
  s.train.batch_size = meta[1].item<int64_t>();
  s.train.steps = steps;
  s.train.pool_size = meta[3].item<int64_t>();
  s.train.seed = static_cast<uint64_t>(meta[5].item<int64_t>());
  s.model.n_blocks = meta[4].item<int64_t>();
  torch::set_num_threads(1);

  data::TensorSource unused(ref[p + "batch0/a"], ref[p + "batch0/b"], s.train.batch_size, 0);
  Trainer trainer(s.train, s.model, unused);
  {
    torch::NoGradGuard no_grad;
    for (auto& item : trainer.model()->named_parameters()) item.value().copy_(ref[p + "init/" + item.key()]);
  }
  static const char* kNames[] = {"D_A", "D_B", "G_adv", "F_adv", "cycle_A", "cycle_B",
                                 "idt_A", "idt_B", "G_total"};
  for (int64_t k = 0; k < steps; ++k) {
    const std::string step = std::to_string(k);
    StepLosses l = trainer.step({ref[p + "batch" + step + "/a"], ref[p + "batch" + step + "/b"]});
    const double got[] = {l.d_a, l.d_b, l.g_adv, l.f_adv, l.cycle_a, l.cycle_b, l.idt_a, l.idt_b, l.g_total};
    torch::Tensor want = ref[p + "losses" + step];
    for (int i = 0; i < 9; ++i) {
      double w = want[i].item<double>();
      EXPECT_LE(std::abs(got[i] - w), kRelTol * std::abs(w) + 1e-12)
          << preset << " step " << k << " loss " << kNames[i] << ": C++ " << got[i] << ", PyTorch " << w;
    }
  }
  int64_t compared = 0;
  for (const auto& item : trainer.model()->named_parameters()) {
    double err = testing::relative_error(item.value(), ref[p + "final/" + item.key()]);
    EXPECT_LE(err, kRelTol) << preset << " weight " << item.key() << " relative error " << err;
    ++compared;
  }
  EXPECT_GT(compared, 20);
}

TEST(Reference, SeedPresetMatchesPyTorch) {
  auto s = testing::seed_setup(testing::fresh_dir("reference_seed"));
  replay("cifar-colorize", s);
}

TEST(Reference, PaperPresetMatchesPyTorch) {
  auto s = testing::paper_setup(testing::fresh_dir("reference_paper"));
  s.model.ngf = 64;
  s.model.ndf = 64;
  replay("paper-256", s);
}

}  // namespace
}  // namespace cg::train

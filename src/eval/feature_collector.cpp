#include "eval/feature_collector.h"

namespace cg::eval {

FeatureCollector::FeatureCollector(int64_t rows, const InceptionFeatures& inception,
                                   int64_t batch_size)
    : inception_(inception),
      batch_size_(batch_size),
      table_(torch::zeros({rows, InceptionFeatures::kFeatureDim}, torch::kFloat)) {
  TORCH_CHECK(batch_size >= 1, "FeatureCollector: batch size must be positive, got ", batch_size);
}

void FeatureCollector::push(const torch::Tensor& images, const std::vector<int64_t>& rows) {
  TORCH_CHECK(images.dim() == 4 && images.size(0) == static_cast<int64_t>(rows.size()),
              "FeatureCollector: ", rows.size(), " rows for images of shape ", images.sizes());
  for (size_t i = 0; i < rows.size(); ++i) {
    TORCH_CHECK(rows[i] >= 0 && rows[i] < table_.size(0), "FeatureCollector: row ", rows[i],
                " outside [0, ", table_.size(0), ")");
    // A copy: a view would keep the caller's whole batch alive until the next extraction.
    pending_.push_back(images.narrow(0, static_cast<int64_t>(i), 1).clone());
    pending_rows_.push_back(rows[i]);
    if (static_cast<int64_t>(pending_.size()) == batch_size_) extract_pending();
  }
}

void FeatureCollector::extract_pending() {
  if (pending_.empty()) return;
  const torch::Tensor features = inception_.extract(torch::cat(pending_), batch_size_);
  table_.index_copy_(0, torch::tensor(pending_rows_, torch::kLong), features);
  pending_.clear();
  pending_rows_.clear();
}

torch::Tensor FeatureCollector::finish(const SumAcrossRanks& sum) {
  extract_pending();
  // Zeros elsewhere, so the sum is each row's one owner's values, exactly.
  if (sum) sum(table_);
  return table_;
}

}  // namespace cg::eval

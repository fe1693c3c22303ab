#include "data/shard_source.h"

#include <chrono>

#include "common/error.h"
#include "common/log.h"
#include "data/permutation.h"

namespace cg::data {

// One domain's images and its order: a continuous stream of passes over the images, each
// pass a fresh permutation, so a domain smaller than the epoch simply starts its next pass.
struct ShardSource::Domain {
  const ImageSet* images = nullptr;
  uint64_t stream = 0;  // separates A's order and augmentation from B's
  int64_t model_channels = 0;
  mutable std::mutex mutex;  // guards the permutation cache
  mutable std::map<int64_t, std::shared_ptr<const std::vector<int64_t>>> passes;
};

namespace {
constexpr uint64_t kAugmentStream = 0x5eed;
}  // namespace

ShardSource::ShardSource(const std::string& dir, LoaderOptions options)
    : options_(std::move(options)) {
  CG_REQUIRE(options_.batch_size > 0, ConfigError, "batch size must be positive, got ",
             options_.batch_size);
  CG_REQUIRE(options_.world >= 1 && options_.rank >= 0 && options_.rank < options_.world,
             ConfigError, "bad rank ", options_.rank, " of ", options_.world);
  CG_REQUIRE(options_.threads >= 1 && options_.prefetch >= 1, ConfigError,
             "loader threads and prefetch depth must be positive");
  const DatasetManifest manifest = read_manifest(dir);
  set_a_ = std::make_unique<ImageSet>(dir, manifest, "A", options_.split);
  set_b_ = std::make_unique<ImageSet>(dir, manifest, "B", options_.split);
  for (const ImageSet* set : {set_a_.get(), set_b_.get()}) {
    if (options_.crop_size == 0) {
      CG_REQUIRE(set->height() == set->width(), ConfigError, set->name(), ": images are ",
                 set->height(), "x", set->width(),
                 "; non-square images need a crop size (--crop-size)");
      options_.crop_size = set->height();
    }
    CG_REQUIRE(options_.crop_size <= set->height() && options_.crop_size <= set->width(),
               ConfigError, set->name(), ": crop size ", options_.crop_size, " exceeds the stored ",
               set->height(), "x", set->width(), " images");
  }
  for (int64_t c : {options_.channels_a, options_.channels_b}) {
    CG_REQUIRE(c == 1 || c == 3, ConfigError,
               "the model's channels must be 1 or 3 to read a data set, got ", c);
  }
  domain_a_ = std::make_unique<Domain>();
  domain_a_->images = set_a_.get();
  domain_a_->stream = 0xA;
  domain_a_->model_channels = options_.channels_a;
  domain_b_ = std::make_unique<Domain>();
  domain_b_->images = set_b_.get();
  domain_b_->stream = 0xB;
  domain_b_->model_channels = options_.channels_b;

  const int64_t global_batch = options_.batch_size * options_.world;
  batches_per_epoch_ = std::max(set_a_->size(), set_b_->size()) / global_batch;
  CG_REQUIRE(batches_per_epoch_ > 0, ConfigError, "batch size ", options_.batch_size, " x ",
             options_.world, " rank(s) exceeds the ", std::max(set_a_->size(), set_b_->size()),
             " images of ", dir);
  start_readers();
}

ShardSource::~ShardSource() { stop_readers(); }

int64_t ShardSource::sample_index(const Domain& domain, int64_t global_sample) const {
  const int64_t n = domain.images->size();
  const int64_t pass = global_sample / n;
  std::shared_ptr<const std::vector<int64_t>> order;
  {
    std::lock_guard<std::mutex> lock(domain.mutex);
    auto it = domain.passes.find(pass);
    if (it == domain.passes.end()) {
      if (domain.passes.size() >= 4) domain.passes.erase(domain.passes.begin());
      it = domain.passes
               .emplace(pass, std::make_shared<const std::vector<int64_t>>(
                                  epoch_permutation(n, options_.seed, domain.stream, pass)))
               .first;
    }
    order = it->second;
  }
  return (*order)[size_t(global_sample % n)];
}

void ShardSource::fill(const Domain& domain, int64_t batch, torch::Tensor& out) const {
  const ImageSet& set = *domain.images;
  const ModelImage target{options_.crop_size, domain.model_channels, options_.lo, options_.hi};
  std::vector<uint8_t> raw(size_t(set.image_bytes()));
  float* dst = out.data_ptr<float>();
  const int64_t per_image = target.channels * target.size * target.size;
  for (int64_t i = 0; i < options_.batch_size; ++i) {
    const int64_t g = (batch * options_.world + options_.rank) * options_.batch_size + i;
    set.read(sample_index(domain, g), raw.data());
    SplitMix64 rng(
        mix_seed(options_.seed, kAugmentStream, domain.stream, static_cast<uint64_t>(g)));
    const Augment augment =
        draw_augment(rng, set.height(), set.width(), target.size, options_.flip);
    to_model_image(raw.data(), set.height(), set.width(), set.channels(), augment, target,
                   dst + i * per_image);
  }
}

UnpairedBatch ShardSource::make_batch(int64_t batch) const {
  auto options = torch::TensorOptions().dtype(torch::kFloat).pinned_memory(options_.pin_memory);
  const int64_t s = options_.crop_size;
  UnpairedBatch out{torch::empty({options_.batch_size, options_.channels_a, s, s}, options),
                    torch::empty({options_.batch_size, options_.channels_b, s, s}, options)};
  fill(*domain_a_, batch, out.a);
  fill(*domain_b_, batch, out.b);
  return out;
}

void ShardSource::reader_loop() {
  while (true) {
    int64_t batch = 0;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      space_.wait(lock, [&] { return stopping_ || claimed_ < next_ + options_.prefetch; });
      if (stopping_) return;
      batch = claimed_++;
    }
    UnpairedBatch result;
    std::exception_ptr error;
    try {
      result = make_batch(batch);
    } catch (...) {
      error = std::current_exception();
    }
    std::lock_guard<std::mutex> lock(mutex_);
    if (error && !error_) error_ = error;
    if (!error) done_.emplace(batch, std::move(result));
    ready_.notify_all();
  }
}

void ShardSource::start_readers() {
  stopping_ = false;
  for (int i = 0; i < options_.threads; ++i) readers_.emplace_back([this] { reader_loop(); });
}

void ShardSource::stop_readers() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  space_.notify_all();
  for (std::thread& t : readers_) t.join();
  readers_.clear();
}

UnpairedBatch ShardSource::next() {
  std::unique_lock<std::mutex> lock(mutex_);
  const auto start = std::chrono::steady_clock::now();
  ready_.wait(lock, [&] { return error_ || done_.count(next_) > 0; });
  wait_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (error_) std::rethrow_exception(error_);
  auto it = done_.find(next_);
  UnpairedBatch batch = std::move(it->second);
  done_.erase(it);
  ++next_;
  space_.notify_all();
  return batch;
}

SourcePosition ShardSource::position() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return {next_ / batches_per_epoch_, next_ % batches_per_epoch_};
}

void ShardSource::seek(SourcePosition position) {
  CG_REQUIRE(position.epoch >= 0 && position.batch >= 0 && position.batch < batches_per_epoch_,
             FileError, "data position epoch ", position.epoch, " batch ", position.batch,
             " does not exist in a source of ", batches_per_epoch_, " batches per epoch");
  stop_readers();
  done_.clear();
  error_ = nullptr;
  next_ = claimed_ = position.epoch * batches_per_epoch_ + position.batch;
  start_readers();
}

int64_t ShardSource::queued() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return static_cast<int64_t>(done_.size());
}

}  // namespace cg::data

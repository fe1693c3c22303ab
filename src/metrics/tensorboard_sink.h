#pragma once
// The TensorBoard backend of train::MetricsSink: rank 0 writes the run's curves, evaluations,
// sample grids and run information into <run dir>/tensorboard/, for `tensorboard --logdir`
// without any monitoring server. Tags:
//   loss/{D_A,D_B,G_adv,F_adv,cycle_A,cycle_B,idt_A,idt_B,G_total}, lr/{G,D},
//   speed/images_per_second (all ranks), time/{step,data_wait,compute,allreduce,optimizer}
//   _seconds, allreduce/bytes_per_step, memory/peak_bytes (when measured),
//   memory/cuda_{allocated,reserved}_bytes (on CUDA), loss_scale/{G,D_A,D_B} (fp16 runs)
//   (every log_every steps, and the last step: the steps of the progress line, with the
//   same values; each the value of that step);
//   time/checkpoint_seconds (each checkpoint);
//   eval/psnr_db/<image>, eval/ssim/<image>, eval/colorfulness/<image>,
//   eval/cycle_l1/{a,b}, eval/checkerboard/{AtoB,BtoA}[_baseline], and with FID/KID
//   eval/{fid,kid}/{AtoB,BtoA,AtoB_baseline,BtoA_baseline,real_A,real_B} (each evaluation;
//   images as in the Prometheus metrics; _baseline: the untranslated input, doing nothing);
//   samples (each sample grid, PNG); run/config (text, once per process).
#include <chrono>
#include <memory>
#include <string>

#include "metrics/tensorboard_events.h"
#include "train/metrics_sink.h"

namespace cg::metrics {

struct TensorBoardOptions {
  std::string dir;         ///< folder of the event files (created if missing)
  int64_t log_every = 20;  ///< steps between scalar events (the progress line's period)
  int world_size = 1;      ///< ranks of the run: images/s counts the images of all of them
  std::string run_text;    ///< Markdown shown as run/config (preset, world size, config)
  EventFileOptions file;
};

/// Not thread-safe, like every train::MetricsSink (the trainer calls it from its thread).
class TensorBoardSink final : public train::MetricsSink {
 public:
  /// Opens a new event file in options.dir. Throws FileError when it cannot be created.
  explicit TensorBoardSink(TensorBoardOptions options);

  /// The first call marks where this process starts (SessionLog START at its step, so the
  /// events a killed earlier process wrote past its last checkpoint are dropped by
  /// TensorBoard) and writes run/config there.
  void on_step(const train::StepRecord& record) override;
  void on_checkpoint(const train::CheckpointRecord& record) override;
  void on_eval(int64_t step, const eval::EvalReport& report) override;
  void on_samples(int64_t step, const train::SampleImage& image) override;

  /// Writes what is queued (also done every options.file.flush_seconds and at destruction).
  void flush() { file_.flush(); }
  const std::string& path() const { return file_.path(); }

 private:
  using Clock = std::chrono::steady_clock;
  TensorBoardOptions options_;
  EventFileWriter file_;
  bool started_ = false;
  Clock::time_point last_due_;
  int64_t images_since_due_ = 0;
};

}  // namespace cg::metrics

// cyclegan_data: builds and checks cyclegan_dist data sets (see dataset_tools/FORMAT.md).
//   cyclegan_data cifar10 --input DIR --output DIR [--task colorize|classes --a CAT --b DOG]
//   cyclegan_data folder  --input DIR --output DIR [--size 256]
//   cyclegan_data demo    --output DIR [--sizes 32,128]
//   cyclegan_data inspect DIR | verify DIR | export DIR --output grid.png
#include <CLI/CLI.hpp>
#include <iostream>

#include "build_cifar.h"
#include "build_demo.h"
#include "build_folder.h"
#include "common/error.h"
#include "dataset_report.h"

namespace {

struct WriterFlags {
  std::string output;
  int64_t shard_size = 10000;
  int gzip = 0;
  bool overwrite = false;

  void add_to(CLI::App* app) {
    app->add_option("--output", output, "data set directory to write")->required();
    app->add_option("--shard-size", shard_size, "images per shard")->capture_default_str();
    app->add_option("--gzip", gzip, "gzip level of the image chunks (0: uncompressed)")
        ->capture_default_str();
    app->add_flag("--overwrite", overwrite, "replace a data set already in --output");
  }
  cg::data::DatasetWriterOptions options() const {
    cg::data::DatasetWriterOptions o;
    o.shard_size = shard_size;
    o.gzip_level = gzip;
    o.overwrite = overwrite;
    return o;
  }
};

void report(const cg::data::DatasetManifest&, const std::string& dir) {
  cg::tools::inspect_dataset(dir, std::cout);
}

int run(int argc, char** argv) {
  CLI::App app{"cyclegan_data: builds and checks cyclegan_dist data sets (HDF5 shards + manifest)"};
  app.require_subcommand(1);

  WriterFlags cifar_out;
  std::string cifar_in;
  cg::tools::CifarTaskOptions task;
  auto* cifar = app.add_subcommand("cifar10", "CIFAR-10 (binary or python version) -> data set");
  cifar->add_option("--input", cifar_in, "directory with the CIFAR-10 batches")->required();
  cifar_out.add_to(cifar);
  cifar->add_option("--task", task.task, "colorize (gray A, colour B) or classes (--a, --b)")
      ->capture_default_str();
  cifar->add_option("--a", task.class_a, "class of domain A for --task classes (e.g. cat)");
  cifar->add_option("--b", task.class_b, "class of domain B for --task classes (e.g. dog)");
  cifar->add_option("--seed", task.seed, "which training images go to A and which to B")
      ->capture_default_str();

  WriterFlags folder_out;
  std::string folder_in;
  cg::tools::FolderOptions folder_options;
  bool no_progress = false;
  auto* folder =
      app.add_subcommand("folder", "trainA/ trainB/ [testA/ testB/] of JPEG/PNG -> data set");
  folder->add_option("--input", folder_in, "folder in the official CycleGAN layout")->required();
  folder_out.add_to(folder);
  folder->add_option("--size", folder_options.size, "crop size (test images are stored at it)")
      ->capture_default_str();
  folder
      ->add_option("--load-size", folder_options.load_size,
                   "stored size of training images (0: size*286/256)")
      ->capture_default_str();
  folder->add_option("--threads", folder_options.threads, "decoding threads (0: all cores)")
      ->capture_default_str();
  folder->add_flag("--no-progress", no_progress, "no progress bar");

  std::string demo_out;
  std::vector<int64_t> demo_sizes = {32, 128};
  cg::tools::DemoOptions demo_options;
  auto* demo = app.add_subcommand(
      "demo",
      "the demo gray -> colour data sets, cut from photographs a Debian package ships "
      "(mate-backgrounds' nature photographs, or opencv-doc's sample photographs)");
  demo->add_option("--output", demo_out,
                   "directory; one data set per size goes into <output>/<size>x<size>")
      ->required();
  demo->add_option("--sizes", demo_sizes, "image sizes")->delimiter(',')->capture_default_str();
  demo->add_option("--train-images", demo_options.train_images,
                   "training images per domain (0: 2000 up to 64 px, 500 above)");
  demo->add_option("--test-images", demo_options.test_images,
                   "test images (0: a tenth of --train-images)");
  std::string photo_set = "mate";
  demo->add_option("--photo-set", photo_set,
                   "mate (mate-backgrounds' nature photographs: the demo's) or opencv "
                   "(opencv-doc's sample photographs: other scenes)")
      ->capture_default_str();
  demo->add_option("--photos", demo_options.photos,
                   "folder holding the set's photographs (default: where its package installs "
                   "them)");
  demo->add_option("--seed", demo_options.seed, "which crops")->capture_default_str();
  demo->add_flag("--overwrite", demo_options.overwrite, "replace data sets already there");
  demo_options.train_images = 0;
  demo_options.test_images = 0;

  std::string inspect_dir, verify_dir, export_dir, export_png, export_split = "train",
                                                               export_domain = "AB";
  int64_t export_count = 16, export_columns = 8;
  auto* inspect = app.add_subcommand("inspect", "summary of a data set");
  inspect->add_option("dir", inspect_dir, "data set directory")->required();
  auto* verify = app.add_subcommand("verify", "recompute every checksum of a data set");
  verify->add_option("dir", verify_dir, "data set directory")->required();
  auto* exporter = app.add_subcommand("export", "the first images of a data set as a PNG grid");
  exporter->add_option("dir", export_dir, "data set directory")->required();
  exporter->add_option("--output", export_png, "PNG file to write")->required();
  exporter->add_option("--split", export_split, "train or test")->capture_default_str();
  exporter->add_option("--domain", export_domain, "A, B or AB")->capture_default_str();
  exporter->add_option("--count", export_count, "images per domain")->capture_default_str();
  exporter->add_option("--columns", export_columns, "images per row")->capture_default_str();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }

  if (*cifar) {
    const cg::tools::CifarSplits splits = cg::tools::read_cifar_dir(cifar_in);
    std::cerr << "cyclegan_data: CIFAR-10 " << splits.format << " version: " << splits.train.count()
              << " training and " << splits.test.count() << " test images\n";
    cg::data::DatasetWriter writer(cifar_out.output,
                                   "cifar10 " + task.task + " (" + splits.format + " version)",
                                   cifar_out.options());
    report(cg::tools::write_cifar_dataset(splits, task, writer), cifar_out.output);
  } else if (*folder) {
    folder_options.progress = !no_progress;
    cg::data::DatasetWriter writer(folder_out.output, "folder " + folder_in, folder_out.options());
    report(cg::tools::write_folder_dataset(folder_in, folder_options, writer), folder_out.output);
  } else if (*demo) {
    CG_REQUIRE(photo_set == "mate" || photo_set == "opencv", cg::ConfigError,
               "--photo-set must be mate or opencv, got '", photo_set, "'");
    demo_options.photo_set =
        photo_set == "opencv" ? cg::tools::PhotoSetName::kOpencv : cg::tools::PhotoSetName::kMate;
    for (int64_t size : demo_sizes) {
      cg::tools::DemoOptions o = demo_options;
      o.size = size;
      if (o.train_images == 0) o.train_images = size <= 64 ? 2000 : 500;
      if (o.test_images == 0) o.test_images = std::max<int64_t>(1, o.train_images / 10);
      const std::string dir = demo_out + "/" + std::to_string(size) + "x" + std::to_string(size);
      report(cg::tools::write_demo_dataset(dir, o), dir);
    }
  } else if (*inspect) {
    cg::tools::inspect_dataset(inspect_dir, std::cout);
  } else if (*verify) {
    return cg::tools::verify_dataset(verify_dir, std::cout) == 0 ? 0 : 1;
  } else if (*exporter) {
    cg::tools::export_grid(export_dir, export_split, export_domain, export_count, export_columns,
                           export_png);
    std::cout << export_png << "\n";
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const cg::ConfigError& e) {
    std::cerr << "cyclegan_data: error: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "cyclegan_data: error: " << cg::describe(e) << "\n";
    return 1;
  }
}

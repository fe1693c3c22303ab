#!/usr/bin/env bash
# scripts/gpu_bundle's folder is all a bare CUDA machine needs besides CUDA, PyTorch and
# the compiler: make it, then, in a mount namespace where every file of the bundled Debian
# packages (and HDF5's h5cc wrapper) is replaced by an empty one, configure a new build
# against it, build cyclegan_dist and train 2 steps under `mpirun -np 2`. A file missing
# from the bundle fails here (an empty header, a library that is not an ELF file) instead
# of on the lent machine.
#   gpu_bundle_e2e.sh SOURCE_DIR WORK_DIR PYTHON
set -euo pipefail
source_dir=$1 work=$2 python=$3
if [ "$(id -u)" -ne 0 ] || ! unshare -m true 2>/dev/null; then
  echo "gpu_bundle_e2e: needs root and mount namespaces (unshare -m): skipped"
  exit 77
fi
rm -rf "$work" && mkdir -p "$work"
"$source_dir/scripts/gpu_bundle" "$work/bundle" | tail -n 1
torch_prefix=$("$python" -c 'import torch.utils; print(torch.utils.cmake_prefix_path)')

unshare -m --propagation private bash -s "$source_dir" "$work" "$torch_prefix" <<'INNER'
set -euo pipefail
source_dir=$1 work=$2 torch_prefix=$3
# Hide the system's copies: every file the bundled packages installed, and h5cc.
hidden=0
for package in $(cut -d' ' -f1 "$work/bundle/packages.txt") hdf5-helpers hdf5-tools; do
  dpkg-query -W "$package" >/dev/null 2>&1 || continue
  while IFS= read -r f; do
    if [ -f "$f" ] && [ ! -L "$f" ]; then
      mount --bind /dev/null "$f" && hidden=$((hidden + 1))
    fi
  done < <(dpkg -L "$package")
done
echo "gpu_bundle_e2e: hid $hidden files of the system's packages"
if [ -s /usr/include/hdf5/serial/hdf5.h ] || /usr/bin/mpirun --version >/dev/null 2>&1; then
  echo "gpu_bundle_e2e: FAIL: the system's HDF5 or Open MPI is still visible" >&2
  exit 1
fi
source "$source_dir/scripts/bundle_env.sh" "$work/bundle"
cmake -S "$source_dir" -B "$work/build" -G Ninja -DCMAKE_PREFIX_PATH="$torch_prefix" \
  "${cyclegan_bundle_cmake_args[@]}" -DCYCLEGAN_WITH_CUDA=OFF > "$work/configure.log" 2>&1 ||
  { tail -n 40 "$work/configure.log"; echo "gpu_bundle_e2e: FAIL: configure"; exit 1; }
grep -E "cyclegan: (MPI|HDF5|prometheus|TurboJPEG|libpng)" "$work/configure.log"
if grep -E "cyclegan: (MPI|HDF5|prometheus|TurboJPEG|libpng)" "$work/configure.log" | grep -v "$work/bundle"; then
  echo "gpu_bundle_e2e: FAIL: a dependency was found outside the bundle" >&2
  exit 1
fi
cmake --build "$work/build" --target cyclegan_dist -j "$(nproc)" > "$work/build.log" 2>&1 ||
  { tail -n 40 "$work/build.log"; echo "gpu_bundle_e2e: FAIL: build"; exit 1; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mpirun -np 2 --oversubscribe "$work/build/cyclegan_dist" --preset cifar-colorize --data synthetic \
  --synthetic-images 16 --batch-size 2 --steps 2 --threads 1 --run-dir "$work/run" \
  --sample-every 0 --metrics-port 0 --log-every 1 > "$work/train.log" 2>&1 ||
  { tail -n 40 "$work/train.log"; echo "gpu_bundle_e2e: FAIL: training"; exit 1; }
grep -E "world size|finished" "$work/train.log"
grep -q "finished 2 steps" "$work/train.log" || { echo "gpu_bundle_e2e: FAIL: no 'finished 2 steps'"; exit 1; }
INNER
echo "gpu_bundle_e2e: ok"

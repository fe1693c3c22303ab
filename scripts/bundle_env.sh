# Sourced, with the folder scripts/gpu_bundle made: puts its programs and libraries first
# on PATH and LD_LIBRARY_PATH, relocates Open MPI and PMIx to it (OPAL_PREFIX,
# PMIX_INSTALL_PREFIX: their own variables for an installation moved from its --prefix), and
# sets the array cyclegan_bundle_cmake_args for a CMake configure (the bundle's /usr as a
# prefix path, mpicxx, mpirun, HDF5's serial folder).
#   source scripts/bundle_env.sh DIR
cyclegan_bundle_root="$(cd "$1" && pwd)/root"
if [ ! -d "$cyclegan_bundle_root/usr/lib/x86_64-linux-gnu/openmpi" ]; then
  echo "bundle_env.sh: $1 is not a folder made by scripts/gpu_bundle" >&2
  return 2
fi
cyclegan_bundle_lib="$cyclegan_bundle_root/usr/lib/x86_64-linux-gnu"
export OPAL_PREFIX="$cyclegan_bundle_root/usr"
export PMIX_INSTALL_PREFIX="$cyclegan_bundle_lib/pmix2"
export PATH="$cyclegan_bundle_root/usr/bin:$PATH"
export LD_LIBRARY_PATH="$cyclegan_bundle_lib:$cyclegan_bundle_lib/openmpi/lib:$cyclegan_bundle_lib/pmix2/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export CMAKE_PREFIX_PATH="$cyclegan_bundle_root/usr${CMAKE_PREFIX_PATH:+:$CMAKE_PREFIX_PATH}"
# HDF5 without its h5cc wrapper (a script with Debian's paths written in): HDF5_ROOT is
# Debian's serial folder, which links include/ and lib/ together.
cyclegan_bundle_cmake_args=(
  "-DMPI_CXX_COMPILER=$cyclegan_bundle_root/usr/bin/mpicxx"
  "-DMPIEXEC_EXECUTABLE=$cyclegan_bundle_root/usr/bin/mpirun"
  "-DCYCLEGAN_MPIEXEC=$cyclegan_bundle_root/usr/bin/mpirun"
  "-DHDF5_ROOT=$cyclegan_bundle_lib/hdf5/serial"
  "-DHDF5_C_COMPILER_EXECUTABLE=HDF5_C_COMPILER_EXECUTABLE-NOTFOUND"
)

# Finds every external dependency once and reports what it found.

# LibTorch from the PyPI wheel: scripts/build passes -DCMAKE_PREFIX_PATH from
# torch.utils.cmake_prefix_path.
find_package(Torch REQUIRED)
message(STATUS "cyclegan: Torch ${Torch_VERSION} at ${TORCH_INSTALL_PREFIX}")

find_package(Threads REQUIRED)
find_package(MPI REQUIRED COMPONENTS CXX)
message(STATUS "cyclegan: MPI ${MPI_CXX_VERSION}: ${MPI_CXX_LIBRARIES}")
find_program(CYCLEGAN_MPIEXEC NAMES mpirun mpiexec REQUIRED)
find_package(ZLIB REQUIRED)
find_package(HDF5 1.10 REQUIRED COMPONENTS C)
add_library(cyclegan_hdf5 INTERFACE)
target_include_directories(cyclegan_hdf5 SYSTEM INTERFACE ${HDF5_INCLUDE_DIRS})
target_link_libraries(cyclegan_hdf5 INTERFACE ${HDF5_C_LIBRARIES})
target_compile_definitions(cyclegan_hdf5 INTERFACE ${HDF5_DEFINITIONS})
message(STATUS "cyclegan: HDF5 ${HDF5_VERSION}: ${HDF5_C_LIBRARIES}")
find_program(CYCLEGAN_H5DUMP h5dump)
find_package(nlohmann_json 3 REQUIRED)
find_package(CLI11 REQUIRED)
find_package(prometheus-cpp CONFIG REQUIRED COMPONENTS core push)
message(STATUS "cyclegan: prometheus-cpp at ${prometheus-cpp_DIR}")
# Image codecs (Debian libturbojpeg0-dev, libpng-dev): TurboJPEG has no CMake package.
find_path(TURBOJPEG_INCLUDE_DIR turbojpeg.h REQUIRED)
find_library(TURBOJPEG_LIBRARY turbojpeg REQUIRED)
add_library(cyclegan_turbojpeg INTERFACE)
target_include_directories(cyclegan_turbojpeg SYSTEM INTERFACE ${TURBOJPEG_INCLUDE_DIR})
target_link_libraries(cyclegan_turbojpeg INTERFACE ${TURBOJPEG_LIBRARY})
message(STATUS "cyclegan: TurboJPEG: ${TURBOJPEG_LIBRARY}")
find_package(PNG REQUIRED)
message(STATUS "cyclegan: libpng ${PNG_VERSION_STRING}: ${PNG_LIBRARIES}")

# CUDA/NCCL: on by default where Torch was built with CUDA and nccl.h is found.
set(cyclegan_torch_has_cuda OFF)
if(TARGET torch_cuda OR CAFFE2_USE_CUDA OR TORCH_CUDA_LIBRARIES)
  set(cyclegan_torch_has_cuda ON)
endif()
# The wheel's own NCCL comes first: it is the one libtorch_cuda loads at run time.
set(cyclegan_wheel_nccl ${TORCH_INSTALL_PREFIX}/../nvidia/nccl)
find_path(NCCL_INCLUDE_DIR nccl.h
  HINTS $ENV{NCCL_HOME}/include ${cyclegan_wheel_nccl}/include ${CUDAToolkit_INCLUDE_DIRS}
        /usr/local/cuda/include)
find_library(NCCL_LIBRARY NAMES nccl libnccl.so.2 NAMES_PER_DIR
  HINTS $ENV{NCCL_HOME}/lib ${cyclegan_wheel_nccl}/lib ${CUDAToolkit_LIBRARY_DIR}
        /usr/local/cuda/lib64)
if(CYCLEGAN_WITH_CUDA STREQUAL "AUTO")
  if(cyclegan_torch_has_cuda AND NCCL_INCLUDE_DIR AND NCCL_LIBRARY)
    set(CYCLEGAN_WITH_CUDA ON)
  else()
    set(CYCLEGAN_WITH_CUDA OFF)
  endif()
endif()
if(CYCLEGAN_WITH_CUDA)
  if(NOT cyclegan_torch_has_cuda)
    message(FATAL_ERROR "CYCLEGAN_WITH_CUDA=ON but Torch at ${TORCH_INSTALL_PREFIX} has no CUDA")
  endif()
  if(NOT NCCL_INCLUDE_DIR OR NOT NCCL_LIBRARY)
    message(FATAL_ERROR "CYCLEGAN_WITH_CUDA=ON but NCCL was not found (set NCCL_HOME)")
  endif()
endif()
message(STATUS "cyclegan: Torch CUDA: ${cyclegan_torch_has_cuda}, NCCL: ${NCCL_INCLUDE_DIR} ${NCCL_LIBRARY}")
message(STATUS "cyclegan: CYCLEGAN_WITH_CUDA=${CYCLEGAN_WITH_CUDA}")

# Python of the same virtual environment as the torch wheel: the reference
# implementation used by tests and benchmarks.
find_program(CYCLEGAN_PYTHON python
  HINTS ${TORCH_INSTALL_PREFIX}/../../../../bin NO_DEFAULT_PATH)
if(NOT CYCLEGAN_PYTHON)
  find_program(CYCLEGAN_PYTHON python3 REQUIRED)
endif()
message(STATUS "cyclegan: reference Python: ${CYCLEGAN_PYTHON}")

# gperftools' tcmalloc for the executables that train and translate: a training step frees
# and allocates the same few hundred tensors every step, which glibc's malloc serves with
# more work and more page faults (README "Performance": 9-13% of a step on 2 cores).
set(CYCLEGAN_TCMALLOC AUTO CACHE STRING
  "Link cyclegan_dist, cyclegan_translate and step_bench_worker with tcmalloc_minimal: ON, OFF or AUTO (ON where found)")
find_library(TCMALLOC_LIBRARY NAMES tcmalloc_minimal libtcmalloc_minimal.so.4 NAMES_PER_DIR)
if(CYCLEGAN_TCMALLOC STREQUAL "AUTO")
  if(TCMALLOC_LIBRARY)
    set(CYCLEGAN_TCMALLOC ON)
  else()
    set(CYCLEGAN_TCMALLOC OFF)
  endif()
endif()
if(CYCLEGAN_TCMALLOC AND NOT TCMALLOC_LIBRARY)
  message(FATAL_ERROR "CYCLEGAN_TCMALLOC=ON but tcmalloc_minimal was not found "
                      "(Debian: libtcmalloc-minimal4)")
endif()
message(STATUS "cyclegan: CYCLEGAN_TCMALLOC=${CYCLEGAN_TCMALLOC} ${TCMALLOC_LIBRARY}")

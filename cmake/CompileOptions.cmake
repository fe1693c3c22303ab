# Options every cyclegan target compiles with, and the one LibTorch precompiled header
# that every target reuses (building torch/torch.h once instead of once per target).
add_library(cyclegan_options INTERFACE)
add_library(cyclegan::options ALIAS cyclegan_options)
target_compile_options(cyclegan_options INTERFACE -Wall -Wextra -Wno-unused-parameter)
target_include_directories(cyclegan_options INTERFACE ${PROJECT_SOURCE_DIR}/src)
target_link_libraries(cyclegan_options INTERFACE ${TORCH_LIBRARIES} Threads::Threads)
# libtorch.so from the wheel exports its own copy of std::filesystem, and its remove_all
# jumps to a null pointer. Naming libstdc++ before libtorch on the link line makes the
# dynamic linker bind std:: symbols to the system libstdc++ first.
target_link_options(cyclegan_options INTERFACE
  "LINKER:--push-state,--no-as-needed" -lstdc++ "LINKER:--pop-state")
target_compile_definitions(cyclegan_options INTERFACE
  CYCLEGAN_VERSION="${PROJECT_VERSION}"
  $<$<BOOL:${CYCLEGAN_WITH_CUDA}>:CYCLEGAN_WITH_CUDA=1>)

file(WRITE ${CMAKE_BINARY_DIR}/pch_anchor.cpp "// translation unit that owns the shared PCH\n")
add_library(cyclegan_pch OBJECT ${CMAKE_BINARY_DIR}/pch_anchor.cpp)
target_link_libraries(cyclegan_pch PRIVATE cyclegan_options)
target_precompile_headers(cyclegan_pch PRIVATE <torch/torch.h>)

# cyclegan_use_pch(target): compile `target` against the shared LibTorch PCH.
function(cyclegan_use_pch target)
  target_precompile_headers(${target} REUSE_FROM cyclegan_pch)
endfunction()

# cyclegan_library(name SOURCES... [DEPS ...]): one library per src/ folder.
function(cyclegan_library name)
  cmake_parse_arguments(arg "" "" "SOURCES;DEPS" ${ARGN})
  add_library(cg_${name} STATIC ${arg_SOURCES})
  add_library(cyclegan::${name} ALIAS cg_${name})
  target_link_libraries(cg_${name} PUBLIC cyclegan_options ${arg_DEPS})
  cyclegan_use_pch(cg_${name})
endfunction()

# cyclegan_use_tcmalloc(target): allocate through tcmalloc in the executable `target`
# (where CYCLEGAN_TCMALLOC is on). Linked whether or not the executable names a symbol of
# it: its malloc and free then serve the whole process, LibTorch included.
function(cyclegan_use_tcmalloc target)
  if(CYCLEGAN_TCMALLOC)
    target_link_libraries(${target} PRIVATE
      "-Wl,--push-state,--no-as-needed" ${TCMALLOC_LIBRARY} "-Wl,--pop-state")
  endif()
endfunction()

# cyclegan_openmp_sources(target source...): compile these sources of `target` with OpenMP
# (-fopenmp: at::parallel_for splits over LibTorch's threads, #pragma omp works) against
# LibTorch's own libgomp, the one its operators use, so that there is one thread pool.
# They skip the shared PCH, which is built without -fopenmp. Where the compiler has no
# -fopenmp or the wheel no libgomp, they compile without it and run on one thread.
include(CheckCXXCompilerFlag)
check_cxx_compiler_flag(-fopenmp cyclegan_has_fopenmp)
file(GLOB cyclegan_torch_gomp "${TORCH_INSTALL_PREFIX}/lib/libgomp*.so*")
if(cyclegan_has_fopenmp AND cyclegan_torch_gomp)
  list(GET cyclegan_torch_gomp 0 cyclegan_torch_gomp)
  message(STATUS "cyclegan: OpenMP sources use LibTorch's ${cyclegan_torch_gomp}")
else()
  set(cyclegan_torch_gomp "")
  message(STATUS "cyclegan: no -fopenmp or no libgomp in LibTorch: OpenMP sources run serially")
endif()
function(cyclegan_openmp_sources target)
  if(NOT cyclegan_torch_gomp)
    return()
  endif()
  set_source_files_properties(${ARGN} TARGET_DIRECTORY ${target} PROPERTIES
    COMPILE_OPTIONS -fopenmp SKIP_PRECOMPILE_HEADERS ON)
  target_link_libraries(${target} PRIVATE ${cyclegan_torch_gomp})
endfunction()

# Route compiles through ccache when it is installed. The sloppiness settings let ccache
# cache translation units that use the LibTorch precompiled header; the base directory
# makes paths relative, so a fresh clone elsewhere (as CI makes) still hits the cache.
find_program(CYCLEGAN_CCACHE ccache)
if(CYCLEGAN_CCACHE)
  set(launcher ${CMAKE_COMMAND} -E env
      "CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime"
      "CCACHE_BASEDIR=${PROJECT_SOURCE_DIR}"
      ${CYCLEGAN_CCACHE})
  set(CMAKE_C_COMPILER_LAUNCHER ${launcher})
  set(CMAKE_CXX_COMPILER_LAUNCHER ${launcher})
  message(STATUS "cyclegan: ccache: ${CYCLEGAN_CCACHE}")
else()
  message(STATUS "cyclegan: ccache: not found (builds will not be cached)")
endif()

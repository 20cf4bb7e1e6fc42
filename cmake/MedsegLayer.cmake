# medseg_add_layer(<layer> [TORCH] [DEPS ...] [PRIVATE_DEPS ...])
# Builds src/<layer>/*.cpp into the static library medseg_<layer> (alias medseg::<layer>),
# with include/ public. TORCH links libtorch and reuses the shared precompiled header.
function(medseg_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wno-unused-parameter)
endfunction()

# Reuses the shared precompiled torch header for the sources of `target` that include
# <torch/torch.h> themselves; the others compile without it. Measured (GCC 12, -O3): loading the
# 570 MB header costs ~7 s per file, so a file that needs only a few headers compiles 3-20x
# faster without it (kfold_split.cpp 22.9 s -> 7.0 s), while a file that includes torch.h
# saves 6-8 s with it (unet.cpp 21.8 s -> 13.6 s).
function(medseg_reuse_torch_pch target)
  target_precompile_headers(${target} REUSE_FROM medseg_torch_pch)
  get_target_property(_sources ${target} SOURCES)
  get_target_property(_dir ${target} SOURCE_DIR)
  foreach(_source IN LISTS _sources)
    if(NOT _source MATCHES "\\.cpp$")
      continue()
    endif()
    if(IS_ABSOLUTE "${_source}")
      set(_path "${_source}")
    else()
      set(_path "${_dir}/${_source}")
    endif()
    file(STRINGS "${_path}" _uses_torch REGEX "^#include <torch/torch\\.h>")
    if(NOT _uses_torch)
      set_source_files_properties("${_path}" TARGET_DIRECTORY ${target} PROPERTIES SKIP_PRECOMPILE_HEADERS ON)
    endif()
  endforeach()
endfunction()

# The libraries and the program: with MEDSEG_UNITY_BUILD, their sources compile in batches of
# MEDSEG_UNITY_BATCH files (one precompiled-header load and one instantiation of the shared
# templates per batch instead of per file); else file by file, as medseg_reuse_torch_pch.
function(medseg_compile_in_batches target)
  if(MEDSEG_UNITY_BUILD)
    set_target_properties(${target} PROPERTIES UNITY_BUILD ON UNITY_BUILD_BATCH_SIZE ${MEDSEG_UNITY_BATCH})
    target_precompile_headers(${target} REUSE_FROM medseg_torch_pch)
  else()
    medseg_reuse_torch_pch(${target})
  endif()
endfunction()

function(medseg_add_layer layer)
  cmake_parse_arguments(ARG "TORCH" "" "DEPS;PRIVATE_DEPS" ${ARGN})
  file(GLOB sources CONFIGURE_DEPENDS "${PROJECT_SOURCE_DIR}/src/${layer}/*.cpp")
  set(target medseg_${layer})
  if(NOT sources)
    add_library(${target} INTERFACE)
    add_library(medseg::${layer} ALIAS ${target})
    target_link_libraries(${target} INTERFACE ${ARG_DEPS})
    set_property(GLOBAL APPEND PROPERTY MEDSEG_LAYERS ${target})
    return()
  endif()
  add_library(${target} STATIC ${sources})
  add_library(medseg::${layer} ALIAS ${target})
  set_target_properties(${target} PROPERTIES EXPORT_NAME ${layer})
  target_include_directories(${target} PUBLIC
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
    $<INSTALL_INTERFACE:include>)
  target_link_libraries(${target} PUBLIC ${ARG_DEPS} Threads::Threads)
  if(ARG_PRIVATE_DEPS)
    target_link_libraries(${target} PRIVATE ${ARG_PRIVATE_DEPS})
  endif()
  if(ARG_TORCH)
    target_link_libraries(${target} PUBLIC medseg::torch)
    medseg_compile_in_batches(${target})
  endif()
  medseg_set_warnings(${target})
  set_property(GLOBAL APPEND PROPERTY MEDSEG_LAYERS ${target})
endfunction()

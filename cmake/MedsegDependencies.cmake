# Finds the dependencies and wraps them in medseg::torch / medseg::itk interface targets.
find_package(Threads REQUIRED)
find_package(nlohmann_json 3 REQUIRED)
find_package(spdlog REQUIRED)
find_package(CLI11 REQUIRED)
find_package(Torch REQUIRED)
# TorchConfig's find_library searches the system's folders before libtorch's own: with Debian's
# libtorch-dev installed too, a build against the wheel would also link Debian's libc10.so (1.13),
# and both would register their operators in one process. Keep every library libtorch's own.
set(_medseg_torch_libraries "")
foreach(_lib IN LISTS TORCH_LIBRARIES)
  if(IS_ABSOLUTE "${_lib}" AND EXISTS "${_lib}")
    get_filename_component(_name "${_lib}" NAME)
    get_filename_component(_dir "${_lib}" DIRECTORY)
    get_filename_component(_dir "${_dir}" REALPATH)
    get_filename_component(_own_dir "${TORCH_INSTALL_PREFIX}/lib" REALPATH)
    if(NOT _dir STREQUAL _own_dir AND EXISTS "${_own_dir}/${_name}")
      message(STATUS "medseg: linking libtorch's own ${_own_dir}/${_name} instead of ${_lib}")
      set(_lib "${_own_dir}/${_name}")
    endif()
  endif()
  list(APPEND _medseg_torch_libraries "${_lib}")
endforeach()
set(TORCH_LIBRARIES ${_medseg_torch_libraries})
find_package(ZLIB REQUIRED)
set(MEDSEG_ITK_COMPONENTS ITKCommon ITKIOImageBase ITKIONIFTI ITKIONRRD ITKIOMeta ITKImageGrid
    ITKImageFunction ITKSmoothing ITKImageFilterBase ITKIOPNG)
find_package(ITK 5 REQUIRED COMPONENTS ${MEDSEG_ITK_COMPONENTS})
# The QA pictures (src/qa/png.cpp) are encoded with libpng, the library ITK's PNG IO wraps.
find_package(PNG REQUIRED)

# DICOM input (issue 24): series headers through DCMTK, pixels through ITK's GDCMImageIO.
# Debian's ITK config loads every module's dependencies, so after find_package(ITK) the DCMTK::*
# and gdcm* targets exist where DCMTK and GDCM are installed. The GPU machine's ITK (.device/,
# scripts/gpu-check.sh) answers those lookups with stubs that define no targets: there
# MEDSEG_WITH_DICOM is OFF and the DICOM commands say that medseg was built without it.
option(MEDSEG_DICOM "Build DICOM input when DCMTK and ITK's GDCM module are found" ON)
set(MEDSEG_WITH_DICOM OFF)
set(MEDSEG_DICOM_ITK_COMPONENTS "")
if(MEDSEG_DICOM)
  if(NOT TARGET DCMTK::dcmdata)
    find_package(DCMTK CONFIG QUIET)
  endif()
  if("ITKIOGDCM" IN_LIST ITK_MODULES_ENABLED AND TARGET DCMTK::dcmdata AND TARGET DCMTK::dcmseg
     AND TARGET DCMTK::dcmrt AND TARGET gdcmMSFF)
    set(MEDSEG_WITH_DICOM ON)
    set(MEDSEG_DICOM_ITK_COMPONENTS ITKIOGDCM)
    find_package(ITK 5 REQUIRED COMPONENTS ${MEDSEG_ITK_COMPONENTS} ITKIOGDCM)
    message(STATUS "medseg: DICOM input with DCMTK ${DCMTK_VERSION} and ITK's GDCM module")
  else()
    message(WARNING "medseg: DCMTK (Debian: libdcmtk-dev) or ITK's GDCM module (libgdcm-dev) not "
                    "found: built without DICOM input (medseg predict and convert-dicom refuse "
                    "DICOM folders)")
  endif()
endif()

# Which libtorch this is: Debian's 1.13 (CPU) or 2.x from the torch wheel (CUDA compiled in).
# MEDSEG_WITH_CUDA / MEDSEG_WITH_NCCL are compile definitions of every torch target
# (medseg --version prints them); version differences in the code are guarded in
# include/medseg/core/torch_compat.h.
set(MEDSEG_WITH_CUDA OFF)
if(TORCH_CUDA_LIBRARIES)
  set(MEDSEG_WITH_CUDA ON)
endif()
set(MEDSEG_NCCL_INCLUDE_DIR "")
if(MEDSEG_WITH_CUDA)
  # NCCL between GPUs for data-parallel training: the wheel's nvidia-nccl (the version its
  # libtorch was built with) first, then the CUDA toolkit's.
  get_filename_component(_medseg_site_packages "${TORCH_INSTALL_PREFIX}/.." ABSOLUTE)
  find_path(MEDSEG_NCCL_INCLUDE_DIR_FOUND nccl.h
            HINTS "${_medseg_site_packages}/nvidia/nccl/include" ${TORCH_INCLUDE_DIRS}
                  ENV NCCL_HOME ENV CUDA_HOME ${CUDAToolkit_INCLUDE_DIRS}
            PATH_SUFFIXES include)
  if(MEDSEG_NCCL_INCLUDE_DIR_FOUND)
    set(MEDSEG_NCCL_INCLUDE_DIR "${MEDSEG_NCCL_INCLUDE_DIR_FOUND}")
  endif()
endif()
# Gloo for data-parallel training on CPUs (and between GPUs without NCCL): libtorch carries
# Gloo's code but not its headers; Debian's libgloo-dev has them (also in .device/ for the GPU
# machine, unpacked under a prefix on CMAKE_PREFIX_PATH).
find_path(MEDSEG_GLOO_INCLUDE_DIR gloo/algorithm.h)
if(MEDSEG_GLOO_INCLUDE_DIR)
  message(STATUS "medseg: Gloo headers: ${MEDSEG_GLOO_INCLUDE_DIR}")
else()
  message(WARNING "medseg: Gloo's headers (Debian: libgloo-dev) not found: data-parallel "
                  "training on CPUs will be unavailable in this build")
endif()
# oneDNN called directly for channels-last inference with libtorch 1.x (nn/channels_last.h):
# Debian's libdnnl-dev, the headers of the very library Debian's libtorch links. libtorch 2.x
# runs channels-last convolutions itself and needs none.
set(MEDSEG_WITH_ONEDNN OFF)
if(Torch_VERSION VERSION_LESS 2)
  find_path(MEDSEG_ONEDNN_INCLUDE_DIR oneapi/dnnl/dnnl.hpp)
  find_library(MEDSEG_ONEDNN_LIBRARY dnnl)
  if(MEDSEG_ONEDNN_INCLUDE_DIR AND MEDSEG_ONEDNN_LIBRARY)
    set(MEDSEG_WITH_ONEDNN ON)
    message(STATUS "medseg: oneDNN for channels-last inference: ${MEDSEG_ONEDNN_LIBRARY}")
  else()
    message(WARNING "medseg: oneDNN's headers (Debian: libdnnl-dev) not found: inference keeps "
                    "libtorch's own convolutions, several times slower on large bfloat16 tiles")
  endif()
endif()
if(MEDSEG_WITH_CUDA)
  message(STATUS "medseg: libtorch ${Torch_VERSION} with CUDA ${CUDAToolkit_VERSION}; NCCL headers: "
                 "${MEDSEG_NCCL_INCLUDE_DIR}")
else()
  message(STATUS "medseg: libtorch ${Torch_VERSION} (CPU)")
endif()

if(NOT TARGET medseg::torch)
  add_library(medseg_torch_deps INTERFACE)
  target_link_libraries(medseg_torch_deps INTERFACE ${TORCH_LIBRARIES})
  # The wheel's libtorch.so exports copies of std::filesystem functions (from its toolchain's
  # static part of libstdc++). The dynamic linker binds a symbol to the first library in the
  # executable's NEEDED list that defines it, and libstdc++ comes after libtorch there, so
  # medseg's std::filesystem::remove_all ran libtorch's copy, which crashes (a call through a
  # null weak symbol). Naming libstdc++ first, ahead of the objects, puts it first in that list.
  target_link_options(medseg_torch_deps INTERFACE "LINKER:--push-state,--no-as-needed" -lstdc++
                      "LINKER:--pop-state")
  # libtorch 2.x ships fmt headers of its own (fmt 12 in 2.11) in its include folder, but
  # Debian's spdlog is built against Debian's fmt 9: the system's fmt and spdlog headers must
  # win. The system include folder cannot be put ahead with -isystem (GCC ignores that for
  # its standard folders), so a folder of links to just those two goes first.
  # (Debian's own libtorch lives in /usr: its include folder is the system's, nothing to do.)
  get_filename_component(_torch_include "${TORCH_INSTALL_PREFIX}/include" REALPATH)
  if(EXISTS "${_torch_include}/fmt" AND NOT _torch_include IN_LIST CMAKE_CXX_IMPLICIT_INCLUDE_DIRECTORIES)
    set(_medseg_system_first "${PROJECT_BINARY_DIR}/system-first-include")
    # Where Debian's (or the unpacked .device/) fmt and spdlog headers are: their CMake targets'
    # include folders first, then the usual ones.
    set(_medseg_dep_includes "")
    foreach(_target fmt::fmt fmt::fmt-header-only spdlog::spdlog)
      if(TARGET ${_target})
        get_target_property(_incs ${_target} INTERFACE_INCLUDE_DIRECTORIES)
        if(_incs)
          list(APPEND _medseg_dep_includes ${_incs})
        endif()
      endif()
    endforeach()
    foreach(_dir fmt spdlog)
      find_path(_medseg_${_dir}_root NAMES "${_dir}/format.h" "${_dir}/spdlog.h"
                HINTS ${_medseg_dep_includes} PATHS /usr/include /usr/local/include
                NO_CMAKE_PATH NO_CMAKE_ENVIRONMENT_PATH)
      if(NOT _medseg_${_dir}_root)
        message(FATAL_ERROR "medseg: the system's ${_dir} headers were not found")
      endif()
      get_filename_component(_found "${_medseg_${_dir}_root}" REALPATH)
      if(_found STREQUAL _torch_include)
        message(FATAL_ERROR "medseg: found libtorch's ${_dir} headers instead of the system's")
      endif()
      file(MAKE_DIRECTORY "${_medseg_system_first}")
      if(NOT EXISTS "${_medseg_system_first}/${_dir}")
        file(CREATE_LINK "${_medseg_${_dir}_root}/${_dir}" "${_medseg_system_first}/${_dir}" SYMBOLIC)
      endif()
    endforeach()
    target_include_directories(medseg_torch_deps SYSTEM INTERFACE
                               "$<BUILD_INTERFACE:${_medseg_system_first}>")
  endif()
  # In the installed package the torch target brings these itself (and a wheel's folder may lie
  # inside the source tree, which an exported target must not name).
  foreach(_dir IN LISTS TORCH_INCLUDE_DIRS)
    target_include_directories(medseg_torch_deps SYSTEM INTERFACE "$<BUILD_INTERFACE:${_dir}>")
  endforeach()
  if(MEDSEG_WITH_CUDA)
    target_compile_definitions(medseg_torch_deps INTERFACE MEDSEG_WITH_CUDA
                               MEDSEG_CUDA_VERSION="${CUDAToolkit_VERSION}")
  endif()
  if(MEDSEG_GLOO_INCLUDE_DIR)
    target_compile_definitions(medseg_torch_deps INTERFACE MEDSEG_WITH_GLOO)
    target_include_directories(medseg_torch_deps SYSTEM INTERFACE
                               "$<BUILD_INTERFACE:${MEDSEG_GLOO_INCLUDE_DIR}>")
  endif()
  if(MEDSEG_NCCL_INCLUDE_DIR)
    target_compile_definitions(medseg_torch_deps INTERFACE MEDSEG_WITH_NCCL)
    target_include_directories(medseg_torch_deps SYSTEM INTERFACE
                               "$<BUILD_INTERFACE:${MEDSEG_NCCL_INCLUDE_DIR}>")
  endif()
  # TORCH_CXX_FLAGS carries the C++ ABI define; it must match libtorch.
  separate_arguments(_medseg_torch_flags UNIX_COMMAND "${TORCH_CXX_FLAGS}")
  target_compile_options(medseg_torch_deps INTERFACE ${_medseg_torch_flags})
  add_library(medseg::torch ALIAS medseg_torch_deps)
endif()

if(NOT TARGET medseg::itk)
  add_library(medseg_itk_deps INTERFACE)
  target_link_libraries(medseg_itk_deps INTERFACE ${ITK_LIBRARIES})
  target_include_directories(medseg_itk_deps SYSTEM INTERFACE ${ITK_INCLUDE_DIRS})
  add_library(medseg::itk ALIAS medseg_itk_deps)
endif()

# DCMTK for the DICOM header scan (src/io/dicom_*.cpp; private to io and the test helpers).
if(MEDSEG_WITH_DICOM AND NOT TARGET medseg::dcmtk)
  add_library(medseg_dcmtk_deps INTERFACE)
  # dcmdata for reading; dcmseg (with dcmfg, dcmiod) and dcmrt for the SEG and RTSTRUCT output.
  target_link_libraries(medseg_dcmtk_deps INTERFACE DCMTK::dcmdata DCMTK::dcmseg DCMTK::dcmrt)
  add_library(medseg::dcmtk ALIAS medseg_dcmtk_deps)
endif()

# Finds the dependencies and wraps them in medseg::torch / medseg::itk interface targets.
find_package(Threads REQUIRED)
find_package(nlohmann_json 3 REQUIRED)
find_package(spdlog REQUIRED)
find_package(CLI11 REQUIRED)
find_package(Torch REQUIRED)
find_package(ZLIB REQUIRED)
find_package(ITK 5 REQUIRED COMPONENTS ITKCommon ITKIOImageBase ITKIONIFTI ITKIONRRD ITKIOMeta
             ITKImageGrid ITKImageFunction ITKSmoothing ITKImageFilterBase)

if(NOT TARGET medseg::torch)
  add_library(medseg_torch_deps INTERFACE)
  target_link_libraries(medseg_torch_deps INTERFACE ${TORCH_LIBRARIES})
  target_include_directories(medseg_torch_deps SYSTEM INTERFACE ${TORCH_INCLUDE_DIRS})
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

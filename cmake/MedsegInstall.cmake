# `cmake --install` puts the medseg binary, the headers, the layer libraries and a CMake
# package (find_package(medseg) -> medseg::core, medseg::io, ...) under the prefix.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

install(TARGETS medseg RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY include/medseg DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
set(_medseg_exported_deps medseg_torch_deps medseg_itk_deps)
if(MEDSEG_WITH_DICOM)
  list(APPEND _medseg_exported_deps medseg_dcmtk_deps)
endif()
install(TARGETS ${MEDSEG_LAYERS} ${_medseg_exported_deps}
  EXPORT medsegTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT medsegTargets NAMESPACE medseg::
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/medseg)
configure_package_config_file(cmake/medsegConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/medsegConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/medseg)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/medsegConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/medsegConfig.cmake
  ${CMAKE_CURRENT_BINARY_DIR}/medsegConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/medseg)

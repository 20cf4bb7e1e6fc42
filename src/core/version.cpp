#include "medseg/core/version.h"

// Set on this file alone by CMakeLists.txt, so that a version bump rebuilds one file.
#ifndef MEDSEG_VERSION
#error "MEDSEG_VERSION must be defined (CMakeLists.txt sets it from PROJECT_VERSION)"
#endif

namespace medseg {

const char* medseg_version() {
  return MEDSEG_VERSION;
}

}  // namespace medseg

// The version of this medseg (the project's version in CMakeLists.txt), for what medseg writes
// about itself: `medseg --version`, DICOM objects' SoftwareVersions.
#pragma once

namespace medseg {

// "MAJOR.MINOR.PATCH", fixed when the core layer is built.
const char* medseg_version();

}  // namespace medseg

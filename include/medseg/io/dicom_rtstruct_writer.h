// A label map as an RT Structure Set (DCMTK's dcmrt): the `--output-format rtstruct` of
// `medseg predict` on DICOM input. One ROI per label; per slice, the label's outline as
// CLOSED_PLANAR contours along pixel edges (io/planar_contours.h), in patient coordinates (mm)
// through the source slice's position, orientation and pixel spacing.
#pragma once

#include <ATen/core/Tensor.h>

#include <array>
#include <filesystem>
#include <vector>

#include "medseg/io/dicom_output.h"
#include "medseg/io/dicom_series.h"

namespace medseg {

// The patient coordinates (mm, LPS) of pixel-index point (column, row) on slice k of `source`.
std::array<double, 3> dicom_patient_point(const DicomSeries& source, size_t slice, double column,
                                          double row);

// Writes `labels` (integer, shape (slices, rows, columns) of `source`) to `path` atomically, in
// Implicit VR Little Endian (long contours exceed the 64 KiB value of Explicit VR). One ROI per
// entry of `rois` (ROI number i + 1, its name, AUTOMATIC); every ring of every slice is its own
// contour item referencing that slice's instance: holes and islands inside holes included, so
// that the ROI is the even-odd (XOR) fill of its contours. A label without voxels is an ROI
// without contours. Error naming `path` when the shape differs from the series, the series has no
// Frame of Reference UID or DCMTK refuses a value; Error in a build without DICOM support.
void write_dicom_rtstruct(const at::Tensor& labels, const DicomSeries& source,
                          const std::vector<DicomOutputLabel>& rois,
                          const std::filesystem::path& path,
                          const DicomOutputDescription& description = DicomOutputDescription());

}  // namespace medseg

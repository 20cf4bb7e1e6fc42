// A label map as a DICOM Segmentation object (BINARY, one segment per label; DCMTK's dcmseg):
// the `--output-format dicom-seg` of `medseg predict` on DICOM input. Geometry, patient, study and
// Frame of Reference are the source series'; every frame references its source instance.
#pragma once

#include <ATen/core/Tensor.h>

#include <filesystem>
#include <vector>

#include "medseg/io/dicom_output.h"
#include "medseg/io/dicom_series.h"

namespace medseg {

// Writes `labels` (integer, shape (slices, rows, columns) of `source`: slice k is
// source.slices[k]) to `path` atomically. One segment per entry of `segments`, in that order
// (segment number i + 1), labelled with its name; one frame per segment and slice where the
// segment has voxels, in the source slice's plane (a segment without voxels gets one empty
// frame, so that every segment is present). Error naming `path` when the shape differs from the
// series, the series has no Frame of Reference UID, or DCMTK refuses a value; Error saying that
// DICOM support is missing in a build without it.
void write_dicom_seg(const at::Tensor& labels, const DicomSeries& source,
                     const std::vector<DicomOutputLabel>& segments,
                     const std::filesystem::path& path,
                     const DicomOutputDescription& description = DicomOutputDescription());

}  // namespace medseg

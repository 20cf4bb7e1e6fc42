// DCMTK helpers shared by the DICOM reader and writers of medseg_io (private; compiled only with
// MEDSEG_WITH_DICOM, outside the unity batches: DCMTK's osconfig.h defines many macros).
#pragma once

#include <ATen/core/Tensor.h>
#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcxfer.h>

#include <filesystem>
#include <string>

#include "medseg/io/dicom_series.h"

namespace medseg {

// Routes DCMTK's log to errors only (once) and throws Error when its data dictionary is missing.
void prepare_dcmtk();

// Error "<where>: <what>: <DCMTK's reason>" when `status` is bad.
void check_dcmtk(const OFCondition& status, const std::string& where, const std::string& what);

// A Decimal String value: at most 16 characters, as many digits as fit (std::to_chars: the
// same text under any locale).
std::string dicom_decimal(double value);

// `text` as a value of a string VR of at most `max_length` bytes: backslashes (value separators)
// become '/', control characters spaces; cut at a UTF-8 character boundary.
std::string dicom_text(const std::string& text, size_t max_length);

// The SpecificCharacterSet of `dataset` ("" when absent).
std::string dicom_character_set(DcmDataset& dataset);

// Error "<where>: the label map's shape (...) is not the (slices, rows, columns) (...) of
// <series>" unless `labels` is 3D on the grid of `source`.
void check_dicom_label_map(const at::Tensor& labels, const DicomSeries& source,
                           const std::string& where);

// A new UID under DCMTK's root for `kind` (SITE_INSTANCE_UID_ROOT, SITE_SERIES_UID_ROOT, ...).
std::string dicom_new_uid(const char* kind);

// Today's date (DA, YYYYMMDD) and the time of day (TM, HHMMSS), local time.
std::string dicom_date_now();
std::string dicom_time_now();

// The whole file (pixel data included); Error naming it when DCMTK cannot read it.
void load_dicom_file(DcmFileFormat& file, const std::filesystem::path& path);

// Saves `file` atomically (core/files.h) with the transfer syntax `syntax`, and reads the
// written file back before the rename: DCMTK does not report every failed write (a full disk).
void save_dicom_file(DcmFileFormat& file, const std::filesystem::path& path,
                     E_TransferSyntax syntax);

}  // namespace medseg

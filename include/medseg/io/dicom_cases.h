// Cases made of DICOM series (one series per channel) for `medseg predict` and
// `medseg convert-dicom`, and the conversion of series to NIfTI with a record of where each
// file came from (dicom_series.json, docs/file-formats.md).
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "medseg/io/dicom_series.h"
#include "medseg/io/image.h"

namespace medseg {

struct DicomCase {
  std::string id;
  std::vector<DicomSeries> channels;  // in channel order
};

// The cases of a scanned folder. Without a channel map (empty path): one case per series, its
// id from dicom_case_ids; Error when num_channels is not 1. With a channel map, a JSON object
// {"<case id>": ["<SeriesInstanceUID of channel 0>", ...], ...}: each listed case, Error naming
// the map for a UID not in the folder, a list of another length than num_channels (<= 0: the
// first case's length) or an id that is not file-name safe; series the map does not name are
// left out with a log line. Sorted by id.
std::vector<DicomCase> dicom_cases(const DicomFolderScan& scan, int num_channels,
                                   const std::filesystem::path& channel_map);

// The channels of a case, read with read_dicom_series; Error naming the case and series when
// the channels differ in shape, geometry or Frame of Reference UID.
std::vector<Image> read_dicom_case(const DicomCase& c);

// What one case's series were: the record written beside converted or predicted files.
nlohmann::json dicom_case_record(const DicomCase& c);

struct DicomConversionOptions {
  std::filesystem::path input;        // folder of DICOM series
  std::filesystem::path output_dir;   // <case>_XXXX<file_ending> files are written here
  std::filesystem::path channel_map;  // optional, as in dicom_cases
  int num_channels = 0;               // 0: 1 without a channel map, else the map's
  std::string file_ending = ".nii.gz";
  // The record; empty: <output_dir's parent>/<output_dir's name>_dicom_series.json (outside the
  // folder, which then stays a valid imagesTr / imagesTs / prediction input).
  std::filesystem::path record_file;
  DicomCheckOptions checks;
};

struct DicomConversionResult {
  int cases = 0;
  int files = 0;
  std::filesystem::path record_file;
};

// Every case as <case>_XXXX<file_ending> (atomic writes; existing files of the same names are
// replaced), and the record: entries of files of earlier runs into the same folder that this
// run did not write again are kept.
DicomConversionResult convert_dicom(const DicomConversionOptions& options);

}  // namespace medseg

// Writes the synthetic DICOM inputs of dicom_output_cli.sh (no patient data):
//   medseg_dicom_fixture series <dir>  an oblique CT series with a non-unit rescale and a bright
//                                      ball in it (input for `medseg predict`)
//   medseg_dicom_fixture shapes <dir>  the same kind of series in <dir>/ct, a label map of test
//                                      shapes on its grid (<dir>/labels.nii.gz, names in
//                                      <dir>/labels.json), and that map written by medseg's
//                                      writers as <dir>/shapes.seg.dcm and
//                                      <dir>/shapes.rtstruct.dcm
//   medseg_dicom_fixture regions <dir> as shapes, for a region-based dataset: nested regions
//                                      whole [1, 2, 3] (a box), core [2, 3] (a ball), enh [3]
//                                      (a smaller ball) as dataset.json declares them
//                                      (<dir>/labels.json), written as <dir>/regions.seg.dcm and
//                                      <dir>/regions.rtstruct.dcm
// Every series is in ISO_IR 192 (UTF-8) with a patient name beyond ASCII, and a label name is too.
#include <torch/torch.h>

#include <cmath>
#include <iostream>
#include <string>

#include "medseg/core/error.h"
#include "medseg/core/files.h"
#include "medseg/io/dicom_rtstruct_writer.h"
#include "medseg/io/dicom_seg_writer.h"
#include "medseg/io/dicom_series.h"
#include "medseg/io/image.h"
#include "support/dicom_writer.h"

namespace {

using namespace medseg;

constexpr int64_t kSlices = 8, kRows = 24, kColumns = 28;

std::vector<testing::DicomSliceSpec> ball_series() {
  auto slices = testing::synthetic_ct_series(/*uid_seed=*/7, kSlices, kRows, kColumns);
  for (auto& s : slices) {
    s.character_set = "ISO_IR 192";
    s.patient_name = "M\xC3\xBCller^J\xC3\xB6rg";  // Müller^Jörg
  }
  for (int64_t k = 0; k < kSlices; ++k)
    for (int64_t y = 0; y < kRows; ++y)
      for (int64_t x = 0; x < kColumns; ++x) {
        const double r = std::hypot((k - 4.0) * 2.5, (y - 12.0) * 0.75, (x - 14.0) * 0.5);
        // Stored values: -1024 + 0.5 * stored = 0 HU outside, 600 HU inside a 5 mm ball.
        slices[k].pixels[y * kColumns + x] = static_cast<int16_t>(r < 5 ? 3248 : 2048 + (x % 5));
      }
  return slices;
}

// Test shapes, (slices, rows, columns) of the series: an axis-aligned box (1), a square ring
// with an island in its hole (2), islands touching only at corners and a C whose ends touch
// diagonally (3), a ball (4); label 5 has no voxel.
torch::Tensor shape_labels() {
  torch::Tensor l = torch::zeros({kSlices, kRows, kColumns}, torch::kUInt8);
  using torch::indexing::Slice;
  l.index_put_({Slice(1, 6), Slice(2, 8), Slice(2, 7)}, 1);
  l.index_put_({Slice(2, 7), Slice(10, 20), Slice(2, 12)}, 2);
  l.index_put_({Slice(2, 7), Slice(12, 18), Slice(4, 10)}, 0);
  l.index_put_({Slice(2, 7), Slice(14, 16), Slice(6, 8)}, 2);
  auto a = l.accessor<uint8_t, 3>();
  for (int64_t k = 0; k < kSlices; ++k) {
    a[k][2][12] = a[k][3][13] = a[k][2][14] = 3;                    // a diagonal chain
    for (int64_t x = 16; x < 21; ++x) a[k][2][x] = a[k][6][x] = 3;  // a C ...
    for (int64_t y = 2; y < 7; ++y) a[k][y][16] = 3;
    a[k][3][21] = a[k][5][21] = 3;  // ... whose ends touch the bars only diagonally
    a[k][9 + k % 3][14 + k % 2] = 3;
  }
  for (int64_t k = 0; k < kSlices; ++k)
    for (int64_t y = 0; y < kRows; ++y)
      for (int64_t x = 0; x < kColumns; ++x)
        if (std::hypot((k - 4.0) * 2.5, (y - 16.0) * 0.75, (x - 21.0) * 0.5) < 4.2) a[k][y][x] = 4;
  return l;
}

// Nested regions as a region-based model paints them (regions_class_order 1, 2, 3: the value
// of the innermost region): a box of 1, a ball of 2 in it, a smaller ball of 3 in that.
torch::Tensor region_labels() {
  torch::Tensor l = torch::zeros({kSlices, kRows, kColumns}, torch::kUInt8);
  using torch::indexing::Slice;
  l.index_put_({Slice(1, 7), Slice(3, 21), Slice(4, 24)}, 1);
  auto a = l.accessor<uint8_t, 3>();
  for (int64_t k = 0; k < kSlices; ++k)
    for (int64_t y = 0; y < kRows; ++y)
      for (int64_t x = 0; x < kColumns; ++x) {
        const double r = std::hypot((k - 4.0) * 2.5, (y - 12.0) * 0.75, (x - 14.0) * 0.5);
        if (r < 5.5) a[k][y][x] = 2;
        if (r < 3) a[k][y][x] = 3;
      }
  return l;
}

// Writes the series in <dir>/ct, `labels` on its grid and as SEG and RTSTRUCT <dir>/<stem>.*,
// and <dir>/labels.json (`json` with the names and values of `names`).
void write_case(const fs::path& dir, const std::string& stem, const torch::Tensor& labels,
                const std::vector<DicomOutputLabel>& names, nlohmann::json json) {
  testing::write_dicom_slices(ball_series(), dir / "ct");
  const DicomFolderScan scan = scan_dicom_folder(dir / "ct");
  const DicomSeries& series = scan.series.at(0);
  Image image;
  image.data = labels;
  image.geometry = series.geometry;
  write_label_image(image, dir / "labels.nii.gz");
  json["labels"] = nlohmann::json::object();
  for (const auto& n : names)
    json["labels"][n.name] = n.values.size() == 1 && !json.contains("regions_class_order")
                                 ? nlohmann::json(n.values[0])
                                 : nlohmann::json(n.values);
  write_json(dir / "labels.json", json);
  write_dicom_seg(image.data, series, names, dir / (stem + ".seg.dcm"));
  write_dicom_rtstruct(image.data, series, names, dir / (stem + ".rtstruct.dcm"));
}

int run(const std::string& mode, const fs::path& dir) {
  if (mode == "series") {
    testing::write_dicom_slices(ball_series(), dir);
    return 0;
  }
  if (mode == "shapes") {
    write_case(dir, "shapes", shape_labels(),
               {{{1}, "box"},
                {{2}, "ring with island"},
                {{3}, "islands"},
                {{4}, "ball L\xC3\xA4sion"},  // UTF-8, as the source series
                {{5}, "absent"}},
               nlohmann::json::object());
    return 0;
  }
  if (mode == "regions") {
    write_case(dir, "regions", region_labels(),
               {{{1, 2, 3}, "whole"}, {{2, 3}, "core"}, {{3}, "enh"}},
               {{"regions_class_order", {1, 2, 3}}});
    return 0;
  }
  std::cerr << "usage: medseg_dicom_fixture series|shapes|regions <dir>\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: medseg_dicom_fixture series|shapes|regions <dir>\n";
    return 2;
  }
  try {
    return run(argv[1], argv[2]);
  } catch (const std::exception& e) {
    std::cerr << "medseg_dicom_fixture: " << e.what() << "\n";
    return 1;
  }
}

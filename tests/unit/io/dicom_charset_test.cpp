// Character sets of the DICOM output: the source's SpecificCharacterSet carried over, label names
// beyond ASCII written as UTF-8 or refused with a reason; numbers written the same under any
// locale.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <clocale>
#include <string>

#include "medseg/core/error.h"
#include "medseg/core/files.h"
#include "medseg/io/dicom_output.h"
#include "medseg/io/dicom_rtstruct_writer.h"
#include "medseg/io/dicom_seg_writer.h"
#include "medseg/io/dicom_series.h"
#include "support/dicom_values.h"
#include "support/dicom_writer.h"
#include "support/error_of.h"
#include "support/temp_dir.h"

namespace medseg {
namespace {

using testing::error_of;
using ::testing::HasSubstr;

const std::string kUmlautName = "M\xC3\xBCller^J\xC3\xB6rg";  // Müller^Jörg in UTF-8
const std::string kUmlautLabel = "L\xC3\xA4sion";             // Läsion in UTF-8

TEST(DicomCharacterSet, NamesBeyondAsciiNeedUtf8) {
  const std::vector<DicomOutputLabel> ascii = {{{1}, "liver"}};
  const std::vector<DicomOutputLabel> wide = {{{1}, "liver"}, {{2}, kUmlautLabel}};
  EXPECT_EQ(dicom_output_character_set("", ascii, "x"), "");
  EXPECT_EQ(dicom_output_character_set("ISO_IR 100", ascii, "x"), "ISO_IR 100");
  EXPECT_EQ(dicom_output_character_set("ISO_IR 192", wide, "x"), "ISO_IR 192");
  // The default repertoire is ASCII, a subset of UTF-8.
  EXPECT_EQ(dicom_output_character_set("", wide, "x"), "ISO_IR 192");
  EXPECT_EQ(error_of([&] { dicom_output_character_set("ISO_IR 100", wide, "out.seg.dcm"); }),
            "out.seg.dcm: dataset.json label \"" + kUmlautLabel +
                "\" has characters beyond ASCII, which medseg writes as UTF-8 (ISO_IR 192), but "
                "the source series' SpecificCharacterSet is \"ISO_IR 100\", in which the patient "
                "and study text copied from it is written: one object cannot hold both. Rename "
                "the label in dataset.json to ASCII or give the series in ISO_IR 192");
  const std::vector<DicomOutputLabel> latin1 = {{{1}, "L\xE4sion"}};
  EXPECT_THAT(error_of([&] { dicom_output_character_set("ISO_IR 192", latin1, "x"); }),
              HasSubstr("x: the name of dataset.json label \"L\xE4sion\" is not UTF-8"));
}

class DicomCharsetOutput : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!dicom_support_available()) GTEST_SKIP() << "medseg built without DICOM support";
  }
  // A 3-slice series in `character_set` whose patient is `patient`, and a box of label 1.
  DicomSeries series(const std::string& character_set, const std::string& patient) {
    auto slices = testing::synthetic_ct_series(2, 3, 5, 6);
    for (auto& s : slices) {
      s.character_set = character_set;
      s.patient_name = patient;
    }
    const fs::path dir = tmp_ / ("ct" + std::to_string(++count_));
    testing::write_dicom_slices(slices, dir);
    return scan_dicom_folder(dir).series.at(0);
  }
  static torch::Tensor box() {
    torch::Tensor l = torch::zeros({3, 5, 6}, torch::kUInt8);
    using torch::indexing::Slice;
    l.index_put_({Slice(1, 2), Slice(1, 4), Slice(2, 5)}, 1);
    return l;
  }
  testing::TempDir tmp_;
  int count_ = 0;
};

TEST_F(DicomCharsetOutput, BothObjectsKeepTheSourcesCharacterSet) {
  const DicomSeries s = series("ISO_IR 192", kUmlautName);
  const std::vector<DicomOutputLabel> labels = {{{1}, "box"}};
  write_dicom_seg(box(), s, labels, tmp_ / "a.seg.dcm");
  write_dicom_rtstruct(box(), s, labels, tmp_ / "a.rtstruct.dcm");
  for (const char* name : {"a.seg.dcm", "a.rtstruct.dcm"}) {
    EXPECT_EQ(testing::dicom_value(tmp_ / name, 0x0008, 0x0005), "ISO_IR 192") << name;
    EXPECT_EQ(testing::dicom_value(tmp_ / name, 0x0010, 0x0010), kUmlautName) << name;
  }
}

TEST_F(DicomCharsetOutput, Utf8LabelNamesAreWrittenAsUtf8) {
  const std::vector<DicomOutputLabel> labels = {{{1}, kUmlautLabel}};
  // A UTF-8 source, and one in the default repertoire (ASCII): both objects declare ISO_IR 192.
  for (const std::string character_set : {"ISO_IR 192", ""}) {
    const DicomSeries s = series(character_set, "Synthetic^Phantom");
    write_dicom_seg(box(), s, labels, tmp_ / "b.seg.dcm");
    write_dicom_rtstruct(box(), s, labels, tmp_ / "b.rtstruct.dcm");
    EXPECT_EQ(testing::dicom_value(tmp_ / "b.seg.dcm", 0x0062, 0x0005), kUmlautLabel);
    EXPECT_EQ(testing::dicom_value(tmp_ / "b.rtstruct.dcm", 0x3006, 0x0026), kUmlautLabel);
    for (const char* name : {"b.seg.dcm", "b.rtstruct.dcm"})
      EXPECT_EQ(testing::dicom_value(tmp_ / name, 0x0008, 0x0005), "ISO_IR 192")
          << name << " from \"" << character_set << "\"";
  }
}

TEST_F(DicomCharsetOutput, Utf8LabelNamesAreRefusedForAnotherCharacterSet) {
  const DicomSeries s = series("ISO_IR 100", "Synthetic^Phantom");
  const std::vector<DicomOutputLabel> labels = {{{1}, kUmlautLabel}};
  const std::string reason = "dataset.json label \"" + kUmlautLabel +
                             "\" has characters beyond ASCII, which medseg writes as UTF-8";
  EXPECT_THAT(error_of([&] { write_dicom_seg(box(), s, labels, tmp_ / "c.seg.dcm"); }),
              HasSubstr("c.seg.dcm: " + reason));
  EXPECT_THAT(error_of([&] { write_dicom_rtstruct(box(), s, labels, tmp_ / "c.rtstruct.dcm"); }),
              HasSubstr("c.rtstruct.dcm: " + reason));
  EXPECT_FALSE(fs::exists(tmp_ / "c.seg.dcm"));
  EXPECT_FALSE(fs::exists(tmp_ / "c.rtstruct.dcm"));
}

// Contour points are Decimal Strings: "1.5", never "1,5" under a locale with a decimal comma.
// Needs such a locale installed (Debian: locales, de_DE.UTF-8); skipped without one.
TEST_F(DicomCharsetOutput, DecimalsIgnoreTheLocale) {
  const std::string previous = std::setlocale(LC_NUMERIC, nullptr);
  if (std::setlocale(LC_NUMERIC, "de_DE.UTF-8") == nullptr)
    GTEST_SKIP() << "no locale de_DE.UTF-8 to test with";
  const DicomSeries s = series("", "Synthetic^Phantom");
  const fs::path file = tmp_ / "d.rtstruct.dcm";
  const std::string error = error_of([&] { write_dicom_rtstruct(box(), s, {{{1}, "box"}}, file); });
  std::setlocale(LC_NUMERIC, previous.c_str());
  ASSERT_EQ(error, "no error");
  const std::string data = testing::dicom_value(file, 0x3006, 0x0050);
  EXPECT_THAT(data, HasSubstr("."));
  EXPECT_EQ(data.find(','), std::string::npos) << data;
}

}  // namespace
}  // namespace medseg

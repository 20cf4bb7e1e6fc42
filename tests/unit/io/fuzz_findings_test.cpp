// Inputs the fuzzers of tests/fuzz/ found (each was a crash or undefined behaviour before its
// fix), made here again: they must stay a medseg::Error naming the file.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstring>
#include <fstream>

#include "medseg/core/error.h"
#include "medseg/io/dataset.h"
#include "medseg/io/image.h"
#include "support/dataset_builder.h"
#include "support/error_of.h"
#include "support/temp_dir.h"

namespace medseg {
namespace {

using testing::error_of;
using ::testing::HasSubstr;

// NIfTI-1 stores vox_offset as a float: converting 1e30 to an offset was undefined behaviour.
TEST(IoFuzzFindings, NiftiVoxOffsetBeyondAnyFile) {
  testing::TempDir dir;
  write_image({torch::ones({2, 3, 4}), ImageGeometry::with_spacing({1, 1, 1})}, dir / "a.nii");
  std::fstream file(dir / "a.nii", std::ios::binary | std::ios::in | std::ios::out);
  const float offset = 1e30f;
  char bytes[4];
  std::memcpy(bytes, &offset, 4);
  file.seekp(108);
  file.write(bytes, 4);
  file.close();
  EXPECT_THAT(error_of([&] { read_image(dir / "a.nii"); }),
              HasSubstr("a.nii: corrupt NIfTI header: vox_offset 1e+30"));
}

// Keys read with nlohmann's get<>() threw its type_error (or cast 1e300 to int) instead of an
// Error naming dataset.json.
TEST(IoFuzzFindings, DatasetJsonKeysOfTheWrongType) {
  nlohmann::json j = testing::dataset_json(2);
  j["name"] = 5;
  EXPECT_EQ(error_of([&] { parse_dataset_json(j, "dataset.json"); }),
            "dataset.json: \"name\" must be a string, not 5");
  j = testing::dataset_json(2);
  j["file_ending"] = {".nii.gz"};
  EXPECT_EQ(error_of([&] { parse_dataset_json(j, "dataset.json"); }),
            "dataset.json: \"file_ending\" must be a string such as \".nii.gz\"");
  j = testing::dataset_json(2, {"T1"}, {{"background", 0}, {"whole", {1, 2}}, {"core", 2}});
  j["regions_class_order"] = {1, "2"};
  EXPECT_THAT(error_of([&] { parse_dataset_json(j, "dataset.json"); }),
              HasSubstr("dataset.json: key 'regions_class_order' has the wrong type"));
  j["regions_class_order"] = {1, 1e300};
  EXPECT_THAT(error_of([&] { parse_dataset_json(j, "dataset.json"); }),
              HasSubstr("dataset.json: key 'regions_class_order' must hold whole numbers"));
}

}  // namespace
}  // namespace medseg

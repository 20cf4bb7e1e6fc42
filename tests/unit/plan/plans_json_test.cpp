// plans.json as the planner writes it: it round-trips through the strict reader, and unknown
// or missing keys give errors naming the file and the key.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "medseg/core/error.h"
#include "medseg/core/files.h"
#include "medseg/io/plans.h"
#include "medseg/plan/planner.h"
#include "support/temp_dir.h"

namespace medseg {
namespace {

using ::testing::HasSubstr;

Plans planned() {
  DatasetFingerprint f;
  f.spacings = {{1.0, 0.8, 0.8}, {1.0, 0.8, 0.8}, {1.0, 0.8, 0.8}};
  f.shapes_after_crop = {{290, 512, 512}, {300, 512, 512}, {310, 512, 512}};
  f.foreground_intensity_properties_per_channel.resize(1);
  f.foreground_intensity_properties_per_channel[0].percentile_99_5 = 1200.5;
  const DatasetInfo info = parse_dataset_json({{"channel_names", {{"0", "CT"}}},
                                               {"labels", {{"background", 0}, {"liver", 1}}},
                                               {"numTraining", 3}},
                                              "dataset.json");
  return plan_experiment(f, info);  // 2d, 3d_fullres, 3d_lowres, 3d_cascade_fullres
}

std::string error_of(const nlohmann::json& j) {
  try {
    plans_from_json(j, "plans.json");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(PlansJson, RoundTripsEveryConfiguration) {
  testing::TempDir dir;
  const Plans plans = planned();
  ASSERT_EQ(plans.configurations.size(), 4u);
  write_plans(plans, dir / "plans.json");
  const Plans back = read_plans(dir / "plans.json");
  EXPECT_EQ(to_json(back), to_json(plans));
  EXPECT_EQ(back.configuration("3d_cascade_fullres").previous_stage,
            std::optional<std::string>("3d_lowres"));
  EXPECT_EQ(back.foreground_intensity_properties_per_channel.at(0).percentile_99_5, 1200.5);
}

TEST(PlansJson, UnknownKeysAreRejectedWithTheirPath) {
  nlohmann::json j = to_json(planned());
  j["configurations"]["3d_fullres"]["architecture"]["dropout"] = 0.1;
  EXPECT_THAT(
      error_of(j),
      HasSubstr("plans.json: unknown key 'configurations.3d_fullres.architecture.dropout'"));
  j = to_json(planned());
  j["comment"] = "hand edited";
  EXPECT_THAT(error_of(j), HasSubstr("plans.json: unknown key 'comment'"));
}

TEST(PlansJson, MissingKeysAreRejectedWithTheirPath) {
  nlohmann::json j = to_json(planned());
  j["configurations"]["2d"].erase("batch_size");
  EXPECT_THAT(error_of(j), HasSubstr("plans.json: missing key 'configurations.2d.batch_size'"));
  j = to_json(planned());
  j.erase("transpose_forward");
  EXPECT_THAT(error_of(j), HasSubstr("plans.json: missing key 'transpose_forward'"));
}

TEST(PlansJson, WrongTypesAndVersions) {
  nlohmann::json j = to_json(planned());
  j["configurations"]["2d"]["patch_size"] = "512x512";
  EXPECT_THAT(error_of(j), HasSubstr("key 'configurations.2d.patch_size' has the wrong type"));
  j = to_json(planned());
  j["schema_version"] = 99;
  EXPECT_THAT(error_of(j), HasSubstr("plans schema_version 99 is not supported"));
}

}  // namespace
}  // namespace medseg

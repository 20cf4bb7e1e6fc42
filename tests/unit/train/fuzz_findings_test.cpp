// Inputs the fuzzers of tests/fuzz/ found (each was a crash or undefined behaviour before its
// fix), made here again: they must stay a medseg::Error naming the checkpoint.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "medseg/core/error.h"
#include "medseg/train/training_state.h"
#include "support/error_of.h"
#include "support/plans_builder.h"

namespace medseg {
namespace {

using testing::error_of;
using ::testing::HasSubstr;

nlohmann::json fuzz_findings_meta() {
  return checkpoint_meta(TrainingState{}, RunIdentity{"3d_fullres", 0, 1}, TrainerSettings{},
                         testing::minimal_plans({1.0, 1.0, 1.0}));
}

// nlohmann's value() and get<int>() threw type_error (or cast 1e300 to int) on metadata keys
// of another type.
TEST(TrainFuzzFindings, CheckpointMetaKeysOfTheWrongType) {
  nlohmann::json meta = fuzz_findings_meta();
  ASSERT_EQ(checkpoint_record_from_meta(meta, "ckpt.pt").run.fold, 0);
  meta["format"] = 5;
  EXPECT_THAT(error_of([&] { checkpoint_record_from_meta(meta, "ckpt.pt"); }),
              HasSubstr("ckpt.pt: is not a medseg training checkpoint"));
  meta = fuzz_findings_meta();
  meta["fold"] = {1};
  EXPECT_THAT(error_of([&] { checkpoint_record_from_meta(meta, "ckpt.pt"); }),
              HasSubstr("ckpt.pt: key 'fold' has the wrong type"));
  meta["fold"] = 1e300;
  EXPECT_THAT(error_of([&] { checkpoint_record_from_meta(meta, "ckpt.pt"); }),
              HasSubstr("ckpt.pt: key 'fold' must hold whole numbers"));
  meta = fuzz_findings_meta();
  meta["version"] = -1e300;
  EXPECT_THAT(error_of([&] { checkpoint_record_from_meta(meta, "ckpt.pt"); }),
              HasSubstr("ckpt.pt: key 'version' must hold whole numbers"));
}

}  // namespace
}  // namespace medseg

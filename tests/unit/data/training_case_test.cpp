#include "medseg/data/training_case.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "medseg/core/error.h"
#include "unit/data/synthetic_cases.h"

namespace medseg {
namespace {

using ::testing::HasSubstr;

std::string error_of(const TrainingCase& c) {
  try {
    validate_training_case(c);
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(TrainingCase, ListsEveryLabelledVoxel) {
  const TrainingCase c = testing::box_case("a", {4, 4, 4}, {1, 2, 3}, {3, 3, 4}, 2);
  ASSERT_EQ(c.class_locations.size(), 1u);
  const at::Tensor& at2 = c.class_locations.at(2);
  EXPECT_EQ(at2.sizes(), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(testing::values(at2), (std::vector<int64_t>{1, 2, 3, 2, 2, 3}));
  EXPECT_EQ(error_of(c), "no error");
}

TEST(TrainingCase, NamesTheCaseAndTheProblem) {
  TrainingCase c = testing::box_case("case_7", {4, 4, 4}, {1, 1, 1}, {2, 2, 2});
  TrainingCase bad = c;
  bad.data = c.data.to(torch::kDouble);
  EXPECT_THAT(error_of(bad), HasSubstr("case case_7: data must be float32 (channels, spatial...)"));
  bad = c;
  bad.seg = c.seg.to(torch::kByte);
  EXPECT_THAT(error_of(bad), HasSubstr("seg must be int16 (1, spatial...) with the data's spatial sizes"));
  bad = c;
  bad.seg = c.seg.narrow(1, 0, 3);
  EXPECT_THAT(error_of(bad), HasSubstr("data is [1, 4, 4, 4], seg is Short [1, 3, 4, 4]"));
  bad = c;
  bad.class_locations[1] = torch::tensor({{1, 1, 4}}, torch::kLong);
  EXPECT_THAT(error_of(bad), HasSubstr("class_locations of label 1 has a coordinate outside"));
  bad.class_locations[1] = torch::tensor({{1, 1}}, torch::kLong);
  EXPECT_THAT(error_of(bad), HasSubstr("class_locations of label 1 must be int64 (n, 3)"));
}

TEST(TrainingCase, InMemorySourceValidatesAndServesShared) {
  std::vector<TrainingCase> cases{testing::box_case("a", {4, 4, 4}, {1, 1, 1}, {2, 2, 2})};
  InMemoryCaseSource source(std::move(cases));
  EXPECT_EQ(source.size(), 1u);
  EXPECT_EQ(source.get(0).get(), source.get(0).get());
  EXPECT_THAT([&] { source.get(1); },
              ::testing::ThrowsMessage<Error>(HasSubstr("case index 1 out of range (1 cases)")));
  EXPECT_THAT([] { InMemoryCaseSource empty(std::vector<TrainingCase>{}); },
              ::testing::ThrowsMessage<Error>(HasSubstr("no cases to sample from")));
}

}  // namespace
}  // namespace medseg

// io/torch_save.h: tensors written as torch.save writes them and read back by the strict reader
// (io/torch_archive.h): values, types, views into a storage, storages shared between tensors,
// the records of the archive.
#include "medseg/io/torch_save.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "medseg/io/pickle_writer.h"
#include "medseg/io/torch_archive.h"
#include "support/error_of.h"
#include "support/temp_dir.h"

namespace medseg {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(TorchSave, TensorsReadBackWithTheirValuesAndSharedStorages) {
  testing::TempDir dir;
  const at::Tensor weight = torch::arange(24, torch::kFloat).reshape({2, 3, 4}) / 7.0;
  const at::Tensor view = weight.select(2, 1);  // offset 1, strides (12, 4): not contiguous
  const at::Tensor half = torch::tensor({0.5, -2.0, 65504.0}, torch::kHalf);
  const at::Tensor index = torch::tensor({int64_t{-1}, int64_t{1} << 40}, torch::kLong);
  TorchSaveWriter writer;
  const PickleRef root = pickle_ordered_dict({{"weight", writer.tensor(weight, "weight")},
                                              {"alias", writer.tensor(weight, "alias")},
                                              {"view", writer.tensor(view, "view")},
                                              {"half", writer.tensor(half, "half")},
                                              {"index", writer.tensor(index, "index")}});
  const auto file = dir / "checkpoint_final.pth";
  writer.write(file, *root);

  const TorchArchive archive(file);
  const PickleValue& dict = archive.root();
  ASSERT_EQ(dict.entries.size(), 5u);
  EXPECT_TRUE(archive.tensor(*dict.find("weight"), "weight").equal(weight));
  EXPECT_TRUE(archive.tensor(*dict.find("alias"), "alias").equal(weight));
  EXPECT_TRUE(archive.tensor(*dict.find("view"), "view").equal(view));
  EXPECT_TRUE(archive.tensor(*dict.find("half"), "half").equal(half));
  EXPECT_TRUE(archive.tensor(*dict.find("index"), "index").equal(index));
  // One record per storage (weight, its alias and its view share one), named as torch.save does.
  const ZipReader zip(file);
  std::vector<std::string> names;
  for (const ZipEntry& e : zip.entries()) names.push_back(e.name);
  EXPECT_THAT(names, ElementsAre("checkpoint_final/data.pkl", "checkpoint_final/byteorder",
                                 "checkpoint_final/data/0", "checkpoint_final/data/1",
                                 "checkpoint_final/data/2", "checkpoint_final/version"));
  for (const ZipEntry& e : zip.entries()) EXPECT_EQ(e.method, 0) << e.name;  // stored
  EXPECT_EQ(zip.read(*zip.find("checkpoint_final/data/0"), 1 << 20).size(), 24u * 4u);
  EXPECT_EQ(zip.read(*zip.find("checkpoint_final/version"), 16), "3\n");
}

TEST(TorchSave, RefusesTensorsWithoutAStorageClass) {
  TorchSaveWriter writer;
  EXPECT_THAT(testing::error_of([&] {
                writer.tensor(torch::zeros({2}, torch::kComplexFloat), "network_weights['w']");
              }),
              HasSubstr("network_weights['w']: is a tensor of type ComplexFloat, for which "
                        "torch.save has no storage class"));
}

}  // namespace
}  // namespace medseg

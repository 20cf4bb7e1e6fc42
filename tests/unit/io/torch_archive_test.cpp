// io/torch_archive.h: a real checkpoint_final.pth of the reference nnU-Net (the committed
// fixture, tests/data/nnunet_results) and small torch.save-like archives built here with the
// storage records broken in each way a tensor can be.
#include "medseg/io/torch_archive.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "support/error_of.h"
#include "support/temp_dir.h"

namespace medseg {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using Kind = PickleValue::Kind;

std::string archive_hex_bytes(const std::string& hex) {
  std::string bytes;
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    bytes.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return bytes;
}

// Made with Python's pickle (protocol 2) and torch.save's persistent ids, storage '0' of 6
// floats: {'ok': view offset 1, size (2, 2), stride (3, 1); 'beyond': offset 0, size (3, 2),
// stride (3, 1) (reaches element 7); 'missing': a view of storage '7'; 'n': 5}.
const char* kViewsPickle =
    "80027d71002858020000006f6b710163746f7263682e5f7574696c730a5f72656275696c645f74656e736f72"
    "5f76320a71022828580700000073746f72616765710363746f7263680a466c6f617453746f726167650a7104"
    "5801000000307105580300000063707571064b06747107514b014b024b028671084b034b018671098963636f"
    "6c6c656374696f6e730a4f726465726564446963740a710a2952710b74710c52710d58060000006265796f6e"
    "64710e6802282868036804680568064b0674710f514b004b034b02867110680989680a295271117471125271"
    "1358070000006d697373696e6771146802282868036804580100000037711568064b06747116514b004b0285"
    "71174b0185711889680a2952711974711a52711b58010000006e711c4b05752e";

std::string float_bytes(int n) {
  std::string bytes(static_cast<size_t>(n) * 4, '\0');
  for (int i = 0; i < n; ++i) {
    const float v = static_cast<float>(i);
    std::memcpy(&bytes[static_cast<size_t>(i) * 4], &v, 4);
  }
  return bytes;
}

fs::path write_views_archive(const fs::path& path, const std::string& storage,
                             const std::string& byteorder = "little") {
  ZipWriter zip(path);
  zip.add_data("views/data.pkl", archive_hex_bytes(kViewsPickle), ZipMethod::kStore);
  zip.add_data("views/byteorder", byteorder, ZipMethod::kStore);
  zip.add_data("views/data/0", storage, ZipMethod::kStore);
  zip.finish();
  return path;
}

TEST(TorchArchive, RebuildsViewsOfAStorage) {
  testing::TempDir dir;
  const TorchArchive archive(write_views_archive(dir / "views.pth", float_bytes(6)));
  ASSERT_EQ(archive.root().kind, Kind::kDict);
  const at::Tensor ok = archive.tensor(*archive.root().find("ok"), "ok");
  EXPECT_TRUE(ok.equal(torch::tensor({{1.f, 2.f}, {4.f, 5.f}})));
  EXPECT_TRUE(ok.is_contiguous());
  EXPECT_FALSE(TorchArchive::is_tensor(*archive.root().find("n")));
  EXPECT_THAT(testing::error_of([&] { archive.tensor(*archive.root().find("n"), "n"); }),
              HasSubstr("views.pth: n is a int, not a tensor"));
}

TEST(TorchArchive, BoundsEveryTensorByItsStorageRecord) {
  using testing::error_of;
  testing::TempDir dir;
  const TorchArchive archive(write_views_archive(dir / "views.pth", float_bytes(6)));
  EXPECT_THAT(error_of([&] { archive.tensor(*archive.root().find("beyond"), "beyond"); }),
              HasSubstr("beyond: sizes and strides reach beyond its storage"));
  EXPECT_THAT(error_of([&] { archive.tensor(*archive.root().find("missing"), "missing"); }),
              HasSubstr("missing: storage record data/7 is missing"));
  const TorchArchive short_record(write_views_archive(dir / "short.pth", float_bytes(5)));
  EXPECT_THAT(error_of([&] { short_record.tensor(*short_record.root().find("ok"), "ok"); }),
              HasSubstr("short.pth: ok: storage record data/0 holds 20 bytes, not 6 elements"));
  EXPECT_THAT(
      error_of([&] { TorchArchive(write_views_archive(dir / "big.pth", float_bytes(6), "big")); }),
      HasSubstr("big.pth: records byte order 'big'"));
  ZipWriter zip(dir / "nopickle.pth");
  zip.add_data("x/data/0", float_bytes(1));
  zip.finish();
  EXPECT_THAT(error_of([&] { TorchArchive(dir / "nopickle.pth"); }),
              HasSubstr("nopickle.pth: holds no <name>/data.pkl"));
}

TEST(TorchArchive, ReadsTheReferenceCheckpoint) {
  const fs::path file = fs::path(MEDSEG_TEST_DATA_DIR) / "nnunet_results" /
                        "nnUNetTrainer__nnUNetPlans__2d" / "fold_0" / "checkpoint_final.pth";
  const TorchArchive archive(file);
  const PickleValue& root = archive.root();
  ASSERT_EQ(root.kind, Kind::kDict);
  ASSERT_NE(root.find("trainer_name"), nullptr);
  EXPECT_EQ(root.find("trainer_name")->text, "nnUNetTrainer");
  EXPECT_EQ(root.find("current_epoch")->integer, 1);
  // numpy scalars of the training log stay opaque objects: numpy's scalar(dtype, bytes).
  const PickleValue* best = root.find("_best_ema");
  ASSERT_NE(best, nullptr);
  EXPECT_EQ(best->kind, Kind::kObject);
  EXPECT_THAT(best->global_name(), HasSubstr("multiarray.scalar"));
  EXPECT_EQ(best->args->items.at(1)->kind, Kind::kBytes);
  double value = 0;
  std::memcpy(&value, best->args->items.at(1)->text.data(), sizeof value);
  EXPECT_DOUBLE_EQ(value, 0.25);
  // init_args.device is torch.device('cpu'): opaque too.
  const PickleValue* device = root.find("init_args")->find("device");
  ASSERT_NE(device, nullptr);
  EXPECT_EQ(device->global_name(), "torch.device");
  // The state_dict: a tensor and its second name (all_modules) share one storage.
  const PickleValue* weights = root.find("network_weights");
  ASSERT_NE(weights, nullptr);
  const at::Tensor conv =
      archive.tensor(*weights->find("encoder.stages.0.0.convs.0.conv.weight"), "conv");
  const at::Tensor same =
      archive.tensor(*weights->find("encoder.stages.0.0.convs.0.all_modules.0.weight"), "same");
  EXPECT_EQ(conv.dim(), 4);  // 2D: (out, in, ky, kx)
  EXPECT_EQ(conv.size(1), 1);
  EXPECT_TRUE(conv.equal(same));
  EXPECT_GT(conv.abs().sum().item<float>(), 0.f);
}

}  // namespace
}  // namespace medseg

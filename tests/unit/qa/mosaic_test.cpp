#include "medseg/qa/mosaic.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <torch/torch.h>
#include <unistd.h>

#include <array>
#include <string>

#include "medseg/core/files.h"
#include "medseg/qa/png.h"
#include "support/error_of.h"
#include "support/temp_dir.h"
#include "support/write_failures.h"

namespace medseg {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

using Rgb = std::array<int, 3>;

Rgb mosaic_test_pixel(const at::Tensor& rgb, int64_t row, int64_t column) {
  return {rgb[row][column][0].item<int>(), rgb[row][column][1].item<int>(),
          rgb[row][column][2].item<int>()};
}

// Label 2 (green, (60, 180, 75)) in the box z 1..4, y 8..23, x 10..19 of a (6, 32, 32) volume;
// the image 0 for x < 16 and 100 from x = 16 (so its window is [0, 100]). Tiles of 32 pixels
// map the 32 x 32 slices one to one.
MosaicInput mosaic_test_box() {
  MosaicInput input;
  input.image = torch::zeros({6, 32, 32});
  input.image.slice(2, 16) = 100.0f;
  input.labels = torch::zeros({6, 32, 32}, torch::kUInt8);
  input.labels.slice(0, 1, 5).slice(1, 8, 24).slice(2, 10, 20) = 2;
  input.spacing = {2.0, 1.0, 1.0};
  return input;
}

const MosaicOptions kMosaicTestOptions{/*max_slices=*/2, /*tile_pixels=*/32};

TEST(Mosaic, BoxContourHasTheLabelsColourAndTheInsideIsGrey) {
  testing::TempDir dir;
  write_mosaic_png(mosaic_test_box(), dir / "box.png", kMosaicTestOptions);
  const at::Tensor rgb = read_png_rgb(dir / "box.png");
  // Two slices (2 and 4: the centres of the halves of 1..4), one column, a 2-pixel gap.
  ASSERT_EQ(rgb.sizes(), (std::vector<int64_t>{2 * 32 + 2, 32, 3}));
  const Rgb green = {60, 180, 75}, black = {0, 0, 0}, white = {255, 255, 255};
  for (const int64_t top : {0, 34}) {
    EXPECT_EQ(mosaic_test_pixel(rgb, top + 8, 12), green);   // the box's top edge
    EXPECT_EQ(mosaic_test_pixel(rgb, top + 15, 19), green);  // its right edge
    EXPECT_EQ(mosaic_test_pixel(rgb, top + 23, 17), green);  // its bottom edge
    EXPECT_EQ(mosaic_test_pixel(rgb, top + 12, 12), black);  // inside, image 0
    EXPECT_EQ(mosaic_test_pixel(rgb, top + 12, 17), white);  // inside, image 100
    EXPECT_EQ(mosaic_test_pixel(rgb, top + 2, 25), white);   // outside the box
    EXPECT_EQ(mosaic_test_pixel(rgb, top + 7, 12), black);   // just outside the top edge
  }
  EXPECT_EQ(mosaic_test_pixel(rgb, 32, 12), black);  // the gap
}

TEST(Mosaic, HeatMapColumnShowsTheUncertaintyWithTheSameContours) {
  testing::TempDir dir;
  MosaicInput input = mosaic_test_box();
  input.uncertainty = torch::zeros({6, 32, 32});
  input.uncertainty.slice(2, 16) = 1.0f;
  write_mosaic_png(input, dir / "heat.png", kMosaicTestOptions);
  const at::Tensor rgb = read_png_rgb(dir / "heat.png");
  ASSERT_EQ(rgb.sizes(), (std::vector<int64_t>{2 * 32 + 2, 2 * 32 + 2, 3}));
  const int64_t heat = 34;  // the heat map's first column
  // matplotlib.colormaps['viridis'](0.0) and (1.0), times 255.
  EXPECT_EQ(mosaic_test_pixel(rgb, 2, heat + 5), (Rgb{68, 1, 84}));
  EXPECT_EQ(mosaic_test_pixel(rgb, 2, heat + 25), (Rgb{253, 231, 37}));
  EXPECT_EQ(mosaic_test_pixel(rgb, 8, heat + 12), (Rgb{60, 180, 75}));  // the contour
  EXPECT_EQ(mosaic_test_pixel(rgb, 12, heat + 12), (Rgb{68, 1, 84}));   // inside, uncertainty 0
  EXPECT_EQ(mosaic_test_pixel(rgb, 12, 33), (Rgb{0, 0, 0}));            // the gap
  EXPECT_EQ(mosaic_test_pixel(rgb, 12, 17), (Rgb{255, 255, 255}));      // the grey tile
}

TEST(Mosaic, HeatColoursFollowViridis) {
  // matplotlib.colormaps['viridis'](128 / 255), times 255: (33, 145, 140); 0.25 lies between
  // entries 32 and 64, matplotlib's own entry 64 being (59, 82, 139).
  EXPECT_EQ(mosaic_heat_colour(128 / 255.0), (std::array<uint8_t, 3>{33, 145, 140}));
  EXPECT_EQ(mosaic_heat_colour(64 / 255.0), (std::array<uint8_t, 3>{59, 82, 139}));
  EXPECT_EQ(mosaic_heat_colour(-3.0), mosaic_heat_colour(0.0));
  EXPECT_EQ(mosaic_heat_colour(7.0), mosaic_heat_colour(1.0));
  EXPECT_EQ(mosaic_heat_colour(std::nan("")), mosaic_heat_colour(0.0));
}

TEST(Mosaic, SlicesAreSpreadOverTheStructures) {
  // Slice z of 2..9 holds label z + 1 (a 6 x 6 square); 4 rows: the centres of the quarters of
  // 2..9 are slices 3, 5, 7, 9, so labels 4, 6, 8, 10.
  testing::TempDir dir;
  MosaicInput input;
  input.image = torch::zeros({12, 16, 16});
  input.labels = torch::zeros({12, 16, 16}, torch::kInt64);
  for (int64_t z = 2; z <= 9; ++z) input.labels[z].slice(0, 4, 10).slice(1, 4, 10) = z + 1;
  input.spacing = {1.0, 1.0, 1.0};
  write_mosaic_png(input, dir / "spread.png", {/*max_slices=*/4, /*tile_pixels=*/16});
  const at::Tensor rgb = read_png_rgb(dir / "spread.png");
  ASSERT_EQ(rgb.size(0), 4 * 16 + 3 * 2);
  for (int row = 0; row < 4; ++row) {
    const auto& colour = kMosaicLabelPalette[static_cast<size_t>(3 + 2 * row)];  // label 4 + 2 row
    EXPECT_EQ(mosaic_test_pixel(rgb, row * 18 + 4, 4), (Rgb{colour[0], colour[1], colour[2]}))
        << "row " << row;
  }
  // A structure in one slice only: one row.
  input.labels.zero_();
  input.labels[6].slice(0, 4, 10).slice(1, 4, 10) = 1;
  write_mosaic_png(input, dir / "one.png", {/*max_slices=*/4, /*tile_pixels=*/16});
  EXPECT_EQ(read_png_rgb(dir / "one.png").size(0), 16);
}

TEST(Mosaic, WithoutForegroundTheWholeVolumeIsShown) {
  testing::TempDir dir;
  MosaicInput input;
  input.image = torch::arange(7 * 10 * 10, torch::kFloat).reshape({7, 10, 10});
  input.labels = torch::zeros({7, 10, 10}, torch::kInt32);
  input.spacing = {3.0, 0.5, 0.5};
  write_mosaic_png(input, dir / "empty.png", {/*max_slices=*/5, /*tile_pixels=*/40});
  const at::Tensor rgb = read_png_rgb(dir / "empty.png");
  ASSERT_EQ(rgb.sizes(), (std::vector<int64_t>{5 * 40 + 4 * 2, 40, 3}));
  // Grey everywhere, and brighter with z (the image grows with the index).
  const at::Tensor channels = rgb.to(torch::kInt);
  EXPECT_TRUE(torch::equal(channels.select(2, 0), channels.select(2, 1)));
  EXPECT_TRUE(torch::equal(channels.select(2, 0), channels.select(2, 2)));
  EXPECT_LT(mosaic_test_pixel(rgb, 20, 20)[0], mosaic_test_pixel(rgb, 4 * 42 + 20, 20)[0]);
}

TEST(Mosaic, TwoDimensionalCaseHasSquarePixels) {
  testing::TempDir dir;
  MosaicInput input;
  input.image = torch::rand({1, 20, 40});
  input.labels = torch::zeros({1, 20, 40}, torch::kInt64);
  input.labels[0].slice(0, 5, 15).slice(1, 10, 30) = 1;
  input.spacing = {1.0, 1.0};  // (y, x) of a 2D image
  write_mosaic_png(input, dir / "flat.png", {/*max_slices=*/5, /*tile_pixels=*/48});
  EXPECT_EQ(read_png_rgb(dir / "flat.png").sizes(), (std::vector<int64_t>{24, 48, 3}));
  input.spacing = {999.0, 2.0, 1.0};  // 40 mm by 40 mm: a square tile
  write_mosaic_png(input, dir / "flat.png", {/*max_slices=*/5, /*tile_pixels=*/48});
  const at::Tensor rgb = read_png_rgb(dir / "flat.png");
  ASSERT_EQ(rgb.sizes(), (std::vector<int64_t>{48, 48, 3}));
  // Rows 5..14 of 20 become 12..35 of 48; column 10 of 40 becomes 12 of 48: red, label 1.
  EXPECT_EQ(mosaic_test_pixel(rgb, 12, 20), (Rgb{230, 25, 75}));
  EXPECT_EQ(mosaic_test_pixel(rgb, 24, 12), (Rgb{230, 25, 75}));
}

TEST(Mosaic, InconsistentInputIsAnErrorNamingTheFile) {
  testing::TempDir dir;
  const fs::path png = dir / "bad.png";
  MosaicInput input = mosaic_test_box();
  input.labels = torch::zeros({6, 32, 31}, torch::kUInt8);
  EXPECT_EQ(testing::error_of([&] { write_mosaic_png(input, png); }),
            png.string() + ": mosaic: the labels have shape [6, 32, 31] but the image [6, 32, 32]");
  input = mosaic_test_box();
  input.uncertainty = torch::zeros({5, 32, 32});
  EXPECT_THAT(testing::error_of([&] { write_mosaic_png(input, png); }),
              HasSubstr(png.string() + ": mosaic: the uncertainty has shape [5, 32, 32]"));
  input = mosaic_test_box();
  input.spacing = {1.0, 0.0, 1.0};
  EXPECT_THAT(testing::error_of([&] { write_mosaic_png(input, png); }),
              HasSubstr(png.string() + ": mosaic: the spacing must be"));
  input = mosaic_test_box();
  input.image = torch::zeros({32, 32});
  EXPECT_THAT(testing::error_of([&] { write_mosaic_png(input, png); }),
              HasSubstr(png.string() + ": mosaic: the image must be a (z, y, x)"));
  EXPECT_FALSE(fs::exists(png));
}

TEST(Mosaic, FailedWritesAreErrorsAndLeaveNoFile) {
  testing::TempDir dir;
  // A missing folder is made (write_atomically); a folder that cannot be made is an error.
  write_mosaic_png(mosaic_test_box(), dir / "new-folder" / "m.png", kMosaicTestOptions);
  EXPECT_EQ(read_png_rgb(dir / "new-folder" / "m.png").size(0), 66);
  write_text_atomically(dir / "a-file", "");
  const fs::path below_file = dir / "a-file" / "m.png";
  EXPECT_EQ(testing::error_of([&] {
              write_mosaic_png(mosaic_test_box(), below_file);
            }).rfind(below_file.string() + ": ", 0),
            0u);
  {
    const testing::FailWritesTo fail("full.png");
    const std::string error =
        testing::error_of([&] { write_mosaic_png(mosaic_test_box(), dir / "full.png"); });
    EXPECT_EQ(error.rfind((dir / "full.png").string() + ": could not write: ", 0), 0u) << error;
    EXPECT_THAT(error, HasSubstr("No space left on device"));
    EXPECT_EQ(testing::entries_in(dir.path()), 1u);  // a-file only
  }
}

TEST(Mosaic, WritingIntoAReadOnlyFolderIsAnError) {
  if (geteuid() == 0) GTEST_SKIP() << "root writes into read-only folders";
  testing::TempDir dir;
  const fs::path locked = dir / "locked";
  fs::create_directory(locked);
  ::chmod(locked.c_str(), 0555);
  const std::string error =
      testing::error_of([&] { write_mosaic_png(mosaic_test_box(), locked / "m.png"); });
  ::chmod(locked.c_str(), 0755);
  EXPECT_EQ(error.rfind((locked / "m.png").string() + ": ", 0), 0u) << error;
  EXPECT_EQ(testing::entries_in(locked), 0u);
}

TEST(Png, ReadingAMissingOrForeignFileIsAnErrorNamingIt) {
  testing::TempDir dir;
  EXPECT_EQ(testing::error_of([&] { read_png_rgb(dir / "none.png"); }),
            (dir / "none.png").string() + ": no such PNG file");
  write_text_atomically(dir / "text.png", "not a picture");
  EXPECT_THAT(testing::error_of([&] { read_png_rgb(dir / "text.png"); }),
              HasSubstr((dir / "text.png").string() + ": could not read PNG: "));
}

}  // namespace
}  // namespace medseg

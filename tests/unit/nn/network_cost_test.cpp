// The FLOP count of a forward pass: a small network by hand, and every planned shape against a
// count made from the built network's own convolution weights (2 x weights x voxels each).
#include "medseg/nn/network_cost.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <regex>
#include <string>

#include "medseg/core/error.h"
#include "medseg/nn/unet.h"
#include "unit/nn/test_architectures.h"

namespace medseg {
namespace {

using test::isotropic_strides;
using test::plain_architecture;

UNetOptions options_of(ArchitecturePlan a, int64_t in, int64_t classes, bool deep_supervision) {
  UNetOptions o;
  o.architecture = std::move(a);
  o.in_channels = in;
  o.num_classes = classes;
  o.deep_supervision = deep_supervision;
  return o;
}

// 2 x (weights x output voxels) of every convolution weight of the built network that runs
// (input voxels for the transposed convolutions), the voxels taken from where the module sits.
double flops_from_weights(const UNetOptions& o, const std::vector<int64_t>& patch) {
  const ArchitecturePlan& a = o.architecture;
  std::vector<double> voxels;
  std::vector<int64_t> shape = patch;
  for (int s = 0; s < a.n_stages; ++s) {
    double n = 1;
    for (size_t axis = 0; axis < shape.size(); ++axis)
      n *= static_cast<double>(shape[axis] /= a.strides[s][axis]);
    voxels.push_back(n);
  }
  const int n = a.n_stages;
  UNet net(o);
  const std::regex encoder(R"(encoder\.stages\.(\d+)\..*)"), stem(R"(encoder\.stem\..*)");
  const std::regex transposed(R"(decoder\.transpconvs\.(\d+)\..*)");
  const std::regex decoder(R"(decoder\.(stages|seg_layers)\.(\d+)\..*)");
  double flops = 0;
  int weights = 0;
  for (const auto& p : net->named_parameters()) {
    if (p.value().dim() != static_cast<int64_t>(patch.size()) + 2) continue;  // norms, biases
    const auto w = static_cast<double>(p.value().numel());
    std::smatch m;
    const std::string& name = p.key();
    if (std::regex_match(name, m, encoder)) {
      flops += 2 * w * voxels[std::stoi(m[1])];
    } else if (std::regex_match(name, m, stem)) {
      flops += 2 * w * voxels[0];
    } else if (std::regex_match(name, m, transposed)) {
      flops += 2 * w * voxels[n - 1 - std::stoi(m[1])];
    } else if (std::regex_match(name, m, decoder)) {
      const int level = n - 2 - std::stoi(m[2]);
      // Without deep supervision the heads above full resolution exist but never run.
      if (m[1] == "seg_layers" && level > 0 && !o.deep_supervision) continue;
      flops += 2 * w * voxels[level];
    } else {
      ADD_FAILURE() << "a convolution weight the test does not place: " << name;
    }
    ++weights;
  }
  EXPECT_GT(weights, 0);
  return flops;
}

TEST(NetworkCost, SmallNetworkByHand) {
  // 2D, 2 stages of 4 and 8 features, 3x3 kernels, 1 input channel, 3 classes, 8x8 patch.
  const UNetOptions o = options_of(plain_architecture({4, 8}, isotropic_strides(2, 2)), 1, 3, true);
  const double stage0 = 2.0 * 64 * 9 * 4 * (1 + 4);   // two convs at 8x8
  const double stage1 = 2.0 * 16 * 9 * 8 * (4 + 8);   // two convs at 4x4
  const double up = 2.0 * 16 * 8 * 4 * 4;             // 2x2 transposed conv from 4x4
  const double decoder = 2.0 * 64 * 9 * 4 * (8 + 4);  // concat (8) -> 4, then 4 -> 4
  const double head = 2.0 * 64 * 4 * 3;
  EXPECT_DOUBLE_EQ(forward_flops(o, {8, 8}), stage0 + stage1 + up + decoder + head);
  EXPECT_DOUBLE_EQ(training_iteration_flops(o, {8, 8}, 5), 15 * forward_flops(o, {8, 8}));
}

TEST(NetworkCost, PlainNetworksMatchTheirWeights) {
  ArchitecturePlan hippocampus = plain_architecture({32, 64, 128, 256}, isotropic_strides(4, 3));
  ArchitecturePlan anisotropic = plain_architecture({8, 16, 32}, {{1, 1, 1}, {1, 2, 2}, {2, 2, 2}},
                                                    {{1, 3, 3}, {3, 3, 3}, {3, 3, 3}});
  anisotropic.n_conv_per_stage = {1, 2, 3};
  anisotropic.n_conv_per_stage_decoder = {1, 3};  // uneven: the decoder's order matters
  for (bool ds : {true, false}) {
    const UNetOptions h = options_of(hippocampus, 1, 3, ds);
    EXPECT_DOUBLE_EQ(forward_flops(h, {40, 56, 40}), flops_from_weights(h, {40, 56, 40}));
    const UNetOptions an = options_of(anisotropic, 2, 4, ds);
    EXPECT_DOUBLE_EQ(forward_flops(an, {8, 16, 16}), flops_from_weights(an, {8, 16, 16}));
  }
}

TEST(NetworkCost, ResidualEncoderMatchesItsWeights) {
  ArchitecturePlan a = plain_architecture({8, 16, 32}, isotropic_strides(3, 3));
  a.network = "ResidualEncoderUNet";
  a.n_conv_per_stage = {1, 3, 2};
  const UNetOptions o = options_of(a, 2, 3, true);
  EXPECT_DOUBLE_EQ(forward_flops(o, {16, 16, 16}), flops_from_weights(o, {16, 16, 16}));
}

TEST(NetworkCost, RejectsPatchesTheNetworkCannotTake) {
  const UNetOptions o = options_of(plain_architecture({4, 8}, isotropic_strides(2, 3)), 1, 2, true);
  EXPECT_THROW(forward_flops(o, {8, 8}), Error);     // 2D patch, 3D network
  EXPECT_THROW(forward_flops(o, {8, 8, 9}), Error);  // 9 is not divisible by the stride 2
  EXPECT_GT(forward_flops(o, {8, 8, 8}), 0);
}

}  // namespace
}  // namespace medseg

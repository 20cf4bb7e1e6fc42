// Inputs the fuzzers of tests/fuzz/ found (each was a crash before its fix), made here again:
// they must stay a medseg::Error naming the checkpoint.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fstream>
#include <iterator>
#include <string>

#include "medseg/core/error.h"
#include "medseg/nn/checkpoint.h"
#include "support/error_of.h"
#include "support/temp_dir.h"

namespace medseg {
namespace {

using testing::error_of;

// A torch archive whose TorchScript code names a type it does not define: libtorch throws
// torch::jit::ErrorReport, which is no c10::Error, and it escaped read_checkpoint_meta.
TEST(NnFuzzFindings, CheckpointWithUnknownTorchScriptType) {
  testing::TempDir dir;
  torch::nn::Linear network(2, 3);
  torch::optim::SGD optimizer(network->parameters(), torch::optim::SGDOptions(0.01).momentum(0.9));
  network->forward(torch::ones({1, 2})).sum().backward();
  optimizer.step();
  save_checkpoint(dir / "a.pt", *network, &optimizer, {{"epoch", 1}});
  std::string bytes;
  {
    std::ifstream in(dir / "a.pt", std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  // The archive's entries are stored uncompressed, and libtorch does not check their CRC: now
  // the container check does (the same change with the CRC made to match reaches libtorch:
  // CheckpointContainer.ACraftedFileWithCorrectChecksumsReachesLibtorchAndIsStillAnError).
  const std::string declaration = "param_groups : __torch__.___torch_mangle_";
  const size_t at = bytes.find(declaration);
  ASSERT_NE(at, std::string::npos);
  bytes[at + declaration.size()] = '9';  // a type the archive does not have
  std::ofstream(dir / "b.pt", std::ios::binary) << bytes;
  EXPECT_THAT(error_of([&] { read_checkpoint_meta(dir / "b.pt"); }),
              ::testing::AllOf(::testing::StartsWith((dir / "b.pt").string() +
                                                     ": not a readable checkpoint: entry "),
                               ::testing::HasSubstr("CRC-32 mismatch")));
}

}  // namespace
}  // namespace medseg

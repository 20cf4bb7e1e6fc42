// What load_checkpoint checks before it trusts a checkpoint: the zip container (libtorch 1.13
// checks no CRC-32 and crashes on damaged records) and the optimizer state against the network
// (libtorch pairs states with parameters by position and takes buffers of any shape).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <zlib.h>

#include <cstdint>
#include <fstream>
#include <iterator>
#include <string>

#include "medseg/core/error.h"
#include "medseg/core/files.h"
#include "medseg/nn/checkpoint.h"
#include "support/error_of.h"
#include "support/file_bytes.h"
#include "support/temp_dir.h"

namespace medseg {
namespace {

using testing::error_of;
using ::testing::HasSubstr;
using ::testing::StartsWith;

uint32_t ckpt_le(const std::string& bytes, size_t at, int width) {
  uint32_t value = 0;
  for (int i = width - 1; i >= 0; --i)
    value = (value << 8) | static_cast<unsigned char>(bytes[at + static_cast<size_t>(i)]);
  return value;
}

void ckpt_put32(std::string& bytes, size_t at, uint32_t value) {
  for (int i = 0; i < 4; ++i)
    bytes[at + static_cast<size_t>(i)] = static_cast<char>(value >> (8 * i));
}

// Recomputes the CRC-32 of the record whose data holds byte `at` (stored or deflated) wherever
// the archive keeps it: its central directory record and its data descriptor or local header.
// A deliberately crafted file, not bit rot.
void ckpt_fix_crc(std::string& bytes, size_t at) {
  for (size_t c = bytes.find("PK\x01\x02"); c != std::string::npos;
       c = bytes.find("PK\x01\x02", c + 1)) {
    const size_t local = ckpt_le(bytes, c + 42, 4), compressed = ckpt_le(bytes, c + 20, 4);
    if (local + 30 > bytes.size() || bytes.compare(local, 4, "PK\x03\x04") != 0) continue;
    const size_t data = local + 30 + ckpt_le(bytes, local + 26, 2) + ckpt_le(bytes, local + 28, 2);
    if (at < data || at >= data + compressed) continue;
    std::string content = bytes.substr(data, compressed);
    if (ckpt_le(bytes, c + 10, 2) == 8) {  // deflated: the CRC is that of the inflated bytes
      std::string inflated(ckpt_le(bytes, c + 24, 4), '\0');
      z_stream z{};
      inflateInit2(&z, -15);
      z.next_in = reinterpret_cast<Bytef*>(content.data());
      z.avail_in = static_cast<uInt>(content.size());
      z.next_out = reinterpret_cast<Bytef*>(inflated.data());
      z.avail_out = static_cast<uInt>(inflated.size());
      inflate(&z, Z_FINISH);
      inflateEnd(&z);
      content = inflated;
    }
    const auto crc = static_cast<uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(content.data()),
                                                 static_cast<uInt>(content.size())));
    ckpt_put32(bytes, c + 16, crc);
    if (ckpt_le(bytes, local + 6, 2) & 8) {
      const size_t descriptor = data + compressed;
      ckpt_put32(bytes, descriptor + (ckpt_le(bytes, descriptor, 4) == 0x08074b50 ? 4 : 0), crc);
    } else {
      ckpt_put32(bytes, local + 14, crc);
    }
    return;
  }
  FAIL() << "no record holds byte " << at;
}

// A stepped SGD (momentum) or Adam state of `network`.
std::unique_ptr<torch::optim::Optimizer> ckpt_stepped_optimizer(torch::nn::Module& network,
                                                                bool adam) {
  std::unique_ptr<torch::optim::Optimizer> optimizer;
  if (adam)
    optimizer =
        std::make_unique<torch::optim::Adam>(network.parameters(), torch::optim::AdamOptions(0.01));
  else
    optimizer = std::make_unique<torch::optim::SGD>(network.parameters(),
                                                    torch::optim::SGDOptions(0.01).momentum(0.9));
  for (auto& p : network.parameters()) p.mutable_grad() = torch::ones_like(p);
  optimizer->step();
  return optimizer;
}

torch::nn::Sequential ckpt_network(int64_t outputs) {
  return torch::nn::Sequential(torch::nn::Linear(2, 3), torch::nn::Linear(3, outputs));
}

TEST(CheckpointOptimizerState, AStateThatFitsLoadsWithItsMomentum) {
  testing::TempDir dir;
  auto network = ckpt_network(1);
  auto optimizer = ckpt_stepped_optimizer(*network, false);
  save_checkpoint(dir / "a.pt", *network, optimizer.get(), {{"epoch", 3}});
  auto loaded = ckpt_network(1);
  torch::optim::SGD fresh(loaded->parameters(), torch::optim::SGDOptions(0.01).momentum(0.9));
  EXPECT_EQ(load_checkpoint(dir / "a.pt", *loaded, &fresh)["epoch"], 3);
  // (The state's keys differ between libtorch 1.13 and 2.x: found by the buffer's shape.)
  int found = 0;
  for (const auto& entry : fresh.state()) {
    const auto& state = static_cast<torch::optim::SGDParamState&>(*entry.second);
    if (!state.momentum_buffer().sizes().equals({1, 3})) continue;
    ++found;
    EXPECT_TRUE(torch::equal(state.momentum_buffer(), torch::ones({1, 3})));
  }
  EXPECT_EQ(found, 1);
}

TEST(CheckpointOptimizerState, BuffersOfOtherShapesAreAnErrorNamingTheFirstTensor) {
  // The network part fits, the optimizer state is that of a network with two outputs.
  testing::TempDir dir;
  for (const bool adam : {false, true}) {
    const fs::path file = dir / (adam ? "adam.pt" : "sgd.pt");
    auto network = ckpt_network(1);
    auto other = ckpt_network(2);
    auto other_optimizer = ckpt_stepped_optimizer(*other, adam);
    save_checkpoint(file, *network, other_optimizer.get(), {{"epoch", 3}});
    auto loaded = ckpt_network(1);
    std::unique_ptr<torch::optim::Optimizer> fresh;
    if (adam)
      fresh = std::make_unique<torch::optim::Adam>(loaded->parameters(),
                                                   torch::optim::AdamOptions(0.01));
    else
      fresh = std::make_unique<torch::optim::SGD>(loaded->parameters(),
                                                  torch::optim::SGDOptions(0.01).momentum(0.9));
    EXPECT_EQ(error_of([&] { load_checkpoint(file, *loaded, fresh.get()); }),
              file.string() + ": optimizer state: the " +
                  (adam ? "first moment" : "momentum buffer") +
                  " of tensor '1.weight' has shape [2, 3] in the checkpoint, but the network "
                  "built from the plans has [1, 3] (a checkpoint of another plan or "
                  "configuration?)");
    EXPECT_TRUE(fresh->state().empty()) << "the state that does not fit is dropped";
    // Without the optimizer, the same checkpoint's weights load.
    EXPECT_NO_THROW(load_checkpoint(file, *loaded));
  }
}

TEST(CheckpointOptimizerState, AnotherNumberOfParametersIsAnError) {
  testing::TempDir dir;
  torch::nn::Linear network(2, 3);
  torch::nn::Linear without_bias(torch::nn::LinearOptions(2, 3).bias(false));
  auto optimizer = ckpt_stepped_optimizer(*without_bias, false);
  save_checkpoint(dir / "a.pt", *network, optimizer.get(), {{"epoch", 1}});
  torch::optim::SGD fresh(network->parameters(), torch::optim::SGDOptions(0.01).momentum(0.9));
  EXPECT_EQ(error_of([&] { load_checkpoint(dir / "a.pt", *network, &fresh); }),
            (dir / "a.pt").string() +
                ": optimizer state does not fit this network's optimizer: loaded state dict "
                "contains a parameter group that has a different size than the optimizer's "
                "parameter group");
}

// A small checkpoint (with an optimizer state or without), and the network it loads into.
struct CkptSample {
  testing::TempDir dir;
  torch::nn::Linear network{2, 3};
  bool with_optimizer;
  std::string bytes;
  explicit CkptSample(bool optimizer_state = true) : with_optimizer(optimizer_state) {
    auto optimizer = ckpt_stepped_optimizer(*network, false);
    save_checkpoint(dir / "good.pt", *network, with_optimizer ? optimizer.get() : nullptr,
                    {{"epoch", 2}});
    bytes = testing::read_file_bytes(dir / "good.pt");
  }
  // load_checkpoint of `changed` into a fresh network (and SGD): "" when it loads the same
  // weights, "other weights" when it loads others, else the Error's message.
  std::string load(const std::string& changed, const std::string& name = "bad.pt") {
    testing::write_file_bytes(dir / name, changed);
    torch::nn::Linear fresh(2, 3);
    torch::optim::SGD optimizer(fresh->parameters(), torch::optim::SGDOptions(0.01).momentum(0.9));
    const std::string error = error_of(
        [&] { load_checkpoint(dir / name, *fresh, with_optimizer ? &optimizer : nullptr); });
    if (error != "no error") return error;
    const bool same =
        torch::equal(fresh->weight, network->weight) && torch::equal(fresh->bias, network->bias);
    return same ? "" : "other weights";
  }
};

TEST(CheckpointContainer, EveryChangedByteIsAnErrorOrChangesNothing) {
  // libtorch 1.13 crashed (SEGV in ScriptTypeParser) on single changed bytes of the code
  // records, and read a record marked as a folder (one bit of its attributes) as bytes it never
  // wrote. Every byte, changed in every bit by one of two masks: a clear Error naming the file,
  // or (for the bytes no reader looks at: times, padding, version fields) the same weights.
  // (Without optimizer state: the same kinds of records in a third of the bytes.)
  CkptSample sample(false);
  const std::string prefix = (sample.dir / "bad.pt").string() + ": not a readable checkpoint";
  size_t errors = 0;
  for (const int mask : {0x5A, 0xA5}) {
    for (size_t at = 0; at < sample.bytes.size(); ++at) {
      std::string changed = sample.bytes;
      changed[at] = static_cast<char>(changed[at] ^ mask);
      const std::string error = sample.load(changed);
      if (error.empty()) continue;
      ++errors;
      ASSERT_THAT(error, StartsWith(prefix)) << "byte " << at << " ^ " << mask;
    }
  }
  EXPECT_GT(errors, 2 * sample.bytes.size() * 2 / 3);  // padding and such are the rest
}

TEST(CheckpointContainer, TruncationAndMissingRecordsAreErrorsNamingTheFile) {
  CkptSample sample;
  const std::string bad = (sample.dir / "bad.pt").string() + ": not a readable checkpoint: ";
  for (const size_t keep : {size_t{0}, size_t{100}, sample.bytes.size() / 2,
                            sample.bytes.size() - 30, sample.bytes.size() - 1})
    EXPECT_THAT(sample.load(sample.bytes.substr(0, keep)), StartsWith(bad)) << keep;
  EXPECT_THAT(sample.load(sample.bytes.substr(0, sample.bytes.size() / 2)),
              HasSubstr("truncated or corrupt zip archive"));
  // A record renamed (its CRC intact): libtorch would not find it.
  std::string renamed = sample.bytes;
  for (size_t at = renamed.find("constants.pkl"); at != std::string::npos;
       at = renamed.find("constants.pkl", at + 1))
    renamed[at] = 'k';
  EXPECT_EQ(sample.load(renamed), bad + "record 'archive/constants.pkl' is missing");
  // Changed data: the record's CRC-32.
  std::string changed = sample.bytes;
  const size_t code = changed.find("class Module(Module):");
  ASSERT_NE(code, std::string::npos);
  changed[code] = 'k';
  EXPECT_THAT(sample.load(changed),
              ::testing::AllOf(StartsWith(bad), HasSubstr("CRC-32 mismatch")));
}

TEST(CheckpointContainer, ACraftedFileWithCorrectChecksumsReachesLibtorchAndIsStillAnError) {
  // Past the container checks only a file made to pass them: libtorch's own error for bad code
  // (torch::jit::ErrorReport, no c10::Error) is caught as well.
  CkptSample sample;
  std::string crafted = sample.bytes;
  const std::string declaration = "param_groups : __torch__.___torch_mangle_";
  const size_t at = crafted.find(declaration);
  ASSERT_NE(at, std::string::npos);
  crafted[at + declaration.size()] = '9';  // a type the archive does not have
  ckpt_fix_crc(crafted, at);
  EXPECT_EQ(sample.load(crafted), (sample.dir / "bad.pt").string() +
                                      ": not a readable checkpoint (corrupt or truncated?)");
}

}  // namespace
}  // namespace medseg

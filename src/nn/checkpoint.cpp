#include "medseg/nn/checkpoint.h"

#include <torch/torch.h>

#include "medseg/core/error.h"
#include "medseg/core/files.h"

namespace medseg {

namespace {

constexpr const char* kMetaKey = "medseg_meta";
constexpr const char* kNetworkKey = "network";
constexpr const char* kOptimizerKey = "optimizer";

torch::serialize::InputArchive open_archive(const fs::path& path) {
  if (!fs::exists(path)) throw Error(path.string(), "checkpoint not found");
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(path.string());
  } catch (const c10::Error& e) {
    throw Error(path.string(), "not a readable checkpoint (corrupt or truncated?)");
  }
  return archive;
}

nlohmann::json meta_of(torch::serialize::InputArchive& archive, const fs::path& path) {
  c10::IValue value;
  if (!archive.try_read(kMetaKey, value) || !value.isString())
    throw Error(path.string(), "checkpoint has no medseg metadata");
  try {
    return nlohmann::json::parse(value.toStringRef());
  } catch (const nlohmann::json::exception& e) {
    throw Error(path.string(), std::string("checkpoint metadata is not valid JSON: ") + e.what());
  }
}

}  // namespace

void save_checkpoint(const fs::path& path, torch::nn::Module& network,
                     torch::optim::Optimizer* optimizer, const nlohmann::json& meta) {
  torch::serialize::OutputArchive archive;
  torch::serialize::OutputArchive network_archive;
  network.save(network_archive);
  archive.write(kNetworkKey, network_archive);
  if (optimizer != nullptr) {
    torch::serialize::OutputArchive optimizer_archive;
    optimizer->save(optimizer_archive);
    archive.write(kOptimizerKey, optimizer_archive);
  }
  archive.write(kMetaKey, c10::IValue(meta.dump()));
  write_atomically(path, [&](const fs::path& tmp) { archive.save_to(tmp.string()); });
}

nlohmann::json read_checkpoint_meta(const fs::path& path) {
  auto archive = open_archive(path);
  return meta_of(archive, path);
}

nlohmann::json load_checkpoint(const fs::path& path, torch::nn::Module& network,
                               torch::optim::Optimizer* optimizer) {
  auto archive = open_archive(path);
  nlohmann::json meta = meta_of(archive, path);
  torch::serialize::InputArchive network_archive;
  if (!archive.try_read(kNetworkKey, network_archive))
    throw Error(path.string(), "checkpoint holds no network");
  try {
    network.load(network_archive);
  } catch (const c10::Error& e) {
    const std::string what = e.what_without_backtrace();
    throw Error(path.string(),
                "weights do not fit this network (a different plan or configuration?): " +
                    what.substr(0, what.find('\n')));
  }
  if (optimizer != nullptr) {
    torch::serialize::InputArchive optimizer_archive;
    if (!archive.try_read(kOptimizerKey, optimizer_archive))
      throw Error(path.string(),
                  "checkpoint holds no optimizer state (needed to continue training)");
    optimizer->load(optimizer_archive);
  }
  return meta;
}

}  // namespace medseg

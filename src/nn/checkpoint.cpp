#include "medseg/nn/checkpoint.h"

#include <torch/torch.h>

#include <algorithm>
#include <string>
#include <vector>

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

std::string shape_text(at::IntArrayRef sizes) {
  std::string text = "[";
  for (size_t i = 0; i < sizes.size(); ++i) text += (i ? ", " : "") + std::to_string(sizes[i]);
  return text + "]";
}

// Every parameter and buffer of `module` (and its children, recursively) against the archive
// it was saved into: the same names and shapes, nothing missing, nothing left over. libtorch's
// own load would take a tensor of another shape silently (it replaces the parameter) and fail
// only later, inside a forward pass.
void check_fits(torch::nn::Module& module, torch::serialize::InputArchive& archive,
                const std::string& prefix, const fs::path& path) {
  std::vector<std::string> expected;
  const auto check_tensor = [&](const std::string& name, const at::Tensor& own, bool is_buffer) {
    expected.push_back(name);
    at::Tensor stored;
    if (!archive.try_read(name, stored, is_buffer))
      throw Error(path.string(), "has no tensor '" + prefix + name +
                                     "', which this network has (a checkpoint of another "
                                     "network, plan or configuration?)");
    if (!stored.sizes().equals(own.sizes()))
      throw Error(path.string(), "tensor '" + prefix + name + "' has shape " +
                                     shape_text(stored.sizes()) +
                                     " in the checkpoint, but the network built from the plans "
                                     "has " +
                                     shape_text(own.sizes()) +
                                     " (a checkpoint of another plan or configuration?)");
  };
  for (const auto& p : module.named_parameters(/*recurse=*/false))
    check_tensor(p.key(), p.value(), false);
  for (const auto& b : module.named_buffers(/*recurse=*/false))
    check_tensor(b.key(), b.value(), true);
  for (const auto& child : module.named_children()) {
    expected.push_back(child.key());
    torch::serialize::InputArchive child_archive;
    if (!archive.try_read(child.key(), child_archive))
      throw Error(path.string(), "has no weights for '" + prefix + child.key() +
                                     "', which this network has (a checkpoint of another "
                                     "network, plan or configuration?)");
    check_fits(*child.value(), child_archive, prefix + child.key() + ".", path);
  }
  for (const std::string& key : archive.keys()) {
    if (std::find(expected.begin(), expected.end(), key) != expected.end()) continue;
    at::Tensor tensor;
    torch::serialize::InputArchive nested;
    const bool is_weight = archive.try_read(key, tensor) || archive.try_read(key, tensor, true) ||
                           archive.try_read(key, nested);
    if (is_weight)  // other attributes (a module's flags) are not weights
      throw Error(path.string(), "holds '" + prefix + key +
                                     "', which the network built from the plans does not have "
                                     "(a checkpoint of another network, plan or configuration?)");
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
  check_fits(network, network_archive, "", path);
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

#include "medseg/nn/checkpoint.h"

#include <torch/torch.h>

#include <algorithm>
#include <exception>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "medseg/core/error.h"
#include "medseg/core/files.h"
#include "medseg/io/zip_archive.h"

namespace medseg {

namespace {

constexpr const char* kMetaKey = "medseg_meta";
constexpr const char* kNetworkKey = "network";
constexpr const char* kOptimizerKey = "optimizer";

// The zip container of a checkpoint, checked before libtorch reads it: libtorch 1.13 checks no
// CRC-32, and its importer crashes on damaged records (a SEGV in ScriptTypeParser on one changed
// byte of a code record). So truncation, bit rot and any other change of bytes are an Error
// naming the file: every record's local header against the central directory, its data inside
// the file, its size and CRC-32; and the records libtorch reads first must be there, in one
// folder.
void check_container(const fs::path& path) {
  const std::string where = path.string();
  try {
    const ZipReader zip(path);
    if (zip.entries().empty()) throw Error(where, "the archive has no records");
    const std::string& first = zip.entries().front().name;
    const size_t slash = first.find('/');
    if (slash == std::string::npos || slash == 0)
      throw Error(where, "record '" + first + "' is not in the archive's folder");
    const std::string folder = first.substr(0, slash + 1);
    for (const ZipEntry& entry : zip.entries()) {
      if (entry.name.rfind(folder, 0) != 0)
        throw Error(where, "record '" + entry.name + "' lies outside the archive's folder '" +
                               folder + "'");
      // libtorch's reader gives a folder's record as that many bytes it never wrote.
      if (entry.marked_as_directory())
        throw Error(where, "record '" + entry.name + "' is marked as a folder");
    }
    for (const std::string record : {"data.pkl", "constants.pkl"})
      if (zip.find(folder + record) == nullptr)
        throw Error(where, "record '" + folder + record + "' is missing");
    if (zip.find(folder + "version") == nullptr && zip.find(folder + ".data/version") == nullptr)
      throw Error(where, "record '" + folder + "version' is missing");
    zip.verify();
  } catch (const Error& e) {
    std::string problem = e.what();
    if (problem.rfind(where + ": ", 0) == 0) problem.erase(0, where.size() + 2);
    throw Error(where, "not a readable checkpoint: " + problem);
  }
}

torch::serialize::InputArchive open_archive(const fs::path& path) {
  if (!fs::exists(path)) throw Error(path.string(), "checkpoint not found");
  check_container(path);
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(path.string());
  } catch (const std::exception& e) {  // c10::Error, or torch::jit::ErrorReport for bad code
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

// Every tensor of an archive by its dotted name, parameters and buffers alike.
void flatten(torch::serialize::InputArchive& archive, const std::string& prefix,
             std::map<std::string, at::Tensor>& out) {
  for (const std::string& key : archive.keys()) {
    at::Tensor tensor;  // undefined: try_read would otherwise write into it
    torch::serialize::InputArchive nested;
    if (archive.try_read(key, tensor) || archive.try_read(key, tensor, true))
      out[prefix + key] = tensor;
    else if (archive.try_read(key, nested))
      flatten(nested, prefix + key + ".", out);
  }
}

// The tensors of one parameter's optimizer state, by what they are (undefined ones included);
// empty for optimizers whose state is not known here.
std::vector<std::pair<std::string, at::Tensor>> state_tensors(
    torch::optim::OptimizerParamState& state) {
  if (auto* sgd = dynamic_cast<torch::optim::SGDParamState*>(&state))
    return {{"momentum buffer", sgd->momentum_buffer()}};
  if (auto* adam = dynamic_cast<torch::optim::AdamParamState*>(&state))
    return {{"first moment", adam->exp_avg()},
            {"second moment", adam->exp_avg_sq()},
            {"maximum second moment", adam->max_exp_avg_sq()}};
  if (auto* adamw = dynamic_cast<torch::optim::AdamWParamState*>(&state))
    return {{"first moment", adamw->exp_avg()},
            {"second moment", adamw->exp_avg_sq()},
            {"maximum second moment", adamw->max_exp_avg_sq()}};
  if (auto* adagrad = dynamic_cast<torch::optim::AdagradParamState*>(&state))
    return {{"sum of squared gradients", adagrad->sum()}};
  if (auto* rmsprop = dynamic_cast<torch::optim::RMSpropParamState*>(&state))
    return {{"square average", rmsprop->square_avg()},
            {"momentum buffer", rmsprop->momentum_buffer()},
            {"gradient average", rmsprop->grad_avg()}};
  return {};
}

// A parameter's state in libtorch's optimizer, keyed by its TensorImpl's address: printed in
// libtorch 1.13, the pointer itself in 2.x.
template <typename StateMap>
auto find_optimizer_state(StateMap& state, const at::Tensor& parameter) {
  if constexpr (std::is_same_v<typename StateMap::key_type, std::string>) {
    std::ostringstream key;
    key << parameter.unsafeGetTensorImpl();
    return state.find(key.str());
  } else {
    return state.find(parameter.unsafeGetTensorImpl());
  }
}

// The optimizer state just loaded against the parameters it now belongs to. libtorch pairs the
// stored states with the optimizer's parameters by position alone and takes tensors of any
// shape: a later step fails inside the optimizer, or broadcasts silently. Error naming the
// checkpoint and the first parameter whose state differs; the loaded state is dropped then.
void check_optimizer_state(torch::optim::Optimizer& optimizer, torch::nn::Module& network,
                           const fs::path& path) {
  std::map<const void*, std::string> names;
  for (const auto& p : network.named_parameters(/*recurse=*/true))
    names[p.value().unsafeGetTensorImpl()] = p.key();
  for (auto& group : optimizer.param_groups()) {
    for (const at::Tensor& parameter : group.params()) {
      const auto state = find_optimizer_state(optimizer.state(), parameter);
      if (state == optimizer.state().end() || !state->second) continue;
      for (const auto& [what, tensor] : state_tensors(*state->second)) {
        if (!tensor.defined() || tensor.sizes().equals(parameter.sizes())) continue;
        const auto name = names.find(parameter.unsafeGetTensorImpl());
        const std::string parameter_name =
            name == names.end() ? "(a parameter outside the network)" : "'" + name->second + "'";
        optimizer.state().clear();
        throw Error(path.string(), "optimizer state: the " + what + " of tensor " + parameter_name +
                                       " has shape " + shape_text(tensor.sizes()) +
                                       " in the checkpoint, but the network built from the plans "
                                       "has " +
                                       shape_text(parameter.sizes()) +
                                       " (a checkpoint of another plan or configuration?)");
      }
    }
  }
}

bool is_segmentation_head(const std::string& name) {
  return name.rfind("decoder.seg_layers.", 0) == 0;
}

}  // namespace

std::vector<std::string> load_pretrained_weights(const fs::path& path, torch::nn::Module& network) {
  auto archive = open_archive(path);
  meta_of(archive, path);  // a medseg checkpoint, not any torch archive
  torch::serialize::InputArchive network_archive;
  if (!archive.try_read(kNetworkKey, network_archive))
    throw Error(path.string(), "checkpoint holds no network");
  std::map<std::string, at::Tensor> stored;
  flatten(network_archive, "", stored);
  std::vector<std::pair<std::string, at::Tensor>> own;
  for (const auto& p : network.named_parameters(/*recurse=*/true))
    own.emplace_back(p.key(), p.value());
  for (const auto& b : network.named_buffers(/*recurse=*/true))
    own.emplace_back(b.key(), b.value());

  std::vector<std::string> skipped, problems;
  std::vector<std::pair<at::Tensor, at::Tensor>> copies;  // (network's, checkpoint's)
  std::set<std::string> used;
  for (const auto& [name, tensor] : own) {
    const auto it = stored.find(name);
    std::string difference;
    if (it == stored.end()) {
      difference = "'" + name + "' " + shape_text(tensor.sizes()) + " is not in the checkpoint";
    } else {
      used.insert(name);
      if (it->second.sizes().equals(tensor.sizes())) {
        copies.emplace_back(tensor, it->second);
        continue;
      }
      difference = "'" + name + "' is " + shape_text(it->second.sizes()) + " in the checkpoint, " +
                   shape_text(tensor.sizes()) + " in this network";
    }
    (is_segmentation_head(name) ? skipped : problems).push_back(difference);
  }
  for (const auto& [name, tensor] : stored) {
    if (used.count(name)) continue;
    const std::string difference = "'" + name + "' " + shape_text(tensor.sizes()) +
                                   " of the checkpoint is not in this network";
    (is_segmentation_head(name) ? skipped : problems).push_back(difference);
  }
  if (!problems.empty()) {
    std::string listed;
    for (std::size_t i = 0; i < problems.size() && i < 8; ++i) listed += "; " + problems[i];
    if (problems.size() > 8) listed += "; ... (" + std::to_string(problems.size() - 8) + " more)";
    throw Error(path.string(),
                "does not fit this network as initial weights: " + std::to_string(problems.size()) +
                    " tensor(s) outside the segmentation heads differ (only the heads may, for "
                    "another label count)" +
                    listed);
  }
  torch::NoGradGuard no_grad;
  for (auto& [mine, theirs] : copies) mine.copy_(theirs);
  return skipped;
}

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
  write_atomically(path, [&](const fs::path& tmp) {
    // Through a writer function that never reports a short write: libtorch's zip writer throws
    // from its destructor after one (std::terminate), so a full disk aborted the process. The
    // first failure is kept, the rest of the archive is not written, and it is thrown after.
    FileWriter out(tmp);
    std::exception_ptr failure;
    archive.save_to([&](const void* data, size_t size) -> size_t {
      if (!failure) {
        try {
          out.write(data, size);
        } catch (...) {
          failure = std::current_exception();
        }
      }
      return size;
    });
    if (failure) std::rethrow_exception(failure);
    out.close();
  });
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
    try {
      optimizer->load(optimizer_archive);
    } catch (const c10::Error& e) {
      const std::string what = e.what_without_backtrace();
      throw Error(path.string(), "optimizer state does not fit this network's optimizer: " +
                                     what.substr(0, what.find('\n')));
    }
    check_optimizer_state(*optimizer, network, path);
  }
  return meta;
}

}  // namespace medseg

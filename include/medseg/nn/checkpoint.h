// Checkpoint files (<model>/fold_<k>/checkpoint_{latest,best,final}.pt): the network's
// parameters and buffers, optionally the optimizer state, and a JSON document of metadata
// (epoch, EMA, seeds, configuration, plans). One torch archive, written atomically.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>

namespace torch::nn {
class Module;
}
namespace torch::optim {
class Optimizer;
}

namespace medseg {

// Writes network (+ optimizer when not null) + meta to `path` atomically: a crash while
// writing leaves the previous file intact.
void save_checkpoint(const std::filesystem::path& path, torch::nn::Module& network,
                     torch::optim::Optimizer* optimizer, const nlohmann::json& meta);

// The metadata alone (cheap: no tensors are copied into a network).
nlohmann::json read_checkpoint_meta(const std::filesystem::path& path);

// Loads the weights into `network` and, when not null, the optimizer state; returns the meta.
// Every stored tensor's name and shape is checked against the network first: a missing, extra
// or differently shaped tensor is an Error naming the file and that tensor.
nlohmann::json load_checkpoint(const std::filesystem::path& path, torch::nn::Module& network,
                               torch::optim::Optimizer* optimizer = nullptr);

}  // namespace medseg

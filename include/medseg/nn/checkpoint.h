// Checkpoint files (<model>/fold_<k>/checkpoint_{latest,best,final}.pt): the network's
// parameters and buffers, optionally the optimizer state, and a JSON document of metadata
// (epoch, EMA, seeds, configuration, plans). One torch archive, written atomically.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace torch::nn {
class Module;
}
namespace torch::optim {
class Optimizer;
}

namespace medseg {

// Writes network (+ optimizer when not null) + meta to `path` atomically: a crash while
// writing leaves the previous file intact; a failed write (a full disk) is an Error naming
// `path` and the reason.
void save_checkpoint(const std::filesystem::path& path, torch::nn::Module& network,
                     torch::optim::Optimizer* optimizer, const nlohmann::json& meta);

// The metadata alone (cheap: no tensors are copied into a network).
nlohmann::json read_checkpoint_meta(const std::filesystem::path& path);

// Loads the weights into `network` and, when not null, the optimizer state; returns the meta.
// Every stored tensor's name and shape is checked against the network first: a missing, extra
// or differently shaped tensor is an Error naming the file and that tensor.
nlohmann::json load_checkpoint(const std::filesystem::path& path, torch::nn::Module& network,
                               torch::optim::Optimizer* optimizer = nullptr);

// Initial weights for fine-tuning (the reference's load_pretrained_weights): every parameter
// and buffer of `network` is compared with the checkpoint's by name and shape first. When the
// only differences are in the segmentation heads (decoder.seg_layers: another label count, or
// deep supervision on one side only), those tensors keep the network's own initialisation and
// their names are returned, for the caller to say so; heads that fit are loaded (the reference
// re-initialises them always; keeping them helps fine-tuning on the same labels). Any other
// difference is an Error naming the file and every differing tensor with both shapes.
std::vector<std::string> load_pretrained_weights(const std::filesystem::path& path,
                                                 torch::nn::Module& network);

}  // namespace medseg

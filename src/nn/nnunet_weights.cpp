#include "medseg/nn/nnunet_weights.h"

#include <torch/torch.h>

#include <regex>
#include <set>

#include "medseg/core/error.h"

namespace medseg {

namespace {

std::string shape_of(const at::Tensor& t) {
  std::string text = "[";
  for (int64_t d = 0; d < t.dim(); ++d) text += (d ? ", " : "") + std::to_string(t.size(d));
  return text + "]";
}

// The reference's key of the tensor a duplicate key names (all_modules.0 is the conv, .1 the
// norm; decoder.encoder is the encoder).
std::string primary_key(const std::string& key) {
  static const std::regex all_modules(R"(\.all_modules\.0\.)"), all_norm(R"(\.all_modules\.1\.)");
  std::string k = key;
  if (k.rfind("decoder.encoder.", 0) == 0) k = k.substr(std::string("decoder.").size());
  k = std::regex_replace(k, all_modules, ".conv.");
  return std::regex_replace(k, all_norm, ".norm.");
}

}  // namespace

std::optional<std::string> nnunet_parameter_name(const std::string& key,
                                                 const std::string& network_class,
                                                 const std::string& where) {
  // One table: reference key pattern -> medseg name (empty: a second name of another key).
  static const std::regex duplicate(R"(^decoder\.encoder\..*|.*\.all_modules\.\d+\..*)");
  static const std::regex plain_stage(
      R"(^encoder\.stages\.(\d+)\.0\.convs\.(\d+)\.(conv|norm)\.(weight|bias)$)");
  static const std::regex res_stem(R"(^encoder\.stem\.convs\.(\d+)\.(conv|norm)\.(weight|bias)$)");
  static const std::regex res_conv(
      R"(^encoder\.stages\.(\d+)\.blocks\.(\d+)\.(conv1|conv2)\.(conv|norm)\.(weight|bias)$)");
  static const std::regex res_skip(
      R"(^encoder\.stages\.(\d+)\.blocks\.(\d+)\.skip\.\d+\.(conv|norm)\.(weight|bias)$)");
  static const std::regex decoder(
      R"(^decoder\.(stages\.\d+\.convs\.\d+\.(conv|norm)|transpconvs\.\d+|seg_layers\.\d+)\.(weight|bias)$)");
  std::smatch m;
  if (std::regex_match(key, duplicate)) return std::nullopt;
  const bool residual = network_class == "ResidualEncoderUNet";
  if (!residual && std::regex_match(key, m, plain_stage))
    return "encoder.stages." + m[1].str() + ".convs." + m[2].str() + "." + m[3].str() + "." +
           m[4].str();
  if (residual && (std::regex_match(key, res_stem) || std::regex_match(key, res_conv))) return key;
  if (residual && std::regex_match(key, m, res_skip))
    return "encoder.stages." + m[1].str() + ".blocks." + m[2].str() + ".skip_projection." +
           m[3].str() + "." + m[4].str();
  if (std::regex_match(key, decoder)) return key;
  throw Error(where, "network_weights key '" + key + "' is not a parameter of the reference's " +
                         network_class + " that medseg maps (another network or version?)");
}

void load_nnunet_weights(UNetImpl& network, const std::map<std::string, at::Tensor>& state_dict,
                         const std::string& where) {
  const std::string network_class = network.options().architecture.network;
  std::map<std::string, at::Tensor> mine;
  for (const auto& item : network.named_parameters()) mine.emplace(item.key(), item.value());
  for (const auto& item : network.named_buffers()) mine.emplace(item.key(), item.value());
  std::map<std::string, const at::Tensor*> given;  // medseg name -> reference tensor
  std::map<std::string, std::string> source;       // medseg name -> reference key
  for (const auto& [key, tensor] : state_dict) {
    const std::optional<std::string> name = nnunet_parameter_name(key, network_class, where);
    if (!name) {
      const auto primary = state_dict.find(primary_key(key));
      if (primary == state_dict.end())
        throw Error(where, "network_weights key '" + key + "' repeats '" + primary_key(key) +
                               "', which is missing");
      if (!primary->second.sizes().equals(tensor.sizes()) || !primary->second.equal(tensor))
        throw Error(where, "network_weights key '" + key + "' differs from '" + primary_key(key) +
                               "', the same tensor in the reference's network");
      continue;
    }
    const auto target = mine.find(*name);
    if (target == mine.end())
      throw Error(where, "network_weights key '" + key + "' (medseg '" + *name +
                             "') is not in the network the plans describe");
    if (!target->second.sizes().equals(tensor.sizes()))
      throw Error(where, "network_weights key '" + key + "' has shape " + shape_of(tensor) +
                             ", the network the plans describe has " + shape_of(target->second));
    if (!given.emplace(*name, &tensor).second)
      throw Error(where, "network_weights keys '" + source[*name] + "' and '" + key +
                             "' both give '" + *name + "'");
    source[*name] = key;
  }
  for (const auto& [name, tensor] : mine)
    if (!given.count(name))
      throw Error(where, "network_weights has no tensor for '" + name +
                             "' of the network the plans describe");
  torch::NoGradGuard no_grad;
  for (const auto& [name, tensor] : given) mine.at(name).copy_(*tensor);
}

}  // namespace medseg

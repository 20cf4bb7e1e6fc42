#include "medseg/nn/nnunet_weights.h"

#include <torch/torch.h>

#include <algorithm>
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

// "<module>.conv.weight" -> ("<module>", "conv.weight") for a conv-norm module's tensor, whose
// module the reference registers twice (all_modules); nullopt for other tensors.
std::optional<std::pair<std::string, std::string>> conv_norm_part(const std::string& key) {
  static const std::regex part(R"(^(.*)\.(conv|norm)\.(weight|bias)$)");
  std::smatch m;
  if (!std::regex_match(key, m, part)) return std::nullopt;
  return std::make_pair(m[1].str(), m[2].str() + "." + m[3].str());
}

// Where the reference registers a key: the encoder, its second name inside the decoder, then
// the decoder's stages, transpconvs and seg_layers (medseg registers transpconvs first).
int reference_key_group(const std::string& key) {
  if (key.rfind("encoder.", 0) == 0) return 0;
  if (key.rfind("decoder.encoder.", 0) == 0) return 1;
  if (key.rfind("decoder.stages.", 0) == 0) return 2;
  if (key.rfind("decoder.transpconvs.", 0) == 0) return 3;
  return 4;
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

std::string nnunet_reference_key(const std::string& name, const ArchitecturePlan& architecture,
                                 const std::string& where) {
  static const std::regex plain_stage(
      R"(^encoder\.stages\.(\d+)\.convs\.(\d+)\.(conv|norm)\.(weight|bias)$)");
  static const std::regex res_skip(
      R"(^encoder\.stages\.(\d+)\.blocks\.(\d+)\.skip_projection\.(conv|norm)\.(weight|bias)$)");
  std::smatch m;
  const bool residual = architecture.network == "ResidualEncoderUNet";
  std::string key;
  if (!residual && std::regex_match(name, m, plain_stage)) {
    key = "encoder.stages." + m[1].str() + ".0.convs." + m[2].str() + "." + m[3].str() + "." +
          m[4].str();
  } else if (residual && std::regex_match(name, m, res_skip)) {
    const auto stage = static_cast<size_t>(std::stoul(m[1].str()));
    bool strided = false;
    if (m[2].str() == "0" && stage < architecture.strides.size())
      for (const int s : architecture.strides[stage]) strided = strided || s != 1;
    key = "encoder.stages." + m[1].str() + ".blocks." + m[2].str() + ".skip." +
          (strided ? "1" : "0") + "." + m[3].str() + "." + m[4].str();
  } else {
    key = name;
  }
  // The forward map must give the name back: one table, read both ways.
  std::optional<std::string> back;
  try {
    back = nnunet_parameter_name(key, architecture.network, where);
  } catch (const Error&) {
  }
  if (!back || *back != name)
    throw Error(where, "parameter '" + name + "' of medseg's " + architecture.network +
                           " has no name in the reference's network");
  return key;
}

std::vector<std::pair<std::string, at::Tensor>> nnunet_state_dict(UNetImpl& network) {
  const ArchitecturePlan& architecture = network.options().architecture;
  const std::string where = "the " + architecture.network + " to export";
  std::vector<std::pair<std::string, at::Tensor>> primary;
  for (const auto& item : network.named_parameters())
    primary.emplace_back(nnunet_reference_key(item.key(), architecture, where),
                         item.value().detach());
  for (const auto& item : network.named_buffers())
    primary.emplace_back(nnunet_reference_key(item.key(), architecture, where),
                         item.value().detach());
  std::stable_sort(primary.begin(), primary.end(), [](const auto& a, const auto& b) {
    return reference_key_group(a.first) < reference_key_group(b.first);
  });
  // Each conv-norm module's tensors, then the same again as all_modules.0 (conv) / .1 (norm).
  std::vector<std::pair<std::string, at::Tensor>> keys, pending;
  std::string module;
  const auto flush = [&] {
    keys.insert(keys.end(), pending.begin(), pending.end());
    pending.clear();
  };
  for (const auto& [key, tensor] : primary) {
    const auto part = conv_norm_part(key);
    if (!part || part->first != module) flush();
    module = part ? part->first : "";
    keys.emplace_back(key, tensor);
    if (part) {
      const bool conv = part->second.rfind("conv.", 0) == 0;
      pending.emplace_back(part->first + ".all_modules." + (conv ? "0." : "1.") +
                               part->second.substr(part->second.find('.') + 1),
                           tensor);
    }
  }
  flush();
  // The decoder holds the encoder again (decoder.encoder.*): after the encoder's own keys.
  std::vector<std::pair<std::string, at::Tensor>> out;
  size_t i = 0;
  for (; i < keys.size() && reference_key_group(keys[i].first) == 0; ++i) out.push_back(keys[i]);
  const size_t encoder_end = out.size();
  for (size_t e = 0; e < encoder_end; ++e)
    out.emplace_back("decoder." + out[e].first, out[e].second);
  out.insert(out.end(), keys.begin() + static_cast<std::ptrdiff_t>(i), keys.end());
  return out;
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

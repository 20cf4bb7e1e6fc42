// The reference nnU-Net's network weights (the state_dict of dynamic_network_architectures'
// PlainConvUNet / ResidualEncoderUNet in a checkpoint_*.pth) loaded into medseg's UNet. The
// reference's parameter names are mapped to medseg's in one place, nnunet_parameter_name; the
// layer structure is the same, so every tensor maps one to one (shapes checked).
#pragma once

#include <ATen/core/Tensor.h>

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "medseg/nn/unet.h"

namespace medseg {

// The medseg parameter a reference state_dict key holds, or nullopt for the reference's second
// names of the same tensors (a module registered twice: "...all_modules.<i>...", the encoder
// again inside the decoder "decoder.encoder..."), which carry no weights of their own:
//   encoder.stages.<s>.0.convs.<i>.(conv|norm).*    -> encoder.stages.<s>.convs.<i>.(conv|norm).*
//   encoder.stem.convs.0.*                          -> encoder.stem.convs.0.*          (ResEnc)
//   encoder.stages.<s>.blocks.<j>.conv1|conv2.*     -> the same                         (ResEnc)
//   encoder.stages.<s>.blocks.<j>.skip.<i>.*        -> ...blocks.<j>.skip_projection.*  (ResEnc)
//   decoder.(stages|transpconvs|seg_layers).*       -> the same
// Keys of any other form are an Error naming `where` and the key.
std::optional<std::string> nnunet_parameter_name(const std::string& reference_key,
                                                 const std::string& network_class,
                                                 const std::string& where);

// Copies `state_dict` (reference key -> tensor) into `network`: every medseg parameter must be
// given exactly once with its shape, and every reference key must map (Error naming `where`
// and the first key that does not: missing, unknown, or of another shape). The second names
// of a tensor must hold the same values as the first.
void load_nnunet_weights(UNetImpl& network, const std::map<std::string, at::Tensor>& state_dict,
                         const std::string& where);

// The inverse of nnunet_parameter_name: the reference key of a medseg parameter of a network
// of `architecture` (ResEnc: the skip path's 1x1 conv is skip.1 behind the pooling of a strided
// block, skip.0 otherwise). Error naming `where` and the name when it has none.
std::string nnunet_reference_key(const std::string& medseg_name,
                                 const ArchitecturePlan& architecture, const std::string& where);

// `network`'s weights as the reference's state_dict holds them, the inverse of
// load_nnunet_weights: every key of the reference's network in its order (each conv-norm
// module's conv and norm, then their second names all_modules.0 / .1; the encoder, then its
// second names decoder.encoder.*; then decoder stages, transpconvs, seg_layers), the second
// names sharing the tensor of the first. Tensors are the network's own, detached, on its device.
std::vector<std::pair<std::string, at::Tensor>> nnunet_state_dict(UNetImpl& network);

}  // namespace medseg

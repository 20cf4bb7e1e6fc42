#include "medseg/nn/channels_last.h"

#include <ATen/Parallel.h>
#include <c10/util/BFloat16.h>
#include <torch/version.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <string>
#include <unordered_map>

#include "medseg/core/error.h"

#ifdef MEDSEG_WITH_ONEDNN
#include <oneapi/dnnl/dnnl.hpp>
#endif

namespace medseg::channels_last {

namespace {

thread_local bool cl_active = false;

void require_channels_last(const at::Tensor& x, const char* what) {
  if ((x.dim() != 4 && x.dim() != 5) || !x.is_contiguous(memory_format(x.dim())))
    throw Error("channels-last inference",
                std::string(what) + " needs a 4-D or 5-D channels-last tensor");
  if (x.scalar_type() != at::kFloat && x.scalar_type() != at::kBFloat16)
    throw Error("channels-last inference", std::string(what) + " computes in float32 or bfloat16");
}

std::vector<int64_t> output_sizes(const at::Tensor& x, const at::Tensor& w,
                                  const std::vector<int64_t>& stride,
                                  const std::vector<int64_t>& padding) {
  const auto spatial = static_cast<size_t>(x.dim() - 2);
  if (w.dim() != x.dim() || w.size(1) != x.size(1) || stride.size() != spatial ||
      padding.size() != spatial)
    throw Error("channels-last inference",
                "a convolution's weight, stride or padding does not fit its input");
  std::vector<int64_t> sizes = {x.size(0), w.size(0)};
  for (size_t i = 0; i < spatial; ++i)
    sizes.push_back((x.size(2 + i) + 2 * padding[i] - w.size(2 + i)) / stride[i] + 1);
  return sizes;
}

#ifdef MEDSEG_WITH_ONEDNN

dnnl::engine& cpu_engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

dnnl::memory::data_type dnnl_type(at::ScalarType type) {
  return type == at::kBFloat16 ? dnnl::memory::data_type::bf16 : dnnl::memory::data_type::f32;
}

at::Tensor onednn_convolution(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b,
                              const std::vector<int64_t>& stride,
                              const std::vector<int64_t>& padding, const at::Tensor& accumulate,
                              const std::vector<int64_t>& out_sizes) {
  using dnnl::memory;
  using tag = memory::format_tag;
  const bool three_d = x.dim() == 5;
  const tag activation = three_d ? tag::ndhwc : tag::nhwc;
  const memory::data_type type = dnnl_type(x.scalar_type());
  const memory::dims src_dims(x.sizes().begin(), x.sizes().end());
  const memory::dims weight_dims(w.sizes().begin(), w.sizes().end());
  const memory::desc src_md(src_dims, type, activation);
  const memory::desc dst_md(out_sizes, type, activation);
  const memory::desc any_weights(weight_dims, type, tag::any);
  const memory::desc bias_md =
      b.defined() ? memory::desc({w.size(0)}, memory::data_type::f32, tag::a) : memory::desc();
  const dnnl::convolution_forward::desc op(dnnl::prop_kind::forward_inference,
                                           dnnl::algorithm::convolution_direct, src_md, any_weights,
                                           bias_md, dst_md, stride, padding, padding);
  dnnl::primitive_attr attr;
  if (accumulate.defined()) {
    dnnl::post_ops sum;
    sum.append_sum(1.0f);
    attr.set_post_ops(sum);
  }
  dnnl::engine& engine = cpu_engine();
  const dnnl::convolution_forward::primitive_desc pd(op, attr, engine);
  dnnl::stream stream(engine);

  const at::Tensor wc = w.contiguous();
  memory user_weights({weight_dims, type, three_d ? tag::oidhw : tag::oihw}, engine, wc.data_ptr());
  memory weights = user_weights;
  if (pd.weights_desc() != user_weights.get_desc()) {
    weights = memory(pd.weights_desc(), engine);
    dnnl::reorder(user_weights, weights).execute(stream, user_weights, weights);
  }
  at::Tensor y = accumulate.defined()
                     ? accumulate
                     : at::empty(out_sizes, x.options().memory_format(memory_format(x.dim())));
  memory src(src_md, engine, x.data_ptr());
  memory dst(dst_md, engine, y.data_ptr());
  std::unordered_map<int, memory> args{
      {DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_DST, dst}};
  at::Tensor bias;
  if (b.defined()) {
    bias = b.to(at::kFloat).contiguous();
    args.insert({DNNL_ARG_BIAS, memory(bias_md, engine, bias.data_ptr())});
  }
  dnnl::convolution_forward(pd).execute(stream, args);
  stream.wait();
  return y;
}

#endif

thread_local int64_t cl_convolutions = 0;

// Each of `chunks` parts of [0, count) in parallel: body(part, first, last).
template <typename Body>
void over_parts(int64_t count, int64_t chunks, const Body& body) {
  at::parallel_for(0, chunks, 1, [&](int64_t first, int64_t last) {
    for (int64_t k = first; k < last; ++k) body(k, count * k / chunks, count * (k + 1) / chunks);
  });
}

// Element access that the compiler vectorizes: bfloat16 as the high half of a float's bits
// (stores round to nearest even, as c10::BFloat16 does for finite values).
inline float load(const float* p) {
  return *p;
}
inline float load(const uint16_t* p) {
  const uint32_t bits = static_cast<uint32_t>(*p) << 16;
  float v;
  std::memcpy(&v, &bits, sizeof v);
  return v;
}
inline void store(float* p, float v) {
  *p = v;
}
inline void store(uint16_t* p, float v) {
  uint32_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  const uint32_t rounded = (bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16;
  *p = static_cast<uint16_t>(v != v ? 0x7FC0u : rounded);  // NaN stays NaN
}

// The instance norm's loops over (voxels, channels) rows: compiled twice, for AVX-512 and for
// the baseline x86-64 of the build, and picked at run time (memory-bound at AVX-512's width,
// several times slower scalar).
#if defined(__GNUC__) && defined(__x86_64__)
#define MEDSEG_CL_INLINE inline __attribute__((always_inline))
#define MEDSEG_CL_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma")))
bool cpu_has_avx512() {
  static const bool has = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                          __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
  return has;
}
#else
#define MEDSEG_CL_INLINE inline
#define MEDSEG_CL_AVX512
bool cpu_has_avx512() {
  return false;
}
#endif

// block[c] += row values (centre == nullptr) or their squared distances to centre[c], over
// rows [first, last).
template <typename T>
MEDSEG_CL_INLINE void add_rows(const T* __restrict data, int64_t first, int64_t last,
                               int64_t channels, const float* __restrict centre,
                               float* __restrict block) {
  for (int64_t u = first; u < last; ++u) {
    const T* __restrict row = data + u * channels;
    if (centre == nullptr) {
      for (int64_t c = 0; c < channels; ++c) block[c] += load(row + c);
    } else {
      for (int64_t c = 0; c < channels; ++c) {
        const float d = load(row + c) - centre[c];
        block[c] += d * d;
      }
    }
  }
}

// row = leaky_relu(row * scale + shift) (negative = 1: no activation), rows [first, last).
template <typename T>
MEDSEG_CL_INLINE void apply_rows(T* __restrict data, int64_t first, int64_t last, int64_t channels,
                                 const float* __restrict scale, const float* __restrict shift,
                                 float negative) {
  for (int64_t u = first; u < last; ++u) {
    T* __restrict row = data + u * channels;
    for (int64_t c = 0; c < channels; ++c) {
      const float y = load(row + c) * scale[c] + shift[c];
      store(row + c, std::max(y, 0.0f) + negative * std::min(y, 0.0f));
    }
  }
}

template <typename T>
MEDSEG_CL_AVX512 void add_rows_avx512(const T* data, int64_t first, int64_t last, int64_t channels,
                                      const float* centre, float* block) {
  add_rows(data, first, last, channels, centre, block);
}
template <typename T>
MEDSEG_CL_AVX512 void apply_rows_avx512(T* data, int64_t first, int64_t last, int64_t channels,
                                        const float* scale, const float* shift, float negative) {
  apply_rows(data, first, last, channels, scale, shift, negative);
}

// Per channel, over the rows [first, last): the sums of the values (centre == nullptr) or of
// their squared distances to centre[c], accumulated in float over 256 rows, then in double.
template <typename T>
void channel_sums(const T* data, int64_t first, int64_t last, int64_t channels, const float* centre,
                  double* out) {
  constexpr int64_t kBlock = 256;
  std::vector<float> block(static_cast<size_t>(channels));
  const bool wide = cpu_has_avx512();
  for (int64_t v = first; v < last; v += kBlock) {
    std::fill(block.begin(), block.end(), 0.0f);
    const int64_t end = std::min(last, v + kBlock);
    if (wide)
      add_rows_avx512(data, v, end, channels, centre, block.data());
    else
      add_rows(data, v, end, channels, centre, block.data());
    for (int64_t c = 0; c < channels; ++c) out[c] += block[c];
  }
}

template <typename T>
void instance_norm_sample(T* data, int64_t voxels, int64_t channels, const float* weight,
                          const float* bias, double eps, bool activation, float slope) {
  const int64_t parts = std::max<int64_t>(
      1, std::min<int64_t>(voxels / 4096 + 1, 4 * static_cast<int64_t>(at::get_num_threads())));
  const auto reduce = [&](const float* centre) {
    std::vector<double> partial(static_cast<size_t>(parts * channels), 0.0);
    over_parts(voxels, parts, [&](int64_t k, int64_t first, int64_t last) {
      channel_sums(data, first, last, channels, centre, partial.data() + k * channels);
    });
    std::vector<double> total(static_cast<size_t>(channels), 0.0);
    for (int64_t k = 0; k < parts; ++k)
      for (int64_t c = 0; c < channels; ++c) total[c] += partial[k * channels + c];
    return total;
  };
  std::vector<double> mean = reduce(nullptr);
  std::vector<float> mean_f(static_cast<size_t>(channels));
  for (int64_t c = 0; c < channels; ++c) {
    mean[c] /= static_cast<double>(voxels);
    mean_f[c] = static_cast<float>(mean[c]);
  }
  // Two passes, as a centred variance: no cancellation when the mean dwarfs the spread.
  const std::vector<double> squares = reduce(mean_f.data());
  std::vector<float> scale(static_cast<size_t>(channels)), shift(static_cast<size_t>(channels));
  for (int64_t c = 0; c < channels; ++c) {
    const double inverse_std = 1.0 / std::sqrt(squares[c] / static_cast<double>(voxels) + eps);
    scale[c] = static_cast<float>(weight[c] * inverse_std);
    shift[c] = static_cast<float>(bias[c] - mean[c] * weight[c] * inverse_std);
  }
  const float negative = activation ? slope : 1.0f;
  const bool wide = cpu_has_avx512();
  over_parts(voxels, parts, [&](int64_t, int64_t first, int64_t last) {
    if (wide)
      apply_rows_avx512(data, first, last, channels, scale.data(), shift.data(), negative);
    else
      apply_rows(data, first, last, channels, scale.data(), shift.data(), negative);
  });
}

}  // namespace

bool available() {
#if defined(MEDSEG_WITH_ONEDNN) || TORCH_VERSION_MAJOR >= 2
  return true;
#else
  return false;
#endif
}

int64_t convolutions_run() {
  return cl_convolutions;
}

ChannelsLastScope::ChannelsLastScope() : previous_(cl_active) {
  cl_active = true;
}
ChannelsLastScope::~ChannelsLastScope() {
  cl_active = previous_;
}
bool active() {
  return cl_active;
}

at::MemoryFormat memory_format(int64_t dims) {
  return dims == 5 ? at::MemoryFormat::ChannelsLast3d : at::MemoryFormat::ChannelsLast;
}

at::Tensor convolution(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b,
                       const std::vector<int64_t>& stride, const std::vector<int64_t>& padding,
                       const at::Tensor& accumulate) {
  require_channels_last(x, "a convolution");
  const std::vector<int64_t> out_sizes = output_sizes(x, w, stride, padding);
  if (accumulate.defined()) {
    require_channels_last(accumulate, "a convolution's sum");
    if (accumulate.sizes().vec() != out_sizes || accumulate.scalar_type() != x.scalar_type())
      throw Error("channels-last inference", "a convolution's sum has another shape or dtype");
  }
  ++cl_convolutions;
#ifdef MEDSEG_WITH_ONEDNN
  try {
    return onednn_convolution(x, w.to(x.scalar_type()), b, stride, padding, accumulate, out_sizes);
  } catch (const dnnl::error& e) {
    throw Error("channels-last inference",
                std::string("oneDNN could not run a convolution of input ") + c10::str(x.sizes()) +
                    " in " + c10::toString(x.scalar_type()) + ": " + e.what());
  }
#else
  // libtorch 2.x keeps a channels-last input channels-last through oneDNN (no reorders).
  const std::vector<int64_t> ones(stride.size(), 1), zeros(stride.size(), 0);
  const at::Tensor bias = b.defined() ? b.to(x.scalar_type()) : b;
  at::Tensor y = at::convolution(x, w.to(x.scalar_type()).contiguous(memory_format(x.dim())), bias,
                                 stride, padding, ones, /*transposed=*/false, zeros, /*groups=*/1)
                     .contiguous(memory_format(x.dim()));
  return accumulate.defined() ? accumulate.add_(y) : y;
#endif
}

void instance_norm_(at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias, double eps,
                    bool activation, double negative_slope) {
  require_channels_last(x, "an instance norm");
  const int64_t n = x.size(0), channels = x.size(1);
  const int64_t voxels = x.numel() / std::max<int64_t>(1, n * channels);
  const at::Tensor w = weight.to(at::kFloat).contiguous(), b = bias.to(at::kFloat).contiguous();
  if (w.numel() != channels || b.numel() != channels)
    throw Error("channels-last inference", "an instance norm's parameters do not fit its input");
  for (int64_t sample = 0; sample < n; ++sample) {
    if (x.scalar_type() == at::kBFloat16)
      instance_norm_sample(
          reinterpret_cast<uint16_t*>(x.data_ptr<c10::BFloat16>()) + sample * voxels * channels,
          voxels, channels, w.data_ptr<float>(), b.data_ptr<float>(), eps, activation,
          static_cast<float>(negative_slope));
    else
      instance_norm_sample(x.data_ptr<float>() + sample * voxels * channels, voxels, channels,
                           w.data_ptr<float>(), b.data_ptr<float>(), eps, activation,
                           static_cast<float>(negative_slope));
  }
}

at::Tensor upsample(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b) {
  require_channels_last(x, "an upsampling");
  const int64_t dims = x.dim() - 2, n = x.size(0), in = x.size(1), out = w.size(1);
  if (w.dim() != x.dim() || w.size(0) != in)
    throw Error("channels-last inference", "an upsampling's weight does not fit its input");
  std::array<int64_t, 3> k{1, 1, 1}, s{1, 1, 1};
  std::vector<int64_t> to_rows = {0}, weight_order = {0}, out_sizes = {n, out};
  for (int64_t axis = 0; axis < dims; ++axis) {
    k[3 - dims + axis] = w.size(2 + axis);
    s[3 - dims + axis] = x.size(2 + axis);
    to_rows.push_back(2 + axis);
    weight_order.push_back(2 + axis);
    out_sizes.push_back(x.size(2 + axis) * w.size(2 + axis));
  }
  to_rows.push_back(1);
  weight_order.push_back(1);
  const int64_t kernel = k[0] * k[1] * k[2];
  // (n * voxels, in) x (in, kernel * out): each input voxel's row holds its k0 x k1 x k2 blocks
  // of `out` channels, the blocks it writes.
  const at::Tensor rows = x.permute(to_rows).reshape({-1, in});
  const at::Tensor weights =
      w.to(x.scalar_type()).permute(weight_order).reshape({in, kernel * out});
  const at::Tensor cols =
      (b.defined() ? at::addmm(b.to(x.scalar_type()).repeat({kernel}), rows, weights)
                   : at::mm(rows, weights))
          .contiguous();
  at::Tensor y = at::empty(out_sizes, x.options().memory_format(memory_format(x.dim())));
  const auto element = static_cast<int64_t>(x.element_size());
  const char* src = static_cast<const char*>(cols.data_ptr());
  char* dst = static_cast<char*>(y.data_ptr());
  const int64_t out_z = s[0] * k[0], out_y = s[1] * k[1], out_x = s[2] * k[2];
  const int64_t run = k[2] * out * element;  // one input voxel's k2 blocks: adjacent outputs
  const int64_t output_rows = n * out_z * out_y;
  at::parallel_for(
      0, output_rows, std::max<int64_t>(1, 65536 / std::max<int64_t>(1, s[2] * run)),
      [&](int64_t first, int64_t last) {
        for (int64_t r = first; r < last; ++r) {
          const int64_t yy = r % out_y, zz = (r / out_y) % out_z, sample = r / (out_y * out_z);
          const int64_t z = zz / k[0], a = zz % k[0], yv = yy / k[1], c = yy % k[1];
          const int64_t voxel0 = ((sample * s[0] + z) * s[1] + yv) * s[2];
          const int64_t block = (a * k[1] + c) * k[2];
          char* row = dst + ((sample * out_z + zz) * out_y + yy) * out_x * out * element;
          for (int64_t xv = 0; xv < s[2]; ++xv)
            std::memcpy(row + xv * run, src + ((voxel0 + xv) * kernel + block) * out * element,
                        run);
        }
      });
  return y;
}

}  // namespace medseg::channels_last

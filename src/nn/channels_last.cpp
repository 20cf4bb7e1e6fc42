#include "medseg/nn/channels_last.h"

#include <ATen/Parallel.h>
#include <c10/util/BFloat16.h>
#include <torch/version.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>

#include "medseg/core/error.h"

#ifdef MEDSEG_WITH_ONEDNN
#include <oneapi/dnnl/dnnl.hpp>
#endif

namespace medseg::channels_last {

namespace {

thread_local bool cl_active = false;
std::atomic<bool> winograd_on{true};
std::atomic<int64_t> winograd_chunk{int64_t{16} << 20};
thread_local int64_t cl_winograd = 0;

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

// Whether a float32 convolution goes through Winograd: stride 1, in-plane kernel 3x3 padded by
// 1, an odd depth kernel padded by half of it, channels in whole blocks of 16; and where it pays
// for the layout reorders around it and the transform of its weights on every call (measured on
// a 2-core AVX-512 Xeon, docs/performance.md): 3x3x3 kernels, or 64 channels and more, over at
// least 4096 voxels a sample. A 1x3x3 layer of 32 channels was no faster; the 320-channel
// layers of 12x8x10 voxels deep in a large plan were slower, their weights' transform (15 ms
// a tap) costing more than the convolution.
bool winograd_applies(const at::Tensor& x, const at::Tensor& w, const std::vector<int64_t>& stride,
                      const std::vector<int64_t>& padding) {
  if (!winograd_on.load() || x.scalar_type() != at::kFloat || x.numel() == 0) return false;
  const int64_t dims = x.dim() - 2;
  if (w.size(-1) != 3 || w.size(-2) != 3 || padding[dims - 1] != 1 || padding[dims - 2] != 1)
    return false;
  for (const int64_t s : stride)
    if (s != 1) return false;
  const int64_t depth = dims == 3 ? w.size(2) : 1;
  if (depth % 2 == 0 || (dims == 3 && padding[0] != depth / 2)) return false;
  if (x.size(1) % 16 != 0 || w.size(0) % 16 != 0) return false;
  const int64_t voxels = x.numel() / (x.size(0) * x.size(1));
  return voxels >= 4096 && (depth >= 3 || x.size(1) >= 64);
}

// A grow-only buffer per thread for the Winograd path's packed weights and blocked chunks:
// allocated and freed on every call, they fragmented the heap (a large tile's peak RSS grew by
// a third).
// (Plain aligned memory, not a tensor: freed at thread exit without c10's allocator.)
char* winograd_workspace(size_t bytes) {
  struct Free {
    void operator()(char* p) const { std::free(p); }
  };
  thread_local std::unique_ptr<char, Free> buffer;
  thread_local size_t capacity = 0;
  if (capacity < bytes) {
    buffer.reset();
    capacity = 0;
    const size_t rounded = (bytes + 63) / 64 * 64;
    buffer.reset(static_cast<char*>(std::aligned_alloc(64, rounded)));
    if (!buffer)
      throw Error("channels-last inference",
                  "out of memory for a Winograd convolution's workspace of " +
                      std::to_string(rounded >> 20) + " MiB");
    capacity = rounded;
  }
  return buffer.get();
}

// The same convolution by oneDNN's Winograd F(4x4, 3x3) kernels, which run in the blocked
// nChw16c layout and in 2-D: a sample's depth slices are a batch of 2-D images, the depth
// kernel's taps 2-D convolutions of shifted runs of slices, summed in place (post-op) into the
// centre tap's output. The slices go in chunks of about 16 MiB of input (oneDNN's transformed
// tiles are about twice their input, and the whole volume's would double a large tile's peak
// memory): each chunk reordered into the blocked layout with its neighbouring slices, convolved,
// and reordered back (summed into `accumulate` when given). Rounding error about 1.6x the
// direct convolution's (docs/performance.md). Returns an undefined tensor, having written
// nothing, where oneDNN has no Winograd kernel for this CPU or shape.
at::Tensor winograd_convolution(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b,
                                const at::Tensor& accumulate,
                                const std::vector<int64_t>& out_sizes) {
  using dnnl::memory;
  using tag = memory::format_tag;
  using Pd = dnnl::convolution_forward::primitive_desc;
  const memory::data_type f32 = memory::data_type::f32;
  const bool three_d = x.dim() == 5;
  const int64_t samples = three_d ? x.size(0) : 1;
  const int64_t slices = three_d ? x.size(2) : x.size(0);
  const int64_t in = x.size(1), out = w.size(0), height = x.size(-2), width = x.size(-1);
  const int64_t depth = three_d ? w.size(2) : 1, centre = depth / 2;
  const int64_t chunk =
      std::clamp<int64_t>(winograd_chunk.load() / (in * height * width * 4), 1, slices);
  dnnl::engine& engine = cpu_engine();
  const memory::desc bias_md = b.defined() ? memory::desc({out}, f32, tag::a) : memory::desc();
  const auto blocked = [&](int64_t count, int64_t channels) {
    return memory::desc({count, channels, height, width}, f32, tag::nChw16c);
  };
  const auto plain = [&](int64_t count, int64_t channels) {
    return memory::desc({count, channels, height, width}, f32, tag::nhwc);
  };

  // The work: per chunk of output slices [first, last), per tap (the centre first, which
  // covers them all and adds the bias), the run of slices it convolves. Every primitive is
  // made before anything is written.
  struct Step {
    int64_t tap, in_offset, out_offset;  // offsets within the chunk's buffers
    const Pd* pd;
    size_t weights_offset;  // of the tap's packed weights in the workspace
  };
  struct Chunk {
    int64_t first, last, in_first, in_last;
    std::vector<Step> steps;
  };
  std::map<std::pair<int64_t, bool>, Pd> pds;
  std::vector<Chunk> chunks;
  try {
    for (int64_t first = 0; first < slices; first += chunk) {
      Chunk c{first, std::min(slices, first + chunk), std::max<int64_t>(0, first - centre), 0, {}};
      c.in_last = std::min(slices, c.last + centre);
      for (int64_t k = 0; k < depth; ++k) {
        const int64_t t = (centre + k) % depth;  // centre, then the others
        const int64_t shift = t - centre;        // output slice d reads input slice d + shift
        const int64_t out_first = std::max(c.first, -shift);
        const int64_t out_last = std::min(c.last, slices - shift);
        if (out_last <= out_first) continue;
        const int64_t count = out_last - out_first;
        const bool is_centre = t == centre;
        auto found = pds.find({count, is_centre});
        if (found == pds.end()) {
          dnnl::primitive_attr attr;
          attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);  // from the workspace
          if (!is_centre) {
            dnnl::post_ops sum;
            sum.append_sum(1.0f);
            attr.set_post_ops(sum);
          }
          const dnnl::convolution_forward::desc op(
              dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_winograd,
              blocked(count, in), memory::desc({out, in, 3, 3}, f32, tag::any),
              is_centre ? bias_md : memory::desc(), blocked(count, out), {1, 1}, {1, 1}, {1, 1});
          found = pds.emplace(std::make_pair(count, is_centre), Pd(op, attr, engine)).first;
        }
        c.steps.push_back(
            {t, out_first + shift - c.in_first, out_first - c.first, &found->second, 0});
      }
      chunks.push_back(std::move(c));
    }
  } catch (const dnnl::error& e) {
    if (e.status == dnnl_unimplemented) return at::Tensor();
    throw;
  }

  // Each tap's weights in the layout of each primitive that uses them, the primitives'
  // scratchpad, then the blocked input and output of a chunk: all in one per-thread workspace.
  struct Packed {
    int64_t tap;
    memory::desc desc;
    size_t offset;
  };
  std::vector<Packed> packed;
  const auto aligned = [](size_t bytes) { return (bytes + 63) / 64 * 64; };
  size_t bytes = 0;
  for (Chunk& c : chunks)
    for (Step& step : c.steps) {
      const memory::desc md = step.pd->weights_desc();
      const auto same = std::find_if(packed.begin(), packed.end(), [&](const Packed& p) {
        return p.tap == step.tap && p.desc == md;
      });
      if (same != packed.end()) {
        step.weights_offset = same->offset;
        continue;
      }
      step.weights_offset = bytes;
      packed.push_back({step.tap, md, bytes});
      bytes += aligned(md.get_size());
    }
  size_t scratch = 0;
  for (const auto& entry : pds)
    scratch = std::max(scratch, entry.second.scratchpad_desc().get_size());
  const size_t scratch_offset = bytes;
  bytes += aligned(scratch);
  const int64_t widest = std::min(slices, chunk + 2 * centre);
  const size_t src_offset = bytes;
  bytes += aligned(blocked(widest, in).get_size());
  const size_t dst_offset = bytes;
  bytes += aligned(blocked(chunk, out).get_size());
  char* const workspace = winograd_workspace(bytes);
  char* const s_base = workspace + src_offset;
  char* const d_base = workspace + dst_offset;

  // The reorders too, before anything is written: the weights' into the Winograd layout, each
  // chunk size's into the blocked layout and back (summed into `accumulate` when given).
  const memory::desc user_weights({out, in, 3, 3}, f32, tag::oihw);
  dnnl::primitive_attr add_into;
  if (accumulate.defined()) {
    dnnl::post_ops sum;
    sum.append_sum(1.0f);
    add_into.set_post_ops(sum);
  }
  std::vector<dnnl::reorder::primitive_desc> pack;
  std::map<int64_t, dnnl::reorder::primitive_desc> into, back;
  try {
    for (const Packed& p : packed) pack.emplace_back(engine, user_weights, engine, p.desc);
    for (const Chunk& c : chunks) {
      const int64_t in_count = c.in_last - c.in_first;
      if (into.count(in_count) == 0)
        into.emplace(in_count, dnnl::reorder::primitive_desc(engine, plain(in_count, in), engine,
                                                             blocked(in_count, in)));
      const int64_t count = c.last - c.first;
      if (back.count(count) == 0)
        back.emplace(count, dnnl::reorder::primitive_desc(engine, blocked(count, out), engine,
                                                          plain(count, out), add_into));
    }
  } catch (const dnnl::error& e) {
    if (e.status == dnnl_unimplemented) return at::Tensor();
    throw;
  }

  dnnl::stream stream(engine);
  for (size_t k = 0; k < packed.size(); ++k) {
    const at::Tensor wt = (three_d ? w.select(2, packed[k].tap) : w).contiguous();
    memory user(user_weights, engine, wt.data_ptr());
    memory mem(packed[k].desc, engine, workspace + packed[k].offset);
    dnnl::reorder(pack[k]).execute(stream, user, mem);
    stream.wait();  // before `wt` goes
  }
  at::Tensor bias;
  if (b.defined()) bias = b.to(at::kFloat).contiguous();
  at::Tensor y = accumulate.defined()
                     ? accumulate
                     : at::empty(out_sizes, x.options().memory_format(memory_format(x.dim())));
  const size_t src_slice = blocked(1, in).get_size(), dst_slice = blocked(1, out).get_size();
  auto* const x_data = static_cast<float*>(x.data_ptr());
  auto* const y_data = static_cast<float*>(y.data_ptr());
  for (int64_t sample = 0; sample < samples; ++sample) {
    for (const Chunk& c : chunks) {
      const int64_t in_count = c.in_last - c.in_first, out_count = c.last - c.first;
      memory src(plain(in_count, in), engine,
                 x_data + (sample * slices + c.in_first) * in * height * width);
      memory src_chunk(blocked(in_count, in), engine, s_base);
      dnnl::reorder(into.at(in_count)).execute(stream, src, src_chunk);
      for (const Step& step : c.steps) {
        memory tap_src(step.pd->src_desc(), engine, s_base + step.in_offset * src_slice);
        memory tap_dst(step.pd->dst_desc(), engine, d_base + step.out_offset * dst_slice);
        std::unordered_map<int, memory> args{
            {DNNL_ARG_SRC, tap_src},
            {DNNL_ARG_WEIGHTS,
             memory(step.pd->weights_desc(), engine, workspace + step.weights_offset)},
            {DNNL_ARG_DST, tap_dst}};
        args.insert({DNNL_ARG_SCRATCHPAD,
                     memory(step.pd->scratchpad_desc(), engine, workspace + scratch_offset)});
        if (step.tap == centre && b.defined())
          args.insert({DNNL_ARG_BIAS, memory(bias_md, engine, bias.data_ptr())});
        dnnl::convolution_forward(*step.pd).execute(stream, args);
      }
      memory dst_chunk(blocked(out_count, out), engine, d_base);
      memory dst(plain(out_count, out), engine,
                 y_data + (sample * slices + c.first) * out * height * width);
      dnnl::reorder(back.at(out_count)).execute(stream, dst_chunk, dst);
    }
  }
  stream.wait();
  ++cl_winograd;
  return y;
}

at::Tensor onednn_convolution(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b,
                              const std::vector<int64_t>& stride,
                              const std::vector<int64_t>& padding, const at::Tensor& accumulate,
                              const std::vector<int64_t>& out_sizes) {
  if (winograd_applies(x, w, stride, padding)) {
    at::Tensor y = winograd_convolution(x, w, b, accumulate, out_sizes);
    if (y.defined()) return y;
  }
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

// rows (m, k) x weights (k, n) + bias (n, float32, or undefined), in rows' dtype: oneDNN's
// brgemm matmul, 1.5-2x OpenBLAS's sgemm on these tall, thin float32 products (256-356
// against 136-246 GFLOP/s, docs/performance.md).
at::Tensor onednn_matmul(const at::Tensor& rows, const at::Tensor& weights,
                         const at::Tensor& bias) {
  using dnnl::memory;
  using tag = memory::format_tag;
  const memory::data_type type = dnnl_type(rows.scalar_type());
  const memory::dim m = rows.size(0), k = rows.size(1), n = weights.size(1);
  const memory::desc src_md({m, k}, type, tag::ab);
  const memory::desc user_weights_md({k, n}, type, tag::ab);
  const memory::desc any_weights({k, n}, type, tag::any);
  const memory::desc dst_md({m, n}, type, tag::ab);
  const memory::desc bias_md =
      bias.defined() ? memory::desc({1, n}, memory::data_type::f32, tag::ab) : memory::desc();
  dnnl::engine& engine = cpu_engine();
  const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(src_md, any_weights, bias_md, dst_md),
                                        engine);
  dnnl::stream stream(engine);
  memory user_weights(user_weights_md, engine, weights.data_ptr());
  memory packed = user_weights;
  if (pd.weights_desc() != user_weights_md) {
    packed = memory(pd.weights_desc(), engine);
    dnnl::reorder(user_weights, packed).execute(stream, user_weights, packed);
  }
  at::Tensor y = at::empty({m, n}, rows.options());
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, memory(src_md, engine, rows.data_ptr())},
                                       {DNNL_ARG_WEIGHTS, packed},
                                       {DNNL_ARG_DST, memory(dst_md, engine, y.data_ptr())}};
  if (bias.defined()) args.insert({DNNL_ARG_BIAS, memory(bias_md, engine, bias.data_ptr())});
  dnnl::matmul(pd).execute(stream, args);
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

// block[c] += row values (centre == nullptr), or their distances to centre[c] into
// linear[c] and their squares into block[c], over rows [first, last).
template <typename T>
MEDSEG_CL_INLINE void add_rows(const T* __restrict data, int64_t first, int64_t last,
                               int64_t channels, const float* __restrict centre,
                               float* __restrict block, float* __restrict linear) {
  for (int64_t u = first; u < last; ++u) {
    const T* __restrict row = data + u * channels;
    if (centre == nullptr) {
      for (int64_t c = 0; c < channels; ++c) block[c] += load(row + c);
    } else {
      for (int64_t c = 0; c < channels; ++c) {
        const float d = load(row + c) - centre[c];
        linear[c] += d;
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
                                      const float* centre, float* block, float* linear) {
  add_rows(data, first, last, channels, centre, block, linear);
}
template <typename T>
MEDSEG_CL_AVX512 void apply_rows_avx512(T* data, int64_t first, int64_t last, int64_t channels,
                                        const float* scale, const float* shift, float negative) {
  apply_rows(data, first, last, channels, scale, shift, negative);
}

// Per channel, over the rows [first, last), in one pass over memory: the count, mean and sum
// of squared deviations (M2). Blocks of rows small enough to stay in L1 are summed, then
// their deviations from that approximate mean and their squares summed (from cache; the
// mean's rounding corrected by the deviations' sum), and the blocks combined in double (Chan
// et al.'s pairwise update). Two passes over memory, as a
// centred variance needs without blocking, cost a third more of the norm's traffic.
struct Moments {
  explicit Moments(int64_t channels)
      : mean(static_cast<size_t>(channels), 0.0), m2(static_cast<size_t>(channels), 0.0) {}
  double count = 0;
  std::vector<double> mean, m2;

  // Adds a group of `n` rows whose per-channel means and M2 are given.
  void combine(double n, const double* other_mean, const double* other_m2) {
    if (n <= 0) return;
    const double total = count + n;
    for (size_t c = 0; c < mean.size(); ++c) {
      const double delta = other_mean[c] - mean[c];
      mean[c] += delta * (n / total);
      m2[c] += other_m2[c] + delta * delta * (count * n / total);
    }
    count = total;
  }
};

template <typename T>
void channel_moments(const T* data, int64_t first, int64_t last, int64_t channels, Moments& out) {
  const int64_t rows = std::clamp<int64_t>(8192 / std::max<int64_t>(1, channels), 16, 256);
  const auto size = static_cast<size_t>(channels);
  std::vector<float> centre(size), linear(size), squares(size);
  std::vector<double> mean(size), m2(size);
  const bool wide = cpu_has_avx512();
  for (int64_t v = first; v < last; v += rows) {
    const int64_t end = std::min(last, v + rows);
    const auto n = static_cast<double>(end - v);
    std::fill(centre.begin(), centre.end(), 0.0f);
    std::fill(linear.begin(), linear.end(), 0.0f);
    std::fill(squares.begin(), squares.end(), 0.0f);
    if (wide)
      add_rows_avx512(data, v, end, channels, nullptr, centre.data(), nullptr);
    else
      add_rows(data, v, end, channels, nullptr, centre.data(), nullptr);
    for (float& c : centre) c = static_cast<float>(c / n);  // about the block's mean
    if (wide)
      add_rows_avx512(data, v, end, channels, centre.data(), squares.data(), linear.data());
    else
      add_rows(data, v, end, channels, centre.data(), squares.data(), linear.data());
    // Exact about whichever centre the float sum gave: mean = centre + mean distance.
    for (size_t c = 0; c < size; ++c) {
      const double d = static_cast<double>(linear[c]) / n;
      mean[c] = static_cast<double>(centre[c]) + d;
      m2[c] = std::max(0.0, static_cast<double>(squares[c]) - static_cast<double>(linear[c]) * d);
    }
    out.combine(n, mean.data(), m2.data());
  }
}

template <typename T>
void instance_norm_sample(T* data, int64_t voxels, int64_t channels, const float* weight,
                          const float* bias, double eps, bool activation, float slope) {
  const int64_t parts = std::max<int64_t>(
      1, std::min<int64_t>(voxels / 4096 + 1, 4 * static_cast<int64_t>(at::get_num_threads())));
  std::vector<Moments> partial(static_cast<size_t>(parts), Moments(channels));
  over_parts(voxels, parts, [&](int64_t k, int64_t first, int64_t last) {
    channel_moments(data, first, last, channels, partial[static_cast<size_t>(k)]);
  });
  Moments total(channels);
  for (const Moments& m : partial) total.combine(m.count, m.mean.data(), m.m2.data());
  std::vector<float> scale(static_cast<size_t>(channels)), shift(static_cast<size_t>(channels));
  for (int64_t c = 0; c < channels; ++c) {
    const double inverse_std = 1.0 / std::sqrt(total.m2[c] / static_cast<double>(voxels) + eps);
    scale[c] = static_cast<float>(weight[c] * inverse_std);
    shift[c] = static_cast<float>(bias[c] - total.mean[c] * weight[c] * inverse_std);
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

int64_t winograd_convolutions_run() {
  return cl_winograd;
}

void set_winograd(bool on) {
  winograd_on.store(on);
}

void set_winograd_chunk_bytes(int64_t bytes) {
  winograd_chunk.store(std::max<int64_t>(1, bytes));
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
      w.to(x.scalar_type()).permute(weight_order).reshape({in, kernel * out}).contiguous();
#ifdef MEDSEG_WITH_ONEDNN
  at::Tensor cols;
  try {
    cols = onednn_matmul(rows.contiguous(), weights,
                         b.defined() ? b.to(at::kFloat).repeat({kernel}).contiguous() : b);
  } catch (const dnnl::error& e) {
    throw Error("channels-last inference",
                std::string("oneDNN could not run the upsampling of input ") + c10::str(x.sizes()) +
                    " in " + c10::toString(x.scalar_type()) + ": " + e.what());
  }
#else
  const at::Tensor cols =
      (b.defined() ? at::addmm(b.to(x.scalar_type()).repeat({kernel}), rows, weights)
                   : at::mm(rows, weights))
          .contiguous();
#endif
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

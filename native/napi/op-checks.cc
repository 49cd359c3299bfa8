#include "napi/op-checks.h"

namespace alexnet {
namespace {

const char* const CONV2D_FIELDS[] = {"batch", "inChannels", "inHeight", "inWidth", "outChannels", "kernelH",
                                     "kernelW", "strideH", "strideW", "padTop", "padLeft", "padBottom",
                                     "padRight", "groups", "outHeight", "outWidth"};
const char* const POOL2D_FIELDS[] = {"batch", "channels", "inHeight", "inWidth", "kernelH", "kernelW", "strideH",
                                     "strideW", "padTop", "padLeft", "padBottom", "padRight", "outHeight",
                                     "outWidth"};
const char* const LRN_FIELDS[] = {"batch", "channels", "height", "width", "size"};
const char* const LINEAR_FIELDS[] = {"rows", "inFeatures", "outFeatures"};
const char* const SOFTMAX_FIELDS[] = {"rows", "cols"};
const char* const ADAPTIVE_FIELDS[] = {"batch", "channels", "inHeight", "inWidth", "outHeight", "outWidth"};
const char* const RELU_FIELDS[] = {"length"};

// every dim positive, those in [zero_from, zero_to] (pads) non-negative
std::string dims_message(const int32_t* d, size_t count, const char* const* fields, size_t zero_from, size_t zero_to,
                         const std::string& prefix) {
  for (size_t i = 0; i < count; ++i) {
    std::string message = dim_message(d[i], i, fields[i], i >= zero_from && i <= zero_to, prefix);
    if (!message.empty()) return message;
  }
  return "";
}

// the kernel window fits the padded input; *span = in + pads
std::string window_message(int64_t in, int64_t pad_begin, int64_t pad_end, int64_t kernel, const char* kernel_name,
                           const char* in_name, const char* pad_begin_name, const char* pad_end_name,
                           const std::string& prefix, int64_t* span) {
  *span = in + pad_begin + pad_end;
  if (kernel <= *span) return "";
  return expected_message(
      "at most " + std::to_string(*span) + " (" + in_name + " + " + pad_begin_name + " + " + pad_end_name + ")",
      prefix + kernel_name, std::to_string(kernel));
}

// out between the floor (lo) and ceil (hi) output sizes
std::string output_size_message(int64_t out, int64_t lo, int64_t hi, const char* name, const std::string& prefix) {
  if (out >= lo && out <= hi) return "";
  return expected_message(lo == hi ? std::to_string(lo) : std::to_string(lo) + " or " + std::to_string(hi),
                          prefix + name, std::to_string(out));
}

std::string groups_message(int in_channels, int out_channels, int groups, const std::string& prefix) {
  if (in_channels % groups == 0 && out_channels % groups == 0) return "";
  return expected_message("a divisor of inChannels " + std::to_string(in_channels) + " and outChannels " +
                              std::to_string(out_channels),
                          prefix + "groups", std::to_string(groups));
}

// the first non-empty message
std::string first_of(std::initializer_list<std::string> messages) {
  for (const std::string& m : messages)
    if (!m.empty()) return m;
  return "";
}

// The kernel window fits the padded input on both axes (conv2d and pool2d params); the padded extents go
// to *span_h and *span_w
template <class WindowParams>
std::string windows_message(const WindowParams& p, const std::string& prefix, int64_t* span_h, int64_t* span_w) {
  return first_of({window_message(p.in_height, p.pad_top, p.pad_bottom, p.kernel_h, "kernelH", "inHeight", "padTop",
                                  "padBottom", prefix, span_h),
                   window_message(p.in_width, p.pad_left, p.pad_right, p.kernel_w, "kernelW", "inWidth", "padLeft",
                                  "padRight", prefix, span_w)});
}

}  // namespace

std::string expected_message(const std::string& what, const std::string& name, const std::string& received) {
  return "Expected " + what + " for " + name + " but received " + received;
}

int64_t product(std::initializer_list<int64_t> factors) {
  constexpr int64_t cap = int64_t{1} << 62;
  int64_t p = 1;
  for (int64_t f : factors) p = (f != 0 && p > cap / f) ? cap : p * f;
  return p;
}

std::string dim_message(int32_t dim, size_t index, const char* field, bool allow_zero, const std::string& prefix) {
  if ((dim > 0 || (allow_zero && dim == 0)) && dim <= MAX_DIM) return "";
  return expected_message(
      std::string(allow_zero ? "a non-negative integer" : "a positive integer") + " of at most " + std::to_string(MAX_DIM),
      prefix + "dims[" + std::to_string(index) + "] (" + field + ")", std::to_string(dim));
}

std::string at_least_message(size_t length, int64_t needed, const std::string& name) {
  if (needed > MAX_KERNEL_ELEMENTS)
    return expected_message("at most " + std::to_string(MAX_KERNEL_ELEMENTS) + " elements", name, std::to_string(needed));
  if (static_cast<int64_t>(length) < needed)
    return expected_message("a NativeTensor of at least " + std::to_string(needed) + " elements", name,
                            "NativeTensor(" + std::to_string(length) + ")");
  return "";
}

std::string exact_message(size_t length, int64_t needed, const std::string& name) {
  if (needed > MAX_KERNEL_ELEMENTS)
    return expected_message("at most " + std::to_string(MAX_KERNEL_ELEMENTS) + " elements", name, std::to_string(needed));
  if (static_cast<int64_t>(length) != needed)
    return expected_message("a NativeTensor of " + std::to_string(needed) + " elements", name,
                            "NativeTensor(" + std::to_string(length) + ")");
  return "";
}

conv2d_params conv2d_params_of(const int32_t* d) {
  return conv2d_params{d[0], d[1], d[2],  d[3],  d[4],  d[5],  d[6],  d[7],  d[8],
                       d[9], d[10], d[11], d[12], d[13], d[14], d[15], false};
}

pool2d_params pool2d_params_of(const int32_t* d) {
  return pool2d_params{d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7], d[8], d[9], d[10], d[11], d[12], d[13]};
}

std::string conv_pack_key(const conv2d_params& p) {
  std::string key;
  for (int v : {p.out_channels, p.in_channels, p.kernel_h, p.kernel_w, p.stride_h, p.stride_w, p.groups})
    key += (key.empty() ? "" : ",") + std::to_string(v);
  return key;
}

std::string conv2d_weight_check(const int32_t* dims) {
  const std::string message = dims_message(dims, 16, CONV2D_FIELDS, 9, 12, "");
  if (!message.empty()) return message;
  return groups_message(dims[1], dims[4], dims[13], "");
}

std::string conv2d_check(const int32_t* dims, const op_buffers& n, const std::string& packed_for,
                         const std::string& prefix) {
  std::string message = dims_message(dims, 16, CONV2D_FIELDS, 9, 12, prefix);
  if (!message.empty()) return message;
  const conv2d_params p = conv2d_params_of(dims);
  message = groups_message(p.in_channels, p.out_channels, p.groups, prefix);
  if (!message.empty()) return message;
  int64_t span_h = 0, span_w = 0;
  message = windows_message(p, prefix, &span_h, &span_w);
  if (!message.empty()) return message;
  const int64_t out_h = (span_h - p.kernel_h) / p.stride_h + 1, out_w = (span_w - p.kernel_w) / p.stride_w + 1;
  std::string packed;
  if (!packed_for.empty() && packed_for != conv_pack_key(p))
    packed = expected_message("weights packed for " + conv_pack_key(p), prefix + "weight", "weights packed for " + packed_for);
  return first_of({output_size_message(p.out_height, out_h, out_h, "outHeight", prefix),
                   output_size_message(p.out_width, out_w, out_w, "outWidth", prefix),
                   at_least_message(n.input, product({p.batch, p.in_channels, p.in_height, p.in_width}), prefix + "input"),
                   packed_for.empty()
                       ? exact_message(n.weight, product({p.out_channels, p.in_channels / p.groups, p.kernel_h, p.kernel_w}),
                                       prefix + "weight")
                       : packed,
                   n.bias < 0 ? "" : exact_message(n.bias, p.out_channels, prefix + "bias"),
                   at_least_message(n.output, product({p.batch, p.out_channels, p.out_height, p.out_width}),
                                    prefix + "output")});
}

std::string pool2d_check(const int32_t* dims, const op_buffers& n, const std::string& prefix) {
  std::string message = dims_message(dims, 14, POOL2D_FIELDS, 8, 11, prefix);
  if (!message.empty()) return message;
  const pool2d_params p = pool2d_params_of(dims);
  int64_t span_h = 0, span_w = 0;
  message = windows_message(p, prefix, &span_h, &span_w);
  if (!message.empty()) return message;
  return first_of({output_size_message(p.out_height, (span_h - p.kernel_h) / p.stride_h + 1,
                                       (span_h - p.kernel_h + p.stride_h - 1) / p.stride_h + 1, "outHeight", prefix),
                   output_size_message(p.out_width, (span_w - p.kernel_w) / p.stride_w + 1,
                                       (span_w - p.kernel_w + p.stride_w - 1) / p.stride_w + 1, "outWidth", prefix),
                   at_least_message(n.input, product({p.batch, p.channels, p.in_height, p.in_width}), prefix + "input"),
                   at_least_message(n.output, product({p.batch, p.channels, p.out_height, p.out_width}), prefix + "output")});
}

std::string lrn_check(const int32_t* d, const op_buffers& n, const std::string& prefix) {
  const std::string message = dims_message(d, 5, LRN_FIELDS, 5, 0, prefix);
  if (!message.empty()) return message;
  const int64_t count = product({d[0], d[1], d[2], d[3]});
  return first_of({at_least_message(n.input, count, prefix + "input"), at_least_message(n.output, count, prefix + "output")});
}

std::string linear_check(const int32_t* d, const op_buffers& n, int packed_out, int packed_in, const std::string& prefix) {
  return linear_check(d, n, packed_out, packed_in, lowp_type::fp32, prefix);
}

std::string linear_check(const int32_t* d, const op_buffers& n, int packed_out, int packed_in, lowp_type precision,
                         const std::string& prefix) {
  const std::string message = dims_message(d, 3, LINEAR_FIELDS, 3, 0, prefix);
  if (!message.empty()) return message;
  const int rows = d[0], in_features = d[1], out_features = d[2];
  std::string packed;
  if (packed_out != 0 && (packed_out != out_features || packed_in != in_features))
    packed = expected_message("weights packed for " + std::to_string(out_features) + " x " + std::to_string(in_features),
                              prefix + "weight",
                              "weights packed for " + std::to_string(packed_out) + " x " + std::to_string(packed_in));
  return first_of({at_least_message(n.input, product({rows, in_features}), prefix + "input"),
                   exact_message(n.weight,
                                 precision == lowp_type::fp32
                                     ? product({out_features, in_features})
                                     : static_cast<int64_t>((lowp_packed_layout(precision, out_features, in_features).total_bytes + 3) / 4),
                                 prefix + "weight"),
                   packed,
                   n.bias < 0 ? "" : exact_message(n.bias, out_features, prefix + "bias"),
                   at_least_message(n.output, product({rows, out_features}), prefix + "output")});
}

std::string softmax_check(const int32_t* d, const op_buffers& n, const std::string& prefix) {
  const std::string message = dims_message(d, 2, SOFTMAX_FIELDS, 2, 0, prefix);
  if (!message.empty()) return message;
  return first_of({at_least_message(n.input, product({d[0], d[1]}), prefix + "input"),
                   at_least_message(n.output, product({d[0], d[1]}), prefix + "output")});
}

std::string adaptive_avg_pool2d_check(const int32_t* d, const op_buffers& n, const std::string& prefix) {
  const std::string message = dims_message(d, 6, ADAPTIVE_FIELDS, 6, 0, prefix);
  if (!message.empty()) return message;
  return first_of({at_least_message(n.input, product({d[0], d[1], d[2], d[3]}), prefix + "input"),
                   at_least_message(n.output, product({d[0], d[1], d[4], d[5]}), prefix + "output")});
}

std::string relu_check(const int32_t* d, const op_buffers& n, const std::string& prefix) {
  // any length, 0 included: an elementwise op over batch * channels * height * width is no dimension
  if (d[0] < 0)
    return expected_message("a non-negative integer", prefix + "dims[0] (" + RELU_FIELDS[0] + ")", std::to_string(d[0]));
  return first_of({at_least_message(n.input, d[0], prefix + "input"), at_least_message(n.output, d[0], prefix + "output")});
}

}  // namespace alexnet

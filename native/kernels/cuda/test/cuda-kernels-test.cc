// Native test of the CUDA kernels: each against a plain CPU loop (float64 accumulation) on odd
// shapes, with the relative L2 bound of its precision (fp32 1e-5, tf32 1e-3, bf16 1e-2).
// Where no GPU is usable it prints "SKIP: no CUDA device: <reason>" and exits 0 (ctest reports the
// test as skipped). Exit code 1 on any mismatch or CUDA error.
#include <cuda_runtime_api.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "kernels/cuda/cuda-kernels.h"

namespace {

using alexnet::cuda_precision;
using host = std::vector<float>;

int failures = 0;

bool check_cuda(cudaError_t error, const char* what) {
  if (error == cudaSuccess) return true;
  std::printf("FAIL %s: %s (%s)\n", what, cudaGetErrorName(error), cudaGetErrorString(error));
  ++failures;
  return false;
}

host random_values(size_t n, unsigned seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-scale, scale);
  host v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

// device copy of a host vector, freed at scope exit
struct device_buffer {
  float* data = nullptr;
  size_t size = 0;
  explicit device_buffer(size_t n) : size(n) {
    void* p = nullptr;
    if (cudaMalloc(&p, std::max<size_t>(n, 1) * sizeof(float)) == cudaSuccess) data = static_cast<float*>(p);
  }
  explicit device_buffer(const host& v) : device_buffer(v.size()) {
    if (data) cudaMemcpy(data, v.data(), v.size() * sizeof(float), cudaMemcpyHostToDevice);
  }
  ~device_buffer() { cudaFree(data); }
  host read() const {
    host v(size);
    cudaMemcpy(v.data(), data, size * sizeof(float), cudaMemcpyDeviceToHost);
    return v;
  }
};

void compare(const std::string& name, const host& actual, const std::vector<double>& expected, double bound) {
  double diff2 = 0, ref2 = 0;
  for (size_t i = 0; i < expected.size(); ++i) {
    const double d = static_cast<double>(actual[i]) - expected[i];
    diff2 += std::isnan(d) ? INFINITY : d * d;
    ref2 += expected[i] * expected[i];
  }
  const double rel = std::sqrt(diff2) / std::max(std::sqrt(ref2), 1e-30);
  const bool ok = rel <= bound;
  std::printf("%s %-58s relative L2 %.3g (bound %.0e)\n", ok ? "ok  " : "FAIL", name.c_str(), rel, bound);
  if (!ok) ++failures;
}

// runs `launch` on a fresh stream and waits
bool run(const char* what, const std::function<cudaError_t(cudaStream_t)>& launch) {
  cudaStream_t stream = nullptr;
  if (!check_cuda(cudaStreamCreate(&stream), what)) return false;
  const bool ok = check_cuda(launch(stream), what) && check_cuda(cudaStreamSynchronize(stream), what);
  cudaStreamDestroy(stream);
  return ok;
}

double bound_of(cuda_precision p) {
  return p == cuda_precision::fp32 ? 1e-5 : p == cuda_precision::tf32 ? 1e-3 : 1e-2;
}

void test_conv2d(const alexnet::conv2d_params& p, bool with_bias, cuda_precision precision, const char* label) {
  const int in_per_group = p.in_channels / p.groups, out_per_group = p.out_channels / p.groups;
  const host in = random_values(size_t(p.batch) * p.in_channels * p.in_height * p.in_width, 1);
  const host w = random_values(size_t(p.out_channels) * in_per_group * p.kernel_h * p.kernel_w, 2, 0.5f);
  const host b = random_values(p.out_channels, 3);
  std::vector<double> expected(size_t(p.batch) * p.out_channels * p.out_height * p.out_width);
  for (int n = 0; n < p.batch; ++n)
    for (int oc = 0; oc < p.out_channels; ++oc)
      for (int oh = 0; oh < p.out_height; ++oh)
        for (int ow = 0; ow < p.out_width; ++ow) {
          const int g = oc / out_per_group;
          double sum = with_bias ? b[oc] : 0.0;
          for (int icg = 0; icg < in_per_group; ++icg)
            for (int ki = 0; ki < p.kernel_h; ++ki)
              for (int kj = 0; kj < p.kernel_w; ++kj) {
                const int ih = oh * p.stride_h - p.pad_top + ki, iw = ow * p.stride_w - p.pad_left + kj;
                if (ih < 0 || ih >= p.in_height || iw < 0 || iw >= p.in_width) continue;
                const int ic = g * in_per_group + icg;
                sum += double(in[((size_t(n) * p.in_channels + ic) * p.in_height + ih) * p.in_width + iw]) *
                       w[((size_t(oc) * in_per_group + icg) * p.kernel_h + ki) * p.kernel_w + kj];
              }
          expected[((size_t(n) * p.out_channels + oc) * p.out_height + oh) * p.out_width + ow] =
              p.relu ? std::max(sum, 0.0) : sum;
        }
  device_buffer d_in(in), d_w(w), d_b(b), d_out(expected.size());
  const std::string name = std::string("conv2d ") + label + " " + alexnet::cuda_precision_name(precision);
  if (run(name.c_str(), [&](cudaStream_t s) {
        return alexnet::conv2d_forward_cuda(p, d_in.data, d_w.data, with_bias ? d_b.data : nullptr, d_out.data, precision, s);
      }))
    compare(name, d_out.read(), expected, bound_of(precision));
}

void test_linear(int rows, int in_features, int out_features, bool relu, cuda_precision precision) {
  const host in = random_values(size_t(rows) * in_features, 4);
  const host w = random_values(size_t(out_features) * in_features, 5, 0.3f);
  const host b = random_values(out_features, 6);
  std::vector<double> expected(size_t(rows) * out_features);
  for (int r = 0; r < rows; ++r)
    for (int o = 0; o < out_features; ++o) {
      double sum = b[o];
      for (int i = 0; i < in_features; ++i) sum += double(in[size_t(r) * in_features + i]) * w[size_t(o) * in_features + i];
      expected[size_t(r) * out_features + o] = relu ? std::max(sum, 0.0) : sum;
    }
  device_buffer d_in(in), d_w(w), d_b(b), d_out(expected.size());
  const alexnet::linear_params p{rows, in_features, out_features, relu};
  const std::string name = "linear " + std::to_string(rows) + "x" + std::to_string(in_features) + "->" +
                           std::to_string(out_features) + (relu ? " relu " : " ") + alexnet::cuda_precision_name(precision);
  if (run(name.c_str(), [&](cudaStream_t s) {
        return alexnet::linear_forward_cuda(p, d_in.data, d_w.data, d_b.data, d_out.data, precision, s);
      }))
    compare(name, d_out.read(), expected, bound_of(precision));
}

void test_pool(const alexnet::pool2d_params& p, bool is_max, bool count_include_pad) {
  const host in = random_values(size_t(p.batch) * p.channels * p.in_height * p.in_width, 7);
  std::vector<double> expected(size_t(p.batch) * p.channels * p.out_height * p.out_width);
  for (int plane = 0; plane < p.batch * p.channels; ++plane)
    for (int oh = 0; oh < p.out_height; ++oh)
      for (int ow = 0; ow < p.out_width; ++ow) {
        const int hs = oh * p.stride_h - p.pad_top, ws = ow * p.stride_w - p.pad_left;
        double acc = is_max ? -INFINITY : 0.0;
        int count = 0;
        for (int h = std::max(hs, 0); h < std::min(hs + p.kernel_h, p.in_height); ++h)
          for (int w = std::max(ws, 0); w < std::min(ws + p.kernel_w, p.in_width); ++w) {
            const double x = in[(size_t(plane) * p.in_height + h) * p.in_width + w];
            acc = is_max ? std::max(acc, x) : acc + x;
            ++count;
          }
        const int padded = (std::min(hs + p.kernel_h, p.in_height + p.pad_bottom) - hs) *
                           (std::min(ws + p.kernel_w, p.in_width + p.pad_right) - ws);
        expected[(size_t(plane) * p.out_height + oh) * p.out_width + ow] =
            count == 0 ? 0.0 : is_max ? acc : acc / (count_include_pad ? padded : count);
      }
  device_buffer d_in(in), d_out(expected.size());
  const std::string name = std::string(is_max ? "maxPool2d" : "avgPool2d") + (count_include_pad ? " countIncludePad" : "") +
                           " " + std::to_string(p.in_height) + "x" + std::to_string(p.in_width) + " k" +
                           std::to_string(p.kernel_h) + "x" + std::to_string(p.kernel_w);
  if (run(name.c_str(), [&](cudaStream_t s) {
        return is_max ? alexnet::max_pool2d_forward_cuda(p, d_in.data, d_out.data, s)
                      : alexnet::avg_pool2d_forward_cuda(p, count_include_pad, d_in.data, d_out.data, s);
      }))
    compare(name, d_out.read(), expected, 1e-6);
}

void test_lrn(const alexnet::lrn_params& p, float scale) {
  const size_t plane = size_t(p.height) * p.width;
  const host in = random_values(size_t(p.batch) * p.channels * plane, 8, scale);
  std::vector<double> expected(in.size());
  const int before = (p.size - 1) / 2, after = p.size / 2;
  for (int n = 0; n < p.batch; ++n)
    for (int c = 0; c < p.channels; ++c)
      for (size_t i = 0; i < plane; ++i) {
        double sum = 0;
        for (int j = std::max(0, c - before); j <= std::min(p.channels - 1, c + after); ++j) {
          const double x = in[(size_t(n) * p.channels + j) * plane + i];
          sum += x * x;
        }
        const size_t index = (size_t(n) * p.channels + c) * plane + i;
        expected[index] = in[index] / std::pow(double(p.k) + double(p.alpha) / p.size * sum, double(p.beta));
      }
  device_buffer d_in(in), d_out(in.size());
  const std::string name = "lrn size " + std::to_string(p.size) + ", " + std::to_string(p.channels) + " channels";
  if (run(name.c_str(), [&](cudaStream_t s) { return alexnet::lrn_forward_cuda(p, d_in.data, d_out.data, s); }))
    compare(name, d_out.read(), expected, 1e-5);
}

void test_softmax(int rows, int cols, bool in_place) {
  const host in = random_values(size_t(rows) * cols, 9, 30.0f);
  std::vector<double> expected(in.size());
  for (int r = 0; r < rows; ++r) {
    double max_value = -INFINITY, sum = 0;
    for (int c = 0; c < cols; ++c) max_value = std::max(max_value, double(in[size_t(r) * cols + c]));
    for (int c = 0; c < cols; ++c) sum += std::exp(in[size_t(r) * cols + c] - max_value);
    for (int c = 0; c < cols; ++c) expected[size_t(r) * cols + c] = std::exp(in[size_t(r) * cols + c] - max_value) / sum;
  }
  device_buffer d_in(in), d_out(in.size());
  float* out = in_place ? d_in.data : d_out.data;
  const std::string name = "softmax " + std::to_string(rows) + "x" + std::to_string(cols) + (in_place ? " in place" : "");
  if (run(name.c_str(), [&](cudaStream_t s) { return alexnet::softmax_forward_cuda({rows, cols}, d_in.data, out, s); }))
    compare(name, in_place ? d_in.read() : d_out.read(), expected, 1e-5);
}

void test_adaptive(const alexnet::adaptive_avgpool_params& p) {
  const host in = random_values(size_t(p.batch) * p.channels * p.in_height * p.in_width, 10);
  std::vector<double> expected(size_t(p.batch) * p.channels * p.out_height * p.out_width);
  for (int plane = 0; plane < p.batch * p.channels; ++plane)
    for (int i = 0; i < p.out_height; ++i)
      for (int j = 0; j < p.out_width; ++j) {
        const int h0 = i * p.in_height / p.out_height, h1 = ((i + 1) * p.in_height + p.out_height - 1) / p.out_height;
        const int w0 = j * p.in_width / p.out_width, w1 = ((j + 1) * p.in_width + p.out_width - 1) / p.out_width;
        double sum = 0;
        for (int h = h0; h < h1; ++h)
          for (int w = w0; w < w1; ++w) sum += in[(size_t(plane) * p.in_height + h) * p.in_width + w];
        expected[(size_t(plane) * p.out_height + i) * p.out_width + j] = sum / ((h1 - h0) * (w1 - w0));
      }
  device_buffer d_in(in), d_out(expected.size());
  const std::string name = "adaptiveAvgPool2d " + std::to_string(p.in_height) + "x" + std::to_string(p.in_width) + " -> " +
                           std::to_string(p.out_height) + "x" + std::to_string(p.out_width);
  if (run(name.c_str(), [&](cudaStream_t s) { return alexnet::adaptive_avgpool2d_forward_cuda(p, d_in.data, d_out.data, s); }))
    compare(name, d_out.read(), expected, 1e-6);
}

void test_relu() {
  host in = random_values(100003, 11);
  in[5] = NAN;
  std::vector<double> expected(in.begin(), in.end());
  for (double& x : expected) x = x < 0 ? 0 : x;
  device_buffer d(in);
  if (run("relu", [&](cudaStream_t s) { return alexnet::relu_forward_cuda(in.size(), d.data, d.data, s); })) {
    host out = d.read();
    const bool nan_kept = std::isnan(out[5]);
    out[5] = 0;
    expected[5] = 0;
    compare("relu in place (NaN kept: " + std::string(nan_kept ? "yes" : "NO") + ")", out, expected, nan_kept ? 0.0 : -1.0);
  }
}

}  // namespace

int main() {
  int count = 0;
  const cudaError_t error = cudaGetDeviceCount(&count);
  if (error != cudaSuccess || count == 0) {
    std::printf("SKIP: no CUDA device: %s\n",
                error != cudaSuccess ? (std::string(cudaGetErrorName(error)) + " (" + cudaGetErrorString(error) + ")").c_str()
                                     : "the driver reports no CUDA device");
    return 0;
  }
  cudaDeviceProp prop{};
  cudaGetDeviceProperties(&prop, 0);
  std::printf("device 0: %s, compute capability %d.%d\n", prop.name, prop.major, prop.minor);

  // batch, inC, inH, inW, outC, kH, kW, sH, sW, pads (top left bottom right), groups, outH, outW, relu
  const alexnet::conv2d_params convs[] = {
      {2, 3, 13, 11, 5, 3, 3, 1, 1, 1, 0, 2, 1, 1, 14, 10, false},   // asymmetric pads
      {1, 6, 17, 19, 9, 5, 3, 2, 3, 2, 1, 0, 2, 3, 8, 7, true},      // groups 3, stride 2x3
      {2, 3, 35, 39, 17, 11, 11, 4, 4, 0, 0, 0, 0, 1, 7, 8, true},   // conv1-like
      {1, 64, 15, 13, 250, 3, 3, 1, 1, 1, 1, 1, 1, 1, 15, 13, true}, // k 576, several m tiles
      {3, 10, 11, 11, 14, 5, 5, 1, 1, 2, 2, 2, 2, 2, 11, 11, true},  // groups 2 like caffe conv2
  };
  const char* labels[] = {"3x3 asymmetric pads", "5x3 s2x3 groups 3", "11x11 s4", "deep k 576 x 250", "5x5 groups 2"};
  for (cuda_precision precision : {cuda_precision::fp32, cuda_precision::tf32, cuda_precision::bf16}) {
    for (size_t i = 0; i < sizeof(convs) / sizeof(convs[0]); ++i) test_conv2d(convs[i], i != 1, precision, labels[i]);
    test_linear(3, 37, 29, false, precision);
    test_linear(33, 301, 45, true, precision);
    test_linear(70, 1000, 130, true, precision);
  }
  // batch, channels, inH, inW, kH, kW, sH, sW, pads (top left bottom right), outH, outW
  test_pool({2, 3, 13, 15, 3, 3, 2, 2, 0, 0, 0, 0, 6, 7}, true, false);
  test_pool({2, 3, 14, 12, 3, 3, 2, 2, 0, 0, 0, 0, 7, 6}, true, false);  // ceil
  test_pool({1, 5, 11, 10, 2, 3, 3, 2, 1, 0, 0, 1, 5, 5}, true, false);  // asymmetric pads, ceil
  for (bool include : {false, true}) {
    test_pool({1, 5, 11, 10, 2, 3, 3, 2, 1, 0, 0, 1, 5, 5}, false, include);
    test_pool({3, 2, 7, 9, 3, 2, 1, 1, 1, 1, 1, 0, 7, 9}, false, include);
  }
  test_lrn({2, 7, 5, 6, 5, 1e-4f, 0.75f, 1.0f}, 100.0f);
  test_lrn({1, 9, 3, 7, 4, 0.5f, 0.6f, 2.0f}, 2.0f);
  test_lrn({3, 2, 4, 5, 3, 1.0f, 1.0f, 1.5f}, 1.0f);
  test_softmax(3, 1001, false);
  test_softmax(1, 7, true);
  test_adaptive({2, 3, 13, 13, 6, 6});
  test_adaptive({1, 4, 5, 7, 3, 4});
  test_adaptive({1, 3, 2, 3, 5, 4});
  test_relu();

  if (failures) {
    std::printf("%d FAILED\n", failures);
    return 1;
  }
  std::printf("all CUDA kernel checks passed\n");
  return 0;
}

#include "kernels/cpu/winograd.h"

#include <cstdlib>
#include <cstring>

namespace alexnet {

size_t winograd_weight_length(const conv2d_params& p) { return 0; }
void winograd_pack_weights(const conv2d_params& p, const float* weight, float* transformed, thread_pool& pool) {}
bool winograd_enabled() {
  const char* v = std::getenv("ALEXNET_CLI_WINOGRAD");
  return !(v && std::strcmp(v, "0") == 0);
}
bool winograd_pays(const conv2d_params& p) { return false; }
int winograd_forward(const conv2d_params& p, const float* in, const float* transformed, const float* bias, float* out,
                     thread_pool& pool) {
  return KERNEL_BAD_SHAPE;
}

}  // namespace alexnet

// Per-environment state of the addon (Node worker threads each get their own), kept as the env's
// instance data. Add fields here rather than calling SetInstanceData elsewhere.
#pragma once

#include <napi.h>

namespace alexnet {

struct addon_state {
  Napi::FunctionReference tensor_constructor;
};

inline addon_state& get_addon_state(Napi::Env env) {
  addon_state* state = env.GetInstanceData<addon_state>();
  if (!state) {
    state = new addon_state();
    env.SetInstanceData(state);  // deleted by node-addon-api when the env is torn down
  }
  return *state;
}

}  // namespace alexnet

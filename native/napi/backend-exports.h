// What both addons export for the Binding interface of lib/native.ts, each with its own backend's
// functions: version, backends(), alloc() and fromFile(). The ops come from the shared op table
// (export_plan_ops, napi/plan-call.h); each addon.cc lists the rest of its exports itself.
#pragma once

#include <napi.h>

#ifndef ALEXNET_VERSION
#define ALEXNET_VERSION "0.0.0"
#endif

namespace alexnet {

struct backend_functions {
  Napi::Function::Callback backends;
  Napi::Function::Callback alloc;
  Napi::Function::Callback from_file;
};

inline void export_backend_functions(Napi::Env env, Napi::Object exports, const backend_functions& fns) {
  exports.Set("version", Napi::String::New(env, ALEXNET_VERSION));
  exports.Set("backends", Napi::Function::New(env, fns.backends, "backends"));
  exports.Set("alloc", Napi::Function::New(env, fns.alloc, "alloc"));
  exports.Set("fromFile", Napi::Function::New(env, fns.from_file, "fromFile"));
}

}  // namespace alexnet

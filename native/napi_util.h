// Argument access for the N-API entry points. JavaScript does all shape logic and passes typed
// arrays (read and written in place, never copied) and plain numbers.
#pragma once
#include <napi.h>

#include <cstdint>

namespace df {

inline float* f32(const Napi::CallbackInfo& info, size_t i) {
  if (!info[i].IsTypedArray() || info[i].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    throw Napi::TypeError::New(info.Env(), "argument " + std::to_string(i) + " must be a Float32Array");
  }
  return info[i].As<Napi::Float32Array>().Data();
}

inline const int32_t* i32(const Napi::CallbackInfo& info, size_t i) {
  if (!info[i].IsTypedArray() || info[i].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
    throw Napi::TypeError::New(info.Env(), "argument " + std::to_string(i) + " must be an Int32Array");
  }
  return info[i].As<Napi::Int32Array>().Data();
}

/** Float32Array argument that may be null (absent optional input). */
inline float* f32_or_null(const Napi::CallbackInfo& info, size_t i) {
  return info[i].IsNull() || info[i].IsUndefined() ? nullptr : f32(info, i);
}

inline int64_t int_arg(const Napi::CallbackInfo& info, size_t i) {
  return info[i].As<Napi::Number>().Int64Value();
}

inline double num_arg(const Napi::CallbackInfo& info, size_t i) {
  return info[i].As<Napi::Number>().DoubleValue();
}

inline bool bool_arg(const Napi::CallbackInfo& info, size_t i) { return info[i].ToBoolean().Value(); }

/** Each kernel family adds its functions to the module's exports. */
void register_matmul(Napi::Env env, Napi::Object exports);
void register_elementwise(Napi::Env env, Napi::Object exports);
void register_reduce(Napi::Env env, Napi::Object exports);
void register_transpose(Napi::Env env, Napi::Object exports);
void register_gather(Napi::Env env, Napi::Object exports);
void register_softmax(Napi::Env env, Napi::Object exports);
void register_rms_norm(Napi::Env env, Napi::Object exports);
void register_attention_softmax(Napi::Env env, Napi::Object exports);
void register_cross_entropy(Napi::Env env, Napi::Object exports);
void register_gated_gelu(Napi::Env env, Napi::Object exports);
void register_adamw(Napi::Env env, Napi::Object exports);
void register_adafactor(Napi::Env env, Napi::Object exports);
void register_attention_matmul(Napi::Env env, Napi::Object exports);
void register_huge_pages(Napi::Env env, Napi::Object exports);

inline void export_fn(Napi::Env env, Napi::Object exports, const char* name,
                      Napi::Value (*fn)(const Napi::CallbackInfo&)) {
  exports.Set(name, Napi::Function::New(env, fn, name));
}

}  // namespace df

namespace df {

/** A JavaScript array of names: op codes are indices into it, so C++ holds the only list. */
template <size_t N>
Napi::Array name_list(Napi::Env env, const char* const (&names)[N]) {
  Napi::Array a = Napi::Array::New(env, N);
  for (size_t i = 0; i < N; i++) a.Set(static_cast<uint32_t>(i), names[i]);
  return a;
}

}  // namespace df

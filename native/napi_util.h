// How the generated entry points (ops_napi.h, from native/ops.js) read an op's N-API arguments:
// one accessor per argument kind, each checking the kind and naming the op and the argument when
// it is wrong. Typed arrays are read and written in place, never copied.
#pragma once
#include <napi.h>

#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "denormals.h"

namespace df {

class Args {
 public:
  Args(const Napi::CallbackInfo& call, const char* op, size_t count) : call_(call), op_(op) {
    if (call.Length() != count) {
      throw Napi::TypeError::New(call.Env(), std::string(op) + " takes " + std::to_string(count) + " arguments, got " +
                                                 std::to_string(call.Length()));
    }
  }

  float* f32(size_t i, const char* name) const {
    return array<float>(i, name, napi_float32_array, "a Float32Array");
  }
  /** A Float32Array or null (an absent optional input): nullptr then. */
  float* f32_or_null(size_t i, const char* name) const {
    if (call_[i].IsNull() || call_[i].IsUndefined()) return nullptr;
    return array<float>(i, name, napi_float32_array, "a Float32Array or null");
  }
  /** A Uint16Array (bfloat16 values, as stored by the native backend) or null: nullptr then. */
  uint16_t* u16_or_null(size_t i, const char* name) const {
    if (call_[i].IsNull() || call_[i].IsUndefined()) return nullptr;
    return array<uint16_t>(i, name, napi_uint16_array, "a Uint16Array or null");
  }
  const int32_t* i32(size_t i, const char* name) const {
    return array<int32_t>(i, name, napi_int32_array, "an Int32Array");
  }
  const double* f64(size_t i, const char* name) const {
    return array<double>(i, name, napi_float64_array, "a Float64Array");
  }
  /** Elements of typed array i (0 for null), once its accessor has checked it. */
  int64_t length(size_t i) const {
    return call_[i].IsTypedArray() ? static_cast<int64_t>(call_[i].As<Napi::TypedArray>().ElementLength()) : 0;
  }

  int64_t integer(size_t i, const char* name) const {
    const double v = call_[i].IsNumber() ? call_[i].As<Napi::Number>().DoubleValue() : NAN;
    // A fractional count is a bug at the call site, which truncating would hide.
    if (!(std::isfinite(v) && v == std::trunc(v))) throw wrong(i, name, "an integer");
    return static_cast<int64_t>(v);
  }
  double number(size_t i, const char* name) const {
    if (!call_[i].IsNumber()) throw wrong(i, name, "a number");
    return call_[i].As<Napi::Number>().DoubleValue();
  }
  bool boolean(size_t i, const char* name) const {
    if (!call_[i].IsBoolean()) throw wrong(i, name, "a boolean");
    return call_[i].As<Napi::Boolean>().Value();
  }
  std::string string(size_t i, const char* name) const {
    if (!call_[i].IsString()) throw wrong(i, name, "a string");
    return call_[i].As<Napi::String>().Utf8Value();
  }

  /**
   * Runs the op and returns its result to JavaScript. An op reports bad input by throwing
   * std::range_error (a RangeError in JavaScript) or std::invalid_argument (a TypeError), with a
   * message the op's name is put in front of.
   */
  template <class F>
  Napi::Value run(const F& op) const {
    const Napi::Env env = call_.Env();
    try {
      const FlushDenormals flush;
      if constexpr (std::is_void_v<std::invoke_result_t<F>>) {
        op();
        return env.Undefined();
      } else {
        return to_js(env, op());
      }
    } catch (const Napi::Error&) {
      throw;
    } catch (const std::range_error& e) {
      throw Napi::RangeError::New(env, prefixed(e.what()));
    } catch (const std::invalid_argument& e) {
      throw Napi::TypeError::New(env, prefixed(e.what()));
    } catch (const std::exception& e) {
      // Anything else (std::bad_alloc) would otherwise end the process.
      throw Napi::Error::New(env, prefixed(e.what()));
    }
  }

 private:
  template <class T>
  T* array(size_t i, const char* name, napi_typedarray_type type, const char* what) const {
    const Napi::Value v = call_[i];
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != type) throw wrong(i, name, what);
    return v.As<Napi::TypedArrayOf<T>>().Data();
  }

  Napi::TypeError wrong(size_t i, const char* name, const char* what) const {
    return Napi::TypeError::New(call_.Env(), std::string(op_) + ": argument " + std::to_string(i) + " (" + name +
                                                 ") must be " + what);
  }

  std::string prefixed(const char* message) const { return std::string(op_) + ": " + message; }

  static Napi::Value to_js(Napi::Env env, double v) { return Napi::Number::New(env, v); }
  static Napi::Value to_js(Napi::Env env, bool v) { return Napi::Boolean::New(env, v); }
  static Napi::Value to_js(Napi::Env, Napi::Object v) { return v; }
  static Napi::Value to_js(Napi::Env env, const std::vector<std::string>& names) {
    Napi::Array a = Napi::Array::New(env, names.size());
    for (size_t i = 0; i < names.size(); i++) a.Set(static_cast<uint32_t>(i), names[i]);
    return a;
  }

  const Napi::CallbackInfo& call_;
  const char* op_;
};

}  // namespace df

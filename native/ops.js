// The native addon's interface, declared once: every function it exports, its arguments in order
// ('name: kind') and what it returns (nothing when `returns` is absent). Both sides follow from it:
//   TypeScript  NativeAddon (src/engine/native/addon.ts) maps each entry to a function type.
//   C++         scripts/build-native.js generates, into the build directory, ops.h (each op's C++
//               function, `df::op::<name>`, defined in native/*.cc) and ops_napi.h (the N-API
//               entry points, which check the count and kinds of the arguments, naming the op and
//               the argument when one is wrong, then call that function).
//   ABI         a hash of this table, compiled into the addon: an addon built from another version
//               of the table is refused when it loads.
//
// To add an op: an entry here, its C++ function `op::<name>` (in namespace df, in a native/*.cc
// file) with the parameters the kinds give, and its call site. Nothing else (but a new .cc file
// goes into addon.gypi). A definition that does not match its entry fails to compile:
//   here        scale: { args: ['x: f32[n]', 'out: f32 out', 'factor: number'] },
//   C++         void op::scale(const float* x, int64_t n, float* out, double factor) { … }
//   TypeScript  addon.scale(x, out, 2);
//
//   kind        JavaScript            C++ parameter
//   f32         Float32Array          const float*
//   f32 out     Float32Array          float*            written by the op
//   f32?        Float32Array | null   const float*      nullptr for null
//   f32? out    Float32Array | null   float*
//   u16? (out)  Uint16Array | null    (const) uint16_t*  bfloat16 bits (an activation stored in bf16)
//   i32         Int32Array            const int32_t*
//   f64         Float64Array          const double*     a layout of shapes and strides
//   int         number                int64_t           must be an integer
//   number      number                double
//   bool        boolean               bool
//   string      string                const std::string&
//   An array kind with [len] also passes the element count: 'x: f32[n]' is `const float* x, int64_t n`.
//
//   returns     JavaScript            C++ return type
//   number      number                double
//   bool        boolean               bool
//   names       string[]              std::vector<std::string>
//   info        AddonInfo             Napi::Object      built by the function, given the Napi::Env first
//
// Typed arrays are read and written in place, never copied; JavaScript does all shape logic.
'use strict';

const OPS = /** @type {const} */ ({
  /** The GEMM kernel, thread count, SIMD level and whether bf16 products are built in. */
  info: { args: [], returns: 'info' },
  setThreads: { args: ['threads: int'] },
  /** Selects the GEMM kernel by name; false when it is not built in. */
  selectGemm: { args: ['name: string'], returns: 'bool' },
  /** Asks the OS to back the array's whole 2 MiB pages with huge pages (before it is first written). */
  adviseHugePages: { args: ['array: f32[n]'] },

  /**
   * GFLOP/s of the machine's arithmetic from registers on all threads ('fp32': fused multiply-adds,
   * 'bf16': bf16 dot products), each thread timed in its own CPU time for `seconds`.
   */
  peakGflops: { args: ['kind: string', 'seconds: number'], returns: 'number' },

  /**
   * bf16: products of bf16-rounded operands summed in float32 (info().bf16 must be true). An
   * operand stored in bf16 comes as aBf16 or bBf16 (B not transposed) instead of a or b, which
   * are then null; bf16 must be true then.
   */
  matmul: {
    args: ['a: f32?', 'b: f32?', 'c: f32 out', 'batch: int', 'batchA: int', 'batchB: int', 'm: int', 'n: int', 'k: int',
      'transA: bool', 'transB: bool', 'bf16: bool', 'aBf16: u16?', 'bBf16: u16?'],
  },
  /** Names of the op codes that `binary`, `unary` and `reduce` take, in code order. */
  binaryOps: { args: [], returns: 'names' },
  unaryOps: { args: [], returns: 'names' },
  reduceOps: { args: [], returns: 'names' },
  binary: { args: ['op: int', 'a: f32', 'b: f32', 'out: f32 out', 'layout: f64'] },
  unary: { args: ['op: int', 'x: f32[n]', 'out: f32 out', 'param: number'] },
  reduce: { args: ['op: int', 'x: f32', 'out: f32 out', 'outer: int', 'n: int', 'inner: int'] },
  transpose: { args: ['x: f32', 'out: f32 out', 'layout: f64'] },
  /** Indices must be in [0, axisDim) (checked by the caller). */
  gather: { args: ['params: f32', 'indices: i32[n]', 'out: f32 out', 'outer: int', 'axisDim: int', 'inner: int'] },
  segmentSum: { args: ['data: f32', 'ids: i32[n]', 'out: f32 out', 'inner: int', 'numSegments: int'] },
  softmax: { args: ['logits: f32', 'out: f32 out', 'rows: int', 'cols: int'] },

  /** y, or yBf16 (the output stored in bf16, for products only), the other null. */
  rmsNorm: {
    args: ['x: f32', 'w: f32', 'y: f32? out', 'yBf16: u16? out', 'rows: int', 'd: int', 'groups: i32[groupCount]', 'eps: number'],
  },
  rmsNormGrad: {
    args: ['dy: f32', 'x: f32', 'w: f32', 'dx: f32 out', 'dw: f32 out', 'rows: int', 'd: int', 'groups: i32[groupCount]',
      'eps: number'],
  },
  attentionSoftmax: {
    args: ['scores: f32', 'bias: f32?', 'keyMask: f32?', 'out: f32 out', 'batch: int', 'heads: int', 'queries: int',
      'keys: int', 'causal: bool'],
  },
  attentionSoftmaxGrad: { args: ['dy: f32', 'probs: f32', 'dx: f32 out', 'rows: int', 'keys: int'] },
  /** The mean loss; labels must be −100 or in [0, vocab) (checked by the caller). */
  crossEntropy: { args: ['logits: f32', 'labels: i32', 'rows: int', 'vocab: int'], returns: 'number' },
  crossEntropyGrad: { args: ['dLoss: number', 'logits: f32', 'labels: i32', 'dx: f32 out', 'rows: int', 'vocab: int'] },
  /** out, or outBf16 (stored in bf16, for products only), the other null. */
  gatedGelu: { args: ['gate: f32[n]', 'linear: f32', 'out: f32? out', 'outBf16: u16? out'] },
  /** dGate and dLinear, or both stored in bf16 (for products only), the others null. */
  gatedGeluGrad: {
    args: ['dy: f32', 'gate: f32[n]', 'linear: f32', 'dGate: f32? out', 'dLinear: f32? out', 'dGateBf16: u16? out',
      'dLinearBf16: u16? out'],
  },
  attentionScores: {
    args: ['q: f32', 'k: f32', 'out: f32 out', 'batch: int', 'heads: int', 'queries: int', 'keys: int', 'dk: int', 'bf16: bool'],
  },
  attentionContext: {
    args: ['p: f32', 'x: f32', 'out: f32 out', 'batch: int', 'heads: int', 'rows: int', 'cols: int', 'dk: int',
      'transposeP: bool', 'bf16: bool'],
  },
  /**
   * Fused attention from projections q [B, Tq, H·dk], k and v [B, Tk, H·dk]: out [B, Tq, H·dk] and
   * the probabilities [B, H, Tq, Tk] (bias [H, Tq, Tk] and keyMask [B, Tk] optional).
   */
  attention: {
    args: ['q: f32', 'k: f32', 'v: f32', 'bias: f32?', 'keyMask: f32?', 'probs: f32 out', 'out: f32? out', 'outBf16: u16? out',
      'batch: int', 'heads: int', 'queries: int', 'keys: int', 'headDim: int', 'causal: bool', 'bf16: bool'],
  },
  /**
   * Its gradients from dOut and the saved probabilities; dBias [H, Tq, Tk] when the attention had a
   * bias. dQ, dK and dV, or all three stored in bf16 (for products only), the others null.
   */
  attentionGrad: {
    args: ['dOut: f32', 'q: f32', 'k: f32', 'v: f32', 'probs: f32', 'dQ: f32? out', 'dK: f32? out', 'dV: f32? out',
      'dQBf16: u16? out', 'dKBf16: u16? out', 'dVBf16: u16? out', 'dBias: f32? out', 'batch: int', 'heads: int',
      'queries: int', 'keys: int', 'headDim: int', 'bf16: bool'],
  },
  adamw: {
    args: ['param: f32[n]', 'grad: f32', 'm: f32', 'v: f32', 'outParam: f32 out', 'outM: f32 out', 'outV: f32 out',
      'learningRate: number', 'beta1: number', 'beta2: number', 'epsilon: number', 'weightDecay: number', 'step: number',
      'gradScale: number'],
  },
  /**
   * Factored (param = mats × rows × cols, vOrVr [mats·rows], vc [mats·cols]) when vc is given,
   * else unfactored (vOrVr shaped like param); m and outM only with beta1 > 0.
   */
  adafactor: {
    args: ['param: f32[n]', 'grad: f32', 'vOrVr: f32', 'vc: f32?', 'm: f32?', 'outParam: f32 out', 'outVOrVr: f32 out',
      'outVc: f32? out', 'outM: f32? out', 'mats: int', 'rows: int', 'cols: int', 'learningRate: number', 'beta2: number',
      'eps1: number', 'eps2: number', 'clipThreshold: number', 'scaleParameter: bool', 'beta1: number',
      'weightDecay: number', 'gradScale: number'],
  },
});

/** The interface version: a hash of the table, so that any change to it is a new version. */
function abiOf(ops) {
  return require('node:crypto').createHash('sha256').update(JSON.stringify(ops)).digest('hex').slice(0, 16);
}

module.exports = { OPS, ABI: abiOf(OPS), abiOf };

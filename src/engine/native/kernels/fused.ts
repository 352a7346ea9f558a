// Native kernels of the project's fused ops (src/engine/fused), registered under the same
// kernel names as their reference kernels; the gradients registered there call these too.
import type { KernelConfig } from '@tensorflow/tfjs';
import { ADAFACTOR, factorLayout, isFactored, momentNames, type AdafactorAttrs } from '../../fused/adafactor';
import { ADAMW, type AdamWAttrs } from '../../fused/adamw';
import { ATTENTION, ATTENTION_GRAD, attentionShape } from '../../fused/attention';
import { ATTENTION_CONTEXT, ATTENTION_SCORES, contextShape, scoresShape } from '../../fused/attention_matmul';
import { ATTENTION_SOFTMAX, ATTENTION_SOFTMAX_GRAD } from '../../fused/attention_softmax';
import { checkLabel, CROSS_ENTROPY, CROSS_ENTROPY_GRAD } from '../../fused/cross_entropy';
import { GATED_GELU, GATED_GELU_GRAD } from '../../fused/gated_gelu';
import { RMS_NORM, RMS_NORM_GRAD, type RmsNormAttrs } from '../../fused/rms_norm';
import { productPrecision } from '../../product_precision';
import { sizeOf } from '../layout';
import { allFloat32, nativeKernel, need, type NativeArgs } from './kernel';

/**
 * Whether a kernel stores its outputs in bf16: the products run in bf16, rounding them anyway, and
 * the op's caller says only products read them (src/engine/fused): `productsOnly` for a forward
 * op's output; `inputsFromProducts` for a gradient op's input gradients (the forward op's inputs
 * came from products, so only those products' gradients read them).
 */
function storeBf16({ attrs, backend }: NativeArgs, attr: 'productsOnly' | 'inputsFromProducts' = 'productsOnly'): boolean {
  return backend.bf16Storage && Boolean(attrs[attr]) && productPrecision() === 'bf16';
}

export function fusedKernels(): KernelConfig[] {
  return [
    nativeKernel(RMS_NORM, (args) => {
      const { inputs, backend, attrs } = args;
      const x = need(inputs, 'x');
      const w = need(inputs, 'weight');
      if (!allFloat32(x, w)) return null;
      const { groups, eps } = attrs as unknown as RmsNormAttrs;
      const d = w.shape[0];
      const rows = sizeOf(x.shape) / Math.max(d, 1);
      if (storeBf16(args)) {
        const out = backend.outputBf16(x.shape);
        if (rows > 0) backend.addon.rmsNorm(backend.f32(x), backend.f32(w), null, out.values, rows, d, Int32Array.from(groups), eps);
        return out.info;
      }
      const y = backend.alloc(sizeOf(x.shape));
      if (y.length > 0) backend.addon.rmsNorm(backend.f32(x), backend.f32(w), y, null, rows, d, Int32Array.from(groups), eps);
      return backend.output(x.shape, y);
    }),
    nativeKernel(RMS_NORM_GRAD, ({ inputs, backend, attrs }) => {
      const dy = need(inputs, 'dy');
      const x = need(inputs, 'x');
      const w = need(inputs, 'weight');
      if (!allFloat32(dy, x, w)) return null;
      const { groups, eps } = attrs as unknown as RmsNormAttrs;
      const d = w.shape[0];
      const dx = backend.alloc(sizeOf(x.shape));
      const dw = backend.alloc(d);
      backend.addon.rmsNormGrad(backend.f32(dy), backend.f32(x), backend.f32(w), dx, dw, dx.length / Math.max(d, 1), d,
        Int32Array.from(groups), eps);
      return [backend.output(x.shape, dx), backend.output(w.shape, dw)];
    }),
    nativeKernel(ATTENTION_SOFTMAX, ({ inputs, backend, attrs }) => {
      const scores = need(inputs, 'scores');
      const { bias, keyMask } = inputs;
      if (!allFloat32(scores, bias, keyMask)) return null;
      const [batch, heads, queries, keys] = scores.shape;
      const out = backend.alloc(sizeOf(scores.shape));
      if (out.length > 0) {
        backend.addon.attentionSoftmax(backend.f32(scores), bias ? backend.f32(bias) : null,
          keyMask ? backend.f32(keyMask) : null, out, batch, heads, queries, keys, Boolean(attrs.causal));
      }
      return backend.output(scores.shape, out);
    }),
    nativeKernel(ATTENTION_SOFTMAX_GRAD, ({ inputs, backend }) => {
      const dy = need(inputs, 'dy');
      const probs = need(inputs, 'probs');
      if (!allFloat32(dy, probs)) return null;
      const keys = probs.shape[probs.shape.length - 1];
      const dx = backend.alloc(sizeOf(probs.shape));
      if (dx.length > 0) backend.addon.attentionSoftmaxGrad(backend.f32(dy), backend.f32(probs), dx, dx.length / keys, keys);
      return backend.output(probs.shape, dx);
    }),
    nativeKernel(CROSS_ENTROPY, ({ inputs, backend }) => {
      const logits = need(inputs, 'logits');
      const labels = need(inputs, 'labels');
      if (!allFloat32(logits) || labels.dtype !== 'int32') return null;
      const [rows, vocab] = logits.shape;
      const ids = backend.i32(labels);
      for (const label of ids) checkLabel(label, vocab);
      const out = backend.alloc(1);
      out[0] = backend.addon.crossEntropy(backend.f32(logits), ids, rows, vocab);
      return backend.output([], out);
    }),
    nativeKernel(CROSS_ENTROPY_GRAD, ({ inputs, backend }) => {
      const dy = need(inputs, 'dy');
      const logits = need(inputs, 'logits');
      const labels = need(inputs, 'labels');
      if (!allFloat32(dy, logits) || labels.dtype !== 'int32') return null;
      const [rows, vocab] = logits.shape;
      const dx = backend.alloc(sizeOf(logits.shape));
      if (dx.length > 0) backend.addon.crossEntropyGrad(backend.f32(dy)[0], backend.f32(logits), backend.i32(labels), dx, rows, vocab);
      return backend.output(logits.shape, dx);
    }),
    nativeKernel(GATED_GELU, (args) => {
      const { inputs, backend } = args;
      const gate = need(inputs, 'gate');
      const linear = need(inputs, 'linear');
      if (!allFloat32(gate, linear)) return null;
      if (storeBf16(args)) {
        const out = backend.outputBf16(gate.shape);
        if (out.values.length > 0) backend.addon.gatedGelu(backend.f32(gate), backend.f32(linear), null, out.values);
        return out.info;
      }
      const y = backend.alloc(sizeOf(gate.shape));
      if (y.length > 0) backend.addon.gatedGelu(backend.f32(gate), backend.f32(linear), y, null);
      return backend.output(gate.shape, y);
    }),
    nativeKernel(GATED_GELU_GRAD, (args) => {
      const { inputs, backend } = args;
      const dy = need(inputs, 'dy');
      const gate = need(inputs, 'gate');
      const linear = need(inputs, 'linear');
      if (!allFloat32(dy, gate, linear)) return null;
      const size = sizeOf(gate.shape);
      if (storeBf16(args, 'inputsFromProducts')) {
        const [dGate, dLinear] = [backend.outputBf16(gate.shape), backend.outputBf16(gate.shape)];
        if (size > 0) {
          backend.addon.gatedGeluGrad(backend.f32(dy), backend.f32(gate), backend.f32(linear), null, null, dGate.values, dLinear.values);
        }
        return [dGate.info, dLinear.info];
      }
      const dGate = backend.alloc(size);
      const dLinear = backend.alloc(size);
      if (size > 0) backend.addon.gatedGeluGrad(backend.f32(dy), backend.f32(gate), backend.f32(linear), dGate, dLinear, null, null);
      return [backend.output(gate.shape, dGate), backend.output(gate.shape, dLinear)];
    }),
    nativeKernel(ATTENTION_SCORES, ({ inputs, backend, attrs }) => {
      const q = need(inputs, 'q');
      const k = need(inputs, 'k');
      if (!allFloat32(q, k)) return null;
      const s = scoresShape(q, k, Number(attrs.heads));
      const shape = [s.batch, s.heads, s.queries, s.keys];
      const out = backend.alloc(sizeOf(shape));
      if (out.length > 0) {
        backend.addon.attentionScores(backend.f32(q), backend.f32(k), out, s.batch, s.heads, s.queries, s.keys, s.dk,
          productPrecision() === 'bf16');
      }
      return backend.output(shape, out);
    }),
    nativeKernel(ATTENTION_CONTEXT, ({ inputs, backend, attrs }) => {
      const p = need(inputs, 'probs');
      const x = need(inputs, 'x');
      if (!allFloat32(p, x)) return null;
      const s = contextShape(p, x);
      const transposeP = Boolean(attrs.transposeP);
      const shape = [s.batch, transposeP ? s.cols : s.rows, x.shape[2]];
      const out = backend.alloc(sizeOf(shape));
      if (out.length > 0) {
        backend.addon.attentionContext(backend.f32(p), backend.f32(x), out, s.batch, s.heads, s.rows, s.cols, s.dk, transposeP,
          productPrecision() === 'bf16');
      }
      return backend.output(shape, out);
    }),
    nativeKernel(ATTENTION, (args) => {
      const { inputs, backend, attrs } = args;
      const [q, k, v] = ['q', 'k', 'v'].map((n) => need(inputs, n));
      const { bias, keyMask } = inputs;
      if (!allFloat32(q, k, v, bias, keyMask)) return null;
      const s = attentionShape(q, k, Number(attrs.heads));
      const half = storeBf16(args) ? backend.outputBf16(q.shape) : null;
      const out = half ? null : backend.alloc(sizeOf(q.shape));
      const probs = backend.alloc(s.batch * s.heads * s.queries * s.keys);
      if (sizeOf(q.shape) > 0 || probs.length > 0) {
        backend.addon.attention(backend.f32(q), backend.f32(k), backend.f32(v), bias ? backend.f32(bias) : null,
          keyMask ? backend.f32(keyMask) : null, probs, out, half?.values ?? null, s.batch, s.heads, s.queries, s.keys, s.dk,
          Boolean(attrs.causal), productPrecision() === 'bf16');
      }
      return [half?.info ?? backend.output(q.shape, out!), backend.output([s.batch, s.heads, s.queries, s.keys], probs)];
    }),
    nativeKernel(ATTENTION_GRAD, (args) => {
      const { inputs, backend, attrs } = args;
      const [dy, q, k, v, probs] = ['dy', 'q', 'k', 'v', 'probs'].map((n) => need(inputs, n));
      if (!allFloat32(dy, q, k, v, probs)) return null;
      const s = attentionShape(q, k, Number(attrs.heads));
      const halves = storeBf16(args, 'inputsFromProducts') ? [q, k, v].map((t) => backend.outputBf16(t.shape)) : null;
      const [dq, dk, dv] = halves ? [null, null, null] : [q, k, v].map((t) => backend.alloc(sizeOf(t.shape)));
      const dBias = attrs.withBias ? backend.alloc(s.heads * s.queries * s.keys) : null;
      backend.addon.attentionGrad(backend.f32(dy), backend.f32(q), backend.f32(k), backend.f32(v), backend.f32(probs), dq, dk, dv,
        halves?.[0].values ?? null, halves?.[1].values ?? null, halves?.[2].values ?? null, dBias, s.batch, s.heads, s.queries,
        s.keys, s.dk, productPrecision() === 'bf16');
      const out = halves ? halves.map((h) => h.info)
        : [backend.output(q.shape, dq!), backend.output(k.shape, dk!), backend.output(v.shape, dv!)];
      return dBias ? [...out, backend.output([s.heads, s.queries, s.keys], dBias)] : out;
    }),
    nativeKernel(ADAMW, ({ inputs, backend, attrs }) => {
      const [param, grad, m, v] = ['param', 'grad', 'm', 'v'].map((name) => need(inputs, name));
      if (!allFloat32(param, grad, m, v)) return null;
      const a = attrs as unknown as AdamWAttrs;
      const size = sizeOf(param.shape);
      const [p2, m2, v2] = [backend.alloc(size), backend.alloc(size), backend.alloc(size)];
      if (size > 0) {
        backend.addon.adamw(backend.f32(param), backend.f32(grad), backend.f32(m), backend.f32(v), p2, m2, v2,
          a.learningRate, a.beta1, a.beta2, a.epsilon, a.weightDecay, a.step, a.gradScale);
      }
      return [backend.output(param.shape, p2), backend.output(param.shape, m2), backend.output(param.shape, v2)];
    }),
    nativeKernel(ADAFACTOR, ({ inputs, backend, attrs }) => {
      const param = need(inputs, 'param');
      const grad = need(inputs, 'grad');
      const a = attrs as unknown as AdafactorAttrs;
      const moments = momentNames(param.shape, a.beta1).map((name) => need(inputs, name));
      if (!allFloat32(param, grad, ...moments)) return null;
      const outputs = [param, ...moments].map((t) => backend.alloc(sizeOf(t.shape)));
      if (outputs[0].length > 0) {
        const factored = isFactored(param.shape);
        const { mats, rows, cols } = factored ? factorLayout(param.shape) : { mats: 1, rows: 1, cols: outputs[0].length };
        // Inputs and outputs in the addon's order: v (or vr), vc, m; absent ones null.
        const [first, second, third] = moments.map((t) => backend.f32(t));
        const [p2, o1, o2, o3] = outputs;
        const [vc, m, vc2, m2] = factored ? [second, third, o2, o3] : [null, second, null, o2];
        backend.addon.adafactor(backend.f32(param), backend.f32(grad), first, vc ?? null, m ?? null, p2, o1, vc2 ?? null, m2 ?? null,
          mats, rows, cols, a.learningRate, a.beta2, a.eps1, a.eps2, a.clipThreshold, a.scaleParameter, a.beta1,
          a.weightDecay, a.gradScale);
      }
      return [param, ...moments].map((t, i) => backend.output(t.shape, outputs[i]));
    }),
  ];
}

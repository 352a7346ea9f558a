import { describeBackend, initEngine, tf } from '../../engine';
import { measureHardwarePeak, nativeAddon } from '../../engine/native';
import { resolvePrecision } from '../../engine/precision';
import { UserError } from '../../errors';
import { makeConfig } from '../../model/config';
import { matmulFlops } from '../../model/flops';
import { BENCH_SETTINGS, benchmarkTraining, saveBenchInputs, type BenchOptions, type BenchOptimizer } from '../../training/benchmark';
import { parseCommandArgs, type Command } from '../command';
import { formatBytes } from '../format';
import type { KernelTime } from '../../engine/profile';
import type { ProductTime } from '../../engine/native/products';

export const benchCommand: Command = {
  name: 'bench',
  summary: 'time T5 training steps: step time, tokens/s, GFLOP/s, MFU, memory',
  help: `Usage: deepfusion bench [shape options] [--optimizer adam|adafactor|tf-adam|sgd] [--steps N] [--warmup N]
                       [--precision bf16|fp32] [--backend native|cpu] [--save-init DIR] [--no-peak]

Trains a freshly initialised T5 of the given shape on a fixed synthetic batch (token ids drawn
from a seeded generator, no padding) and prints one line per step, then one JSON line with
precision, step_seconds_median, tokens_per_second, gflops (matmul FLOPs per step / median step
time; see src/model/flops.ts), mfu (gflops over peak_gflops: the machine's peak for the
precision, measured after the steps by a register-only microbenchmark on every thread: fp32
fused multiply-adds, or bf16 dot products; both are in hardware_peak_gflops), peak_rss_mb and the
backend. docs/performance.md explains the numbers.

${BENCH_SETTINGS.help(['Shape', 'Training'])}

Other:
  --backend NAME   compute backend (default: $DEEPFUSION_BACKEND, else native when it loads)
  --save-init DIR  also write DIR/config.json, model.safetensors, batch.safetensors: the same
                   model, batch and optimizer for bench/torch_t5.py (the PyTorch peer)
  --no-peak        skip the peak measurement (mfu is then null)
  --profile        time every kernel during the measured steps and print a table per step
  --products       time every matrix product of the measured steps (a line per shape: calls, ms a
                   step, GFLOP/s), then each shape alone on fresh operands, to tell the GEMM's speed
                   from what the step around it costs it (native backend)
Environment: DEEPFUSION_THREADS (threads, default all cores), DEEPFUSION_GEMM=portable|openblas.

Example: deepfusion bench --d-model 512 --heads 8 --d-ff 2048 --layers 4 --vocab 8192 \\
           --batch 16 --input-len 128 --target-len 32 --ff gated-gelu --optimizer adam --steps 6`,
  async run(argv) {
    const { values } = parseCommandArgs('bench', argv, {
      ...BENCH_SETTINGS.cliOptions(), backend: { type: 'string' }, 'save-init': { type: 'string' }, 'no-peak': { type: 'boolean' },
      profile: { type: 'boolean' }, products: { type: 'boolean' },
    }, false);
    const b = BENCH_SETTINGS.resolve([{ values: BENCH_SETTINGS.fromArgs(values), source: 'deepfusion bench', fromFlags: true }]);
    if (b.d_kv === undefined && b.d_model % b.heads !== 0) {
      throw new UserError(`deepfusion bench: --d-model ${b.d_model} is not a multiple of --heads ${b.heads}; give --d-kv`);
    }
    const { d_model: dModel, heads, layers, ff, optimizer } = b;
    const backend = await initEngine(values.backend);
    const precision = resolvePrecision(b.precision);
    const opts: BenchOptions = {
      config: makeConfig({
        vocab_size: b.vocab, d_model: dModel, d_kv: b.d_kv ?? dModel / heads, d_ff: b.d_ff, num_layers: layers,
        num_decoder_layers: b.decoder_layers ?? layers, num_heads: heads, feed_forward_proj: ff, tie_word_embeddings: b.tied,
      }),
      shape: { batch: b.batch, inputLength: b.input_len, targetLength: b.target_len },
      optimizer: { name: optimizer, learningRate: b.lr, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 },
      steps: b.steps,
      warmup: b.warmup,
      seed: b.seed,
      precision,
      profile: values.profile ?? false,
      products: values.products ?? false,
    };
    if (values['save-init']) saveBenchInputs(values['save-init'], opts);
    console.log(`backend ${describeBackend()}`);
    const result = benchmarkTraining({
      ...opts,
      onStep: (r) => console.log([
        r.step === 0 ? 'warmup ' : `step ${String(r.step).padEnd(2)}`,
        `${r.seconds.toFixed(3)} s`, `loss ${r.loss.toFixed(6)}`,
        `${Math.round((opts.shape.batch * (opts.shape.inputLength + opts.shape.targetLength)) / r.seconds)} tok/s`,
        `tensors ${r.tensors} (${formatBytes(r.bytes)})`,
        r.peakTensorBytes === null ? '' : `peak ${formatBytes(r.peakTensorBytes)}`,
      ].join('  ').trimEnd()),
    });
    if (result.kernels) printProfile(result.kernels, opts.steps, result.stepSecondsMedian);
    if (result.products) printProducts(result.products, opts.steps);
    const addon = backend === 'native' ? nativeAddon() : null;
    const peaks = addon && !values['no-peak'] ? measureHardwarePeak(addon) : null;
    const peak = peaks ? (precision === 'bf16' ? peaks.bf16 : peaks.fp32) : null;
    const peakTensor = Math.max(...result.records.map((r) => r.peakTensorBytes ?? 0));
    const mb = (bytes: number): number => Math.round(bytes / 1048576 * 10) / 10;
    console.log(JSON.stringify({
      engine: 'deepfusion', backend, backend_description: describeBackend(),
      threads: addon?.info().threads ?? null,
      precision,
      optimizer: OPTIMIZER_DESCRIPTIONS[optimizer],
      config: { d_model: dModel, heads, d_kv: opts.config.d_kv, d_ff: opts.config.d_ff, layers, vocab: opts.config.vocab_size, ff },
      batch: opts.shape.batch, input_len: opts.shape.inputLength, target_len: opts.shape.targetLength,
      params: result.paramCount,
      step_seconds_median: result.stepSecondsMedian,
      step_seconds: result.records.filter((r) => r.step > 0).map((r) => r.seconds),
      cpu_seconds_per_step_median: result.cpuSecondsMedian,
      tokens_per_second: result.tokensPerSecond,
      flops_per_step: result.flopsPerStep,
      gflops: result.gflops,
      mfu: peak ? result.gflops / peak : null,
      peak_gflops: peak,
      peak_kind: peak ? (precision === 'bf16' ? 'bf16 dot products (vdpbf16ps)' : 'fp32 fused multiply-adds') : null,
      hardware_peak_gflops: peaks ? { fp32_fma: peaks.fp32, bf16_dot: peaks.bf16 } : null,
      peak_rss_mb: mb(result.peakRssMb * 1048576),
      memory_mb: {
        params: mb(result.stateBytes.params), grads: mb(result.stateBytes.grads), optimizer: mb(result.stateBytes.optimizer),
        peak_live_tensors: peakTensor > 0 ? mb(peakTensor) : null,
      },
      memory_stable: result.memoryStable,
      final_loss: result.records[result.records.length - 1].loss,
      tf_memory: { tensors: tf.memory().numTensors },
    }));
  },
};

const OPTIMIZER_DESCRIPTIONS: Record<BenchOptimizer, string> = {
  adam: 'adamw (weight decay 0)', adafactor: 'adafactor (T5 settings)', 'tf-adam': 'tf.train.adam', sgd: 'tf.train.sgd',
};

function printProfile(kernels: KernelTime[], steps: number, stepSeconds: number): void {
  console.log('kernel                          calls/step    ms/step  share of step  CPU ms/step');
  for (const k of kernels) {
    const ms = (k.seconds / steps) * 1000;
    console.log(`${k.kernel.padEnd(30)} ${String(Math.round(k.calls / steps)).padStart(10)} ${ms.toFixed(1).padStart(10)}  ` +
      `${((ms / 1000 / stepSeconds) * 100).toFixed(1).padStart(12)}%  ${((k.cpuSeconds / steps) * 1000).toFixed(1).padStart(11)}`);
  }
}

function printProducts(products: ProductTime[], steps: number): void {
  console.log('product (batch × m × n × k, op)       calls/step   in step: ms/step GFLOP/s   alone: ms/step GFLOP/s');
  const row = (label: string, calls: number, flops: number, seconds: number, alone: number): string =>
    `${label.padEnd(38)} ${String(calls).padStart(9)} ${((seconds / steps) * 1000).toFixed(2).padStart(17)} ` +
    `${(flops / seconds / 1e9).toFixed(0).padStart(7)} ${((alone / steps) * 1000).toFixed(2).padStart(15)} ${(flops / alone / 1e9).toFixed(0).padStart(7)}`;
  let [flops, seconds, alone, calls] = [0, 0, 0, 0];
  for (const p of products) {
    const f = p.batch * matmulFlops(p.m, p.n, p.k) * p.calls;
    const a = p.aloneSeconds ?? Number.NaN;
    // A operand stored in bf16 (src/engine/native/backend.ts) is marked with a ₕ (half width).
    const mark = (name: string): string => (p.stored.includes(name.toLowerCase()) ? `${name}ₕ` : name);
    const op = `${p.transA ? 'Aᵀ' : mark('A')}·${p.transB ? 'Bᵀ' : mark('B')}${p.bf16 ? ' bf16' : ''}`;
    console.log(row(`${p.batch} × ${p.m} × ${p.n} × ${p.k}, ${op}`, Math.round(p.calls / steps), f, p.seconds, a));
    [flops, seconds, alone, calls] = [flops + f, seconds + p.seconds, alone + a, calls + p.calls];
  }
  console.log(row('all products', Math.round(calls / steps), flops, seconds, alone));
}

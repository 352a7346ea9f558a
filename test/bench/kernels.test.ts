// The kernel A/B tool (bench/kernels.ts): its bit check finds no difference between a build and
// itself and names the first differing element between two that differ; its flags are checked.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { compareBits, gemmOutputs, KERNELS, parseOptions, type GemmShape, type Output } from '../../bench/kernels';
import { loadAddon, type NativeAddon } from '../../src/engine/native/addon';
import { UserError } from '../../src/errors';

const TOOL = path.resolve(__dirname, '..', '..', 'bench', 'kernels.js');
const TINY: GemmShape[] = [[1, 1, 1, 5, 7, 3], [2, 2, 1, 13, 33, 9]];

/** A stand-in for the addon computing a naive float32 product; `off` changes one output element. */
function fakeAddon(off?: { call: number; element: number }): NativeAddon {
  let calls = 0;
  const fake = {
    setThreads: () => undefined,
    matmul: (a: Float32Array, b: Float32Array, c: Float32Array, batch: number, batchA: number, batchB: number,
      m: number, n: number, k: number, ta: boolean, tb: boolean) => {
      for (let p = 0; p < batch; p++) {
        const ao = (batchA === 1 ? 0 : p) * m * k, bo = (batchB === 1 ? 0 : p) * k * n;
        for (let i = 0; i < m; i++) {
          for (let j = 0; j < n; j++) {
            let s = 0;
            for (let l = 0; l < k; l++) s += a[ao + (ta ? l * m + i : i * k + l)] * b[bo + (tb ? j * k + l : l * n + j)];
            c[p * m * n + i * n + j] = s;
          }
        }
      }
      if (off && calls === off.call) c[off.element] += 1;
      calls++;
    },
    attention: () => undefined,
    attentionGrad: () => undefined,
  };
  return fake as unknown as NativeAddon;
}

describe('bench/kernels.ts', () => {
  test('a differing element is reported with the output, the element and both values', () => {
    const result = compareBits([gemmOutputs(fakeAddon(), TINY), gemmOutputs(fakeAddon({ call: 6, element: 17 }), TINY)], ['old', 'new']);
    // Call 6 is the second shape with transA=true, transB=false, on one thread.
    assert.match(result.difference ?? '', /^2×13×33×9 transA=true transB=false, 1 thread\(s\): element 17 is \S+ in old and \S+ in new$/);
    assert.notEqual(result.hashes[0], result.hashes[1]);
    // Two products of 4 transpositions, then 6 attention outputs, on 1 and 2 threads.
    assert.equal(result.count, 2 * (TINY.length * 4 + 6));
  });

  test('identical fakes give the same bits; a build with fewer outputs is named', () => {
    const same = compareBits([gemmOutputs(fakeAddon(), TINY), gemmOutputs(fakeAddon(), TINY)]);
    assert.equal(same.difference, null);
    assert.equal(same.hashes[0], same.hashes[1]);
    const other = compareBits([gemmOutputs(fakeAddon(), TINY), gemmOutputs(fakeAddon(), TINY.slice(1))], ['a', 'b']);
    assert.match(other.difference ?? '', /^output 1×5×7×3 .* of a stands where b has 2×13×33×9/);
    function* firstFive(): Generator<Output> {
      let n = 0;
      for (const o of gemmOutputs(fakeAddon(), TINY)) if (n++ < 5) yield o;
    }
    const shorter = compareBits([gemmOutputs(fakeAddon(), TINY), firstFive()], ['a', 'b']);
    assert.equal(shorter.difference, 'a gives 28 outputs, b 5');
  });

  test('the built addon against itself, loaded from its own path twice: the same bits', (t) => {
    const loaded = loadAddon();
    if ('error' in loaded) return t.skip(loaded.error);
    if (!loaded.addon.info().bf16) return t.skip('the addon has no bf16 products');
    const result = compareBits([gemmOutputs(loaded.addon, TINY), gemmOutputs(loaded.addon, TINY)]);
    assert.equal(result.difference, null);
    assert.equal(result.count, 2 * (TINY.length * 4 + 6));
  });

  test('options: defaults from the kernel table, bad values named', () => {
    const gemm = parseOptions(['gemm-bf16']);
    assert.deepEqual(gemm?.shapes, KERNELS['gemm-bf16'].defaultShapes);
    assert.equal(gemm?.precision, 'bf16');
    assert.deepEqual(parseOptions(['attention', '--precision', 'fp32', '--threads', '1,2'])?.threads, [1, 2]);
    assert.equal(parseOptions(['--help']), null);
    const bad: Array<[string[], RegExp]> = [
      [['gemm-bf16', '--precision', 'fp32'], /--precision must be bf16 for gemm-bf16/],
      [['attention', '--shape', 'large'], /--shape must be small or base, got "large"/],
      [['attention', '--rounds', '0'], /--rounds must be a positive integer/],
      [['gemm-bf16', '--cpu', '--threads', '2'], /--cpu times one thread only/],
      [['softmax'], /unknown kernel "softmax"/],
      [[], /name one kernel: gemm-bf16 or attention/],
      [['attention', '--colder'], /--colder/],
    ];
    for (const [argv, message] of bad) assert.throws(() => parseOptions(argv), (e: Error) => e instanceof UserError && message.test(e.message));
  });

  test('a bad flag on the command line: one line and exit code 2; --help lists every kernel', () => {
    const r = spawnSync(process.execPath, [TOOL, 'attention', '--colder'], { encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.equal(r.stderr.trim().split('\n').length, 1);
    assert.match(r.stderr, /^error: .*--colder/);
    const help = spawnSync(process.execPath, [TOOL, '--help'], { encoding: 'utf8' });
    assert.equal(help.status, 0);
    for (const name of Object.keys(KERNELS)) assert.match(help.stdout, new RegExp(`^  ${name} `, 'm'));
  });
});

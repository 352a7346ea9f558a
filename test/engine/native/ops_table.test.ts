// The op table (native/ops.js) is the addon's only interface declaration: the TypeScript types,
// the C++ argument checks and the interface hash all follow from it.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { ABI, OPS, abiOf } from '../../../native/ops';
import { loadAddon, nativeAddon, PACKAGE_ROOT, PORTABLE_ADDON_PATH, type NativeAddon } from '../../../src/engine/native';
import { ADDON_ABI } from '../../../src/engine/native/addon';
import { temporaryDir } from '../../helpers/tmp';

/** The generator scripts/build-native.js runs (plain Node, outside the TypeScript build). */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const generator = require(path.join(PACKAGE_ROOT, 'scripts', 'native-ops.js')) as {
  headers(table?: object): Record<'ops.h' | 'ops_napi.h', string>;
};

function addon(): NativeAddon {
  const a = nativeAddon();
  assert.ok(a, 'the native addon did not load');
  return a;
}

const f32 = (n = 1): Float32Array => new Float32Array(n);

describe('native op table', () => {
  test('the addon was built from this table: same interface hash, and exactly its functions', () => {
    assert.equal(ADDON_ABI, abiOf(OPS));
    assert.equal(addon().abi, ADDON_ABI);
    // An install that found OpenBLAS also builds the portable variant beside it; one that did not
    // (a machine without libopenblas-dev) builds only the portable one, as the main addon.
    if (addon().info().openblasBuiltIn || fs.existsSync(PORTABLE_ADDON_PATH)) {
      const portable = loadAddon(PORTABLE_ADDON_PATH);
      assert.ok('addon' in portable, 'error' in portable ? portable.error : '');
      assert.equal(portable.addon.abi, ADDON_ABI);
    }
    const exported = Object.keys(addon()).filter((k) => k !== 'abi').sort();
    assert.deepEqual(exported, Object.keys(OPS).sort());
    for (const name of exported) assert.equal(typeof addon()[name as keyof typeof OPS], 'function', name);
  });

  test('an addon built from another version of the table is refused', () => {
    const dir = temporaryDir('df-abi-');
    try {
      const stale = path.join(dir, 'stale.js');
      fs.writeFileSync(stale, 'module.exports = { abi: "0123456789abcdef", setThreads() {} };\n');
      const loaded = loadAddon(stale);
      assert.ok('error' in loaded);
      assert.equal(loaded.error, `${stale} is out of date (interface 0123456789abcdef, expected ${ABI}). Fix: npm run build:native`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('any change to an argument list is a new interface version', () => {
    const changed = { ...OPS, softmax: { args: ['logits: f32', 'out: f32 out', 'rows: int', 'cols: number'] } };
    assert.notEqual(abiOf(changed), ABI);
    assert.equal(abiOf(JSON.parse(JSON.stringify(OPS))), ABI, 'the hash depends on the declarations alone');
  });

  test('a wrong argument count or kind is a TypeError naming the op and the argument', () => {
    const a = addon();
    const matmul = (...args: unknown[]): void => (a.matmul as (...x: unknown[]) => void)(...args);
    const good = [f32(), f32(), f32(), 1, 1, 1, 1, 1, 1, false, false, false, null, null];
    matmul(...good);
    const wrong = (i: number, value: unknown): unknown[] => good.map((v, j) => (j === i ? value : v));
    assert.throws(() => matmul(...good.slice(0, 13)), { name: 'TypeError', message: 'matmul takes 14 arguments, got 13' });
    assert.throws(() => matmul(...good, 0), { name: 'TypeError', message: 'matmul takes 14 arguments, got 15' });
    assert.throws(() => matmul(...wrong(1, new Float64Array(1))),
      { name: 'TypeError', message: 'matmul: argument 1 (b) must be a Float32Array or null' });
    assert.throws(() => matmul(...wrong(12, new Float32Array(1))),
      { name: 'TypeError', message: 'matmul: argument 12 (aBf16) must be a Uint16Array or null' });
    assert.throws(() => matmul(...wrong(2, null)), { message: 'matmul: argument 2 (c) must be a Float32Array' });
    assert.throws(() => matmul(...wrong(5, 1.5)), { message: 'matmul: argument 5 (batchB) must be an integer' });
    assert.throws(() => matmul(...wrong(6, '1')), { message: 'matmul: argument 6 (m) must be an integer' });
    assert.throws(() => matmul(...wrong(9, 0)), { message: 'matmul: argument 9 (transA) must be a boolean' });
    assert.throws(() => (a.selectGemm as (x: unknown) => boolean)(1), { message: 'selectGemm: argument 0 (name) must be a string' });
    assert.throws(() => a.gather(f32(), new Float32Array(1) as unknown as Int32Array, f32(), 1, 1, 1),
      { message: 'gather: argument 1 (indices) must be an Int32Array' });
    assert.throws(() => a.transpose(f32(), f32(), [1, 1, 0] as unknown as Float64Array),
      { message: 'transpose: argument 2 (layout) must be a Float64Array' });
    assert.throws(() => a.unary(0, f32(), f32(), 'x' as unknown as number), { message: 'unary: argument 3 (param) must be a number' });
    // An optional array takes null, and nothing else but a Float32Array.
    const probs = f32(4);
    a.attentionSoftmax(f32(4), null, null, probs, 1, 1, 2, 2, true);
    assert.deepEqual([...probs], [1, 0, 0.5, 0.5]);
    assert.throws(() => a.attentionSoftmax(f32(4), 0 as unknown as null, null, probs, 1, 1, 2, 2, true),
      { message: 'attentionSoftmax: argument 1 (bias) must be a Float32Array or null' });
  });

  test("an op's own checks keep their error class, with the op's name in front", () => {
    assert.throws(() => addon().transpose(f32(), f32(), new Float64Array([17])),
      { name: 'RangeError', message: 'transpose: rank must be in [1, 16]' });
    const n = f32(4);
    assert.throws(() => addon().adafactor(n, n, n, null, n, f32(4), f32(4), null, null, 1, 1, 4, 0.1, 0.9, 1e-30, 1e-3, 1, true, 0, 0, 1),
      { name: 'TypeError', message: 'adafactor: a moment and its output must both be given or both be null' });
  });

  test('the TypeScript signatures are the table\'s argument lists', () => {
    const check = (a: NativeAddon): void => {
      // @ts-expect-error too few arguments
      a.softmax(f32(), f32(), 1);
      // @ts-expect-error an Int32Array where a Float32Array is declared
      a.softmax(new Int32Array(1), f32(), 1, 1);
      // @ts-expect-error null only where the kind is optional
      a.softmax(null, f32(), 1, 1);
      // @ts-expect-error the element count of 'x: f32[n]' is not a JavaScript argument
      a.unary(0, f32(), 1, f32(), 0);
      const loss: number = a.crossEntropy(f32(), new Int32Array(1), 1, 1);
      const names: string[] = a.binaryOps();
      const gemm: 'openblas' | 'portable' = a.info().gemm;
      void [loss, names, gemm];
    };
    void check;
  });

  test('the generated C++ follows the table, and a bad entry is refused naming the op and argument', () => {
    const table = { ...OPS, scale: { args: ['x: f32[n]', 'out: f32 out', 'factor: number'] } };
    const { 'ops.h': decls, 'ops_napi.h': entries } = generator.headers(table);
    assert.match(decls, /^void scale\(const float\* x, int64_t n, float\* out, double factor\);$/m);
    assert.match(entries, /const Args args\(call, "scale", 3\);/);
    assert.match(entries, /return args\.run\(\[&\] \{ return df::op::scale\(x, n, out, factor\); \}\);/);
    assert.match(entries, new RegExp(`kAbi\\[\\] = "${abiOf(table)}"`));
    assert.equal(generator.headers()['ops_napi.h'].includes(`kAbi[] = "${ABI}"`), true);
    assert.throws(() => generator.headers({ scale: { args: ['x: f16'] } }), /native\/ops\.js: scale: x: unknown kind "f16"/);
    assert.throws(() => generator.headers({ scale: { args: ['n: int[n]'] } }), /scale: n: only an array kind has a length/);
    assert.throws(() => generator.headers({ scale: { args: ['x: f32[n]', 'n: int'] } }), /scale: the name "n" is taken/);
    assert.throws(() => generator.headers({ scale: { args: [], returns: 'float' } }), /scale: unknown return kind "float"/);
  });
});

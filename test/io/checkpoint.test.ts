import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { before, describe, test } from 'node:test';
import { initEngine } from '../../src/engine/backend';
import { FileError, freeBytes } from '../../src/errors';
import { loadModel, saveModel, WEIGHTS_FILE } from '../../src/io/checkpoint';
import { readSafetensors, SafetensorsReader, SafetensorsWriter, writeSafetensors } from '../../src/io/safetensors';
import { configToJson, makeConfig } from '../../src/model/config';
import { initParams } from '../../src/model/params';
import { fixtureModelDir } from '../helpers/fixtures';
import { temporaryDir } from '../helpers/tmp';

const tmp = (): string => temporaryDir('df-ckpt-');
const config = makeConfig({ vocab_size: 20, d_model: 8, d_kv: 4, num_heads: 2, d_ff: 16, num_layers: 2, num_decoder_layers: 1 });

before(async () => { await initEngine('cpu'); });

/** Writes a raw safetensors file from a header object and a data buffer. */
function rawFile(file: string, header: unknown, data: Uint8Array): void {
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  fs.writeFileSync(file, Buffer.concat([len, json, data]));
}

function refusal(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => err instanceof FileError && pattern.test(err.message));
}

describe('checkpoint round trip', () => {
  test('save → load gives bit-identical tensors and the same config', async () => {
    const dir = path.join(tmp(), 'model');
    const params = initParams(config, 3);
    await saveModel(dir, { config, params });
    const loaded = loadModel(dir);
    assert.deepEqual(configToJson(loaded.config), configToJson(config));
    assert.deepEqual(Object.keys(loaded.params), Object.keys(params));
    for (const [name, t] of Object.entries(params)) {
      const a = new Uint32Array((t.dataSync() as Float32Array).slice().buffer);
      const b = new Uint32Array((loaded.params[name].dataSync() as Float32Array).slice().buffer);
      assert.deepEqual(b, a, name);
    }
    assert.deepEqual(fs.readdirSync(path.dirname(dir)), ['model'], 'no temporary files left');
  });

  test('the golden fixtures load and re-save to the same tensors', async () => {
    const model = loadModel(fixtureModelDir('t5-v11-tiny'));
    const dir = path.join(tmp(), 'copy');
    await saveModel(dir, model);
    const a = readSafetensors(path.join(fixtureModelDir('t5-v11-tiny'), WEIGHTS_FILE));
    const b = readSafetensors(path.join(dir, WEIGHTS_FILE));
    for (const [name, t] of a) assert.deepEqual(b.get(name)?.data, t.data, name);
  });

  test('F16 and BF16 tensors are read as float32', () => {
    const file = path.join(tmp(), 'half.safetensors');
    const f16 = new Uint16Array([0x3c00, 0xc000, 0x3555, 0x0001, 0x7c00]); // 1, -2, ~0.333, 2^-24, inf
    const bf16 = new Uint16Array([0x3f80, 0xc040]); // 1, -3
    rawFile(file, {
      a: { dtype: 'F16', shape: [5], data_offsets: [0, 10] },
      b: { dtype: 'BF16', shape: [2], data_offsets: [10, 14] },
    }, Buffer.concat([Buffer.from(f16.buffer), Buffer.from(bf16.buffer)]));
    const r = SafetensorsReader.open(file);
    assert.deepEqual([...r.readFloat32('a')], [1, -2, 0.333251953125, 2 ** -24, Infinity]);
    assert.deepEqual([...r.readFloat32('b')], [1, -3]);
    r.close();
  });
});

describe('bad checkpoints are refused with the tensor named', () => {
  test('truncated file', () => {
    const file = path.join(tmp(), 't.safetensors');
    writeSafetensors(file, [{ name: 'w', shape: [4], data: new Float32Array(4) }]);
    const bytes = fs.readFileSync(file);
    fs.writeFileSync(file, bytes.subarray(0, bytes.length - 3));
    refusal(() => SafetensorsReader.open(file), /tensor "w" ends at data byte 16 but the file has only 13/);
    fs.writeFileSync(file, bytes.subarray(0, 5));
    refusal(() => SafetensorsReader.open(file), /fewer than the 8-byte header/);
  });

  test('header longer than the file, and a header that is not JSON', () => {
    const file = path.join(tmp(), 'h.safetensors');
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(1000n);
    fs.writeFileSync(file, Buffer.concat([len, Buffer.from('{}')]));
    refusal(() => SafetensorsReader.open(file), /declares a 1000-byte header/);
    len.writeBigUInt64LE(5n);
    fs.writeFileSync(file, Buffer.concat([len, Buffer.from('{"a":')]));
    refusal(() => SafetensorsReader.open(file), /header is not valid JSON/);
  });

  test('a header that lies about sizes', () => {
    const file = path.join(tmp(), 'lie.safetensors');
    rawFile(file, { w: { dtype: 'F32', shape: [3], data_offsets: [0, 16] } }, new Uint8Array(16));
    refusal(() => SafetensorsReader.open(file), /tensor "w": header says F32 \[3\] \(12 bytes\) but its data_offsets span 16/);
    rawFile(file, { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, new Uint8Array(12));
    refusal(() => SafetensorsReader.open(file), /overlap or leave a gap/);
    rawFile(file, { w: { dtype: 'Q7', shape: [2], data_offsets: [0, 8] } }, new Uint8Array(8));
    refusal(() => SafetensorsReader.open(file), /tensor "w" has no valid dtype/);
  });

  test('a missing tensor, a wrong shape and an unexpected tensor', async () => {
    const dir = path.join(tmp(), 'm');
    await saveModel(dir, { config, params: initParams(config, 1) });
    const file = path.join(dir, WEIGHTS_FILE);
    const tensors = [...readSafetensors(file).values()];
    const name = 'decoder.block.0.layer.1.EncDecAttention.v.weight';

    writeSafetensors(file, tensors.filter((t) => t.name !== name));
    refusal(() => loadModel(dir), new RegExp(`tensor "${name.replace(/\./g, '\\.')}" is missing`));

    writeSafetensors(file, tensors.map((t) => (t.name === name ? { ...t, shape: [4, 16], data: t.data } : t)));
    refusal(() => loadModel(dir), /has shape \[4,16\] but config.json implies \[8,8\]/);

    writeSafetensors(file, [...tensors, { name: 'encoder.block.5.layer.0.layer_norm.weight', shape: [8], data: new Float32Array(8) }]);
    refusal(() => loadModel(dir), /tensor "encoder\.block\.5\.layer\.0\.layer_norm\.weight" is not a parameter/);
  });

  test('a missing weights file and a missing directory', () => {
    const dir = tmp();
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(configToJson(config)));
    refusal(() => loadModel(dir), /model\.safetensors: does not exist/);
    refusal(() => loadModel(path.join(dir, 'nope')), /nope: does not exist/);
    refusal(() => loadModel(path.join(dir, 'config.json')), /config\.json: is a file, not a model directory/);
  });

  test('an aborted write leaves nothing behind', () => {
    const dir = tmp();
    const file = path.join(dir, 'x.safetensors');
    const w = new SafetensorsWriter(file, [{ name: 'a', shape: [2] }, { name: 'b', shape: [2] }]);
    w.write('a', new Float32Array(2));
    assert.throws(() => w.finish(), /1 tensors were never written/);
    assert.deepEqual(fs.readdirSync(dir), []);
  });
});

describe('paths that are not what they should be, and faults', () => {
  test('a header length beyond any file is printed exactly', () => {
    const file = path.join(tmp(), 'huge.safetensors');
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(2n ** 60n);
    fs.writeFileSync(file, Buffer.concat([len, Buffer.from('{}')]));
    refusal(() => SafetensorsReader.open(file), /declares a 1152921504606846976-byte header but the file has 10 bytes/);
  });

  test('a weights "file" that is a directory or a pipe is refused at once (reading a pipe would block forever)', async () => {
    const dir = path.join(tmp(), 'm');
    await saveModel(dir, { config, params: initParams(config, 1) });
    fs.rmSync(path.join(dir, WEIGHTS_FILE));
    fs.mkdirSync(path.join(dir, WEIGHTS_FILE));
    refusal(() => loadModel(dir), /model\.safetensors: is a directory, not a file/);
    fs.rmdirSync(path.join(dir, WEIGHTS_FILE));
    const fifo = spawnSync('mkfifo', [path.join(dir, WEIGHTS_FILE)]);
    if (fifo.status === 0) refusal(() => loadModel(dir), /model\.safetensors: is not a regular file \(a pipe, socket or device/);
    fs.rmSync(path.join(dir, WEIGHTS_FILE), { force: true });
  });

  test('weights holding NaN or Infinity are refused, naming the tensor', async () => {
    const dir = path.join(tmp(), 'nan');
    await saveModel(dir, { config, params: initParams(config, 1) });
    const file = path.join(dir, WEIGHTS_FILE);
    const tensors = [...readSafetensors(file).values()];
    const name = 'encoder.block.1.layer.1.DenseReluDense.wo.weight';
    const poisoned = tensors.map((t) => (t.name === name ? { ...t, data: t.data.map((v, i) => (i === 5 ? NaN : i === 9 ? -Infinity : v)) } : t));
    writeSafetensors(file, poisoned);
    refusal(() => loadModel(dir), /tensor "encoder\.block\.1\.layer\.1\.DenseReluDense\.wo\.weight" holds 2 non-finite values \(NaN at index 5\)/);
  });

  test('a tensor over 2 GiB is written in parts and read back', { skip: (freeBytes(os.tmpdir()) ?? 0) < 5 * 2 ** 30 && 'needs 5 GiB free' }, () => {
    const file = path.join(tmp(), 'big.safetensors');
    // 2.25 GiB of float32, streamed in 64 MiB parts: no single write (or the tensor) needs to be in memory.
    const rows = 9;
    const cols = 2 ** 26;
    const part = new Float32Array(cols);
    const writer = new SafetensorsWriter(file, [{ name: 'big', shape: [rows, cols] }, { name: 'after', shape: [3] }]);
    for (let r = 0; r < rows; r++) {
      part.fill(r);
      part[cols - 1] = -r;
      writer.writePart('big', part);
    }
    writer.write('after', Float32Array.of(1, 2, 3));
    writer.finish();
    assert.equal(fs.statSync(file).size, writer.bytes);
    assert.ok(writer.bytes > 2 ** 31);
    const reader = SafetensorsReader.open(file);
    try {
      assert.deepEqual([...reader.readFloat32('after')], [1, 2, 3]);
      const big = reader.readFloat32('big');
      assert.equal(big.length, rows * cols);
      for (let r = 0; r < rows; r++) {
        assert.equal(big[r * cols], r);
        assert.equal(big[(r + 1) * cols - 1], -r);
      }
    } finally {
      reader.close();
      fs.rmSync(file);
    }
  });

  test('a full disk is one error naming the file, the space it needs and what is free; nothing half-written stays', async (t) => {
    const mount = path.join(tmp(), 'small-disk');
    fs.mkdirSync(mount);
    if (spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mount]).status !== 0) {
      t.skip('mounting a small tmpfs needs root');
      return;
    }
    try {
      const big = makeConfig({ vocab_size: 200, d_model: 32, d_kv: 8, num_heads: 4, d_ff: 64, num_layers: 2 });
      await saveModel(path.join(mount, 'small'), { config, params: initParams(config, 1) });
      const before = fs.readdirSync(path.join(mount, 'small')).sort();
      await assert.rejects(saveModel(path.join(mount, 'small'), { config: big, params: initParams(big, 1) }), (err: unknown) =>
        err instanceof FileError &&
        /small\/model\.safetensors: cannot be written: no space left on the device \(it needs [\d.]+ KiB, [\d.]+ KiB are free; ENOSPC\)\. Fix: free at least [\d.]+ KiB more/.test(err.message));
      // The earlier model is intact and no temporary is left.
      assert.deepEqual(fs.readdirSync(mount), ['small']);
      assert.deepEqual(fs.readdirSync(path.join(mount, 'small')).sort(), before);
      assert.equal(loadModel(path.join(mount, 'small')).config.d_model, config.d_model);
    } finally {
      spawnSync('umount', [mount]);
    }
  });
});

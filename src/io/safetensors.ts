// The safetensors format (8-byte little-endian header length, JSON header, raw little-endian
// data), read tensor by tensor so that large checkpoints never need to be in memory at once.
// Every inconsistency is refused with the file and tensor named.
import * as fs from 'node:fs';
import { diskFullError, errnoCode, FileError } from '../errors';
import { resolvedPath, temporarySibling } from './atomic';
import { regularFile } from './read_text';

export type DType = 'F32' | 'F16' | 'BF16' | 'F64' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

const BYTES: Record<DType, number> = { F64: 8, I64: 8, F32: 4, I32: 4, F16: 2, BF16: 2, I16: 2, I8: 1, U8: 1, BOOL: 1 };
const MAX_HEADER = 100 * 1024 * 1024;

export interface TensorEntry {
  dtype: DType;
  shape: number[];
  /** Byte range in the data section (after the header). */
  begin: number;
  end: number;
}

export interface NamedTensor {
  name: string;
  shape: number[];
  data: Float32Array;
}

const sizeOf = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);
const FIX_CORRUPT = 'the file is corrupt or was cut short; re-export or re-download it';
/** One read or write moves at most this much: Node refuses a single one of 2 GiB or more. */
const IO_CHUNK = 1 << 30;

/** Writes all of `bytes` at the file's position, in pieces Node accepts. */
function writeAll(fd: number, bytes: Uint8Array): void {
  for (let done = 0; done < bytes.length;) done += fs.writeSync(fd, bytes, done, Math.min(IO_CHUNK, bytes.length - done));
}

/** Fills `bytes` from `position` on; false if the file ends first. */
function readAll(fd: number, bytes: Uint8Array, position: number): boolean {
  for (let done = 0; done < bytes.length;) {
    const got = fs.readSync(fd, bytes, done, Math.min(IO_CHUNK, bytes.length - done), position + done);
    if (got === 0) return false;
    done += got;
  }
  return true;
}

/** An open safetensors file whose header has been validated. */
export class SafetensorsReader {
  private constructor(
    readonly file: string,
    private readonly fd: number,
    private readonly dataStart: number,
    readonly entries: Map<string, TensorEntry>,
    readonly metadata: Record<string, string>,
  ) {}

  static open(file: string): SafetensorsReader {
    const fix = 'check the path; a model directory holds config.json and model.safetensors';
    regularFile(file, fix);
    let fd: number;
    try {
      fd = fs.openSync(file, 'r');
    } catch (err) {
      throw new FileError(file, `cannot be opened (${errnoCode(err)})`, fix);
    }
    try {
      const { entries, metadata, dataStart } = parseHeader(file, fd);
      return new SafetensorsReader(file, fd, dataStart, entries, metadata);
    } catch (err) {
      fs.closeSync(fd);
      throw err;
    }
  }

  names(): string[] {
    return [...this.entries.keys()];
  }

  /** Reads one tensor as float32 (F16 and BF16 are widened; other dtypes are refused). */
  readFloat32(name: string): Float32Array {
    const e = this.entries.get(name);
    if (!e) throw new FileError(this.file, `tensor "${name}" is missing`, 'use a checkpoint that holds it');
    const n = sizeOf(e.shape);
    if (e.dtype === 'F32') {
      const out = new Float32Array(n);
      this.readInto(e, new Uint8Array(out.buffer));
      return out;
    }
    if (e.dtype === 'F16' || e.dtype === 'BF16') {
      const half = new Uint16Array(n);
      this.readInto(e, new Uint8Array(half.buffer));
      return e.dtype === 'F16' ? f16ToF32(half) : bf16ToF32(half);
    }
    throw new FileError(this.file, `tensor "${name}" has dtype ${e.dtype}`,
      'store parameters as F32, F16 or BF16');
  }

  private readInto(e: TensorEntry, bytes: Uint8Array): void {
    if (!readAll(this.fd, bytes, this.dataStart + e.begin)) throw new FileError(this.file, 'ended while reading tensor data', FIX_CORRUPT);
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}

function parseHeader(file: string, fd: number):
  { entries: Map<string, TensorEntry>; metadata: Record<string, string>; dataStart: number } {
  const size = fs.fstatSync(fd).size;
  if (size < 8) throw new FileError(file, `has ${size} bytes, fewer than the 8-byte header length`, FIX_CORRUPT);
  const lenBytes = Buffer.alloc(8);
  fs.readSync(fd, lenBytes, 0, 8, 0);
  const declared = lenBytes.readBigUInt64LE(0);
  if (declared > BigInt(Math.min(size - 8, MAX_HEADER))) {
    throw new FileError(file, `declares a ${declared}-byte header but the file has ${size} bytes` +
      `${declared > BigInt(MAX_HEADER) && size - 8 > MAX_HEADER ? ` (at most ${MAX_HEADER} are accepted)` : ''}`, FIX_CORRUPT);
  }
  const headerLen = Number(declared);
  const headerBytes = Buffer.alloc(headerLen);
  fs.readSync(fd, headerBytes, 0, headerLen, 8);
  let header: unknown;
  try {
    header = JSON.parse(headerBytes.toString('utf8'));
  } catch {
    throw new FileError(file, 'header is not valid JSON', FIX_CORRUPT);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw new FileError(file, 'header is not a JSON object', FIX_CORRUPT);
  }
  const dataStart = 8 + headerLen;
  const dataLen = size - dataStart;
  const entries = new Map<string, TensorEntry>();
  let metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      metadata = (value ?? {}) as Record<string, string>;
      continue;
    }
    entries.set(name, parseEntry(file, name, value, dataLen));
  }
  // Like the reference implementation: tensors tile the data section with no overlap and no hole.
  const sorted = [...entries.entries()].sort((a, b) => a[1].begin - b[1].begin);
  let expected = 0;
  for (const [name, e] of sorted) {
    if (e.begin !== expected) {
      throw new FileError(file, `tensor "${name}" starts at data byte ${e.begin}, expected ${expected} ` +
        '(tensors overlap or leave a gap)', FIX_CORRUPT);
    }
    expected = e.end;
  }
  if (expected !== dataLen) {
    throw new FileError(file, `tensors cover ${expected} data bytes but the file holds ${dataLen}`, FIX_CORRUPT);
  }
  return { entries, metadata, dataStart };
}

function parseEntry(file: string, name: string, value: unknown, dataLen: number): TensorEntry {
  const v = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
  if (typeof v !== 'object' || v === null || typeof v.dtype !== 'string' || !(v.dtype in BYTES)) {
    throw new FileError(file, `tensor "${name}" has no valid dtype (got ${JSON.stringify(v?.dtype)})`, FIX_CORRUPT);
  }
  const dtype = v.dtype as DType;
  const shape = v.shape;
  if (!Array.isArray(shape) || shape.some((n) => !Number.isInteger(n) || n < 0)) {
    throw new FileError(file, `tensor "${name}" has an invalid shape ${JSON.stringify(shape)}`, FIX_CORRUPT);
  }
  const offsets = v.data_offsets;
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((n) => Number.isInteger(n) && n >= 0)) {
    throw new FileError(file, `tensor "${name}" has invalid data_offsets ${JSON.stringify(offsets)}`, FIX_CORRUPT);
  }
  const [begin, end] = offsets as [number, number];
  const bytes = sizeOf(shape) * BYTES[dtype];
  if (end - begin !== bytes) {
    throw new FileError(file, `tensor "${name}": header says ${dtype} [${shape}] (${bytes} bytes) ` +
      `but its data_offsets span ${end - begin} bytes`, FIX_CORRUPT);
  }
  if (end > dataLen) {
    throw new FileError(file, `tensor "${name}" ends at data byte ${end} but the file has only ${dataLen} ` +
      'data bytes (truncated?)', FIX_CORRUPT);
  }
  return { dtype, shape: [...shape], begin, end };
}

function f16ToF32(half: Uint16Array): Float32Array {
  const out = new Float32Array(half.length);
  for (let i = 0; i < half.length; i++) {
    const h = half[i];
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    if (exp === 0) out[i] = sign * frac * 2 ** -24;
    else if (exp === 31) out[i] = frac ? NaN : sign * Infinity;
    else out[i] = sign * (1 + frac / 1024) * 2 ** (exp - 15);
  }
  return out;
}

function bf16ToF32(half: Uint16Array): Float32Array {
  const bits = new Uint32Array(half.length);
  for (let i = 0; i < half.length; i++) bits[i] = half[i] << 16;
  return new Float32Array(bits.buffer);
}

/**
 * Streams F32 tensors into a safetensors file: the header is written first from the declared
 * names and shapes, then each tensor in order, whole or in parts (so that no tensor needs to be
 * in memory at once; any size is written in pieces Node accepts). The file appears under its
 * name only at `finish`. A full disk is reported with the space the file needs.
 */
export class SafetensorsWriter {
  private next = 0;
  /** Values of tensor `next` written so far (it may arrive in parts). */
  private partial = 0;
  private readonly fd: number;
  private readonly tmp: string;
  private readonly target: string;
  /** Bytes of the whole file. */
  readonly bytes: number;

  constructor(readonly file: string, private readonly layout: Array<{ name: string; shape: number[] }>,
    metadata: Record<string, string> = {}) {
    const header: Record<string, unknown> = {};
    if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
    let offset = 0;
    for (const { name, shape } of layout) {
      const bytes = sizeOf(shape) * 4;
      header[name] = { dtype: 'F32', shape, data_offsets: [offset, offset + bytes] };
      offset += bytes;
    }
    let json = JSON.stringify(header);
    // Pad with spaces so the data section starts 8-byte aligned, as the reference writer does.
    json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
    const headerBytes = Buffer.from(json, 'utf8');
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(headerBytes.length));
    this.bytes = 8 + headerBytes.length + offset;
    this.target = resolvedPath(file);
    this.tmp = temporarySibling(this.target);
    this.fd = fs.openSync(this.tmp, 'w');
    this.guarded(() => {
      writeAll(this.fd, len);
      writeAll(this.fd, headerBytes);
    });
  }

  /** Writes the next tensor whole; names and sizes must follow the declared layout. */
  write(name: string, data: Float32Array): void {
    const slot = this.layout[this.next];
    if (this.partial !== 0 || !slot || sizeOf(slot.shape) !== data.length) this.refuse(name, data.length);
    this.writePart(name, data);
  }

  /** Writes the next values of the tensor being written (`name`), which may arrive in any number of parts. */
  writePart(name: string, data: Float32Array): void {
    const slot = this.layout[this.next];
    if (!slot || slot.name !== name || this.partial + data.length > sizeOf(slot.shape)) this.refuse(name, data.length);
    this.guarded(() => writeAll(this.fd, new Uint8Array(data.buffer, data.byteOffset, data.byteLength)));
    this.partial += data.length;
    if (this.partial === sizeOf(slot.shape)) {
      this.next++;
      this.partial = 0;
    }
  }

  finish(): void {
    if (this.next !== this.layout.length) {
      this.abort();
      throw new Error(`SafetensorsWriter(${this.file}): ${this.layout.length - this.next} tensors were never written`);
    }
    this.guarded(() => fs.fsyncSync(this.fd));
    fs.closeSync(this.fd);
    fs.renameSync(this.tmp, this.target);
  }

  abort(): void {
    try { fs.closeSync(this.fd); } catch { /* already closed */ }
    fs.rmSync(this.tmp, { force: true });
  }

  /** Runs a write; on failure nothing is left, and a full disk says how much this file needs. */
  private guarded(write: () => void): void {
    try {
      write();
    } catch (err) {
      this.abort();
      throw diskFullError(err, this.file, this.bytes);
    }
  }

  private refuse(name: string, values: number): never {
    const slot = this.layout[this.next];
    this.abort();
    throw new Error(`SafetensorsWriter(${this.file}): expected ${slot ? `"${slot.name}" [${slot.shape}]` : 'no more tensors'}` +
      `${this.partial ? ` (${this.partial} values written)` : ''}, got "${name}" with ${values} values`);
  }
}

/** Writes named F32 tensors (in the given order) atomically. */
export function writeSafetensors(file: string, tensors: NamedTensor[], metadata: Record<string, string> = {}): void {
  const writer = new SafetensorsWriter(file, tensors.map(({ name, shape }) => ({ name, shape })), metadata);
  for (const t of tensors) writer.write(t.name, t.data);
  writer.finish();
}

/** Reads every tensor of a file as float32. */
export function readSafetensors(file: string): Map<string, NamedTensor> {
  const reader = SafetensorsReader.open(file);
  try {
    const out = new Map<string, NamedTensor>();
    for (const [name, e] of reader.entries) out.set(name, { name, shape: e.shape, data: reader.readFloat32(name) });
    return out;
  } finally {
    reader.close();
  }
}

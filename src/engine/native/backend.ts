// The `native` tfjs backend: tfjs's cpu backend (same tensor storage, every cpu kernel still
// works) whose hot kernels run in the C++ addon, with output arrays recycled through a pool.
import * as os from 'node:os';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { UserError } from '../../errors';
import type { DataType, TensorInfo } from '@tensorflow/tfjs';
import type { NativeAddon } from './addon';
import { BufferPool, type PoolStats } from './buffer_pool';

type DataId = object;
type BackendValues = ReturnType<MathBackendCPU['readSync']>;

/** Arrays this large get huge pages (see native/huge_pages.cc): at least one whole 2 MiB page. */
const HUGE_PAGE_BYTES = 4 << 20;

/**
 * Whether large pool arrays ask for transparent huge pages: $DEEPFUSION_HUGE_PAGES=1; off by
 * default. On one virtual machine they made a base step 8% faster; on another (a Zen 5 under the
 * PVM hypervisor) they made its one-thread step twice as slow (docs/performance.md, "Huge pages").
 */
export function hugePages(env: NodeJS.ProcessEnv = process.env): boolean {
  const raw = env.DEEPFUSION_HUGE_PAGES;
  if (raw === undefined || raw === '' || raw === '0') return false;
  if (raw === '1') return true;
  throw new UserError(`DEEPFUSION_HUGE_PAGES must be 0 or 1, got "${raw}". Fix: unset it (off) or set DEEPFUSION_HUGE_PAGES=1`);
}

/** Bytes of freed arrays kept for reuse: $DEEPFUSION_POOL_MB, else a quarter of the memory. */
function poolBytes(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.DEEPFUSION_POOL_MB;
  if (raw === undefined || raw === '') return Math.floor(os.totalmem() / 4);
  const mb = Number(raw);
  if (!Number.isFinite(mb) || mb < 0) {
    throw new UserError(`DEEPFUSION_POOL_MB must be a number of megabytes ≥ 0, got "${raw}". Fix: unset it or set e.g. DEEPFUSION_POOL_MB=1024`);
  }
  return mb * 1024 * 1024;
}

/**
 * The native backend: tfjs's cpu backend, its hot kernels in the addon, arrays recycled.
 *
 * A float32 tensor that only bf16 products read (a normalised layer input, the gated GELU's
 * output, the gradient of a linear layer's output) may be stored in bf16 instead: a Uint16Array of
 * its values rounded as the products round their operands, so the products give the same bits and
 * the tensor takes half the memory and half the reading (docs/performance.md, "Activations stored
 * in bf16").
 * Only the matrix product reads that storage: to anything else that reads the tensor's values (a
 * kernel, `dataSync`) they are float32, widened back in place on that first read.
 */
export class NativeBackend extends MathBackendCPU {
  readonly pool: BufferPool;
  /** Bytes held by live tensors, and its high-water mark since `resetPeak`. */
  private liveBytes = 0;
  private peakBytes = 0;
  /**
   * Whether kernels may store outputs in bf16 (only where their caller allows it): off, every
   * tensor is float32, which gives the same results (the tests compare the two).
   */
  bf16Storage = true;
  /** How many tensors stored in bf16 were read by something other than a product (and widened). */
  widened = 0;
  /** The storage of tensors stored in bf16 and not yet widened. */
  private readonly halves = new WeakMap<DataId, Uint16Array>();

  constructor(readonly addon: NativeAddon) {
    super();
    const advise = hugePages();
    this.pool = new BufferPool(poolBytes(), (fresh) => {
      if (advise && fresh.byteLength >= HUGE_PAGE_BYTES) addon.adviseHugePages(fresh);
    });
  }

  /**
   * The values of a float32 tensor as stored, without copying. (A float32 tensor cast from bool
   * or int32 keeps its Uint8Array/Int32Array storage in tfjs; those are widened into a copy.)
   */
  f32(t: TensorInfo): Float32Array {
    const values = this.data.get(t.dataId).values;
    if (values instanceof Float32Array) return values;
    if (t.dtype === 'float32' && (values instanceof Int32Array || values instanceof Uint8Array)) return Float32Array.from(values);
    throw new Error(`native backend: expected a float32 tensor, got ${t.dtype}`);
  }

  /** A float32 tensor's values as stored: a Uint16Array when stored in bf16, else as `f32` gives them. */
  f32OrBf16(t: TensorInfo): Float32Array | Uint16Array {
    return this.halves.get(t.dataId) ?? this.f32(t);
  }

  /** A float32 tensor of `shape` stored in bf16, and its storage, which the kernel must overwrite entirely. */
  outputBf16(shape: number[]): { info: TensorInfo; values: Uint16Array } {
    const size = shape.reduce((a, b) => a * b, 1);
    // A pooled float array of half the length holds the bf16 values: the pool recycles it as any other.
    const half = new Uint16Array(this.pool.take(Math.ceil(size / 2)).buffer, 0, size);
    const info = this.makeTensorInfo(shape, 'float32', half as unknown as BackendValues);
    this.halves.set(info.dataId, half);
    // tfjs's bookkeeping reads the entry's refCount and dtype; only a read of its values widens it.
    const entry = this.data.get(info.dataId);
    let wide: BackendValues | undefined;
    Object.defineProperty(entry, 'values', {
      configurable: true,
      enumerable: true,
      get: () => {
        const stored = this.halves.get(info.dataId);
        if (stored) {
          this.halves.delete(info.dataId);
          wide = this.widen(stored);
        }
        return wide;
      },
      set: (values: BackendValues) => {
        this.halves.delete(info.dataId);
        wide = values;
      },
    });
    return { info, values: half };
  }

  /** bf16 storage widened to float32 (each value exactly), the bf16 array released. */
  private widen(half: Uint16Array): Float32Array {
    this.widened++;
    const wide = this.pool.take(half.length);
    const bits = new Uint32Array(wide.buffer, wide.byteOffset, half.length);
    for (let i = 0; i < half.length; i++) bits[i] = half[i] << 16;
    this.pool.attach(wide);
    this.count(wide.byteLength - byteLength(half));
    this.pool.release(half);
    return wide;
  }

  /** The int32 values of a tensor, as stored. */
  i32(t: TensorInfo): Int32Array {
    const values = this.data.get(t.dataId).values;
    if (!(values instanceof Int32Array)) throw new Error(`native backend: expected an int32 tensor, got ${t.dtype}`);
    return values;
  }

  /** An output array of `size` floats whose contents the kernel must overwrite entirely. */
  alloc(size: number): Float32Array {
    return this.pool.take(size);
  }

  /** A float32 tensor over `values` (from `alloc`). */
  output(shape: number[], values: Float32Array): TensorInfo {
    return this.makeTensorInfo(shape, 'float32', values);
  }

  override write(values: BackendValues, shape: number[], dtype: DataType): DataId {
    this.pool.attach(values);
    this.count(byteLength(values));
    return super.write(values, shape, dtype);
  }

  override move(dataId: DataId, values: BackendValues, shape: number[], dtype: DataType, refCount: number): void {
    this.pool.attach(values);
    super.move(dataId, values, shape, dtype, refCount);
  }

  override readSync(dataId: DataId): BackendValues {
    const values = super.readSync(dataId);
    this.pool.escape(values);
    return values;
  }

  override disposeData(dataId: DataId, force = false): boolean {
    const values = this.halves.get(dataId) ?? (this.data.has(dataId) ? this.data.get(dataId).values : undefined);
    const released = super.disposeData(dataId, force);
    if (released) this.halves.delete(dataId);
    if (released && values !== undefined) {
      this.count(-byteLength(values));
      this.pool.release(values);
    }
    return released;
  }

  private count(bytes: number): void {
    this.liveBytes += bytes;
    if (this.liveBytes > this.peakBytes) this.peakBytes = this.liveBytes;
  }

  /** The most bytes live tensors held at once since the last call (or since creation). */
  takePeakBytes(): number {
    const peak = this.peakBytes;
    this.peakBytes = this.liveBytes;
    return peak;
  }

  poolStats(): PoolStats {
    return this.pool.stats();
  }

  override dispose(): void {
    this.pool.trim();
    super.dispose();
  }
}

function byteLength(values: unknown): number {
  return ArrayBuffer.isView(values) ? values.byteLength : 0;
}

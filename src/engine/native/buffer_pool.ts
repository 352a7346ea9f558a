// Recycles the Float32Arrays of disposed tensors. A training step allocates the same shapes
// every step; fresh large arrays cost page faults and zero-filling on every allocation, and
// V8 frees them only at GC. Reused arrays cost nothing and are fully overwritten by the kernels.
//
// Only arrays the pool handed out are recycled, and only while nothing else can see them: an
// array that escapes (read by user code, or shared with a second tensor) is forgotten, never
// reused, and left to the garbage collector.

export interface PoolStats {
  /** Bytes held for reuse. */
  pooledBytes: number;
  /** Allocations served from the pool / newly allocated since the pool was made. */
  reused: number;
  allocated: number;
}

export class BufferPool {
  private readonly free = new Map<number, Float32Array[]>();
  /** Handed out, not yet attached to a tensor. */
  private readonly pending = new WeakSet<ArrayBuffer>();
  /** Attached to exactly one tensor and never seen outside the backend. */
  private readonly owned = new WeakSet<ArrayBuffer>();
  private pooledBytes = 0;
  private reused = 0;
  private allocated = 0;

  /** `onAllocate` sees every newly allocated array before anything is written to it. */
  constructor(private readonly maxBytes: number, private readonly onAllocate?: (fresh: Float32Array) => void) {}

  /** An array of `length` floats with arbitrary contents: the caller overwrites all of it. */
  take(length: number): Float32Array {
    const list = this.free.get(length);
    let out = list?.pop();
    if (out) {
      this.pooledBytes -= out.byteLength;
      this.reused++;
    } else {
      out = new Float32Array(length);
      this.onAllocate?.(out);
      this.allocated++;
    }
    if (length > 0) this.pending.add(out.buffer as ArrayBuffer);
    return out;
  }

  /** A tensor now stores `values`: ours become owned, a second tensor on them makes them shared. */
  attach(values: unknown): void {
    const buffer = bufferOf(values);
    if (!buffer) return;
    if (this.pending.has(buffer)) {
      this.pending.delete(buffer);
      this.owned.add(buffer);
    } else {
      this.owned.delete(buffer);
    }
  }

  /** `values` became visible outside the backend (read by the user): never recycle them. */
  escape(values: unknown): void {
    const buffer = bufferOf(values);
    if (buffer) this.owned.delete(buffer);
  }

  /** The tensor holding `values` was disposed. */
  release(values: unknown): void {
    const buffer = bufferOf(values);
    if (!buffer || !this.owned.has(buffer)) return;
    this.owned.delete(buffer);
    // bf16 storage is a Uint16Array over a whole pooled float array (NativeBackend.outputBf16).
    const array = values instanceof Uint16Array ? new Float32Array(buffer) : values as Float32Array;
    if (array.byteOffset !== 0 || array.byteLength !== buffer.byteLength) return;
    if (this.pooledBytes + array.byteLength > this.maxBytes) this.trim(this.maxBytes - array.byteLength);
    if (this.pooledBytes + array.byteLength > this.maxBytes) return;
    let list = this.free.get(array.length);
    if (!list) this.free.set(array.length, (list = []));
    list.push(array);
    this.pooledBytes += array.byteLength;
  }

  /** Drops pooled arrays (largest sizes first) until at most `bytes` remain pooled. */
  trim(bytes = 0): void {
    const sizes = [...this.free.keys()].sort((a, b) => b - a);
    for (const size of sizes) {
      const list = this.free.get(size)!;
      while (list.length > 0 && this.pooledBytes > bytes) this.pooledBytes -= list.pop()!.byteLength;
      if (list.length === 0) this.free.delete(size);
      if (this.pooledBytes <= bytes) return;
    }
  }

  stats(): PoolStats {
    return { pooledBytes: this.pooledBytes, reused: this.reused, allocated: this.allocated };
  }
}

function bufferOf(values: unknown): ArrayBuffer | null {
  return (values instanceof Float32Array || values instanceof Uint16Array) && values.buffer instanceof ArrayBuffer
    ? values.buffer : null;
}

// A small seeded pseudo-random generator (xoshiro128**) whose whole state is four 32-bit words, so
// a run can store it in a checkpoint and continue the same sequence. Math.random is never used
// where results must be reproducible.

/** The generator's state: four unsigned 32-bit words, JSON-serialisable. */
export type RngState = [number, number, number, number];

const TWO_POW_32 = 4294967296;
const TWO_POW_53 = 9007199254740992;

/** splitmix32: spreads an arbitrary 32-bit input over the whole word (used for seeding). */
function splitmix32(x: number): number {
  x = (x + 0x9e3779b9) | 0;
  let z = x;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  private constructor(state: RngState) {
    [this.s0, this.s1, this.s2, this.s3] = state;
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) throw new Error('Rng: the all-zero state is not allowed');
  }

  /**
   * A generator for `seed` and optional stream numbers (e.g. an epoch or an example index): each
   * distinct tuple gives an independent-looking sequence, so work can be seeded by what it is
   * rather than by how many numbers were drawn before it.
   */
  static fromSeed(seed: number, ...streams: number[]): Rng {
    let h = 0x2545f491;
    for (const part of [seed, ...streams]) {
      if (!Number.isSafeInteger(part)) throw new Error(`Rng: seeds must be safe integers, got ${part}`);
      // Both halves of the integer take part, so seeds above 2^32 stay distinct.
      h = splitmix32(h ^ (part >>> 0));
      h = splitmix32(h ^ Math.floor(part / TWO_POW_32));
    }
    const state: number[] = [];
    for (let i = 0; i < 4; i++) {
      h = splitmix32(h);
      state.push(h);
    }
    return new Rng(state as RngState);
  }

  /**
   * A generator for `seed` and a name (e.g. a tensor's): the same name always gets the same
   * sequence, whatever else was drawn before it.
   */
  static forKey(seed: number, key: string): Rng {
    let h = 0x811c9dc5;
    for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
    return Rng.fromSeed(seed, h >>> 0);
  }

  static fromState(state: RngState): Rng {
    if (!Array.isArray(state) || state.length !== 4 || !state.every((w) => Number.isInteger(w) && w >= 0 && w < TWO_POW_32)) {
      throw new Error(`Rng: a state is four unsigned 32-bit integers, got ${JSON.stringify(state)}`);
    }
    return new Rng([...state] as RngState);
  }

  state(): RngState {
    return [this.s0 >>> 0, this.s1 >>> 0, this.s2 >>> 0, this.s3 >>> 0];
  }

  /** A uniform unsigned 32-bit integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  uniform(): number {
    const hi = this.nextUint32() >>> 5;
    const lo = this.nextUint32() >>> 6;
    return (hi * 67108864 + lo) / TWO_POW_53;
  }

  /** A uniform integer in [0, n), without modulo bias. */
  integer(n: number): number {
    if (!Number.isInteger(n) || n <= 0 || n > TWO_POW_32) throw new Error(`Rng.integer: n must be an integer in [1, 2^32], got ${n}`);
    const limit = TWO_POW_32 - (TWO_POW_32 % n);
    for (;;) {
      const x = this.nextUint32();
      if (x < limit) return x % n;
    }
  }

  /** A normal sample (Box–Muller; one of the pair is used so the state stays four words). */
  normal(mean = 0, std = 1): number {
    const u = 1 - this.uniform();
    const v = this.uniform();
    return mean + std * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** `n` normal samples as float32. */
  normals(n: number, std = 1): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = this.normal(0, std);
    return out;
  }

  /** Shuffles `items` in place (Fisher–Yates) and returns it. */
  shuffle<T extends { length: number; [i: number]: unknown }>(items: T): T {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.integer(i + 1);
      const tmp = items[i];
      items[i] = items[j];
      items[j] = tmp;
    }
    return items;
  }
}

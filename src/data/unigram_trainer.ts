// Trains a unigram language-model vocabulary the way SentencePiece does (Kudo 2018): seed with
// frequent substrings, then alternate EM re-estimation of piece probabilities with pruning of the
// pieces whose removal costs the corpus likelihood least, until the vocabulary has the asked size.
//
// Why not the `tokenizers` package's trainer: its Node bindings expose only `train(files)` with the
// default UnigramTrainer (8000 pieces, no special tokens), and the result differs from run to run
// (word counts are held in a randomly seeded hash map, so float sums and the order of tied pieces
// vary: 141 of 8000 ids moved between two runs on Moby Dick). This trainer is deterministic: the
// same words and options give bit-identical pieces and scores. The package still does all encoding,
// decoding and file handling (tokenizer.ts).
//
// Input is already pre-tokenized: words with counts, each word starting with the metaspace "▁".
// Positions are code points, so a piece never splits a surrogate pair.

/** Bump whenever a change could alter trained pieces or scores (cached tokenizers are keyed by it). */
export const UNIGRAM_TRAINER_VERSION = '2';

export interface UnigramTrainingOptions {
  /** Pieces in the result (every character of the input is one of them). */
  pieceCount: number;
  /** Longest piece, in code points (SentencePiece: 16). */
  maxPieceLength?: number;
  /**
   * Substrings kept as the initial vocabulary, besides the characters. Default: ten times the
   * piece count, at most 1M. SentencePiece always seeds 1M, sized for 32K+ vocabularies on large
   * corpora; on the built-in corpus with 8192 ids, 10× gives slightly fewer tokens per word
   * (1.474 against 1.486 on the validation split) in less than half the time.
   */
  seedSize?: number;
  /** Share of pieces kept by each pruning round (SentencePiece: 0.75). */
  shrinkingFactor?: number;
  /** EM iterations before each pruning round (SentencePiece: 2). */
  emIterations?: number;
  /** Strings that must not become pieces (the tokenizer's special tokens). */
  exclude?: ReadonlySet<string>;
  onProgress?: (p: UnigramProgress) => void;
}

export interface UnigramProgress {
  round: number;
  pieces: number;
  /** Mean negative log-likelihood per word under the current model. */
  objective: number;
}

/** A piece and its log-probability; the result is sorted by score (descending), then piece. */
export type ScoredPiece = [string, number];

/** Longer "words" (tables, long URLs) only contribute their characters, as in SentencePiece. */
const MAX_WORD_LENGTH = 256;
/** M-step: pieces expected fewer times than this are dropped (SentencePiece's threshold). */
const MIN_EXPECTED_COUNT = 0.5;

/** (node, code point) → child node, open addressing on typed arrays: the hot loop of seeding. */
class TrieEdges {
  private nodes = new Int32Array(1 << 16).fill(-1);
  private chars = new Int32Array(1 << 16);
  private children = new Int32Array(1 << 16);
  private size = 0;

  private slot(node: number, char: number): number {
    const mask = this.nodes.length - 1;
    let i = (Math.imul(node, 0x9e3779b1) ^ Math.imul(char, 0x85ebca77)) & mask;
    while (this.nodes[i] !== -1 && (this.nodes[i] !== node || this.chars[i] !== char)) i = (i + 1) & mask;
    return i;
  }

  get(node: number, char: number): number {
    const i = this.slot(node, char);
    return this.nodes[i] === -1 ? -1 : this.children[i];
  }

  set(node: number, char: number, child: number): void {
    if (2 * (this.size + 1) > this.nodes.length) this.grow();
    const i = this.slot(node, char);
    this.nodes[i] = node;
    this.chars[i] = char;
    this.children[i] = child;
    this.size++;
  }

  private grow(): void {
    const { nodes, chars, children } = this;
    this.nodes = new Int32Array(nodes.length * 2).fill(-1);
    this.chars = new Int32Array(nodes.length * 2);
    this.children = new Int32Array(nodes.length * 2);
    this.size = 0;
    for (let i = 0; i < nodes.length; i++) if (nodes[i] !== -1) this.set(nodes[i], chars[i], children[i]);
  }
}

/** Every substring (up to the longest piece) of every word, with its count: node 0 is the root. */
class SubstringTrie {
  readonly edges = new TrieEdges();
  readonly parent: number[] = [-1];
  readonly char: number[] = [0];
  readonly depth: number[] = [0];
  readonly count: number[] = [0];

  childOrAdd(node: number, char: number): number {
    let child = this.edges.get(node, char);
    if (child < 0) {
      child = this.parent.length;
      this.parent.push(node);
      this.char.push(char);
      this.depth.push(this.depth[node] + 1);
      this.count.push(0);
      this.edges.set(node, char, child);
    }
    return child;
  }

  text(node: number): string {
    const cps: number[] = [];
    for (let n = node; n > 0; n = this.parent[n]) cps.push(this.char[n]);
    return String.fromCodePoint(...cps.reverse());
  }
}

/** The words the model is fitted on, as code points, with their counts. */
interface Words {
  chars: Int32Array;
  start: Int32Array;
  count: Float64Array;
  total: number;
}

/** Lattice edges of every word, grouped by word and ordered by start position. */
interface Lattice {
  wordEdges: Int32Array;
  from: Uint16Array;
  to: Uint16Array;
  piece: Int32Array;
}

function digamma(x: number): number {
  // Recurrence up to x ≥ 7, then the asymptotic series.
  let result = 0;
  for (; x < 7; x++) result -= 1 / x;
  x -= 0.5;
  const inv2 = 1 / (x * x);
  return result + Math.log(x) + inv2 * (1 / 24 + inv2 * (-7 / 960 + inv2 * (31 / 8064 - inv2 * (127 / 30720))));
}

function logAddExp(a: number, b: number): number {
  if (a === -Infinity) return b;
  if (b === -Infinity) return a;
  return a > b ? a + Math.log1p(Math.exp(b - a)) : b + Math.log1p(Math.exp(a - b));
}

export function trainUnigram(wordCounts: Map<string, number>, options: UnigramTrainingOptions): ScoredPiece[] {
  const maxLen = options.maxPieceLength ?? 16;
  const seedSize = options.seedSize ?? Math.min(10 * options.pieceCount, 1_000_000);
  const shrink = options.shrinkingFactor ?? 0.75;
  const emIterations = options.emIterations ?? 2;

  // Count every substring; long words only count their characters.
  const trie = new SubstringTrie();
  const fitted: number[][] = [];
  const fittedCounts: number[] = [];
  for (const [word, n] of wordCounts) {
    const cps = Array.from(word, (c) => c.codePointAt(0)!);
    if (cps.length > MAX_WORD_LENGTH) {
      for (const c of cps) trie.count[trie.childOrAdd(0, c)] += n;
      continue;
    }
    fitted.push(cps);
    fittedCounts.push(n);
    for (let i = 0; i < cps.length; i++) {
      let node = 0;
      for (let j = i; j < cps.length && j - i < maxLen; j++) {
        node = trie.childOrAdd(node, cps[j]);
        trie.count[node] += n;
      }
    }
  }
  const words = packWords(fitted, fittedCounts);

  // Seeds: all characters, then the substrings seen at least twice with the highest count·length.
  const nodeCount = trie.parent.length;
  const charNodes: number[] = [];
  const candidates: number[] = [];
  for (let node = 1; node < nodeCount; node++) {
    if (trie.depth[node] === 1) charNodes.push(node);
    else if (trie.count[node] >= 2) candidates.push(node);
  }
  if (charNodes.length > options.pieceCount) {
    throw new RangeError(`the corpus has ${charNodes.length} distinct characters, more than the ${options.pieceCount} pieces asked for`);
  }
  const seedScore = (node: number) => trie.count[node] * trie.depth[node];
  candidates.sort((a, b) => seedScore(b) - seedScore(a) || a - b);
  const seedNodes = [...charNodes, ...candidates.slice(0, seedSize)];
  const pieceNode = Int32Array.from(seedNodes);
  const pieceOfNode = new Int32Array(nodeCount).fill(-1);
  seedNodes.forEach((node, p) => { pieceOfNode[node] = p; });
  const isChar = (p: number) => p < charNodes.length;
  const pieces = seedNodes.length;

  const logp = new Float64Array(pieces);
  const scoreSum = seedNodes.reduce((s, node) => s + seedScore(node), 0);
  seedNodes.forEach((node, p) => { logp[p] = Math.log(seedScore(node)) - Math.log(scoreSum); });
  const alive = new Uint8Array(pieces).fill(1);

  let lattice = buildLattice(words, trie, pieceOfNode, maxLen);
  const desired = Math.floor(options.pieceCount * 1.1);
  let aliveCount = pieces;
  for (let round = 1; ; round++) {
    let objective = 0;
    for (let it = 0; it < emIterations; it++) {
      const e = expectation(words, lattice, logp);
      objective = e.objective;
      const before = aliveCount;
      aliveCount = maximization(e.expected, logp, alive, isChar);
      if (aliveCount < before) lattice = keepAlive(lattice, alive);
    }
    options.onProgress?.({ round, pieces: aliveCount, objective });
    if (aliveCount <= desired) break;
    const before = aliveCount;
    aliveCount = prune({ words, lattice, logp, alive, isChar, trie, pieceNode, pieceOfNode, maxLen,
      target: Math.max(desired, Math.floor(aliveCount * shrink)) });
    lattice = keepAlive(lattice, alive);
    if (aliveCount >= before) break;
  }

  // Final vocabulary: every character, then the most probable pieces.
  const chosen: number[] = [];
  const rest: number[] = [];
  for (let p = 0; p < pieces; p++) if (alive[p]) (isChar(p) ? chosen : rest).push(p);
  rest.sort((a, b) => logp[b] - logp[a] || a - b);
  const result: ScoredPiece[] = chosen.map((p) => [trie.text(pieceNode[p]), logp[p]]);
  for (const p of rest) {
    if (result.length >= options.pieceCount) break;
    const text = trie.text(pieceNode[p]);
    if (!options.exclude?.has(text)) result.push([text, logp[p]]);
  }
  return result.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

function packWords(fitted: number[][], counts: number[]): Words {
  const start = new Int32Array(fitted.length + 1);
  fitted.forEach((w, i) => { start[i + 1] = start[i] + w.length; });
  const chars = new Int32Array(start[fitted.length]);
  fitted.forEach((w, i) => chars.set(w, start[i]));
  return { chars, start, count: Float64Array.from(counts), total: counts.reduce((a, b) => a + b, 0) };
}

function buildLattice(words: Words, trie: SubstringTrie, pieceOfNode: Int32Array, maxLen: number): Lattice {
  const wordCount = words.count.length;
  const wordEdges = new Int32Array(wordCount + 1);
  const from: number[] = [];
  const to: number[] = [];
  const piece: number[] = [];
  for (let w = 0; w < wordCount; w++) {
    const s = words.start[w];
    const len = words.start[w + 1] - s;
    for (let i = 0; i < len; i++) {
      let node = 0;
      for (let j = i; j < len && j - i < maxLen; j++) {
        node = trie.edges.get(node, words.chars[s + j]);
        const p = pieceOfNode[node];
        if (p >= 0) {
          from.push(i);
          to.push(j + 1);
          piece.push(p);
        }
      }
    }
    wordEdges[w + 1] = piece.length;
  }
  return { wordEdges, from: Uint16Array.from(from), to: Uint16Array.from(to), piece: Int32Array.from(piece) };
}

/** Drops the edges of dead pieces, so later passes touch live ones only. */
function keepAlive(l: Lattice, alive: Uint8Array): Lattice {
  const wordEdges = new Int32Array(l.wordEdges.length);
  const from = new Uint16Array(l.from.length);
  const to = new Uint16Array(l.to.length);
  const piece = new Int32Array(l.piece.length);
  let k = 0;
  for (let w = 0; w + 1 < l.wordEdges.length; w++) {
    for (let e = l.wordEdges[w]; e < l.wordEdges[w + 1]; e++) {
      if (!alive[l.piece[e]]) continue;
      from[k] = l.from[e];
      to[k] = l.to[e];
      piece[k] = l.piece[e];
      k++;
    }
    wordEdges[w + 1] = k;
  }
  return { wordEdges, from: from.slice(0, k), to: to.slice(0, k), piece: piece.slice(0, k) };
}

/** E-step: expected count of each piece over all segmentations (forward–backward per word). */
function expectation(words: Words, l: Lattice, logp: Float64Array): { expected: Float64Array; objective: number } {
  const expected = new Float64Array(logp.length);
  const alpha = new Float64Array(MAX_WORD_LENGTH + 1);
  const beta = new Float64Array(MAX_WORD_LENGTH + 1);
  let objective = 0;
  for (let w = 0; w < words.count.length; w++) {
    const len = words.start[w + 1] - words.start[w];
    const e0 = l.wordEdges[w];
    const e1 = l.wordEdges[w + 1];
    alpha.fill(-Infinity, 0, len + 1);
    beta.fill(-Infinity, 0, len + 1);
    alpha[0] = 0;
    beta[len] = 0;
    for (let e = e0; e < e1; e++) alpha[l.to[e]] = logAddExp(alpha[l.to[e]], alpha[l.from[e]] + logp[l.piece[e]]);
    for (let e = e1 - 1; e >= e0; e--) beta[l.from[e]] = logAddExp(beta[l.from[e]], logp[l.piece[e]] + beta[l.to[e]]);
    const z = alpha[len];
    const n = words.count[w];
    for (let e = e0; e < e1; e++) {
      expected[l.piece[e]] += n * Math.exp(alpha[l.from[e]] + logp[l.piece[e]] + beta[l.to[e]] - z);
    }
    objective -= n * z;
  }
  return { expected, objective: objective / words.total };
}

/**
 * M-step with SentencePiece's Bayesian (digamma) update, which acts as a sparse prior. Characters
 * are always kept so every word keeps a segmentation. Returns the number of live pieces.
 */
function maximization(expected: Float64Array, logp: Float64Array, alive: Uint8Array, isChar: (p: number) => boolean): number {
  let sum = 0;
  let count = 0;
  for (let p = 0; p < logp.length; p++) {
    if (!alive[p]) continue;
    if (expected[p] < MIN_EXPECTED_COUNT && !isChar(p)) {
      alive[p] = 0;
      continue;
    }
    sum += Math.max(expected[p], MIN_EXPECTED_COUNT);
    count++;
  }
  const logSum = digamma(sum);
  for (let p = 0; p < logp.length; p++) {
    if (alive[p]) logp[p] = digamma(Math.max(expected[p], MIN_EXPECTED_COUNT)) - logSum;
  }
  return count;
}

interface PruneInput {
  words: Words;
  lattice: Lattice;
  logp: Float64Array;
  alive: Uint8Array;
  isChar: (p: number) => boolean;
  trie: SubstringTrie;
  pieceNode: Int32Array;
  pieceOfNode: Int32Array;
  maxLen: number;
  target: number;
}

/** The best segmentation of a piece's own text without the piece itself, or null if there is none. */
function alternative(p: number, x: PruneInput): { score: number; pieces: number[] } | null {
  const text = x.trie.text(x.pieceNode[p]);
  const cps = Array.from(text, (c) => c.codePointAt(0)!);
  const len = cps.length;
  const best = new Float64Array(len + 1).fill(-Infinity);
  const backPiece = new Int32Array(len + 1).fill(-1);
  const backFrom = new Int32Array(len + 1);
  best[0] = 0;
  for (let i = 0; i < len; i++) {
    if (best[i] === -Infinity) continue;
    let node = 0;
    for (let j = i; j < len && j - i < x.maxLen; j++) {
      node = x.trie.edges.get(node, cps[j]);
      const q = x.pieceOfNode[node];
      if (q < 0 || q === p || !x.alive[q]) continue;
      const s = best[i] + x.logp[q];
      if (s > best[j + 1]) {
        best[j + 1] = s;
        backPiece[j + 1] = q;
        backFrom[j + 1] = i;
      }
    }
  }
  if (best[len] === -Infinity) return null;
  const path: number[] = [];
  for (let k = len; k > 0; k = backFrom[k]) path.push(backPiece[k]);
  return { score: best[len], pieces: path.reverse() };
}

/** Viterbi counts of each piece over the corpus. */
function viterbiCounts(words: Words, l: Lattice, logp: Float64Array): Float64Array {
  const freq = new Float64Array(logp.length);
  const best = new Float64Array(MAX_WORD_LENGTH + 1);
  const backEdge = new Int32Array(MAX_WORD_LENGTH + 1);
  for (let w = 0; w < words.count.length; w++) {
    const len = words.start[w + 1] - words.start[w];
    best.fill(-Infinity, 0, len + 1);
    best[0] = 0;
    for (let e = l.wordEdges[w]; e < l.wordEdges[w + 1]; e++) {
      const s = best[l.from[e]] + logp[l.piece[e]];
      if (s > best[l.to[e]]) {
        best[l.to[e]] = s;
        backEdge[l.to[e]] = e;
      }
    }
    for (let k = len; k > 0; k = l.from[backEdge[k]]) freq[l.piece[backEdge[k]]] += words.count[w];
  }
  return freq;
}

/**
 * One pruning round: estimates, for each piece, how much the corpus likelihood drops if its
 * occurrences are re-segmented by its best alternative, and keeps the `target` pieces (or more,
 * when more cannot be judged) whose removal would cost most. Returns the number kept.
 */
function prune(x: PruneInput): number {
  const n = x.logp.length;
  const freq = viterbiCounts(x.words, x.lattice, x.logp);
  let sum = 0;
  for (let p = 0; p < n; p++) sum += freq[p];
  const keep = new Uint8Array(n);
  let kept = 0;
  const losses: { p: number; loss: number }[] = [];
  for (let p = 0; p < n; p++) {
    if (!x.alive[p]) continue;
    const alt = x.isChar(p) ? null : alternative(p, x);
    if (alt === null) {
      keep[p] = 1;
      kept++;
      continue;
    }
    if (alt.score > x.logp[p]) {
      // The piece is not even its own best segmentation: it survives only while used.
      if (freq[p] > 0) {
        keep[p] = 1;
        kept++;
      }
      continue;
    }
    if (freq[p] === 0) {
      losses.push({ p, loss: 0 });
      continue;
    }
    // Removing p moves its freq[p] occurrences to each of its alternative pieces.
    const logProbP = Math.log(freq[p]) - Math.log(sum);
    const logSumAlt = Math.log(sum + freq[p] * (alt.pieces.length - 1));
    let logProbAlt = 0;
    for (const q of alt.pieces) logProbAlt += Math.log(freq[q] + freq[p]) - logSumAlt;
    losses.push({ p, loss: (freq[p] / x.words.total) * (logProbP - logProbAlt) });
  }
  losses.sort((a, b) => b.loss - a.loss || a.p - b.p);
  for (const { p } of losses) {
    if (kept >= x.target) break;
    keep[p] = 1;
    kept++;
  }
  for (let p = 0; p < n; p++) if (!keep[p]) x.alive[p] = 0;
  return kept;
}

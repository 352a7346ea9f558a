import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { metaspaceWords } from '../../src/data/tokenizer';
import { trainUnigram } from '../../src/data/unigram_trainer';
import { normalizeText } from '../../src/data/normalize';
import { mobyDickChapters } from '../helpers/corpus';

function wordCounts(texts: string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const t of texts) for (const w of metaspaceWords(normalizeText(t))) counts.set(w, (counts.get(w) ?? 0) + 1);
  return counts;
}

describe('trainUnigram', () => {
  const words = wordCounts(mobyDickChapters(6));
  const chars = new Set([...words.keys()].flatMap((w) => Array.from(w)));

  test('gives exactly the asked number of pieces: every character, then the likeliest pieces, sorted by score', () => {
    const rounds: number[] = [];
    const pieces = trainUnigram(words, { pieceCount: 300, onProgress: (p) => rounds.push(p.pieces) });
    assert.equal(pieces.length, 300);
    assert.equal(new Set(pieces.map((p) => p[0])).size, 300);
    for (const c of chars) assert.ok(pieces.some((p) => p[0] === c), `character ${JSON.stringify(c)}`);
    for (let i = 1; i < pieces.length; i++) assert.ok(pieces[i - 1][1] >= pieces[i][1]);
    assert.ok(pieces.every(([, s]) => Number.isFinite(s) && s < 0), 'scores are log-probabilities');
    for (const frequent of ['▁the', '▁and', '▁of']) assert.ok(pieces.some((p) => p[0] === frequent), frequent);
    assert.ok(rounds.length > 2 && rounds.every((n, i) => i === 0 || n < rounds[i - 1]), `pruning shrinks: ${rounds}`);
  });

  test('is deterministic: the same words give bit-identical pieces and scores, whatever their order', () => {
    const a = trainUnigram(words, { pieceCount: 250 });
    const b = trainUnigram(new Map(words), { pieceCount: 250 });
    assert.deepEqual(a, b);
  });

  test('keeps excluded strings out and refuses a vocabulary smaller than the alphabet', () => {
    const pieces = trainUnigram(words, { pieceCount: 250, exclude: new Set(['▁the']) });
    assert.equal(pieces.length, 250);
    assert.ok(!pieces.some((p) => p[0] === '▁the'));
    assert.throws(() => trainUnigram(words, { pieceCount: chars.size - 1 }), /distinct characters/);
  });

  test('never splits a surrogate pair', () => {
    const emoji = new Map([['▁a😀b', 5], ['▁😀😀', 3], ['▁ab', 4]]);
    const pieces = trainUnigram(emoji, { pieceCount: 6 });
    for (const [piece] of pieces) assert.ok(!/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(piece), piece);
    assert.ok(pieces.some((p) => p[0] === '😀'));
  });
});

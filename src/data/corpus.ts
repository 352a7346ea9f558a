// A corpus is a list of normalised documents with stable ids, and a fixed split of those ids into
// training and held-out validation documents. The split depends on the document id alone (not on
// a seed, nor on the other documents), so every model trained on a corpus is evaluated on the
// same text, and adding documents never moves old ones between splits.
import { sha256Hex, unitHash } from '../util/hash';
import { HF_NORMALIZER, normalizeText } from './normalize';

export interface CorpusDocument {
  /** Stable within its corpus, e.g. "sotu/1861-abraham-lincoln" or "notes/a.txt#3". */
  id: string;
  /** Normalised (normalize.ts), never empty. */
  text: string;
}

export interface Corpus {
  /** "default", or the path the user gave. */
  source: string;
  /**
   * Changes whenever the documents could change, and is known without parsing them (from package
   * versions or raw file bytes), so a cache can be consulted before any text is processed.
   */
  fingerprint: string;
  /** Parses and normalises on first call; later calls return the same array. */
  documents(): CorpusDocument[];
}

export type Split = 'train' | 'validation';

/** The share of documents held out for validation (chosen by a hash of each document's id). */
export const VALIDATION_FRACTION = 0.05;

/** Documents of about this many characters are made from sources without natural documents. */
export const DOCUMENT_TARGET_CHARS = 4096;

export interface SplitDocuments {
  train: CorpusDocument[];
  validation: CorpusDocument[];
}

/**
 * Splits by `unitHash(id) < VALIDATION_FRACTION`. A corpus of two or more documents whose ids all
 * hash above the threshold still holds out one (the lowest hash), so validation is never empty
 * while there is something to hold out.
 */
export function splitDocuments(documents: CorpusDocument[]): SplitDocuments {
  const hashes = documents.map((d) => unitHash(d.id));
  let held = new Set(documents.map((_, i) => i).filter((i) => hashes[i] < VALIDATION_FRACTION));
  if (held.size === 0 && documents.length >= 2) {
    held = new Set([hashes.reduce((best, h, i) => (h < hashes[best] ? i : best), 0)]);
  }
  return {
    train: documents.filter((_, i) => !held.has(i)),
    validation: documents.filter((_, i) => held.has(i)),
  };
}

/**
 * Joins consecutive pieces of text (paragraphs, glosses) into documents of at least
 * DOCUMENT_TARGET_CHARS characters (the last may be shorter); ids are `${prefix}#${k}`.
 */
export function groupIntoDocuments(pieces: Iterable<string>, prefix: string): CorpusDocument[] {
  const documents: CorpusDocument[] = [];
  let parts: string[] = [];
  let chars = 0;
  const flush = () => {
    const text = normalizeText(parts.join(' '));
    if (text) documents.push({ id: `${prefix}#${documents.length}`, text });
    parts = [];
    chars = 0;
  };
  for (const piece of pieces) {
    parts.push(piece);
    chars += piece.length + 1;
    if (chars >= DOCUMENT_TARGET_CHARS) flush();
  }
  flush();
  return documents;
}

export interface CorpusStats {
  documents: number;
  characters: number;
  /** Space-separated words (the text is normalised, so one space separates words). */
  words: number;
}

export function corpusStats(documents: CorpusDocument[]): CorpusStats {
  let characters = 0;
  let words = 0;
  for (const d of documents) {
    characters += d.text.length;
    words += countWords(d.text);
  }
  return { documents: documents.length, characters, words };
}

/** Words of normalised text: it has single spaces between words and none at the ends. */
export function countWords(normalized: string): number {
  if (normalized.length === 0) return 0;
  let n = 1;
  for (let i = normalized.indexOf(' '); i !== -1; i = normalized.indexOf(' ', i + 1)) n++;
  return n;
}

/** A fingerprint from what identifies the raw input, plus every rule that turns it into documents. */
export function corpusFingerprint(...rawParts: (string | Uint8Array)[]): string {
  return sha256Hex('corpus', JSON.stringify(HF_NORMALIZER), String(DOCUMENT_TARGET_CHARS), ...rawParts);
}

/** A corpus whose documents are computed once, on first use. */
export function lazyCorpus(source: string, fingerprint: string, load: () => CorpusDocument[]): Corpus {
  let documents: CorpusDocument[] | undefined;
  return { source, fingerprint, documents: () => (documents ??= load()) };
}

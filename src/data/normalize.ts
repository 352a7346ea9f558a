// Text normalisation, defined once and applied in two places that must agree: corpora are stored
// normalised (so the tokenizer trainer and the stream see the same text), and tokenizers this
// project trains carry the same rules as their Hugging Face normalizer, so any text given to
// `encode` is normalised identically. The rules, in order:
//   1. Unicode NFKC (compatibility forms folded: ligatures, full-width letters, non-breaking spaces).
//   2. Control characters other than whitespace, and the byte-order mark, are removed.
//   3. Every run of whitespace (newlines included) becomes one space — as T5's SentencePiece
//      normaliser does, so a T5 never sees or produces a newline.
//   4. Leading and trailing spaces are removed.

const CONTROL_CHARS = '\u0000-\u0008\u000e-\u001f\u007f-\u0084\u0086-\u009f\ufeff';
const WHITESPACE_CHARS = '\t\n\u000b\u000c\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000';

const CONTROL_PATTERN = `[${CONTROL_CHARS}]`;
const WHITESPACE_PATTERN = `[${WHITESPACE_CHARS}]+`;
const controlRe = new RegExp(CONTROL_PATTERN, 'g');
const whitespaceRe = new RegExp(WHITESPACE_PATTERN, 'g');

/** Normalises text as described at the top of this file; idempotent. */
export function normalizeText(text: string): string {
  return text.normalize('NFKC').replace(controlRe, '').replace(whitespaceRe, ' ').trim();
}

/** The same rules as a Hugging Face `tokenizer.json` normalizer. */
export const HF_NORMALIZER = {
  type: 'Sequence',
  normalizers: [
    { type: 'NFKC' },
    { type: 'Replace', pattern: { Regex: CONTROL_PATTERN }, content: '' },
    { type: 'Replace', pattern: { Regex: WHITESPACE_PATTERN }, content: ' ' },
    { type: 'Strip', strip_left: true, strip_right: true },
  ],
};

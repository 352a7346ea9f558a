// Corpora from the user's files: a plain text file, a JSONL file (one JSON object per line with a
// string "text" field), or a directory searched recursively for such files (.txt, .text, .md are
// plain text, .jsonl is JSONL; hidden files, other extensions and links to directories are skipped). A plain text file
// is split into paragraphs at blank lines, and paragraphs are grouped into documents of about
// DOCUMENT_TARGET_CHARS characters; each JSONL record is one document.
//
// Every file is read and checked when the corpus is opened, so an empty, binary or unreadable file
// is refused before any long work starts; the error names the file (and for JSONL the line and
// field) and the fix.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isUtf8 } from 'node:buffer';
import { ConfigError, errnoCode, FileError } from '../errors';
import { regularFile } from '../io/read_text';
import { corpusFingerprint, DOCUMENT_TARGET_CHARS, groupIntoDocuments, lazyCorpus, type Corpus, type CorpusDocument } from './corpus';
import { normalizeText } from './normalize';

const TEXT_EXTENSIONS = new Set(['.txt', '.text', '.md']);
const JSONL_EXTENSIONS = new Set(['.jsonl']);

const CORPUS_KINDS = 'a UTF-8 text file, a JSONL file with a "text" field on each line, or a directory of .txt/.md/.jsonl files';

interface CorpusFile {
  /** Path as opened, for messages. */
  file: string;
  /** Path relative to the corpus root with "/" separators, for document ids. */
  id: string;
  jsonl: boolean;
  bytes: Buffer;
}

function readCorpusFile(file: string, id: string): CorpusFile {
  regularFile(file, 'give text files only');
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (err) {
    throw new FileError(file, `cannot be read (${errnoCode(err)})`, 'check that the file exists and that you may read it');
  }
  if (bytes.length === 0) {
    throw new FileError(file, 'is empty', 'put text in it, or remove it from the corpus');
  }
  const nul = bytes.indexOf(0);
  if (nul >= 0) {
    throw new FileError(file, `is binary, not text (a NUL byte at offset ${nul})`,
      'give UTF-8 text files only; move binary files out of the corpus');
  }
  if (!isUtf8(bytes)) {
    throw new FileError(file, 'is not valid UTF-8 text', 'convert it to UTF-8 (e.g. iconv -t UTF-8), or remove it from the corpus');
  }
  return { file, id, jsonl: JSONL_EXTENSIONS.has(path.extname(file).toLowerCase()), bytes };
}

/** The corpus files of a directory, in the order a corpus reads them. */
export function listCorpusFiles(dir: string): string[] {
  const found: string[] = [];
  const walk = (d: string) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch (err) {
      throw new FileError(d, `cannot be listed (${errnoCode(err)})`, 'check that you may read this directory');
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      if (e.name.startsWith('.')) continue;
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() || e.isSymbolicLink()) {
        const ext = path.extname(e.name).toLowerCase();
        if (TEXT_EXTENSIONS.has(ext) || JSONL_EXTENSIONS.has(ext)) found.push(p);
      }
    }
  };
  walk(dir);
  return found;
}

/** Paragraphs at blank lines; a paragraph longer than a document is cut at its line breaks. */
function paragraphs(text: string): string[] {
  return text.split(/\r?\n[ \t\r]*\n/).flatMap((p) => (p.length > DOCUMENT_TARGET_CHARS ? p.split('\n') : [p]));
}

function textDocuments(f: CorpusFile): CorpusDocument[] {
  const documents = groupIntoDocuments(paragraphs(f.bytes.toString('utf8')), f.id);
  if (documents.length === 0) {
    throw new FileError(f.file, 'holds only whitespace', 'put text in it, or remove it from the corpus');
  }
  return documents;
}

function jsonlDocuments(f: CorpusFile): CorpusDocument[] {
  const documents: CorpusDocument[] = [];
  const fix = 'make each line a JSON object with a string "text" field, e.g. {"text": "…"}';
  f.bytes.toString('utf8').split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch (err) {
      throw new FileError(f.file, `line ${i + 1} is not valid JSON (${(err as Error).message})`, fix);
    }
    if (typeof record !== 'object' || record === null || Array.isArray(record)) {
      throw new FileError(f.file, `line ${i + 1} is not a JSON object`, fix);
    }
    const where = `${f.file} line ${i + 1}`;
    const text = (record as Record<string, unknown>).text;
    if (text === undefined) throw new ConfigError(where, 'text', 'is missing', fix);
    if (typeof text !== 'string') throw new ConfigError(where, 'text', `is a ${text === null ? 'null' : typeof text}, not a string`, fix);
    const normalized = normalizeText(text);
    if (normalized) documents.push({ id: `${f.id}:${i + 1}`, text: normalized });
  });
  if (documents.length === 0) {
    throw new FileError(f.file, 'has no record with a non-empty "text" field', fix);
  }
  return documents;
}

/** Opens a user corpus (see the top of this file); files are read and checked now, parsed on first use. */
export function fileCorpus(input: string): Corpus {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(input);
  } catch (err) {
    const code = errnoCode(err);
    const problem = code === 'ENOENT' ? 'does not exist' : `cannot be read (${code})`;
    throw new FileError(input, problem, `give ${CORPUS_KINDS}, or "default" for the built-in corpus`);
  }
  let files: CorpusFile[];
  if (stat.isDirectory()) {
    const paths = listCorpusFiles(input);
    if (paths.length === 0) {
      throw new FileError(input, 'holds no .txt, .text, .md or .jsonl files', `give ${CORPUS_KINDS}`);
    }
    files = paths.map((p) => readCorpusFile(p, path.relative(input, p).split(path.sep).join('/')));
  } else {
    files = [readCorpusFile(input, path.basename(input))];
  }
  const fingerprint = corpusFingerprint('files', ...files.flatMap((f) => [`${f.id}|${f.jsonl ? 'jsonl' : 'text'}`, f.bytes]));
  return lazyCorpus(input, fingerprint, () => files.flatMap((f) => (f.jsonl ? jsonlDocuments(f) : textDocuments(f))));
}

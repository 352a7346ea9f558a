// Where a corpus comes from: "default" is the built-in one, anything else a path.
import type { Corpus } from './corpus';
import { DEFAULT_CORPUS, defaultCorpus } from './corpus_default';
import { fileCorpus } from './corpus_files';

/** `spec` is "default" (the built-in corpus) or a path (write ./default for a file of that name). */
export function openCorpus(spec: string = DEFAULT_CORPUS): Corpus {
  return spec === DEFAULT_CORPUS ? defaultCorpus() : fileCorpus(spec);
}

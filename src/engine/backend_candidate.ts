// What a faster backend offers the engine's backend selection (./backend.ts): its own file, so
// that backends can implement it without importing the selection that imports them.
export interface BackendCandidate {
  name: string;
  /** Registers the backend with tfjs; returns false when it cannot run here. */
  register: () => boolean;
  /** One line on what the backend runs on (for `info` and `--version`). */
  describe: () => string;
}

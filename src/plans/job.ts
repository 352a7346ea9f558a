// What moves between the runner, an executor and the process that runs a job. Everything here
// is plain JSON so that a job can run in another process, or (later) on another machine.
import type { DataSettings } from '../data/settings';
import type { T5Config } from '../model/config';
import type { SuiteResult } from '../training/finetune';
import type { FieldPath, PlanSource } from './plan_source';

export interface JobInput {
  id: string;
  /** The input job's content key. */
  key: string;
  /** The input job's output directory. */
  dir: string;
  result: JobResult;
}

export interface JobSpec<S = unknown> {
  id: string;
  kind: string;
  key: string;
  /** Output directory of this job; it may hold partial work (e.g. checkpoints) from an interrupted run. */
  dir: string;
  /** The node's settings as its kind parsed them (defaults filled in). */
  settings: S;
  inputs: JobInput[];
  data: DataSettings;
  /** Compute threads the job may use. */
  threads: number;
}

/** One evaluation point of a trained model. */
export interface EvalPoint {
  step: number;
  tokens: number;
  /** Training FLOPs spent by this job up to this point. */
  flops: number;
  seconds: number;
  val_loss: number;
  val_accuracy: number;
}

export interface JobResult {
  kind: string;
  /** Model directory (relative to the job's dir) the job produced, if any. */
  model?: string;
  /** Training cost of this job alone. */
  flops: number;
  seconds: number;
  steps: number;
  peak_rss_mb: number;
  evals: EvalPoint[];
  /** Kind-specific facts for the report (e.g. fusion verification errors, model width). */
  facts: Record<string, number | string | boolean | null>;
  /** Figures the job wrote (paths relative to its directory), shown in the report. */
  figures?: Array<{ file: string; title: string }>;
  /** Lines of numbers for the report (an analysis's table). */
  summary?: string[];
  /** A finetune job's scores on its tasks. */
  downstream?: SuiteResult;
  /** The worker that ran the job, when a queue placed it (docs/distributed.md). */
  worker?: string;
  /** Seconds from the job's submission to the queue until a worker started it. */
  queue_seconds?: number;
}

export type JobEvent =
  | { type: 'progress'; step: number; total: number; loss?: number; tokensPerSecond?: number }
  | { type: 'note'; text: string }
  /** Where a queued job runs: the worker (docs/distributed.md), with its threads (the runner's host otherwise). */
  | { type: 'placed'; machine: string; threads?: number };

/** A node kind: how its settings are parsed, what it reads, and how it runs. */
export interface NodeKind<S> {
  name: string;
  /**
   * The node's typed settings, defaults filled in; errors point at the plan position (src.fail).
   * `defaults` are the plan's defaults for train nodes, with `overrides` (settings given outside
   * the plan, e.g. `deepfusion run --precision`, for every node that trains) over them.
   */
  parse(raw: unknown, at: FieldPath, src: PlanSource, defaults: Record<string, unknown>, overrides: Record<string, unknown>): S;
  inputs(settings: S): string[];
  /** Short description for progress lines and the graph figure, e.g. "train s 2000 steps". */
  label(settings: S): string;
  /** The job reads the plan's data (tokenizer, corpus): a queue worker prepares it before the first such job. */
  readsData?: boolean;
  /** The settings of another repeat: seeds moved by `offset`. Absent: every repeat is the same job. */
  reseed?(settings: S, offset: number): S;
  run(job: JobSpec<S>, emit: (e: JobEvent) => void): Promise<JobResult>;
  /**
   * The config of the model the job will make, from its inputs' (undefined where unknown) and the
   * tokenizer's vocabulary, so that a plan is checked whole before any job runs: sources that
   * cannot be fused fail in seconds, not after hours of training. Throws a UserError naming the
   * problem. Absent, or undefined, for a node that makes no model.
   */
  config?(settings: S, inputs: ReadonlyArray<T5Config | undefined>, vocabSize: number): T5Config | undefined;
}

/**
 * Kinds by name. Their settings travel as JSON between the runner and a worker, so the registry
 * cannot name each kind's type; each kind's own functions see only the settings its parse made.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type NodeKinds = Record<string, NodeKind<any>>;

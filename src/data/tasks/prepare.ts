// A task prepared for fine-tuning: loaded, capped, its majority baseline known; cached, so a
// second run does not parse the packages again.
import * as fs from 'node:fs';
import { UserError } from '../../errors';
import { writeFileAtomic } from '../../io/atomic';
import { cacheFile } from '../../io/cache';
import { sha256Hex } from '../../util/hash';
import { majorityBaseline, majorityPrediction, metricsScore, type Metrics } from './metrics';
import type { TaskCaps } from './settings';
import { capByHash } from './split';
import type { Task, TaskExample, TaskInfo, TestSet } from './types';

export interface PreparedTask {
  info: TaskInfo;
  /** Identifies the examples (task data, caps): part of a fine-tuning run's identity. */
  key: string;
  train: TaskExample[];
  validation: TaskExample[];
  tests: TestSet[];
  /** Examples before the caps. */
  available: { train: number; validation: number; tests: number[] };
  /** A constant prediction (the most frequent training label, or the mean value) scored on each test set. */
  majority: { prediction: number; tests: Array<{ name: string; metrics: Metrics; score: number }>; score: number };
}

/** Bump when preparation changes (cache keys include it). */
const PREPARE_VERSION = 1;

function infoOf(task: Task): TaskInfo {
  const { fingerprint: _f, load: _l, ...info } = task;
  return JSON.parse(JSON.stringify(info)) as TaskInfo;
}

/** The task loaded and capped (from the cache when it was prepared before with the same caps). */
export function prepareTask(task: Task, caps: TaskCaps, cacheDir?: string): PreparedTask {
  const key = sha256Hex('prepared-task', String(PREPARE_VERSION), task.fingerprint(),
    String(caps.train_cap), String(caps.validation_cap), String(caps.test_cap));
  const file = cacheFile('tasks', key, '.json', cacheDir);
  if (fs.existsSync(file)) {
    try {
      return JSON.parse(fs.readFileSync(file, 'utf8')) as PreparedTask;
    } catch {
      // A damaged entry is rebuilt.
    }
  }
  const splits = task.load();
  const train = capByHash(splits.train, caps.train_cap);
  const tests = splits.tests.map((t) => ({ name: t.name, examples: capByHash(t.examples, caps.test_cap) }));
  const majorityTests = majorityBaseline(task, train, tests).map((t) => ({ ...t, score: metricsScore(t.metrics) }));
  const prepared: PreparedTask = {
    info: infoOf(task), key, train, validation: capByHash(splits.validation, caps.validation_cap), tests,
    available: { train: splits.train.length, validation: splits.validation.length, tests: splits.tests.map((t) => t.examples.length) },
    majority: {
      prediction: majorityPrediction(task, train), tests: majorityTests,
      score: majorityTests.reduce((s, t) => s + t.score, 0) / Math.max(1, majorityTests.length),
    },
  };
  for (const [name, list] of [['train', prepared.train], ['validation', prepared.validation], ...tests.map((t) => [t.name, t.examples] as const)] as const) {
    if (list.length === 0) throw new UserError(`${task.source}: task ${task.name} has no ${name} examples. Fix: give the task more data`);
  }
  writeFileAtomic(file, JSON.stringify(prepared));
  return prepared;
}

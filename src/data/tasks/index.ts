// The task layer's public face: the bundled tasks and suites, GLUE from a directory, tasks
// prepared (loaded, capped, cached), tokenized and streamed as text-to-text batches.
export type { MetricName, Task, TaskExample, TaskInfo, TaskKind, TaskSplits, TestSet, ValueGrid } from './types';
export { accuracy, f1, majorityBaseline, matthews, metricsScore, pearson, scorePredictions, spearman, type Metrics } from './metrics';
export { capByHash, hashSplit } from './split';
export { GLUE_TASK_NAMES, glueTasks, readGlueFile } from './glue';
export { TASK_SETTINGS, type TaskCaps, type TaskSettings } from './settings';
export { BUILTIN_TASKS, SUITES, selectTasks } from './registry';
export { prepareTask, type PreparedTask } from './prepare';
export {
  gridValues, lossBatches, mixtureQuotas, setBatch, targetText, taskTrainData, tokenizeTask, valueText,
  type TaskStreamOptions, type TokenizedSet, type TokenizedTask,
} from './text_batches';

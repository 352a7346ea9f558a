// The bundled tasks, the suites made of them, and which tasks a run's settings name.
import { ConfigError } from '../../errors';
import { afinnTask } from './afinn';
import { brownTask } from './brown';
import { GLUE_TASK_NAMES, glueTasks } from './glue';
import { imdbTask } from './imdb';
import type { TaskSettings } from './settings';
import { spamTask } from './spam';
import type { Task } from './types';
import { wicTask } from './wic';

export const BUILTIN_TASKS: readonly Task[] = [imdbTask, spamTask, brownTask, afinnTask, wicTask];

export const SUITES: Record<string, { description: string; tasks: string[] }> = {
  default: { description: 'every bundled task', tasks: ['imdb', 'spam', 'brown', 'afinn', 'wic'] },
  quick: { description: 'three small tasks, a few minutes for a small model', tasks: ['imdb', 'spam', 'afinn'] },
};

/** The tasks the settings name: GLUE's from --glue, bundled ones by --task, or a suite. */
export function selectTasks(s: Pick<TaskSettings, 'suite' | 'task' | 'glue'>, source: string): { suite: string; tasks: Task[] } {
  const given = (['suite', 'glue'] as const).filter((k) => s[k] !== undefined);
  if (given.length > 1) throw new ConfigError(source, 'glue', 'both a suite and a GLUE directory are given', 'give one of them');
  if (s.glue !== undefined) return { suite: 'glue', tasks: glueTasks(s.glue, s.task) };
  if (s.task !== undefined) {
    if (s.suite !== undefined) throw new ConfigError(source, 'task', 'both a suite and tasks are given', 'give one of them');
    const tasks = s.task.map((name) => {
      const task = BUILTIN_TASKS.find((t) => t.name === name);
      if (task) return task;
      const hint = GLUE_TASK_NAMES.includes(name) ? ` (${name} is a GLUE task: give the GLUE directory too)` : '';
      throw new ConfigError(source, 'task', `there is no bundled task "${name}"${hint}`, `use ${BUILTIN_TASKS.map((t) => t.name).join(', ')}`);
    });
    return { suite: s.task.join(','), tasks };
  }
  const suite = s.suite ?? 'default';
  const def = SUITES[suite];
  if (!def) throw new ConfigError(source, 'suite', `there is no suite "${suite}"`, `use ${Object.keys(SUITES).join(' or ')}`);
  return { suite, tasks: def.tasks.map((n) => BUILTIN_TASKS.find((t) => t.name === n) as Task) };
}

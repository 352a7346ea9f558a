// Part of a plan, chosen on the command line: some of its arms, and another number of repeats
// (`deepfusion run demo --arms "from scratch" --repeats 3`). The jobs kept are jobs of the whole
// plan (the same settings, seeds and cache keys; repeat r still shifts seeds by 1000·r), so a
// selection reuses what a run of the whole plan computed, and the other way round.
import * as path from 'node:path';
import { UserError } from '../errors';
import { custom, defineSettings, int, SettingProblem, type SettingValues } from '../util/settings';
import { slug } from '../util/slug';
import { ancestorsOf, MAX_REPEATS, type Plan } from './plan';

const GROUP = 'Part of the plan';

export const PLAN_SELECT_SETTINGS = defineSettings('plan selection', {
  arms: custom<string[] | undefined>({
    arg: '<arm,...>', group: GROUP, identity: false, defaultText: 'all',
    help: 'run only these arms (comma-separated names) and the nodes they read or that measure them; '
      + 'the baseline is kept when it is one of them',
    parse: (v) => {
      if (!Array.isArray(v) || v.length === 0 || !v.every((a) => typeof a === 'string' && a !== '')) {
        throw new SettingProblem(`expected arm names, got ${JSON.stringify(v)}`, 'arm names separated by commas');
      }
      return v as string[];
    },
    fromFlag: (t) => t.split(',').map((a) => a.trim()),
  }),
  repeats: int({
    min: 1, max: MAX_REPEATS, group: GROUP, identity: false, defaultText: "the plan's",
    help: "every job this many times instead of the plan's repeats (seeds + 1000·r; repeat 0 is the plan's own job)",
  }),
});

export type PlanSelection = SettingValues<typeof PLAN_SELECT_SETTINGS.decls>;

/**
 * Where a part of a plan writes by default: runs/<plan>-<arms>-r<repeats>, not runs/<plan>, so that
 * its report never replaces the whole plan's. undefined when nothing is selected.
 */
export function selectionOutDir(plan: Plan, selection: PlanSelection): string | undefined {
  if (selection.arms === undefined && selection.repeats === undefined) return undefined;
  const arms = (selection.arms ?? []).map(slug);
  return path.join('runs', [plan.name, ...arms, `r${selection.repeats ?? plan.repeats}`].join('-'));
}

/** `plan` cut to the selected arms and repeats; `source` names where the selection came from, for errors. */
export function selectFromPlan(plan: Plan, selection: PlanSelection, source: string): Plan {
  const repeats = selection.repeats ?? plan.repeats;
  if (selection.arms === undefined) return { ...plan, repeats };
  const names = plan.arms.map((a) => a.name);
  for (const name of selection.arms) {
    if (!names.includes(name)) {
      throw new UserError(`${source}: --arms: plan ${plan.name} has no arm "${name}". Fix: name one of ${names.map((n) => `"${n}"`).join(', ')}`);
    }
  }
  const arms = plan.arms.filter((a) => selection.arms?.includes(a.name));
  const kept = new Set(arms.flatMap((a) => [...ancestorsOf(a.final, plan.nodes)]));
  // Nodes that read only kept nodes (a finetune or eval of an arm's model) measure the arms.
  for (let grown = true; grown;) {
    grown = false;
    for (const n of plan.nodes) {
      if (!kept.has(n.name) && n.inputs.length > 0 && n.inputs.every((i) => kept.has(i))) {
        kept.add(n.name);
        grown = true;
      }
    }
  }
  return {
    ...plan, repeats, arms,
    nodes: plan.nodes.filter((n) => kept.has(n.name)),
    baseline: arms.some((a) => a.name === plan.baseline) ? plan.baseline : undefined,
  };
}

// The settings of `deepfusion fuse` / `self-fuse` and of plans' `fuse:` / `selfFuse:` nodes,
// declared once (src/util/settings.ts): flags, --help lines and plan fields derive from here.
import { custom, defineSettings, int, oneOf, SettingProblem } from '../util/settings';
import { parseSymmetryNoise, type SymmetryNoise } from './noise';

const weights = custom<number[] | undefined>({
  arg: 'w1,w2,…', defaultText: 'equal',
  help: 'output weights, one per source, positive, summing to 1: the fused model computes Σ wᵢ·logitsᵢ',
  parse: (v) => {
    if (!Array.isArray(v) || v.length === 0 || v.some((x) => typeof x !== 'number' || !Number.isFinite(x))) {
      throw new SettingProblem(`expected a list of numbers, got ${JSON.stringify(v)}`, 'a list of numbers, e.g. [0.5, 0.5]');
    }
    return v;
  },
  fromFlag: (t) => (t.trim() === '' ? t : t.split(',').map((s) => (s.trim() === '' ? NaN : Number(s)))),
});

const norm = oneOf(['grouped', 'joint'] as const, {
  arg: '<grouped|joint>', defaultText: 'grouped for fuse; for self-fuse, grouped if the source is grouped, else joint',
  help: 'grouped: each RMSNorm normalises each source\'s features on its own, exact for any sources (config.json gets "norm_groups"); ' +
    'joint: a plain Hugging Face T5, close to (for different sources not equal to) the weighted average; the change is measured',
});

const optimizer_state = oneOf(['reset', 'carry'] as const, {
  default: 'reset', arg: '<reset|carry>',
  help: 'reset: fresh optimizer state; carry: the sources\' optimizer moments placed block by block like their parameters ' +
    '(zeros off the diagonal), scaled to the fused model\'s gradients',
});

export const FUSE_SETTINGS = defineSettings('fusion setting', { weights, norm, optimizer_state });

export const SELF_FUSE_SETTINGS = defineSettings('self-fusion setting', {
  copies: int({ default: 2, min: 2, max: 64, arg: 'n', help: 'number of replicas (the result is this many times as wide)' }),
  noise: custom<SymmetryNoise>({
    default: { kind: 'none' }, arg: '<paired:std|plain:std|none>', defaultText: 'none',
    help: 'paired: add N to each diagonal block and −N/(copies−1) to the rest of its block-row of every block-diagonal weight ' +
      '(the function is unchanged, the replicas differ); plain: add N(0, std²) to every weight (changes the function); none: exact replicas',
    parse: (v) => {
      const noise = typeof v === 'string' ? parseSymmetryNoise(v) : undefined;
      if (!noise) throw new SettingProblem(`expected paired:<std>, plain:<std> or none, got ${JSON.stringify(v)}`, 'paired:<std>, plain:<std> or none (std ≥ 0)');
      return noise;
    },
  }),
  seed: int({ default: 0, min: 0, max: 2 ** 31 - 1, arg: 'S', help: 'seed of the noise' }),
  norm,
  optimizer_state,
});

/** `paired:0.01`, `plain:0.01` or `none`: the noise as the settings write it. */
export function noiseText(noise: SymmetryNoise): string {
  return noise.kind === 'none' ? 'none' : `${noise.kind}:${noise.std}`;
}

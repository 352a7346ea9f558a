// Grouped → plain T5 for export (docs/fusion.md, "Collapsing grouped norms"): the weights stay, the config drops
// `norm_groups`, so every RMSNorm normalises the whole vector again. That changes the function
// slightly, and the change is reported.
import { UserError } from '../errors';
import type { Model } from '../io/checkpoint';
import type { ForwardCase } from '../model/case';
import type { T5Config } from '../model/config';
import { logitsChange, logitsOf, probeCase, type LogitsChange } from './verify';

/** The plain-T5 config of a grouped model; `label` names the model in the error. */
export function collapsedConfig(config: T5Config, label: string): T5Config {
  if (!config.norm_groups) {
    throw new UserError(`${label}: has no "norm_groups", it is a plain T5 already. Fix: collapse only grouped (fused) models`);
  }
  const { norm_groups: _dropped, ...plain } = config;
  return plain;
}

/**
 * The same weights read as a plain T5 (tensors shared with `model`, not copied), and how much
 * the logits change on `batch` (default: a random probe batch).
 */
export function collapseNorms(model: Model, batch: ForwardCase = probeCase(model.config), label = 'model'):
  { model: Model; change: LogitsChange } {
  const plain = { config: collapsedConfig(model.config, label), params: model.params };
  return { model: plain, change: logitsChange(logitsOf(plain, batch), logitsOf(model, batch)) };
}

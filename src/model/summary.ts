// Parameter counts by part of the model, for `deepfusion info` and reports.
import type { T5Config } from './config';
import { paramSpecs } from './params';

export type ModelPart = 'embedding' | 'encoder' | 'decoder' | 'lm_head';

export function partOf(name: string): ModelPart {
  if (name.startsWith('encoder.')) return 'encoder';
  if (name.startsWith('decoder.')) return 'decoder';
  if (name.startsWith('lm_head.')) return 'lm_head';
  return 'embedding';
}

export function countByPart(config: T5Config): Record<ModelPart, number> {
  const counts: Record<ModelPart, number> = { embedding: 0, encoder: 0, decoder: 0, lm_head: 0 };
  for (const s of paramSpecs(config)) counts[partOf(s.name)] += s.shape.reduce((a, b) => a * b, 1);
  return counts;
}

import * as fs from 'node:fs';
import * as path from 'node:path';
import { describeBackend, initEngine } from '../../engine';
import { openWeights, readConfig } from '../../io/checkpoint';
import { configToJson } from '../../model/config';
import { countByPart } from '../../model/summary';
import { UserError } from '../../errors';
import type { Command } from '../command';
import { formatBytes, formatCount } from '../format';

export const infoCommand: Command = {
  name: 'info',
  summary: 'describe a model directory: config, parameters per part, size on disk',
  help: `Usage: deepfusion info <model-dir>

Reads config.json and model.safetensors (Hugging Face layout), checks that every tensor the
config implies is present with the right shape, and prints the config, the parameter count of
each part of the model, the size on disk and the compute backend in use.

Example: deepfusion info test/fixtures/t5-v11-tiny/model`,
  async run(argv) {
    const dir = argv[0];
    if (!dir) throw new UserError('deepfusion info: give a model directory. See: deepfusion info --help');
    const config = readConfig(dir);
    openWeights(dir, config).close();
    await initEngine();
    const parts = countByPart(config);
    const total = Object.values(parts).reduce((a, b) => a + b, 0);
    const files = fs.readdirSync(dir).filter((f) => fs.statSync(path.join(dir, f)).isFile());
    const bytes = files.reduce((n, f) => n + fs.statSync(path.join(dir, f)).size, 0);
    const { model_type: _m, architectures: _a, ...shown } = configToJson(config);
    console.log(`model      ${path.resolve(dir)}`);
    console.log(`config     ${Object.entries(shown).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(' ')}`);
    console.log(`parameters ${formatCount(total)} (${total})`);
    for (const [part, n] of Object.entries(parts)) if (n > 0) console.log(`  ${part.padEnd(9)} ${formatCount(n).padStart(8)}  ${(100 * n / total).toFixed(1)}%`);
    console.log(`disk       ${formatBytes(bytes)} in ${files.join(', ')}`);
    console.log(`backend    ${describeBackend()}`);
  },
};

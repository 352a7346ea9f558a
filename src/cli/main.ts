#!/usr/bin/env node
// Entry point of the `deepfusion` CLI: dispatches to a command, turns user errors (and OS errors
// on a path) into one clear line (exit 2) and anything else into a stack trace (exit 1).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describeBackend, initEngine } from '../engine';
import { reportedError, UserError } from '../errors';
import { commands } from './commands';

function version(): string {
  const pkg = JSON.parse(fs.readFileSync(path.resolve(__dirname, '../../../package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

function usage(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'deepfusion — grow T5 models by fusing small trained ones (Deep Fusion)',
    '',
    'Usage: deepfusion <command> [options]     deepfusion <command> --help for details',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Environment: DEEPFUSION_BACKEND=native|cpu selects the compute backend.',
  ].join('\n');
}

async function main(argv: string[]): Promise<void> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return;
  }
  if (name === '--version' || name === '-v') {
    await initEngine();
    console.log(`deepfusion ${version()} — backend ${describeBackend()}`);
    return;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) throw new UserError(`unknown command "${name}".\n\n${usage()}`);
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(command.help);
    return;
  }
  await command.run(rest);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  const reported = reportedError(err);
  if (reported) {
    console.error(`error: ${reported.message}`);
    process.exitCode = reported.exitCode;
  } else {
    console.error(err);
    process.exitCode = 1;
  }
});

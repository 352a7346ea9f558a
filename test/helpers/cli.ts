import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

export const CLI = path.resolve(__dirname, '../../src/cli/main.js');

export interface CliResult { status: number | null; stdout: string; stderr: string }

/** Runs the built CLI in a child process, on the cpu backend unless the env says otherwise. */
export function runCli(args: string[], env: Record<string, string> = {}, opts: { cwd?: string; timeoutMs?: number } = {}): CliResult {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    env: { ...process.env, DEEPFUSION_BACKEND: process.env.DEEPFUSION_BACKEND ?? 'cpu', ...env },
    cwd: opts.cwd,
    timeout: opts.timeoutMs,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

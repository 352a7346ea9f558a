// Real servers for the distributed tests, all on the loopback address and stopped by the tests:
// redis-server without persistence (optionally with TLS and a password), an S3-compatible server
// (s3rver), and `deepfusion worker` processes, each with its own work directory and cache,
// standing in for machines.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { CLI } from '../../helpers/cli';
import { temporaryDir } from '../../helpers/tmp';

/** A port nobody listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function waitFor<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, seconds = 30): Promise<T> {
  const until = Date.now() + seconds * 1000;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface RedisServer {
  url: string;
  port: number;
  /** CA file the server's certificate is signed with (TLS only): NODE_EXTRA_CA_CERTS for clients. */
  ca?: string;
  stop(): Promise<void>;
  /** Stops and starts it again on the same port: empty, as a restart without persistence leaves it. */
  restart(): Promise<void>;
}

/** Self-signed CA and a server certificate for 127.0.0.1, made with openssl. */
function tlsFiles(dir: string): { ca: string; cert: string; key: string } {
  const f = (n: string) => path.join(dir, n);
  const run = (...args: string[]) => execFileSync('openssl', args, { stdio: 'ignore' });
  run('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=deepfusion test CA', '-keyout', f('ca.key'), '-out', f('ca.pem'));
  run('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', f('server.key'), '-out', f('server.csr'));
  fs.writeFileSync(f('ext.cnf'), 'subjectAltName=IP:127.0.0.1\n');
  run('x509', '-req', '-in', f('server.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-days', '2',
    '-extfile', f('ext.cnf'), '-out', f('server.pem'));
  return { ca: f('ca.pem'), cert: f('server.pem'), key: f('server.key') };
}

export async function startRedis(opts: { password?: string; tls?: boolean } = {}): Promise<RedisServer> {
  const port = await freePort();
  const dir = temporaryDir();
  const tls = opts.tls ? tlsFiles(dir) : undefined;
  const args = [
    '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--loglevel', 'warning',
    ...(tls ? ['--port', '0', '--tls-port', String(port), '--tls-cert-file', tls.cert, '--tls-key-file', tls.key,
      '--tls-ca-cert-file', tls.ca, '--tls-auth-clients', 'no'] : ['--port', String(port)]),
    ...(opts.password ? ['--requirepass', opts.password] : []),
  ];
  let child: ChildProcess | undefined;
  const start = async (): Promise<void> => {
    const c = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = c;
    let out = '';
    c.stdout?.on('data', (d: Buffer) => { out += d.toString(); });
    c.stderr?.on('data', (d: Buffer) => { out += d.toString(); });
    await waitFor('redis-server to listen', () => new Promise<true | undefined>((resolve) => {
      if (c.exitCode !== null) throw new Error(`redis-server exited: ${out}`);
      const s = net.connect(port, '127.0.0.1', () => { s.destroy(); resolve(true); });
      s.on('error', () => resolve(undefined));
    }));
  };
  const stop = async (): Promise<void> => {
    const c = child;
    if (!c || c.exitCode !== null) return;
    await new Promise((r) => { c.once('exit', r); c.kill('SIGTERM'); });
  };
  await start();
  const auth = opts.password ? `:${opts.password}@` : '';
  return {
    url: `${tls ? 'rediss' : 'redis'}://${auth}127.0.0.1:${port}`, port, ca: tls?.ca, stop,
    restart: async () => { await stop(); await start(); },
  };
}

export interface S3Server { url: string; env: Record<string, string>; stop(): Promise<void> }

/** s3rver on a free loopback port with one bucket; `url` is the --store of a prefix in it. */
export async function startS3(): Promise<S3Server> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const S3rver = require('s3rver') as new (o: object) => { run(): Promise<{ port: number }>; close(): Promise<void> };
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: temporaryDir(), configureBuckets: [{ name: 'deepfusion-test' }] });
  const { port } = await server.run();
  return {
    url: `s3://deepfusion-test/store?endpoint=http://127.0.0.1:${port}&region=us-east-1`,
    // s3rver's fixed credentials.
    env: { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' },
    stop: () => server.close(),
  };
}

export interface WorkerProcess {
  name: string;
  workDir: string;
  child: ChildProcess;
  /** Its log lines so far. */
  lines: string[];
  /** Resolves when a line matching `pattern` has been logged (or at once if one was). */
  waitForLine(pattern: RegExp, seconds?: number): Promise<string>;
  /** The machine is lost: the worker and its job processes die at once. */
  kill(): void;
  /** Ctrl-C, and the exit. */
  stop(): Promise<void>;
}

export interface WorkerOptions {
  queue: string;
  store: string;
  name: string;
  threads?: number;
  slots?: number;
  stallSeconds?: number;
  env?: Record<string, string>;
}

const groups = new Set<number>();
process.on('exit', () => {
  for (const pid of groups) {
    try { process.kill(-pid, 'SIGKILL'); } catch { /* gone */ }
  }
});

/** A `deepfusion worker` process in its own process group, with its own work directory and cache. */
export async function startWorker(o: WorkerOptions): Promise<WorkerProcess> {
  const workDir = temporaryDir();
  const child = spawn(process.execPath, [CLI, 'worker', '--queue', o.queue, '--store', o.store, '--name', o.name,
    '--work-dir', workDir, '--threads', String(o.threads ?? 1), '--slots', String(o.slots ?? 1), '--stall-seconds', String(o.stallSeconds ?? 2)], {
    detached: true, stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, DEEPFUSION_BACKEND: process.env.DEEPFUSION_BACKEND ?? 'cpu', DEEPFUSION_CACHE: path.join(workDir, 'cache'), ...o.env },
  });
  groups.add(child.pid as number);
  child.once('exit', () => groups.delete(child.pid as number));
  const lines: string[] = [];
  const waiters: Array<{ pattern: RegExp; resolve(l: string): void }> = [];
  let buffer = '';
  child.stderr?.on('data', (d: Buffer) => {
    buffer += d.toString();
    const parts = buffer.split('\n');
    buffer = parts.pop() ?? '';
    for (const line of parts) {
      lines.push(line);
      if (process.env.DEEPFUSION_TEST_VERBOSE) console.error(`[${o.name}] ${line}`);
      for (const w of waiters.splice(0)) {
        if (w.pattern.test(line)) w.resolve(line);
        else waiters.push(w);
      }
    }
  });
  const waitForLine = (pattern: RegExp, seconds = 120): Promise<string> => {
    const seen = lines.find((l) => pattern.test(l));
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`worker ${o.name}: no line like ${pattern} within ${seconds} s:\n${lines.join('\n')}`)), seconds * 1000);
      waiters.push({ pattern, resolve: (l) => { clearTimeout(timer); resolve(l); } });
    });
  };
  const exited = new Promise((r) => child.once('exit', r));
  await Promise.race([waitForLine(/ worker .*: \d+ slot/), exited.then(() => { throw new Error(`worker ${o.name} exited:\n${lines.join('\n')}`); })]);
  return {
    name: o.name, workDir, child, lines, waitForLine,
    kill: () => { try { process.kill(-(child.pid as number), 'SIGKILL'); } catch { /* gone */ } },
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGINT');
        await exited;
      }
    },
  };
}

/** Runs `deepfusion <args>` without blocking this process (servers in it keep serving). */
export function runCliAsync(args: string[], env: Record<string, string> = {}): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { ...process.env, DEEPFUSION_BACKEND: process.env.DEEPFUSION_BACKEND ?? 'cpu', ...env }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('exit', (status) => resolve({ status, stdout, stderr }));
  });
}

// The dashboard's HTTP server (docs/dashboard.md), on Node's own http module: the page and its
// two libraries (uPlot, marked) from the package, read-only JSON and files from the runs
// directory, and Server-Sent Events that stream what changes. It answers GET and HEAD only.
//
// Safe by default: every path goes through RunsRoot (nothing outside the runs directory), only
// report-like files are served (no model weights), and the page runs under a Content Security
// Policy that allows no script but its own. On a loopback address, requests must name a loopback
// host (a web page cannot reach the dashboard by rebinding its own domain to 127.0.0.1); on any
// other address, every request needs the token, which the printed URL carries once and a cookie
// keeps.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { UserError } from '../errors';
import { RunsRoot } from './paths';
import { LOOPBACK_HOST } from './settings';
import { listRuns, modelInfo } from './runs';
import { PlanView, SERVED_EXTENSIONS, viewOf, type View, type ViewEvent } from './views';

export interface DashboardOptions {
  /** The runs directory. */
  root: string;
  host?: string;
  port?: number;
  /** Required of every request when set; generated when the host is not a loopback address. */
  token?: string;
  /** How often open streams look for changes, in ms (default 500). */
  pollMs?: number;
}

/** The page: web/ at the package's root. */
export const WEB_DIR = path.resolve(__dirname, '../../../web');

/** Files the page loads from the package: the page itself and the libraries it uses. */
function packageFiles(): Map<string, string> {
  const pkg = (name: string): string => path.dirname(require.resolve(`${name}/package.json`));
  return new Map([
    ['/', path.join(WEB_DIR, 'index.html')],
    ['/app.js', path.join(WEB_DIR, 'app.js')],
    ['/charts.js', path.join(WEB_DIR, 'charts.js')],
    ['/style.css', path.join(WEB_DIR, 'style.css')],
    ['/vendor/uPlot.esm.js', path.join(pkg('uplot'), 'dist', 'uPlot.esm.js')],
    ['/vendor/uPlot.min.css', path.join(pkg('uplot'), 'dist', 'uPlot.min.css')],
    ['/vendor/marked.esm.js', path.join(pkg('marked'), 'lib', 'marked.esm.js')],
  ]);
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml', '.png': 'image/png', '.json': 'application/json; charset=utf-8',
  '.jsonl': 'text/plain; charset=utf-8', '.txt': 'text/plain; charset=utf-8', '.md': 'text/markdown; charset=utf-8',
};

const SECURITY_HEADERS = {
  'Content-Security-Policy': "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
};

/** An open stream falls this far behind (a stalled client) and is closed: it reconnects to a fresh snapshot. */
const MAX_BACKLOG = 8 << 20;
const KEEPALIVE_MS = 15_000;

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function cookies(req: http.IncomingMessage): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0) out.set(part.slice(0, i).trim(), part.slice(i + 1).trim());
  }
  return out;
}

/** The host name a request was sent to, without the port ('[::1]:8080' → '::1'). */
function requestHost(req: http.IncomingMessage): string {
  const h = req.headers.host ?? '';
  const m = /^\[([^\]]+)\](?::\d+)?$/.exec(h) ?? /^([^:]+)(?::\d+)?$/.exec(h);
  return m ? m[1].toLowerCase() : '';
}

export class Dashboard {
  readonly root: RunsRoot;
  readonly token: string | undefined;
  private readonly server: http.Server;
  private readonly files = packageFiles();
  private readonly streams = new Set<() => void>();
  private readonly pollMs: number;
  private cookieName = 'deepfusion_token';
  private host = '';
  private port = 0;

  private constructor(opts: DashboardOptions, readonly bindHost: string) {
    if (!fs.existsSync(opts.root) || !fs.statSync(opts.root).isDirectory()) {
      throw new UserError(`${opts.root}: no such directory. Fix: give the runs directory (deepfusion serve runs), or start a run first`);
    }
    this.root = new RunsRoot(opts.root);
    this.token = opts.token ?? (isLoopback(bindHost) ? undefined : randomBytes(24).toString('base64url'));
    this.pollMs = opts.pollMs ?? 500;
    this.server = http.createServer((req, res) => this.handle(req, res));
  }

  /** Starts listening; a port in use or an address that cannot be bound is a UserError. */
  static async start(opts: DashboardOptions): Promise<Dashboard> {
    const host = opts.host ?? LOOPBACK_HOST;
    const d = new Dashboard(opts, host);
    await new Promise<void>((resolve, reject) => {
      d.server.once('error', (err: NodeJS.ErrnoException) => {
        const fix = err.code === 'EADDRINUSE' ? `port ${opts.port} is in use. Fix: give another --port, or --port 0 for any free one`
          : `cannot listen on ${host}:${opts.port} (${err.code ?? err.message}). Fix: give an address of this machine with --host`;
        reject(new UserError(`deepfusion serve: ${fix}`));
      });
      d.server.listen(opts.port ?? 8080, host, () => resolve());
    });
    const addr = d.server.address() as AddressInfo;
    d.host = host;
    d.port = addr.port;
    // Cookies do not tell ports apart: dashboards on one host must not overwrite each other's.
    d.cookieName = `deepfusion_token_${addr.port}`;
    return d;
  }

  /** The address to open: with the token, if there is one (print it once, as Jupyter does). */
  get url(): string {
    return `${this.baseUrl}${this.token ? `?token=${this.token}` : ''}`;
  }

  /** The address without the token. */
  get baseUrl(): string {
    const host = this.host === '0.0.0.0' || this.host === '::' ? 'localhost' : this.host.includes(':') ? `[${this.host}]` : this.host;
    return `http://${host}:${this.port}/`;
  }

  get address(): { host: string; port: number } {
    return { host: this.host, port: this.port };
  }

  async close(): Promise<void> {
    for (const end of this.streams) end();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    try {
      for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.setHeader('Allow', 'GET, HEAD');
        return this.text(res, 405, 'read-only: only GET and HEAD');
      }
      const url = new URL(req.url ?? '/', 'http://dashboard');
      if (!this.authorized(req, res, url)) return;
      this.route(req, res, url);
    } catch (err) {
      if (!res.headersSent) this.text(res, 500, `error: ${(err as Error).message}`);
      else res.destroy();
    }
  }

  /** False if the request was answered here (refused, or redirected to drop the token from the URL). */
  private authorized(req: http.IncomingMessage, res: http.ServerResponse, url: URL): boolean {
    if (!this.token) {
      if (isLoopback(requestHost(req))) return true;
      this.text(res, 403, 'forbidden: this dashboard answers only to a loopback host name (localhost, 127.0.0.1)');
      return false;
    }
    const given = url.searchParams.get('token');
    if (given !== null && sameSecret(given, this.token)) {
      res.setHeader('Set-Cookie', `${this.cookieName}=${this.token}; HttpOnly; SameSite=Strict; Path=/`);
      url.searchParams.delete('token');
      res.writeHead(302, { Location: `${url.pathname}${url.search}` }).end();
      return false;
    }
    const auth = /^(?:token|bearer)\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const cookie = cookies(req).get(this.cookieName);
    if ((auth !== undefined && sameSecret(auth, this.token)) || (cookie !== undefined && sameSecret(cookie, this.token))) return true;
    this.text(res, 403, 'forbidden: this dashboard needs its token. Open the URL that deepfusion serve printed (…/?token=…)');
    return false;
  }

  private route(req: http.IncomingMessage, res: http.ServerResponse, url: URL): void {
    const p = url.pathname;
    const own = this.files.get(p);
    if (own) return this.sendFile(res, own, 'no-cache');
    const rel = url.searchParams.get('path') ?? '';
    if (p === '/api/list') return this.json(res, listRuns(this.root));
    if (p === '/api/model') {
      const dir = this.root.resolve(rel);
      const info = dir ? modelInfo(this.root, dir) : undefined;
      return info ? this.json(res, info) : this.text(res, 404, 'not found');
    }
    if (p === '/api/graph.svg') {
      const dir = this.root.resolve(rel);
      if (!dir) return this.text(res, 404, 'not found');
      const svg = new PlanView(this.root, dir).graph();
      res.writeHead(200, { 'Content-Type': CONTENT_TYPES['.svg'], 'Cache-Control': 'no-store' }).end(svg);
      return;
    }
    const stream = /^\/api\/stream\/(list|plan|run)$/.exec(p);
    if (stream) {
      const dir = this.root.resolve(rel);
      const view = dir ? viewOf(this.root, stream[1], dir) : undefined;
      return view ? this.stream(req, res, view) : this.text(res, 404, 'not found');
    }
    if (p.startsWith('/files/')) {
      let rel: string;
      try {
        rel = decodeURIComponent(p.slice('/files/'.length));
      } catch {
        return this.text(res, 400, 'bad path');
      }
      const file = this.root.resolve(rel);
      if (!file || !SERVED_EXTENSIONS.has(path.extname(file).toLowerCase()) || !fs.statSync(file).isFile()) return this.text(res, 404, 'not found');
      return this.sendFile(res, file, 'no-store', true);
    }
    this.text(res, 404, 'not found');
  }

  private stream(req: http.IncomingMessage, res: http.ServerResponse, view: View): void {
    res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store', Connection: 'keep-alive' });
    res.write('retry: 2000\n\n');
    const send = (events: ViewEvent[]): void => {
      for (const e of events) res.write(`event: ${e.event}\ndata: ${JSON.stringify(e.data)}\n\n`);
    };
    let last = Date.now();
    const tick = (): void => {
      if (res.writableLength > MAX_BACKLOG) return end();
      const events = view.poll();
      if (events.length > 0) {
        send(events);
        last = Date.now();
      } else if (Date.now() - last > KEEPALIVE_MS) {
        res.write(': keep-alive\n\n');
        last = Date.now();
      }
    };
    const timer = setInterval(() => {
      try {
        tick();
      } catch {
        end();
      }
    }, this.pollMs);
    const end = (): void => {
      clearInterval(timer);
      this.streams.delete(end);
      res.end();
    };
    this.streams.add(end);
    req.on('close', end);
    send(view.snapshot());
  }

  private sendFile(res: http.ServerResponse, file: string, cache: string, inRoot = false): void {
    const fd = inRoot ? this.root.open(file) : fs.openSync(file, 'r');
    if (fd === undefined) return this.text(res, 404, 'not found');
    const size = fs.fstatSync(fd).size;
    res.writeHead(200, {
      'Content-Type': CONTENT_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream',
      'Content-Length': size, 'Cache-Control': cache,
    });
    if (size === 0) {
      fs.closeSync(fd);
      res.end();
      return;
    }
    // The length was sent: read exactly that much, even if the file grows meanwhile.
    fs.createReadStream('', { fd, start: 0, end: size - 1 }).pipe(res);
  }

  private json(res: http.ServerResponse, value: unknown): void {
    const body = JSON.stringify(value);
    res.writeHead(200, { 'Content-Type': CONTENT_TYPES['.json'], 'Cache-Control': 'no-store', 'Content-Length': Buffer.byteLength(body) }).end(body);
  }

  private text(res: http.ServerResponse, status: number, body: string): void {
    res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' }).end(`${body}\n`);
  }
}

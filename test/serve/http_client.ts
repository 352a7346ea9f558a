// Raw HTTP for dashboard tests: requests sent with the path exactly as written (no client-side
// normalisation of `..`), and a Server-Sent Events reader.
import * as http from 'node:http';

export interface Reply { status: number; headers: http.IncomingHttpHeaders; body: string }

export function request(port: number, rawPath: string, opts: { method?: string; headers?: Record<string, string> } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: rawPath, method: opts.method ?? 'GET', headers: opts.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end();
  });
}

export interface SseEvent { event: string; data: any } // eslint-disable-line @typescript-eslint/no-explicit-any

/** Reads a stream's events; `next` waits for the next one that matches. */
export class SseReader {
  private readonly events: SseEvent[] = [];
  private buffer = '';
  private waiter: (() => void) | undefined;
  private req: http.ClientRequest;
  status = 0;

  constructor(port: number, path: string) {
    this.req = http.get({ host: '127.0.0.1', port, path }, (res) => {
      this.status = res.statusCode ?? 0;
      res.setEncoding('utf8');
      res.on('data', (text: string) => {
        this.buffer += text;
        let end: number;
        while ((end = this.buffer.indexOf('\n\n')) >= 0) {
          const block = this.buffer.slice(0, end);
          this.buffer = this.buffer.slice(end + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event && data !== undefined) this.events.push({ event, data: JSON.parse(data) });
        }
        this.waiter?.();
      });
    });
  }

  async next(event: string, match: (data: any) => boolean = () => true, ms = 20_000): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any
    const start = Date.now();
    for (;;) {
      const i = this.events.findIndex((e) => e.event === event && match(e.data));
      if (i >= 0) return this.events.splice(0, i + 1)[i].data;
      if (Date.now() - start > ms) throw new Error(`no "${event}" event came (got: ${this.events.map((e) => e.event).join(', ') || 'none'})`);
      await new Promise<void>((resolve) => {
        this.waiter = resolve;
        setTimeout(resolve, 200);
      });
    }
  }

  close(): void {
    this.req.destroy();
  }
}

import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';

/** One request exactly as the upstream received it, so tests can prove what the enforcer forwarded. */
export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * A tiny upstream that records every request it receives and echoes it back as JSON.
 * `…?ms=N` answers after N ms; a path containing `/hang` never answers.
 */
export class RecordingUpstream {
  readonly seen: SeenRequest[] = [];
  private server: Server | null = null;
  port = 0;

  async start(): Promise<void> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const seen = {
          method: req.method ?? '',
          url: req.url ?? '',
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        };
        this.seen.push(seen);
        if (seen.url.includes('/hang')) return;
        const ms = Number(/[?&]ms=(\d+)/.exec(seen.url)?.[1] ?? 0);
        setTimeout(() => {
          res.writeHead(200, {
            'content-type': 'application/json',
            connection: 'keep-alive, x-upstream-hop',
            'x-upstream-hop': '1',
          });
          res.end(JSON.stringify(seen));
        }, ms);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const addr = server.address();
    this.port = typeof addr === 'object' && addr ? addr.port : 0;
    this.server = server;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}

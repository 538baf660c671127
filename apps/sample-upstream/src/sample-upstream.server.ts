import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { sendJson as send } from '@portcullis/platform';
import { SEED_CUSTOMERS, type Customer } from './customers.data';

/** Largest request body /echo reads; bigger bodies get 413 (the enforcer caps earlier anyway). */
const MAX_BODY_BYTES = 1024 * 1024;

/** Where the sample upstream listens (loopback unless `host` says otherwise). */
export interface SampleUpstreamOptions {
  /** 0 picks a free port (tests); the dev stack uses 8901. */
  port: number;
  host?: string;
}

/** What /echo answers: the request exactly as this upstream received it. */
export interface EchoResponse {
  method: string;
  path: string;
  query: Record<string, string | string[]>;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON when the body is JSON, else the raw text; null when empty. */
  body: unknown;
}

/**
 * The "customers" API the dev stack and the e2e tests put behind an enforcer connection. It is
 * deliberately naive (no authentication of its own, in-memory, resettable per instance) because
 * the point is to show what the enforcer lets through. `requests` counts every call except
 * `GET /__stats`, so a test can prove that a denied call never arrived.
 */
export class SampleUpstreamServer {
  private readonly server: Server;
  private readonly customers = new Map<string, Customer>();
  private served = 0;
  private boundPort = 0;

  constructor(private readonly opts: SampleUpstreamOptions) {
    for (const c of SEED_CUSTOMERS) this.customers.set(c.id, { ...c });
    this.server = createServer((req, res) => void this.handle(req, res));
    // Keep-alive sockets from the enforcer's agent must not hold `close()` open.
    this.server.keepAliveTimeout = 5_000;
  }

  get port(): number {
    return this.boundPort;
  }

  get url(): string {
    return `http://${this.opts.host ?? '127.0.0.1'}:${this.boundPort}`;
  }

  /** Calls received so far, `GET /__stats` excluded. */
  get requests(): number {
    return this.served;
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.opts.port, this.opts.host ?? '127.0.0.1', () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    const addr = this.server.address();
    this.boundPort = typeof addr === 'object' && addr ? addr.port : this.opts.port;
  }

  async stop(): Promise<void> {
    if (!this.server.listening) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', 'http://upstream.invalid');
    const path = url.pathname;
    try {
      if (path === '/__stats' && method === 'GET') return send(res, 200, { requests: this.served });
      this.served++;
      if (path === '/echo' || path.startsWith('/echo/'))
        return await this.echo(req, res, method, url);
      if (path === '/customers' || path === '/customers/') {
        if (method !== 'GET') return methodNotAllowed(res, 'GET');
        return send(res, 200, { items: [...this.customers.values()] });
      }
      const one = /^\/customers\/([^/]+)$/.exec(path);
      if (one) {
        const id = decodeURIComponent(one[1]);
        const customer = this.customers.get(id);
        if (method === 'GET') {
          return customer ? send(res, 200, customer) : notFound(res, `no customer with id ${id}`);
        }
        if (method === 'DELETE') {
          if (!customer) return notFound(res, `no customer with id ${id}`);
          this.customers.delete(id);
          return send(res, 200, { deleted: customer });
        }
        return methodNotAllowed(res, 'GET, DELETE');
      }
      if (path === '/healthz') return send(res, 200, { status: 'ok' });
      return notFound(res, `no route for ${method} ${path}`);
    } catch (err) {
      if (err instanceof BodyTooLarge)
        return send(res, 413, { error: { code: 'body_too_large', message: err.message } });
      return send(res, 500, { error: { code: 'internal', message: 'sample upstream failed' } });
    }
  }

  private async echo(
    req: IncomingMessage,
    res: ServerResponse,
    method: string,
    url: URL,
  ): Promise<void> {
    const raw = await readBody(req);
    const query: Record<string, string | string[]> = {};
    for (const key of new Set(url.searchParams.keys())) {
      const values = url.searchParams.getAll(key);
      query[key] = values.length === 1 ? values[0] : values;
    }
    let body: unknown = null;
    if (raw.length > 0) {
      const text = raw.toString('utf8');
      body = text;
      if ((req.headers['content-type'] ?? '').includes('json')) {
        try {
          body = JSON.parse(text);
        } catch {
          // Not valid JSON after all: echo the text so the caller can see what arrived.
        }
      }
    }
    const echoed: EchoResponse = {
      method,
      path: url.pathname,
      query,
      headers: { ...req.headers },
      body,
    };
    send(res, 200, echoed);
  }
}

/** Starts a sample upstream on `port` (0 = any free port) and resolves once it is listening. */
export async function createSampleUpstream(
  opts: SampleUpstreamOptions,
): Promise<SampleUpstreamServer> {
  const server = new SampleUpstreamServer(opts);
  await server.start();
  return server;
}

class BodyTooLarge extends Error {}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES)
      throw new BodyTooLarge(`request body larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function notFound(res: ServerResponse, message: string): void {
  send(res, 404, { error: { code: 'not_found', message } });
}

function methodNotAllowed(res: ServerResponse, allow: string): void {
  res.setHeader('allow', allow);
  send(res, 405, { error: { code: 'method_not_allowed', message: `allowed methods: ${allow}` } });
}

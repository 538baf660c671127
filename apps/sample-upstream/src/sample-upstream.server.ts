import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { createBrotliCompress, createDeflate, createGzip } from 'node:zlib';
import { sendJson as send } from '@portcullis/platform';
import { SEED_CUSTOMERS, customerNote, generatedCustomer, type Customer } from './customers.data';
import type { ExpectedCredential } from './sample-upstream.config';

/** Largest request body /echo and the customer writes read; bigger bodies get 413. */
const MAX_BODY_BYTES = 1024 * 1024;
/** Rows `/customers/export` streams when the caller names no limit: "everything". */
export const DEFAULT_EXPORT_ROWS = 10_000;
/** Most rows one export streams. */
export const MAX_EXPORT_ROWS = 1_000_000;
/** Largest `/large?mb=N`. */
export const MAX_LARGE_MB = 100;
const MIB = 1_048_576;
/** Generated rows are batched into writes of about this many bytes. */
const BATCH_BYTES = 64 * 1024;

/** Where the sample upstream listens (loopback unless `host` says otherwise) and what it demands. */
export interface SampleUpstreamOptions {
  /** 0 picks a free port (tests); the dev stack uses 8901. */
  port: number;
  host?: string;
  /** Credential every call (except /__stats and /healthz) must carry; none by default. */
  expect?: ExpectedCredential;
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

/** What `GET /__stats` answers. */
export interface SampleUpstreamStats {
  /** Calls received, `GET /__stats` excluded (401s included). */
  requests: number;
  /** Calls refused with 401 because they lacked the expected credential. */
  unauthorized: number;
}

type ContentEncoding = 'identity' | 'gzip' | 'deflate' | 'br';
type Body = string | Buffer | AsyncIterable<string | Buffer>;

/**
 * The "customers" API the dev stack and the e2e tests put behind an enforcer connection. It is
 * deliberately naive (in-memory, resettable per instance, and its only authentication is the
 * optional expected credential) because the point is to show what the enforcer lets through.
 * Its data carries personal data of every kind the masking detectors know, its responses come
 * plain, compressed (`?encoding=gzip|deflate|br|auto`) or streamed without a length, and
 * `requests` counts every call except `GET /__stats`, so a test can prove a denied call never
 * arrived.
 */
export class SampleUpstreamServer {
  private readonly server: Server;
  private readonly customers = new Map<string, Customer>();
  private nextId: number;
  private served = 0;
  private refused = 0;
  private boundPort = 0;

  constructor(private readonly opts: SampleUpstreamOptions) {
    for (const c of SEED_CUSTOMERS) this.customers.set(c.id, { ...c });
    this.nextId = SEED_CUSTOMERS.length + 1;
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

  /** Calls refused with 401 for lack of the expected credential. */
  get unauthorized(): number {
    return this.refused;
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
    const reads = method === 'GET' || method === 'HEAD';
    try {
      if (path === '/__stats' && method === 'GET') {
        const stats: SampleUpstreamStats = { requests: this.served, unauthorized: this.refused };
        return send(res, 200, stats);
      }
      this.served++;
      if (path === '/healthz') return send(res, 200, { status: 'ok' });
      if (!this.credentialAccepted(req)) {
        this.refused++;
        res.setHeader('www-authenticate', this.opts.expect?.basic ? 'Basic' : 'Bearer');
        return send(res, 401, {
          error: { code: 'unauthorized', message: 'missing or wrong credential' },
        });
      }
      if (path === '/echo' || path.startsWith('/echo/'))
        return await this.echo(req, res, method, url);
      const encoding = chooseEncoding(url, req);
      if (encoding === null) {
        return send(res, 400, {
          error: {
            code: 'bad_encoding',
            message: 'encoding must be gzip, deflate, br, identity or auto',
          },
        });
      }
      if (path === '/customers' || path === '/customers/') {
        if (reads) {
          return await reply(
            res,
            200,
            JSON_TYPE,
            json({ items: [...this.customers.values()] }),
            encoding,
          );
        }
        if (method === 'POST') return await this.create(req, res);
        if (method === 'DELETE') {
          // The whole collection: the policy, not this API, is what must stop it.
          const deleted = this.customers.size;
          this.customers.clear();
          return send(res, 200, { deleted });
        }
        return methodNotAllowed(res, 'GET, POST, DELETE');
      }
      if (path === '/customers/export') {
        if (!reads) return methodNotAllowed(res, 'GET');
        return await this.export(res, url, encoding);
      }
      const notes = /^\/customers\/([^/]+)\/notes$/.exec(path);
      if (notes) {
        if (!reads) return methodNotAllowed(res, 'GET');
        const customer = this.customers.get(decodeURIComponent(notes[1]));
        if (!customer) return notFound(res, 'no such customer');
        return await reply(res, 200, TEXT_TYPE, customerNote(customer), encoding);
      }
      const one = /^\/customers\/([^/]+)$/.exec(path);
      if (one) return await this.customer(req, res, method, decodeURIComponent(one[1]), encoding);
      if (path === '/chunked') {
        if (!reads) return methodNotAllowed(res, 'GET');
        return await this.chunked(res, url, encoding);
      }
      if (path === '/large') {
        if (!reads) return methodNotAllowed(res, 'GET');
        return await this.large(res, url, encoding);
      }
      return notFound(res, `no route for ${method} ${path}`);
    } catch (err) {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (err instanceof BadRequest)
        return send(res, err.status, { error: { code: err.code, message: err.message } });
      return send(res, 500, { error: { code: 'internal', message: 'sample upstream failed' } });
    }
  }

  /** True when no credential is configured, or the request carries exactly the configured one. */
  private credentialAccepted(req: IncomingMessage): boolean {
    const expect = this.opts.expect;
    if (!expect) return true;
    const authorization = singleHeader(req, 'authorization');
    if (expect.bearer !== undefined) {
      const m = /^Bearer (.+)$/i.exec(authorization ?? '');
      if (!m || !sameSecret(m[1], expect.bearer)) return false;
    }
    if (expect.basic !== undefined) {
      const m = /^Basic (.+)$/i.exec(authorization ?? '');
      const wanted = Buffer.from(`${expect.basic.user}:${expect.basic.password}`).toString(
        'base64',
      );
      if (!m || !sameSecret(m[1], wanted)) return false;
    }
    if (expect.header !== undefined) {
      const value = singleHeader(req, expect.header.name);
      if (value === undefined || !sameSecret(value, expect.header.value)) return false;
    }
    return true;
  }

  private async customer(
    req: IncomingMessage,
    res: ServerResponse,
    method: string,
    id: string,
    encoding: ContentEncoding,
  ): Promise<void> {
    if (!['GET', 'HEAD', 'PATCH', 'DELETE'].includes(method))
      return methodNotAllowed(res, 'GET, PATCH, DELETE');
    const customer = this.customers.get(id);
    if (!customer) return notFound(res, `no customer with id ${id}`);
    if (method === 'PATCH') {
      const changes = customerFields(await readJsonObject(req), false);
      const updated = { ...customer, ...changes, id };
      this.customers.set(id, updated);
      return send(res, 200, updated);
    }
    if (method === 'DELETE') {
      this.customers.delete(id);
      return send(res, 200, { deleted: customer });
    }
    return await reply(res, 200, JSON_TYPE, json(customer), encoding);
  }

  private async create(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const fields = customerFields(await readJsonObject(req), true);
    const id = String(this.nextId++);
    const created: Customer = {
      email: '',
      phone: '',
      ssn: '',
      iban: '',
      card_number: '',
      country: '',
      ...fields,
      name: fields.name ?? '',
      id,
      created_at: new Date().toISOString(),
    };
    this.customers.set(id, created);
    res.setHeader('location', `/customers/${id}`);
    send(res, 201, created);
  }

  /** A JSON array of generated customers, streamed (no Content-Length) as it is generated. */
  private async export(res: ServerResponse, url: URL, encoding: ContentEncoding): Promise<void> {
    const limits = url.searchParams.getAll('limit');
    if (limits.length > 1) throw new BadRequest('bad_limit', 'give limit at most once');
    let rows = DEFAULT_EXPORT_ROWS;
    if (limits.length === 1) {
      if (!/^\d+$/.test(limits[0]) || Number(limits[0]) > MAX_EXPORT_ROWS) {
        throw new BadRequest('bad_limit', `limit must be a whole number up to ${MAX_EXPORT_ROWS}`);
      }
      rows = Number(limits[0]);
    }
    await reply(res, 200, JSON_TYPE, jsonArray(rows), encoding);
  }

  /**
   * The customer list cut into tiny pieces (`chunk` bytes, default 7, with `delay_ms` between
   * them), so card numbers and e-mail addresses straddle chunk boundaries.
   */
  private async chunked(res: ServerResponse, url: URL, encoding: ContentEncoding): Promise<void> {
    const size = intParam(url, 'chunk', 7, 1, 65_536);
    const delayMs = intParam(url, 'delay_ms', 0, 0, 1_000);
    const whole = Buffer.from(json({ items: [...this.customers.values()] }));
    async function* pieces(): AsyncIterable<Buffer> {
      for (let at = 0; at < whole.length; at += size) {
        if (delayMs > 0 && at > 0) await sleep(delayMs);
        yield whole.subarray(at, at + size);
      }
    }
    await reply(res, 200, JSON_TYPE, pieces(), encoding);
  }

  /** About `mb` MiB of JSON (`{"items":[…]}` of generated customers), generated as it is sent. */
  private async large(res: ServerResponse, url: URL, encoding: ContentEncoding): Promise<void> {
    const raw = url.searchParams.get('mb') ?? '1';
    const mb = /^\d+(\.\d+)?$/.test(raw) ? Number(raw) : NaN;
    if (!(mb > 0 && mb <= MAX_LARGE_MB)) {
      throw new BadRequest('bad_size', `mb must be a number above 0 and at most ${MAX_LARGE_MB}`);
    }
    await reply(res, 200, JSON_TYPE, largeDocument(Math.round(mb * MIB)), encoding);
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

const JSON_TYPE = 'application/json; charset=utf-8';
const TEXT_TYPE = 'text/plain; charset=utf-8';

/** A client mistake, answered with its status and a stable code. */
class BadRequest extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

function json(value: unknown): string {
  return JSON.stringify(value);
}

/**
 * The Content-Encoding the caller asked for with `?encoding=`: a named one, `auto` to negotiate
 * from Accept-Encoding (br, then gzip, then deflate), identity when absent; null when unknown.
 * Opt-in, so clients that always send Accept-Encoding (fetch does) keep getting plain bodies.
 */
function chooseEncoding(url: URL, req: IncomingMessage): ContentEncoding | null {
  const asked = url.searchParams.get('encoding');
  if (asked === null || asked === 'identity') return 'identity';
  if (asked === 'gzip' || asked === 'deflate' || asked === 'br') return asked;
  if (asked !== 'auto') return null;
  const accepted = new Set<string>();
  for (const part of (singleHeader(req, 'accept-encoding') ?? '').split(',')) {
    const [name, ...params] = part.trim().toLowerCase().split(';');
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    if (name && (q === undefined || Number(q.slice(2)) > 0)) accepted.add(name);
  }
  for (const candidate of ['br', 'gzip', 'deflate'] as const) {
    if (accepted.has(candidate)) return candidate;
  }
  return 'identity';
}

/**
 * Sends `body` with the encoding: a whole string unencoded gets a Content-Length, anything
 * streamed or compressed goes out chunked, piped with backpressure so nothing is held whole.
 */
async function reply(
  res: ServerResponse,
  status: number,
  contentType: string,
  body: Body,
  encoding: ContentEncoding,
): Promise<void> {
  res.statusCode = status;
  res.setHeader('content-type', contentType);
  if (encoding === 'identity' && (typeof body === 'string' || Buffer.isBuffer(body))) {
    res.setHeader('content-length', Buffer.byteLength(body));
    res.end(body);
    return;
  }
  const source = Readable.from(typeof body === 'string' || Buffer.isBuffer(body) ? [body] : body);
  if (encoding === 'identity') {
    await pipeline(source, res);
    return;
  }
  res.setHeader('content-encoding', encoding);
  res.setHeader('vary', 'accept-encoding');
  const compress =
    encoding === 'gzip'
      ? createGzip()
      : encoding === 'deflate'
        ? createDeflate()
        : createBrotliCompress();
  await pipeline(source, compress, res);
}

/** `[row0,row1,…]` of generated customers, in batches of about {@link BATCH_BYTES}. */
async function* jsonArray(rows: number): AsyncIterable<string> {
  let batch = '[';
  for (let i = 0; i < rows; i++) {
    batch += (i === 0 ? '' : ',') + json(generatedCustomer(i));
    if (batch.length >= BATCH_BYTES) {
      yield batch;
      batch = '';
    }
  }
  yield `${batch}]`;
}

/** `{"items":[…]}` of generated customers, stopping once at least `bytes` have been produced. */
async function* largeDocument(bytes: number): AsyncIterable<string> {
  let produced = 0;
  let batchBytes = 0;
  let batch = '';
  for (let i = 0; ; i++) {
    const piece = (i === 0 ? '{"items":[' : ',') + json(generatedCustomer(i));
    batch += piece;
    batchBytes += Buffer.byteLength(piece);
    if (produced + batchBytes + 2 >= bytes) {
      yield `${batch}]}`;
      return;
    }
    if (batchBytes >= BATCH_BYTES) {
      produced += batchBytes;
      yield batch;
      batch = '';
      batchBytes = 0;
    }
  }
}

const CUSTOMER_FIELDS = [
  'name',
  'email',
  'phone',
  'ssn',
  'iban',
  'card_number',
  'country',
] as const;
type CustomerFields = Partial<Pick<Customer, (typeof CUSTOMER_FIELDS)[number]>>;

/** The writable fields of a customer from a request body; 400 naming the first bad field. */
function customerFields(body: Record<string, unknown>, creating: boolean): CustomerFields {
  const out: CustomerFields = {};
  for (const [key, value] of Object.entries(body)) {
    const field = CUSTOMER_FIELDS.find((f) => f === key);
    if (field === undefined) throw new BadRequest('bad_customer', `${key} is not a customer field`);
    if (typeof value !== 'string' || value.length > 200) {
      throw new BadRequest('bad_customer', `${key} must be a string of at most 200 characters`);
    }
    out[field] = value;
  }
  if (creating && !out.name) throw new BadRequest('bad_customer', 'name is required');
  if (out.name === '') throw new BadRequest('bad_customer', 'name must not be empty');
  return out;
}

async function readJsonObject(req: IncomingMessage): Promise<Record<string, unknown>> {
  const raw = await readBody(req);
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new BadRequest('bad_json', 'body must be a JSON object');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new BadRequest('bad_json', 'body must be a JSON object');
  }
  return parsed as Record<string, unknown>;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) {
      throw new BadRequest(
        'body_too_large',
        `request body larger than ${MAX_BODY_BYTES} bytes`,
        413,
      );
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function intParam(url: URL, name: string, fallback: number, min: number, max: number): number {
  const raw = url.searchParams.get(name);
  if (raw === null) return fallback;
  const n = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!(n >= min && n <= max)) {
    throw new BadRequest(`bad_${name}`, `${name} must be a whole number from ${min} to ${max}`);
  }
  return n;
}

/** The header's value when it was sent exactly once. */
function singleHeader(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return typeof value === 'string' ? value : undefined;
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

function notFound(res: ServerResponse, message: string): void {
  send(res, 404, { error: { code: 'not_found', message } });
}

function methodNotAllowed(res: ServerResponse, allow: string): void {
  res.setHeader('allow', allow);
  send(res, 405, { error: { code: 'method_not_allowed', message: `allowed methods: ${allow}` } });
}

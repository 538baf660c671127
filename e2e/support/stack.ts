import {
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
  type Dirent,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { Kvm } from '@nats-io/kv';
import { NATS_NAMES, parseEnforcerStatus, type EnforcerStatus } from '@portcullis/contracts';
import { NatsServerProcess, REPO_ROOT, freePort, toolPath, waitFor } from '@portcullis/testing';
import {
  createSampleUpstream,
  type SampleUpstreamStats,
} from '../../apps/sample-upstream/src/sample-upstream.server';
import { AppProcess } from './app-process';
import { ScratchDatabase } from './postgres';

const ENTRY = {
  controlPlane: join(REPO_ROOT, 'dist', 'apps', 'control-plane', 'src', 'main.js'),
  enforcer: join(REPO_ROOT, 'dist', 'apps', 'enforcer', 'src', 'main.js'),
  devIssuer: join(REPO_ROOT, 'dist', 'apps', 'dev-issuer', 'src', 'main.js'),
  sampleUpstream: join(REPO_ROOT, 'dist', 'apps', 'sample-upstream', 'src', 'main.js'),
};

export type StackDatabase = 'sqlite' | 'postgres';

/** Which stack a spec needs: the control plane's store, whether an enforcer starts, and where the upstream runs. */
export interface StackOptions {
  /** Short label for temp names, database names and log prefixes. */
  label: string;
  /** Control-plane store: a SQLite file in the stack's temp dir (default) or a scratch PostgreSQL database. */
  database?: StackDatabase;
  /** Start one enforcer with the stack (default true). More can be added with {@link Stack.startEnforcer}. */
  enforcer?: boolean;
  /**
   * Run the sample upstream as its own child process (the benchmark does, so the load generator
   * and the upstream do not share an event loop) instead of inside the test process (default).
   */
  upstreamProcess?: boolean;
  /** Extra environment for the control plane (webhooks, approval settings …). */
  controlPlaneEnv?: Record<string, string>;
  /** Extra environment for every enforcer. */
  enforcerEnv?: Record<string, string>;
}

/** The sample upstream behind connection `crm`; `GET {url}/__stats` counts what reached it. */
export interface StackUpstream {
  url: string;
  stop(): Promise<void>;
}

/** A parsed HTTP exchange with one of the stack's servers. */
export interface HttpResult {
  status: number;
  headers: Headers;
  /** Parsed JSON when the response is JSON, else the raw text. */
  body: unknown;
  text: string;
}

/** An enforcer child process and its URLs. */
export interface EnforcerHandle {
  id: string;
  proxyUrl: string;
  adminUrl: string;
  app: AppProcess;
}

/** Claims of a control-plane caller allowed to upload, activate and read decisions. */
const ADMIN_CLAIMS = { portcullis_roles: ['policy-admin', 'auditor'] };

/**
 * The whole Portcullis stack for one e2e file, from the BUILT apps: a real nats-server with
 * JetStream, the dev token issuer, the control plane (SQLite file or a scratch PostgreSQL
 * database), enforcers, and the sample upstream behind connection `crm`. Everything runs on
 * ephemeral loopback ports under its own temp directory, so files can run in parallel;
 * `stop()` stops every process in reverse order and removes what it created.
 */
export class Stack {
  readonly enforcers: EnforcerHandle[] = [];
  private readonly apps: AppProcess[] = [];
  private nc: NatsConnection | null = null;
  private adminTokenCache: { token: string; until: number } | null = null;
  /** The stack's nats-server; {@link haltNats} and {@link resumeNats} restart it on the same port and store. */
  nats!: NatsServerProcess;
  upstream!: StackUpstream;
  issuerUrl = '';
  controlPlaneUrl = '';
  controlPlane!: AppProcess;
  database: ScratchDatabase | null = null;
  readonly dataDir: string;
  readonly connectionsFile: string;
  private readonly echo = process.env.PORTCULLIS_E2E_LOGS === '1';

  private constructor(readonly opts: StackOptions) {
    this.dataDir = mkdtempSync(join(tmpdir(), `portcullis-e2e-${opts.label}-`));
    this.connectionsFile = join(this.dataDir, 'connections.json');
  }

  static async start(opts: StackOptions): Promise<Stack> {
    const stack = new Stack(opts);
    try {
      await stack.boot();
    } catch (err) {
      await stack.stop();
      throw err;
    }
    return stack;
  }

  /** The first enforcer (started with the stack). */
  get enforcer(): EnforcerHandle {
    const e = this.enforcers[0];
    if (!e) throw new Error('this stack was started without an enforcer');
    return e;
  }

  private async boot(): Promise<void> {
    this.nats = await NatsServerProcess.start();
    this.upstream = await this.startUpstream();
    writeFileSync(
      this.connectionsFile,
      JSON.stringify({
        connections: [
          { name: 'crm', type: 'http', url: this.upstream.url, labels: { env: 'e2e' } },
        ],
      }),
    );

    const issuerPort = await freePort();
    const issuer = this.app('dev-issuer', ENTRY.devIssuer, { DEV_ISSUER_PORT: String(issuerPort) });
    await issuer.start();
    const advertised = issuer.listeningLine.issuer;
    this.issuerUrl = typeof advertised === 'string' ? advertised : `http://127.0.0.1:${issuerPort}`;

    let databaseUrl = `sqlite:${join(this.dataDir, 'control-plane.db')}`;
    if (this.opts.database === 'postgres') {
      this.database = await ScratchDatabase.create(this.opts.label);
      databaseUrl = this.database.url;
    }
    const cpPort = await freePort();
    this.controlPlaneUrl = `http://127.0.0.1:${cpPort}`;
    this.controlPlane = this.app('control-plane', ENTRY.controlPlane, {
      CP_HOST: '127.0.0.1',
      CP_PORT: String(cpPort),
      DATABASE_URL: databaseUrl,
      NATS_URL: this.nats.url,
      AUTH_ISSUER: this.issuerUrl,
      OPA_BIN: toolPath('opa'),
      ...(this.opts.controlPlaneEnv ?? {}),
    });
    await this.startControlPlane();

    if (this.opts.enforcer !== false) await this.startEnforcer();
  }

  private async startControlPlane(): Promise<void> {
    await this.controlPlane.start(60_000);
    await waitFor(
      async () => (await fetch(`${this.controlPlaneUrl}/readyz`)).status === 200,
      30_000,
      'control plane /readyz',
    ).catch((err: unknown) => {
      throw this.controlPlane.failure(String(err));
    });
  }

  /** Stops the control plane (SIGTERM, as a deploy would); {@link resumeControlPlane} starts it again. */
  async haltControlPlane(): Promise<void> {
    await this.controlPlane.stop();
  }

  /** Kills the control plane with SIGKILL: a crash, with whatever it had in hand unacknowledged. */
  async crashControlPlane(): Promise<void> {
    await this.controlPlane.kill();
  }

  /** Starts the control plane again with the same port, store and configuration; waits for /readyz. */
  async resumeControlPlane(): Promise<void> {
    await this.startControlPlane();
  }

  /** Stops nats-server; {@link resumeNats} starts it again on the same port and store. */
  async haltNats(): Promise<void> {
    if (this.nc) {
      const nc = this.nc;
      this.nc = null;
      await nc.close().catch(() => undefined);
    }
    await this.nats.halt();
  }

  async resumeNats(): Promise<void> {
    await this.nats.resume();
  }

  private async startUpstream(): Promise<StackUpstream> {
    if (!this.opts.upstreamProcess) return createSampleUpstream({ port: 0 });
    const port = await freePort();
    const app = this.app('sample-upstream', ENTRY.sampleUpstream, {
      SAMPLE_UPSTREAM_PORT: String(port),
    });
    await app.start();
    return { url: `http://127.0.0.1:${port}`, stop: () => app.stop() };
  }

  /** Calls the sample upstream has received so far (its `GET /__stats`): proof a call never reached it. */
  async upstreamRequests(): Promise<number> {
    const res = await fetch(`${this.upstream.url}/__stats`);
    if (res.status !== 200) throw new Error(`sample upstream /__stats answered ${res.status}`);
    return ((await res.json()) as SampleUpstreamStats).requests;
  }

  /** Starts another enforcer against the same NATS, issuer and connections. */
  async startEnforcer(
    id = `${this.opts.label}-${this.enforcers.length + 1}`,
  ): Promise<EnforcerHandle> {
    const [port, adminPort] = [await freePort(), await freePort()];
    const app = this.app(`enforcer ${id}`, ENTRY.enforcer, {
      ENFORCER_ID: id,
      ENFORCER_HOST: '127.0.0.1',
      ENFORCER_PORT: String(port),
      ENFORCER_ADMIN_PORT: String(adminPort),
      ENFORCER_BUNDLE: 'default',
      ENFORCER_CONNECTIONS_FILE: this.connectionsFile,
      NATS_URL: this.nats.url,
      AUTH_ISSUER: this.issuerUrl,
      ENFORCER_CONTROL_PLANE_URL: this.controlPlaneUrl,
      ...(this.opts.enforcerEnv ?? {}),
    });
    await app.start(30_000);
    const handle = {
      id,
      proxyUrl: `http://127.0.0.1:${port}`,
      adminUrl: `http://127.0.0.1:${adminPort}`,
      app,
    };
    this.enforcers.push(handle);
    return handle;
  }

  async stop(): Promise<void> {
    const errors: unknown[] = [];
    const attempt = async (fn: () => Promise<unknown>) => {
      try {
        await fn();
      } catch (err) {
        errors.push(err);
      }
    };
    if (this.nc) {
      const nc = this.nc;
      this.nc = null;
      await attempt(() => nc.close());
    }
    // Reverse start order: enforcers, control plane, issuer; then the things they depend on.
    for (const app of [...this.apps].reverse()) await attempt(() => app.stop());
    if (this.upstream) await attempt(() => this.upstream.stop());
    if (this.nats) await attempt(() => this.nats.stop());
    if (this.database) await attempt(() => this.database!.drop());
    rmSync(this.dataDir, { recursive: true, force: true });
    if (errors.length > 0) throw new AggregateError(errors, 'stack did not stop cleanly');
  }

  /** Every line every child printed so far, prefixed with its name (for secret scans and failures). */
  logs(): string[] {
    return this.apps.flatMap((a) => a.output().map((l) => `[${a.opts.name}] ${l}`));
  }

  // --- identity -----------------------------------------------------------------------------

  /** Mints a token from the dev issuer's POST /token. */
  async token(
    sub: string,
    claims: Record<string, unknown> = {},
    extra: { ttl?: number; aud?: string } = {},
  ): Promise<string> {
    const res = await fetch(`${this.issuerUrl}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ sub, claims, ...extra }),
    });
    if (res.status !== 200)
      throw new Error(`dev issuer /token answered ${res.status}: ${await res.text()}`);
    return ((await res.json()) as { access_token: string }).access_token;
  }

  /** A policy-admin + auditor token for the control plane, cached while it is fresh. */
  async adminToken(): Promise<string> {
    if (this.adminTokenCache && this.adminTokenCache.until > Date.now())
      return this.adminTokenCache.token;
    const token = await this.token('e2e-policy-admin', ADMIN_CLAIMS, { ttl: 600 });
    this.adminTokenCache = { token, until: Date.now() + 300_000 };
    return token;
  }

  // --- HTTP ---------------------------------------------------------------------------------

  /** A call to the control plane; `token` defaults to the admin token, `null` sends none. */
  async api(
    method: string,
    path: string,
    body?: unknown,
    token?: string | null,
  ): Promise<HttpResult> {
    const bearer = token === undefined ? await this.adminToken() : token;
    const headers: Record<string, string> = {};
    if (bearer !== null) headers.authorization = `Bearer ${bearer}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    return request(`${this.controlPlaneUrl}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  }

  /** A call through an enforcer's proxy port (first enforcer unless given). */
  async proxy(
    method: string,
    path: string,
    opts: {
      token?: string;
      headers?: Record<string, string>;
      body?: string;
      enforcer?: EnforcerHandle;
    } = {},
  ): Promise<HttpResult> {
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    if (opts.token !== undefined) headers.authorization = `Bearer ${opts.token}`;
    return request(`${(opts.enforcer ?? this.enforcer).proxyUrl}${path}`, {
      method,
      headers,
      body: opts.body,
    });
  }

  // --- bundles ------------------------------------------------------------------------------

  /**
   * POST /v1/bundles/{name}/versions; returns the raw result (201 or 422 …). `token` as in
   * {@link api}: the admin token by default, `null` for none.
   */
  async upload(
    modules: Record<string, string>,
    opts: { bundle?: string; activate?: boolean; data?: unknown; token?: string | null } = {},
  ): Promise<HttpResult> {
    const body: Record<string, unknown> = { modules };
    if (opts.activate !== undefined) body.activate = opts.activate;
    if (opts.data !== undefined) body.data = opts.data;
    return this.api('POST', `/v1/bundles/${opts.bundle ?? 'default'}/versions`, body, opts.token);
  }

  /** Uploads (and by default activates) a bundle that must be accepted; returns its version. */
  async publish(
    modules: Record<string, string>,
    opts: { bundle?: string; activate?: boolean; data?: unknown } = {},
  ): Promise<number> {
    const res = await this.upload(modules, { activate: true, ...opts });
    if (res.status !== 201) throw new Error(`bundle upload answered ${res.status}: ${res.text}`);
    return (res.body as { version: number }).version;
  }

  async activate(version: number, bundle = 'default'): Promise<HttpResult> {
    return this.api('POST', `/v1/bundles/${bundle}/versions/${version}/activate`);
  }

  /** What an enforcer last wrote to the enforcer status KV bucket, or null before its first report. */
  async enforcerStatus(id: string): Promise<EnforcerStatus | null> {
    this.nc ??= await connect({ servers: this.nats.url, name: `e2e-${this.opts.label}` });
    const kv = await new Kvm(this.nc).open(NATS_NAMES.enforcerStatusBucket);
    const entry = await kv.get(id);
    if (!entry || entry.length === 0) return null;
    return parseEnforcerStatus(entry.json());
  }

  /** Waits until the enforcer reports `version` of its bundle as active. */
  async waitForEnforcerVersion(
    enforcer: EnforcerHandle,
    version: number,
    timeoutMs = 15_000,
  ): Promise<void> {
    await waitFor(
      async () => (await this.enforcerStatus(enforcer.id))?.active_version === version,
      timeoutMs,
      `enforcer ${enforcer.id} to report bundle version ${version}`,
    ).catch((err: unknown) => {
      throw enforcer.app.failure(String(err));
    });
  }

  // --- decisions ----------------------------------------------------------------------------

  /** One page of GET /v1/decisions with the given filters (auditor token). */
  async decisions(
    query: Record<string, string | number> = {},
  ): Promise<{ items: Record<string, unknown>[]; next_cursor: unknown }> {
    const qs = new URLSearchParams(
      Object.entries(query).map(([k, v]): [string, string] => [k, String(v)]),
    );
    const res = await this.api('GET', `/v1/decisions?${qs.toString()}`);
    if (res.status !== 200)
      throw new Error(`GET /v1/decisions answered ${res.status}: ${res.text}`);
    return res.body as { items: Record<string, unknown>[]; next_cursor: unknown };
  }

  /** Every decision matching the filters, following next_cursor. */
  async allDecisions(
    query: Record<string, string | number> = {},
  ): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    let cursor: unknown = undefined;
    for (let page = 0; page < 100; page++) {
      const q: Record<string, string | number> = { ...query, limit: 100 };
      if (typeof cursor === 'string' && cursor.length > 0) q.cursor = cursor;
      const res = await this.decisions(q);
      items.push(...res.items);
      cursor = res.next_cursor;
      if (typeof cursor !== 'string' || cursor.length === 0) return items;
    }
    throw new Error('more than 100 pages of decisions');
  }

  /** Waits until every given decision id is visible in the decision log; returns the matching records. */
  async waitForDecisions(
    ids: string[],
    query: Record<string, string | number> = {},
    timeoutMs = 15_000,
  ): Promise<Record<string, unknown>[]> {
    let items: Record<string, unknown>[] = [];
    await waitFor(
      async () => {
        items = await this.allDecisions(query);
        const seen = new Set(items.map((i) => i.decision_id));
        return ids.every((id) => seen.has(id));
      },
      timeoutMs,
      `${ids.length} decisions in GET /v1/decisions`,
    );
    return items;
  }

  /** Every call record matching the filters (GET /v1/calls, auditor token), following next_cursor. */
  async allCalls(query: Record<string, string | number> = {}): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    let cursor: unknown = undefined;
    for (let page = 0; page < 100; page++) {
      const q = new URLSearchParams(
        Object.entries({ ...query, limit: 100 }).map(([k, v]): [string, string] => [k, String(v)]),
      );
      if (typeof cursor === 'string' && cursor.length > 0) q.set('cursor', cursor);
      const res = await this.api('GET', `/v1/calls?${q.toString()}`);
      if (res.status !== 200) throw new Error(`GET /v1/calls answered ${res.status}: ${res.text}`);
      const body = res.body as { items: Record<string, unknown>[]; next_cursor: unknown };
      items.push(...body.items);
      cursor = body.next_cursor;
      if (typeof cursor !== 'string' || cursor.length === 0) return items;
    }
    throw new Error('more than 100 pages of calls');
  }

  /**
   * Which of `needles` occur anywhere the stack wrote: every file under its temp directory (the
   * SQLite database and its WAL, key files), the nats-server store (streams, KV, object store),
   * the scratch PostgreSQL database's rows, and every log line. Returns "needle in place" strings.
   */
  async findInStores(needles: string[]): Promise<string[]> {
    const found: string[] = [];
    const check = (where: string, haystack: Buffer | string) => {
      for (const n of needles)
        if (n.length > 0 && haystack.includes(n)) found.push(`${n} in ${where}`);
    };
    for (const dir of [this.dataDir, this.nats.storeDir]) {
      for (const file of filesUnder(dir)) check(file, readFileSync(file));
    }
    if (this.database) check('postgres rows', await this.database.dump());
    check('logs', this.logs().join('\n'));
    return found;
  }

  private app(name: string, entry: string, env: Record<string, string>): AppProcess {
    const app = new AppProcess({
      name,
      command: process.execPath,
      // PORTCULLIS_PROFILE_DIR=<dir> writes a V8 CPU profile of every app when it exits.
      args: [...profileArgs(), '--enable-source-maps', entry],
      cwd: this.dataDir,
      env: { ...baseEnv(), LOG_LEVEL: 'info', ...env },
      echo: this.echo,
    });
    this.apps.push(app);
    return app;
  }
}

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    const path = join(dir, e.name);
    if (e.isDirectory()) out.push(...filesUnder(path));
    else if (e.isFile()) out.push(path);
  }
  return out;
}

function profileArgs(): string[] {
  const dir = process.env.PORTCULLIS_PROFILE_DIR;
  return dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : [];
}

/** Only what a process needs from the parent: no stray DATABASE_URL, AUTH_* or ENFORCER_* leaks in. */
function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of ['PATH', 'HOME', 'TMPDIR', 'LANG', 'TZ', 'NATS_SERVER_BIN']) {
    const v = process.env[key];
    if (v !== undefined) env[key] = v;
  }
  return env;
}

/** fetch, with the body read and parsed; never throws on an HTTP status. */
export async function request(
  url: string,
  init: { method: string; headers?: Record<string, string>; body?: string },
): Promise<HttpResult> {
  const res = await fetch(url, {
    method: init.method,
    headers: init.headers,
    body: init.body,
    redirect: 'manual',
  });
  const text = await res.text();
  let body: unknown = text;
  if ((res.headers.get('content-type') ?? '').includes('json') && text.length > 0) {
    try {
      body = JSON.parse(text);
    } catch {
      // Keep the text: a test asserting on JSON will fail with it in the message.
    }
  }
  return { status: res.status, headers: res.headers, body, text };
}

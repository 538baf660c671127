import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NatsServerProcess, TokenIssuer, freePort } from '@portcullis/testing';
import { createControlPlaneApp, type ControlPlaneApp } from '../app.factory';
import { loadControlPlaneConfig, type ControlPlaneConfig } from '../config/control-plane.config';

/**
 * How a test wants its control plane: the database, a nats-server to share and extra environment;
 * whatever is not given (nats-server, SQLite file, token issuer) the harness starts and stops.
 */
export interface HarnessOptions {
  /** DATABASE_URL; default a SQLite file in a temp dir of this harness. */
  databaseUrl?: string;
  /** Reuse a running nats-server (its lifetime stays with the caller). */
  nats?: NatsServerProcess;
  /** Extra environment for the control plane (e.g. OPA_TIMEOUT_MS); wins over the defaults. */
  env?: Record<string, string>;
}

/**
 * A response as tests inspect it: status, headers, raw text and the parsed JSON body when there
 * is one.
 */
export interface HttpResult {
  status: number;
  headers: Headers;
  body: unknown;
  text: string;
}

/**
 * A real control plane for integration tests: real nats-server, real token issuer, real opa and
 * a real database, app started in-process on a free port. `stop()` closes everything it opened.
 */
export class ControlPlaneHarness {
  private constructor(
    readonly app: ControlPlaneApp,
    readonly config: ControlPlaneConfig,
    readonly nats: NatsServerProcess,
    readonly issuer: TokenIssuer,
    private readonly ownsNats: boolean,
    private readonly tempDir: string,
  ) {}

  static async start(opts: HarnessOptions = {}): Promise<ControlPlaneHarness> {
    const tempDir = mkdtempSync(join(tmpdir(), 'portcullis-cp-'));
    const nats = opts.nats ?? (await NatsServerProcess.start());
    const issuer = new TokenIssuer({
      port: await freePort(),
      audience: 'portcullis-control-plane',
    });
    await issuer.start();
    try {
      const config = loadControlPlaneConfig({
        CP_HOST: '127.0.0.1',
        CP_PORT: '0',
        DATABASE_URL: opts.databaseUrl ?? `sqlite:${join(tempDir, 'cp.db')}`,
        NATS_URL: nats.url,
        AUTH_ISSUER: issuer.issuer,
        AUTH_JWKS_URL: issuer.jwksUrl,
        OPA_BIN: process.env.OPA_BIN,
        LOG_LEVEL: process.env.PORTCULLIS_TEST_LOG_LEVEL ?? 'error',
        ...opts.env,
      });
      const app = await createControlPlaneApp(config);
      return new ControlPlaneHarness(app, config, nats, issuer, !opts.nats, tempDir);
    } catch (err) {
      await issuer.stop();
      if (!opts.nats) await nats.stop();
      rmSync(tempDir, { recursive: true, force: true });
      throw err;
    }
  }

  get url(): string {
    return this.app.url;
  }

  /** A token from the test issuer carrying `roles` in the roles claim. */
  token(sub: string, roles: string[] | string): Promise<string> {
    return this.issuer.mint({ sub, claims: { [this.config.auth.rolesClaim]: roles } });
  }

  async request(
    method: string,
    path: string,
    opts: { token?: string; body?: unknown } = {},
  ): Promise<HttpResult> {
    const headers: Record<string, string> = {};
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(this.url + path, {
      method,
      headers,
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
    });
    const text = await res.text();
    let body: unknown = undefined;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    return { status: res.status, headers: res.headers, body, text };
  }

  /** Closes the app, then the issuer and (if it started it) nats-server. */
  async stop(): Promise<void> {
    try {
      await this.app.close();
    } finally {
      await this.issuer.stop();
      if (this.ownsNats) await this.nats.stop();
      rmSync(this.tempDir, { recursive: true, force: true });
    }
  }
}

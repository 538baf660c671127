import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { GeneralEncrypt, importJWK } from 'jose';
import {
  CONNECTION_RECORD_SCHEMA,
  CONNECTION_SECRET_SCHEMA,
  DEFAULT_TOPOLOGY,
  ensureJetStreamTopology,
  parseConnectionRecord,
  parseEnforcerKey,
  type JetStreamTopology,
} from '@portcullis/contracts';
import { Logger } from '@portcullis/platform';
import { NatsServerProcess, REPO_ROOT, TokenIssuer, freePort, waitFor } from '@portcullis/testing';
import { EnforcerMetrics } from '../metrics/enforcer.metrics';
import { NatsClient } from '../nats/nats.client';
import { ConnectionRegistry, type ConnectionRegistryOptions } from './connection.registry';
import { EnforcerKeyPair } from './enforcer-key.pair';

const CONTROL_PLANE_MAIN = join(REPO_ROOT, 'dist', 'apps', 'control-plane', 'src', 'main.js');
/** Log lines of every registry in this file, for asserting what was logged (and what was not). */
const logLines: string[] = [];
const quiet = new Logger('test', 'info', (line) => logLines.push(line));

/** A registry on its own NATS client, as enforcer.app.ts wires it; `stop()` closes both. */
async function startRegistry(
  natsUrl: string,
  opts: Omit<ConnectionRegistryOptions, 'topology'>,
): Promise<{ registry: ConnectionRegistry; stop: () => Promise<void> }> {
  const client = new NatsClient(natsUrl, `test-${opts.enforcerId}`, new EnforcerMetrics(), quiet);
  const registry = new ConnectionRegistry(
    client,
    { ...opts, topology: DEFAULT_TOPOLOGY },
    quiet.child(opts.enforcerId),
  );
  await client.start();
  await registry.start();
  return {
    registry,
    stop: async () => {
      await registry.stop();
      await client.stop();
    },
  };
}

/**
 * The built control plane as a child process (the enforcer never imports control-plane code), on
 * a SQLite file, sharing the test's nats-server.
 */
class ControlPlaneProcess {
  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
    private readonly issuer: TokenIssuer,
    private readonly dir: string,
  ) {}

  static async start(natsUrl: string): Promise<ControlPlaneProcess> {
    const dir = mkdtempSync(join(tmpdir(), 'enf-conn-cp-'));
    const issuer = new TokenIssuer({
      port: await freePort(),
      audience: 'portcullis-control-plane',
    });
    await issuer.start();
    const port = await freePort();
    const child = spawn(process.execPath, [CONTROL_PLANE_MAIN], {
      env: {
        PATH: process.env.PATH,
        CP_HOST: '127.0.0.1',
        CP_PORT: String(port),
        DATABASE_URL: `sqlite:${join(dir, 'cp.db')}`,
        NATS_URL: natsUrl,
        AUTH_ISSUER: issuer.issuer,
        AUTH_JWKS_URL: issuer.jwksUrl,
        CONNECTION_ENCRYPTION_KEYS: `k1:${randomBytes(32).toString('base64')}`,
        LOG_LEVEL: 'error',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const cp = new ControlPlaneProcess(child, `http://127.0.0.1:${port}`, issuer, dir);
    try {
      await waitFor(
        async () => (await fetch(`${cp.url}/healthz`)).ok,
        20_000,
        'the control plane to listen',
      );
    } catch (err) {
      await cp.stop();
      throw err;
    }
    return cp;
  }

  async call(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; text: string }> {
    const token = await this.issuer.mint({
      sub: 'carla@example.com',
      claims: { portcullis_roles: ['connection-admin'] },
    });
    const res = await fetch(this.url + path, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, text: await res.text() };
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise((r) => this.child.once('exit', r));
      this.child.kill('SIGTERM');
      await exited;
    }
    await this.issuer.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

describe('connection registry fed by the real control plane over real NATS', () => {
  let nats: NatsServerProcess;
  let cp: ControlPlaneProcess;
  let nc: NatsConnection;
  let topology: JetStreamTopology;
  let all: Awaited<ReturnType<typeof startRegistry>>;
  let erpOnly: Awaited<ReturnType<typeof startRegistry>>;

  before(async () => {
    nats = await NatsServerProcess.start();
    cp = await ControlPlaneProcess.start(nats.url);
    nc = await connect({ servers: nats.url });
    topology = await ensureJetStreamTopology(nc, undefined, 'client');
    all = await startRegistry(nats.url, {
      enforcerId: 'e-all',
      fileConnections: [
        { name: 'shadow', type: 'http', url: new URL('http://file-wins'), labels: {} },
      ],
    });
    erpOnly = await startRegistry(nats.url, {
      enforcerId: 'e-erp',
      fileConnections: [],
      serves: ['erp'],
    });
    // Both keys registered, so every connection created below is sealed to them from the start.
    await waitFor(
      async () => (await topology.enforcerKeys.get('e-erp'))?.operation === 'PUT',
      5000,
      'enforcer keys registered',
    );
  });

  after(async () => {
    await all?.stop();
    await erpOnly?.stop();
    await nc?.close();
    await cp?.stop();
    await nats?.stop();
  });

  it('a connection created in the control plane reaches the enforcer with its credential decrypted', async () => {
    const r = await cp.call('POST', '/v1/connections', {
      name: 'crm',
      type: 'http',
      url: 'https://crm.internal/api',
      labels: { team: 'sales' },
      credentials: { type: 'bearer', token: 'tok-first' },
    });
    assert.equal(r.status, 201, r.text);
    await waitFor(() => all.registry.get('crm') !== null, 5000, 'crm at the enforcer');
    const crm = all.registry.get('crm')!;
    assert.equal(crm.source, 'control-plane');
    assert.equal(crm.url.href, 'https://crm.internal/api');
    assert.deepEqual(crm.labels, { team: 'sales' });
    assert.deepEqual(crm.credentials, { type: 'bearer', token: 'tok-first' });
  });

  it('an enforcer not serving a connection is not a recipient of its secret and does not load it', async () => {
    const entry = await topology.connections.get('crm');
    const kids = parseConnectionRecord(entry!.json()).credentials!.jwe!.recipients.map(
      (x) => x.header.kid,
    );
    assert.ok(kids.includes(all.registry.keyId!));
    assert.ok(!kids.includes(erpOnly.registry.keyId!), 'e-erp is not a recipient');
    assert.equal(erpOnly.registry.get('crm'), null);
  });

  it('a connection an enforcer serves by name reaches it with a basic credential', async () => {
    const r = await cp.call('POST', '/v1/connections', {
      name: 'erp',
      type: 'http',
      url: 'http://erp.internal',
      credentials: { type: 'basic', username: 'svc', password: 'pw-1' },
    });
    assert.equal(r.status, 201, r.text);
    await waitFor(() => erpOnly.registry.get('erp') !== null, 5000, 'erp at e-erp');
    assert.deepEqual(erpOnly.registry.get('erp')!.credentials, {
      type: 'basic',
      username: 'svc',
      password: 'pw-1',
    });
  });

  it('a rotation takes effect without a restart', async () => {
    const before = all.registry.get('crm');
    const r = await cp.call('PATCH', '/v1/connections/crm', {
      credentials: { type: 'header', name: 'X-Api-Key', value: 'key-2' },
    });
    assert.equal(r.status, 200, r.text);
    await waitFor(
      () => all.registry.get('crm') !== before,
      5000,
      'the rotated credential at the enforcer',
    );
    assert.deepEqual(all.registry.get('crm')!.credentials, {
      type: 'header',
      name: 'X-Api-Key',
      value: 'key-2',
    });
  });

  it('a sealed secret moved onto a record with another URL or header name is refused, logged once', async () => {
    const entry = await topology.connections.get('crm');
    const original = entry!.json<Record<string, unknown>>();
    const record = parseConnectionRecord(original);
    const put = (over: Record<string, unknown>) =>
      topology.connections.put('crm', JSON.stringify({ ...original, ...over }));
    const refusedLines = (why: string) =>
      logLines.filter((l) => l.includes('refused') && l.includes('"crm"') && l.includes(why));

    // Same sealed secret, pasted onto a record that would send it to another host.
    await put({ url: 'https://attacker.example/collect' });
    await waitFor(
      () => all.registry.get('crm')?.url.hostname === 'attacker.example',
      5000,
      'the moved record at the enforcer',
    );
    assert.equal(all.registry.get('crm')!.credentials, 'unavailable');
    await waitFor(() => refusedLines('another url').length > 0, 5000, 'the refusal logged');
    // The same refusal again (another revision of the same tampered record) is not logged again.
    await put({ url: 'https://attacker.example/collect', revision: record.revision + 100 });
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(refusedLines('another url').length, 1, 'logged once');

    // Same sealed secret, on a record that would put it into another header.
    await put({ credentials: { ...record.credentials, header_name: 'X-Forwarded-User' } });
    await waitFor(
      () => refusedLines('another header name').length === 1,
      5000,
      'the header refusal logged',
    );
    assert.equal(all.registry.get('crm')!.url.hostname, 'crm.internal');
    assert.equal(all.registry.get('crm')!.credentials, 'unavailable');

    // The untouched record opens again.
    await put({});
    await waitFor(
      () => typeof all.registry.get('crm')?.credentials === 'object',
      5000,
      'the original record to open again',
    );
    assert.deepEqual(all.registry.get('crm')!.credentials, {
      type: 'header',
      name: 'X-Api-Key',
      value: 'key-2',
    });
    assert.ok(!logLines.some((l) => l.includes('key-2')), 'no log line carries the secret');
  });

  it('an enforcer not on a connection\'s allow-list gets no secret, even though it serves "*"', async () => {
    const r = await cp.call('POST', '/v1/connections', {
      name: 'payroll',
      type: 'http',
      url: 'https://payroll.internal',
      credentials: { type: 'bearer', token: 'tok-payroll' },
      enforcers: ['e-elsewhere'],
    });
    assert.equal(r.status, 201, r.text);
    await waitFor(() => all.registry.get('payroll') !== null, 5000, 'payroll at e-all');
    assert.equal(all.registry.get('payroll')!.credentials, 'unavailable');
    const kids = parseConnectionRecord((await topology.connections.get('payroll'))!.json())
      .credentials!.jwe;
    assert.equal(kids, null, 'sealed to nobody: e-elsewhere has no key');
    assert.equal((await cp.call('DELETE', '/v1/connections/payroll')).status, 204);
  });

  it('a file connection wins over a control-plane connection of the same name', async () => {
    const r = await cp.call('POST', '/v1/connections', {
      name: 'shadow',
      type: 'http',
      url: 'http://control-plane-loses',
    });
    assert.equal(r.status, 201, r.text);
    await waitFor(
      async () => (await topology.connections.get('shadow'))?.operation === 'PUT',
      5000,
      'shadow published',
    );
    await waitFor(
      () => logLines.some((l) => l.includes('the file wins') && l.includes('"shadow"')),
      5000,
      'the clash to be seen and warned about',
    );
    assert.equal(all.registry.get('shadow')!.source, 'file');
    assert.equal(all.registry.get('shadow')!.url.href, 'http://file-wins/');
  });

  it('a deleted connection is gone from the enforcer', async () => {
    assert.equal((await cp.call('DELETE', '/v1/connections/crm')).status, 204);
    await waitFor(() => all.registry.get('crm') === null, 5000, 'crm removed at the enforcer');
    assert.equal(all.registry.health().state, 'ok');
    for (const secret of ['tok-first', 'pw-1', 'key-2'])
      assert.ok(!logLines.some((l) => l.includes(secret)), `a log line carries ${secret}`);
  });
});

describe('connection registry without a control plane (fail closed, NATS late)', () => {
  let nats: NatsServerProcess;
  let nc: NatsConnection;
  let topology: JetStreamTopology;

  before(async () => {
    nats = await NatsServerProcess.start();
    nc = await connect({ servers: nats.url });
    topology = await ensureJetStreamTopology(nc, undefined, 'client');
  });
  after(async () => {
    await nc?.close();
    await nats?.stop();
  });

  const record = (name: string, credentials: unknown) =>
    JSON.stringify({
      schema: CONNECTION_RECORD_SCHEMA,
      name,
      type: 'http',
      url: `http://${name}.internal`,
      labels: {},
      credentials,
      revision: 1,
      updated_at: new Date().toISOString(),
    });

  it('a credential this enforcer cannot open is "unavailable", never dropped to none', async () => {
    const r = await startRegistry(nats.url, { enforcerId: 'e-fc', fileConnections: [] });
    try {
      const rotatedAt = new Date().toISOString();
      await topology.connections.put(
        'nobody',
        record('nobody', { type: 'bearer', header_name: null, rotated_at: rotatedAt, jwe: null }),
      );
      // Sealed to a key that is not this enforcer's.
      const other = (await EnforcerKeyPair.generate()).registration('other', ['*']);
      const jwe = await new GeneralEncrypt(
        new TextEncoder().encode(
          JSON.stringify({
            schema: CONNECTION_SECRET_SCHEMA,
            connection: 'foreign',
            rotated_at: rotatedAt,
            credential: { type: 'bearer', token: 't' },
          }),
        ),
      )
        .setProtectedHeader({ enc: 'A256GCM' })
        .setAdditionalAuthenticatedData(new TextEncoder().encode('foreign'))
        .addRecipient(await importJWK({ ...other.public_jwk }, 'ECDH-ES+A256KW'))
        .setUnprotectedHeader({ alg: 'ECDH-ES+A256KW', kid: other.kid })
        .encrypt();
      await topology.connections.put(
        'foreign',
        record('foreign', { type: 'bearer', header_name: null, rotated_at: rotatedAt, jwe }),
      );
      await waitFor(
        () => r.registry.get('nobody') !== null && r.registry.get('foreign') !== null,
        5000,
        'both records loaded',
      );
      assert.equal(r.registry.get('nobody')!.credentials, 'unavailable');
      assert.equal(r.registry.get('foreign')!.credentials, 'unavailable');
      assert.match(r.registry.health().detail ?? '', /credentials unavailable: foreign, nobody/);
    } finally {
      await r.stop();
      await topology.connections.purge('nobody');
      await topology.connections.purge('foreign');
    }
  });

  it('a secret sealed to this enforcer but lifted onto another connection stays unavailable', async () => {
    const r = await startRegistry(nats.url, { enforcerId: 'e-lift', fileConnections: [] });
    try {
      await waitFor(
        async () => (await topology.enforcerKeys.get('e-lift'))?.operation === 'PUT',
        5000,
        'key registered',
      );
      const reg = parseEnforcerKey((await topology.enforcerKeys.get('e-lift'))!.json());
      const rotatedAt = new Date().toISOString();
      const jwe = await new GeneralEncrypt(
        new TextEncoder().encode(
          JSON.stringify({
            schema: CONNECTION_SECRET_SCHEMA,
            connection: 'crm',
            rotated_at: rotatedAt,
            credential: { type: 'bearer', token: 't' },
          }),
        ),
      )
        .setProtectedHeader({ enc: 'A256GCM' })
        .setAdditionalAuthenticatedData(new TextEncoder().encode('crm'))
        .addRecipient(await importJWK({ ...reg.public_jwk }, 'ECDH-ES+A256KW'))
        .setUnprotectedHeader({ alg: 'ECDH-ES+A256KW', kid: reg.kid })
        .encrypt();
      await topology.connections.put(
        'attacker',
        record('attacker', { type: 'bearer', header_name: null, rotated_at: rotatedAt, jwe }),
      );
      await waitFor(() => r.registry.get('attacker') !== null, 5000, 'record loaded');
      assert.equal(r.registry.get('attacker')!.credentials, 'unavailable');
    } finally {
      await r.stop();
      await topology.connections.purge('attacker');
    }
  });

  it('with NATS down at start, file connections serve at once and control-plane ones arrive with NATS', async () => {
    await topology.connections.put('late', record('late', null));
    await nc.flush();
    await nats.halt();
    const r = await startRegistry(nats.url, {
      enforcerId: 'e-late',
      fileConnections: [{ name: 'local', type: 'http', url: new URL('http://local'), labels: {} }],
    });
    try {
      assert.equal(r.registry.get('local')!.source, 'file');
      assert.equal(r.registry.get('late'), null);
      assert.notEqual(r.registry.health().state, 'ok');
      await nats.resume();
      await waitFor(() => r.registry.get('late') !== null, 15_000, 'late connection after NATS');
      assert.equal(r.registry.get('late')!.credentials, null);
      await waitFor(() => r.registry.health().state === 'ok', 5000, 'registry healthy');
    } finally {
      await r.stop();
    }
  });
});

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import Database from 'better-sqlite3';
import { Client } from 'pg';
import {
  GeneralEncrypt,
  calculateJwkThumbprint,
  exportJWK,
  flattenedDecrypt,
  generateKeyPair,
  importJWK,
  type CryptoKey,
} from 'jose';
import {
  CONNECTION_SECRET_SCHEMA,
  ENFORCER_KEY_SCHEMA,
  ensureJetStreamTopology,
  parseConnectionRecord,
  parseConnectionSecret,
  readSealBinding,
  sealBindingOfJwe,
  type ConnectionCredential,
  type ConnectionRecord,
  type EnforcerPublicJwk,
  type JetStreamTopology,
} from '@portcullis/contracts';
import { NatsServerProcess, waitFor } from '@portcullis/testing';
import { TransactionRunner } from '../database/transaction.runner';
import { ControlPlaneHarness, type HttpResult } from '../testing/control-plane.harness';

const POSTGRES_URL = process.env.PORTCULLIS_TEST_POSTGRES_URL;
const key = (fill: number) => Buffer.alloc(32, fill).toString('base64');
/** Distinctive secrets: each is searched for, byte for byte, wherever it must never appear. */
const SECRETS = {
  token: `tok-${randomBytes(12).toString('hex')}`,
  rotated: `rot-${randomBytes(12).toString('hex')}`,
  username: `usr-${randomBytes(8).toString('hex')}`,
  password: `pwd-${randomBytes(12).toString('hex')}`,
  header: `hdr-${randomBytes(12).toString('hex')}`,
};

/** An enforcer as the control plane sees it: a registered public key, the private half kept here. */
interface EmulatedEnforcer {
  id: string;
  kid: string;
  publicJwk: EnforcerPublicJwk;
  privateKey: CryptoKey;
}

async function registerEnforcer(
  topology: JetStreamTopology,
  id: string,
  serves: string[],
): Promise<EmulatedEnforcer> {
  const { privateKey, publicKey } = await generateKeyPair('ECDH-ES+A256KW', { crv: 'P-256' });
  const jwk = await exportJWK(publicKey);
  const publicJwk: EnforcerPublicJwk = { kty: 'EC', crv: 'P-256', x: jwk.x!, y: jwk.y! };
  const kid = await calculateJwkThumbprint(publicJwk);
  await topology.enforcerKeys.put(
    id,
    JSON.stringify({
      schema: ENFORCER_KEY_SCHEMA,
      enforcer_id: id,
      kid,
      alg: 'ECDH-ES+A256KW',
      public_jwk: publicJwk,
      serves,
      registered_at: new Date().toISOString(),
    }),
  );
  return { id, kid, publicJwk, privateKey };
}

async function published(
  topology: JetStreamTopology,
  name: string,
): Promise<ConnectionRecord | null> {
  const e = await topology.connections.get(name);
  return e && e.operation === 'PUT' && e.length > 0 ? parseConnectionRecord(e.json()) : null;
}

async function open(record: ConnectionRecord, e: EmulatedEnforcer): Promise<ConnectionCredential> {
  const jwe = record.credentials?.jwe;
  const rec = jwe?.recipients.find((r) => r.header.kid === e.kid);
  if (!jwe || !rec) throw new Error(`${e.id} is not a recipient`);
  const { plaintext } = await flattenedDecrypt(
    { ...jwe, header: rec.header, encrypted_key: rec.encrypted_key },
    e.privateKey,
  );
  return parseConnectionSecret(JSON.parse(new TextDecoder().decode(plaintext))).credential;
}

/** Every file under `dir`, recursively, with its bytes. */
function filesUnder(dir: string): { path: string; bytes: Buffer }[] {
  const out: { path: string; bytes: Buffer }[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...filesUnder(p));
    else if (entry.isFile()) out.push({ path: p, bytes: readFileSync(p) });
  }
  return out;
}

function assertNoSecret(text: string, where: string): void {
  for (const [what, s] of Object.entries(SECRETS))
    assert.ok(!text.includes(s), `${where} contains the ${what} secret`);
}

/** The API contract, run on SQLite and (when configured) PostgreSQL. */
function crudSuite(database: 'sqlite' | 'postgres'): void {
  describe(
    `connections API on ${database}: CRUD, roles and write-only secrets`,
    {
      skip:
        database === 'postgres' && !POSTGRES_URL
          ? 'set PORTCULLIS_TEST_POSTGRES_URL to run the PostgreSQL variant'
          : false,
    },
    () => {
      let dir: string;
      let h: ControlPlaneHarness;
      let pg: Client | null = null;
      let schema = '';
      let admin: string;
      let policyAdmin: string;
      let auditor: string;
      let nobody: string;
      const responses: string[] = [];
      const call = async (
        method: string,
        path: string,
        opts: { token?: string; body?: unknown } = {},
      ): Promise<HttpResult> => {
        const r = await h.request(method, path, opts);
        responses.push(r.text);
        return r;
      };

      before(async () => {
        dir = mkdtempSync(join(tmpdir(), 'cp-connections-'));
        let databaseUrl = `sqlite:${join(dir, 'cp.db')}`;
        if (database === 'postgres') {
          schema = `cp_conn_${randomBytes(6).toString('hex')}`;
          pg = new Client({ connectionString: POSTGRES_URL });
          await pg.connect();
          await pg.query(`CREATE SCHEMA ${schema}`);
          const u = new URL(POSTGRES_URL!);
          u.searchParams.set('schema', schema);
          databaseUrl = u.toString();
        }
        h = await ControlPlaneHarness.start({
          databaseUrl,
          env: { CONNECTION_ENCRYPTION_KEYS: `k1:${key(1)}` },
        });
        admin = await h.token('carla@example.com', ['connection-admin']);
        policyAdmin = await h.token('alice@example.com', ['policy-admin']);
        auditor = await h.token('aud@example.com', ['auditor']);
        nobody = await h.token('nobody@example.com', []);
      });

      after(async () => {
        await h?.stop();
        if (pg) {
          await pg.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
          await pg.end();
        }
        rmSync(dir, { recursive: true, force: true });
      });

      it('a connection with a bearer token is created, and the response shows only that a token is set', async () => {
        const r = await call('POST', '/v1/connections', {
          token: admin,
          body: {
            name: 'crm',
            type: 'http',
            url: 'https://crm.internal/api',
            labels: { env: 'prod' },
            credentials: { type: 'bearer', token: SECRETS.token },
          },
        });
        assert.equal(r.status, 201, r.text);
        const body = r.body as Record<string, unknown>;
        assert.equal(body.name, 'crm');
        assert.equal(body.created_by, 'carla@example.com');
        assert.equal(body.revision, 1);
        const creds = body.credentials as Record<string, unknown>;
        assert.equal(creds.type, 'bearer');
        assert.equal(creds.set, true);
        assert.equal(typeof creds.rotated_at, 'string');
      });

      it('basic and header credentials are accepted from a policy-admin, write-only as well', async () => {
        const basic = await call('POST', '/v1/connections', {
          token: policyAdmin,
          body: {
            name: 'erp',
            type: 'http',
            url: 'http://erp.internal',
            credentials: { type: 'basic', username: SECRETS.username, password: SECRETS.password },
          },
        });
        assert.equal(basic.status, 201, basic.text);
        assert.deepEqual(Object.keys((basic.body as { credentials: object }).credentials).sort(), [
          'rotated_at',
          'set',
          'type',
        ]);
        const header = await call('POST', '/v1/connections', {
          token: admin,
          body: {
            name: 'billing',
            type: 'http',
            url: 'http://billing.internal',
            credentials: { type: 'header', name: 'X-Api-Key', value: SECRETS.header },
          },
        });
        assert.equal(header.status, 201, header.text);
        assert.equal(
          (header.body as { credentials: { header_name: string } }).credentials.header_name,
          'X-Api-Key',
        );
      });

      it('a duplicate name is 409 and keeps the original', async () => {
        const r = await call('POST', '/v1/connections', {
          token: admin,
          body: { name: 'crm', type: 'http', url: 'http://other' },
        });
        assert.equal(r.status, 409, r.text);
        const got = await call('GET', '/v1/connections/crm', { token: admin });
        assert.equal((got.body as { url: string }).url, 'https://crm.internal/api');
      });

      it('an invalid body is a 400 naming the field', async () => {
        const r = await call('POST', '/v1/connections', {
          token: admin,
          body: {
            name: 'x',
            type: 'http',
            url: 'http://x',
            credentials: { type: 'header', name: 'Content-Length', value: SECRETS.header },
          },
        });
        assert.equal(r.status, 400, r.text);
        assert.match(
          (r.body as { error: { message: string } }).error.message,
          /^credentials\.name/,
        );
        const url = await call('POST', '/v1/connections', {
          token: admin,
          body: { name: 'x', type: 'http', url: `http://u:${SECRETS.password}@x` },
        });
        assert.equal(url.status, 400);
        assert.match(url.text, /url must not carry credentials/);
      });

      it('the enforcer allow-list defaults to ["*"], is validated, shown, and changed by a PATCH alone', async () => {
        const got = await call('GET', '/v1/connections/crm', { token: auditor });
        assert.deepEqual((got.body as { enforcers: string[] }).enforcers, ['*']);
        for (const [enforcers, message] of [
          [['crm-eu-1', 'Not An Id'], /^enforcers\[1\] must be "\*" or an enforcer id/],
          [['*', 'crm-eu-1'], /^enforcers\[0\] must not be "\*"/],
          ['crm-eu-1', /^enforcers must be an array/],
        ] as const) {
          const r = await call('POST', '/v1/connections', {
            token: admin,
            body: { name: 'x', type: 'http', url: 'http://x', enforcers },
          });
          assert.equal(r.status, 400, r.text);
          assert.match((r.body as { error: { message: string } }).error.message, message);
        }
        const bad = await call('PATCH', '/v1/connections/crm', {
          token: admin,
          body: { enforcers: ['crm-eu-1', 'crm-eu-1'] },
        });
        assert.equal(bad.status, 400, bad.text);
        const before = (got.body as { revision: number }).revision;
        const limited = await call('PATCH', '/v1/connections/crm', {
          token: admin,
          body: { enforcers: ['crm-eu-1', 'crm-eu-2'] },
        });
        assert.equal(limited.status, 200, limited.text);
        assert.deepEqual((limited.body as { enforcers: string[] }).enforcers, [
          'crm-eu-1',
          'crm-eu-2',
        ]);
        assert.equal((limited.body as { revision: number }).revision, before + 1);
        const listed = (await call('GET', '/v1/connections', { token: auditor })).body as {
          items: { name: string; enforcers: string[] }[];
        };
        assert.deepEqual(listed.items.find((c) => c.name === 'crm')?.enforcers, [
          'crm-eu-1',
          'crm-eu-2',
        ]);
        const reset = await call('PATCH', '/v1/connections/crm', {
          token: admin,
          body: { enforcers: ['*'] },
        });
        assert.deepEqual((reset.body as { enforcers: string[] }).enforcers, ['*']);
      });

      it('a connection write made while another transaction is open is not rolled back with it', async () => {
        // On SQLite every statement shares one connection: a bare insert issued while this
        // transaction is open would join it and vanish with its rollback.
        const runner = h.app.app.get(TransactionRunner);
        let create: Promise<HttpResult> | undefined;
        await assert.rejects(
          runner.run(async (tx) => {
            await tx.query('SELECT 1');
            create = call('POST', '/v1/connections', {
              token: admin,
              body: { name: 'txn', type: 'http', url: 'http://txn.internal' },
            });
            await new Promise((r) => setTimeout(r, 300));
            throw new Error('roll back the other transaction');
          }),
          /roll back the other transaction/,
        );
        assert.equal((await create!).status, 201);
        assert.equal((await call('GET', '/v1/connections/txn', { token: admin })).status, 200);
        assert.equal((await call('DELETE', '/v1/connections/txn', { token: admin })).status, 204);
      });

      it('auditors read but cannot write; a token without a role can do neither', async () => {
        assert.equal((await call('GET', '/v1/connections', { token: auditor })).status, 200);
        const write = await call('PATCH', '/v1/connections/crm', {
          token: auditor,
          body: { labels: {} },
        });
        assert.equal(write.status, 403);
        assert.equal((await call('GET', '/v1/connections', { token: nobody })).status, 403);
        assert.equal((await call('GET', '/v1/connections')).status, 401);
      });

      it('a PATCH with new credentials rotates them: rotated_at and revision move, updated_by is the caller', async () => {
        const before = (await call('GET', '/v1/connections/crm', { token: admin })).body as {
          credentials: { rotated_at: string };
          revision: number;
        };
        await new Promise((r) => setTimeout(r, 5));
        const r = await call('PATCH', '/v1/connections/crm', {
          token: policyAdmin,
          body: { credentials: { type: 'bearer', token: SECRETS.rotated } },
        });
        assert.equal(r.status, 200, r.text);
        const after = r.body as {
          credentials: { rotated_at: string };
          revision: number;
          updated_by: string;
          labels: Record<string, string>;
        };
        assert.ok(after.credentials.rotated_at > before.credentials.rotated_at);
        assert.equal(after.revision, before.revision + 1);
        assert.equal(after.updated_by, 'alice@example.com');
        assert.deepEqual(after.labels, { env: 'prod' }, 'fields not in the PATCH stay');
      });

      it('a PATCH with credentials null removes them', async () => {
        const r = await call('PATCH', '/v1/connections/billing', {
          token: admin,
          body: { credentials: null },
        });
        assert.equal(r.status, 200, r.text);
        assert.equal((r.body as { credentials: unknown }).credentials, null);
      });

      it('unknown connections are 404 for GET, PATCH and DELETE', async () => {
        assert.equal((await call('GET', '/v1/connections/nope', { token: admin })).status, 404);
        assert.equal(
          (await call('PATCH', '/v1/connections/nope', { token: admin, body: { labels: {} } }))
            .status,
          404,
        );
        assert.equal((await call('DELETE', '/v1/connections/nope', { token: admin })).status, 404);
      });

      it('DELETE removes a connection', async () => {
        assert.equal(
          (await call('DELETE', '/v1/connections/billing', { token: admin })).status,
          204,
        );
        assert.equal((await call('GET', '/v1/connections/billing', { token: admin })).status, 404);
        const list = (await call('GET', '/v1/connections', { token: auditor })).body as {
          items: { name: string }[];
        };
        assert.deepEqual(
          list.items.map((c) => c.name),
          ['crm', 'erp'],
        );
      });

      it('no endpoint ever returned a secret, and the database holds none in clear', async () => {
        responses.push((await call('GET', '/docs-json')).text);
        assertNoSecret(responses.join('\n'), 'an API response');
        if (database === 'sqlite') {
          const files = filesUnder(dir);
          for (const f of files) assertNoSecret(f.bytes.toString('latin1'), f.path);
          assert.ok(
            files.some((f) => f.bytes.includes('erp.internal')),
            'the scanned bytes hold the stored connections',
          );
        } else {
          const rows = await pg!.query(`SELECT * FROM ${schema}.connections`);
          assertNoSecret(JSON.stringify(rows.rows), 'the connections table');
          assert.ok(rows.rows.length >= 2);
        }
      });
    },
  );
}

crudSuite('sqlite');
crudSuite('postgres');

describe('connection distribution over real NATS', () => {
  let nats: NatsServerProcess;
  let dir: string;
  let h: ControlPlaneHarness;
  let nc: NatsConnection;
  let topology: JetStreamTopology;
  let admin: string;
  let all: EmulatedEnforcer;
  let erpOnly: EmulatedEnforcer;

  before(async () => {
    nats = await NatsServerProcess.start();
    dir = mkdtempSync(join(tmpdir(), 'cp-conn-dist-'));
    nc = await connect({ servers: nats.url });
    topology = await ensureJetStreamTopology(nc, undefined, 'client');
    // Registered before the control plane starts: its boot round seals to them.
    all = await registerEnforcer(topology, 'e-all', ['*']);
    erpOnly = await registerEnforcer(topology, 'e-erp', ['erp']);
    h = await ControlPlaneHarness.start({
      nats,
      databaseUrl: `sqlite:${join(dir, 'cp.db')}`,
      env: { CONNECTION_ENCRYPTION_KEYS: `k1:${key(1)}` },
    });
    admin = await h.token('carla@example.com', ['connection-admin']);
  });

  after(async () => {
    await h?.stop();
    await nc?.close();
    await nats?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a created connection is published with its secret sealed only to the enforcers that serve it', async () => {
    const r = await h.request('POST', '/v1/connections', {
      token: admin,
      body: {
        name: 'crm',
        type: 'http',
        url: 'https://crm.internal',
        labels: { team: 'sales' },
        credentials: { type: 'bearer', token: SECRETS.token },
      },
    });
    assert.equal(r.status, 201, r.text);
    const rec = await published(topology, 'crm');
    assert.ok(rec, 'published');
    assert.equal(rec.url, 'https://crm.internal/');
    assert.deepEqual(rec.labels, { team: 'sales' });
    const kids = rec.credentials?.jwe?.recipients.map((x) => x.header.kid);
    assert.deepEqual(kids, [all.kid], 'sealed to the enforcer serving "*" only');
    assert.deepEqual(await open(rec, all), { type: 'bearer', token: SECRETS.token });
    await assert.rejects(open(rec, erpOnly), /not a recipient/);
  });

  it('an enforcer key registered later is added as a recipient without any API call', async () => {
    const late = await registerEnforcer(topology, 'e-late', ['crm']);
    await waitFor(
      async () =>
        (await published(topology, 'crm'))?.credentials?.jwe?.recipients.some(
          (x) => x.header.kid === late.kid,
        ) ?? false,
      5000,
      'late enforcer to be a recipient',
    );
    const rec = (await published(topology, 'crm'))!;
    assert.deepEqual(await open(rec, late), { type: 'bearer', token: SECRETS.token });
  });

  it('an enforcer key that is removed stops being a recipient', async () => {
    await topology.enforcerKeys.delete('e-late');
    await waitFor(
      async () => (await published(topology, 'crm'))?.credentials?.jwe?.recipients.length === 1,
      5000,
      'the removed key to be dropped',
    );
  });

  it('a rotation is re-published with the new secret', async () => {
    const r = await h.request('PATCH', '/v1/connections/crm', {
      token: admin,
      body: { credentials: { type: 'bearer', token: SECRETS.rotated } },
    });
    assert.equal(r.status, 200, r.text);
    const rec = (await published(topology, 'crm'))!;
    assert.equal(rec.revision, 2);
    assert.deepEqual(await open(rec, all), { type: 'bearer', token: SECRETS.rotated });
  });

  it('an enforcer not on the allow-list is not a recipient, even when it claims to serve "*"', async () => {
    const rogue = await registerEnforcer(topology, 'e-rogue', ['*']);
    const listed = await registerEnforcer(topology, 'e-listed', ['vault']);
    try {
      const r = await h.request('POST', '/v1/connections', {
        token: admin,
        body: {
          name: 'vault',
          type: 'http',
          url: 'https://vault.internal',
          credentials: { type: 'bearer', token: SECRETS.token },
          enforcers: ['e-listed'],
        },
      });
      assert.equal(r.status, 201, r.text);
      const rec = (await published(topology, 'vault'))!;
      assert.deepEqual(
        rec.credentials?.jwe?.recipients.map((x) => x.header.kid),
        [listed.kid],
        'sealed to the listed enforcer only',
      );
      assert.deepEqual(await open(rec, listed), { type: 'bearer', token: SECRETS.token });
      await assert.rejects(open(rec, rogue), /not a recipient/);
      await assert.rejects(open(rec, all), /not a recipient/);
      // The allow-list is what kept them out: opened to "*", both serving "*" are sealed to.
      const opened = await h.request('PATCH', '/v1/connections/vault', {
        token: admin,
        body: { enforcers: ['*'] },
      });
      assert.equal(opened.status, 200, opened.text);
      const kids = (await published(topology, 'vault'))!.credentials!.jwe!.recipients.map(
        (x) => x.header.kid,
      );
      assert.deepEqual(kids.sort(), [all.kid, listed.kid, rogue.kid].sort());
      const closed = await h.request('PATCH', '/v1/connections/vault', {
        token: admin,
        body: { enforcers: [] },
      });
      assert.equal(closed.status, 200, closed.text);
      assert.equal((await published(topology, 'vault'))!.credentials?.jwe, null);
    } finally {
      await topology.enforcerKeys.delete('e-rogue');
      await topology.enforcerKeys.delete('e-listed');
    }
  });

  it('a sealed secret binds its connection, URL, credential type and header name', async () => {
    const r = await h.request('POST', '/v1/connections', {
      token: admin,
      body: {
        name: 'bound',
        type: 'http',
        url: 'https://bound.internal/v2',
        credentials: { type: 'header', name: 'X-Api-Key', value: SECRETS.header },
      },
    });
    assert.equal(r.status, 201, r.text);
    const rec = (await published(topology, 'bound'))!;
    const jwe = rec.credentials!.jwe!;
    const mine = jwe.recipients.find((x) => x.header.kid === all.kid)!;
    const { plaintext, protectedHeader } = await flattenedDecrypt(
      { ...jwe, header: mine.header, encrypted_key: mine.encrypted_key },
      all.privateKey,
    );
    const binding = {
      connection: 'bound',
      url: 'https://bound.internal/v2',
      credential_type: 'header',
      header_name: 'X-Api-Key',
    };
    assert.deepEqual(readSealBinding(protectedHeader), binding, 'in the protected header');
    const secret = parseConnectionSecret(JSON.parse(new TextDecoder().decode(plaintext)));
    assert.equal(secret.url, 'https://bound.internal/v2', 'and in the plaintext');
    assert.equal(secret.connection, 'bound');
    assert.equal(
      (await h.request('DELETE', '/v1/connections/bound', { token: admin })).status,
      204,
    );
  });

  it('a secret sealed without a binding (by an older control plane) is re-sealed with one', async () => {
    const current = await topology.connections.get('crm');
    const rec = parseConnectionRecord(current!.json());
    const legacy = await new GeneralEncrypt(
      new TextEncoder().encode(
        JSON.stringify({
          schema: CONNECTION_SECRET_SCHEMA,
          connection: 'crm',
          rotated_at: rec.credentials!.rotated_at,
          credential: { type: 'bearer', token: SECRETS.rotated },
        }),
      ),
    )
      .setProtectedHeader({ enc: 'A256GCM' })
      .setAdditionalAuthenticatedData(new TextEncoder().encode('crm'))
      .addRecipient(await importJWK({ ...all.publicJwk }, 'ECDH-ES+A256KW'))
      .setUnprotectedHeader({ alg: 'ECDH-ES+A256KW', kid: all.kid })
      .encrypt();
    await topology.connections.put(
      'crm',
      JSON.stringify({ ...rec, credentials: { ...rec.credentials, jwe: legacy } }),
    );
    assert.equal(sealBindingOfJwe((await published(topology, 'crm'))!.credentials!.jwe!), null);
    // Same revision and recipients: only the missing binding makes the reconciler re-seal it.
    const entry = await topology.enforcerKeys.get('e-all');
    await topology.enforcerKeys.put('e-all', entry!.string());
    await waitFor(
      async () => {
        const jwe = (await published(topology, 'crm'))?.credentials?.jwe;
        return jwe ? sealBindingOfJwe(jwe)?.url === 'https://crm.internal/' : false;
      },
      5000,
      'crm re-sealed with a binding',
    );
  });

  it('a connection nobody serves is published with its secret unsealed to anyone (enforcers fail closed)', async () => {
    await topology.enforcerKeys.delete('e-all');
    await topology.enforcerKeys.delete('e-erp');
    const r = await h.request('POST', '/v1/connections', {
      token: admin,
      body: {
        name: 'lonely',
        type: 'http',
        url: 'http://lonely',
        credentials: { type: 'header', name: 'X-Key', value: SECRETS.header },
      },
    });
    assert.equal(r.status, 201, r.text);
    const rec = (await published(topology, 'lonely'))!;
    assert.equal(rec.credentials?.type, 'header');
    assert.equal(rec.credentials?.header_name, 'X-Key');
    assert.equal(rec.credentials?.jwe, null);
  });

  it('a deleted connection disappears from the bucket', async () => {
    assert.equal(
      (await h.request('DELETE', '/v1/connections/lonely', { token: admin })).status,
      204,
    );
    assert.equal(await published(topology, 'lonely'), null);
  });

  it('neither the database files nor the JetStream store hold a secret in clear', async () => {
    await nc.flush();
    const files = [...filesUnder(dir), ...filesUnder(nats.storeDir)];
    for (const f of files) assertNoSecret(f.bytes.toString('latin1'), f.path);
    // The scan sees what was stored: the non-secret fields are there in clear, in both places.
    const inStore = filesUnder(nats.storeDir).some((f) => f.bytes.includes('crm.internal'));
    const inDb = filesUnder(dir).some((f) => f.bytes.includes('crm.internal'));
    assert.ok(inStore && inDb, 'the scanned bytes hold the published and stored connection');
  });
});

describe('CONNECTION_DEFAULT_ENFORCERS set empty: no enforcer until a connection lists some', () => {
  let nats: NatsServerProcess;
  let h: ControlPlaneHarness;
  let nc: NatsConnection;
  let topology: JetStreamTopology;
  let admin: string;

  before(async () => {
    nats = await NatsServerProcess.start();
    nc = await connect({ servers: nats.url });
    topology = await ensureJetStreamTopology(nc, undefined, 'client');
    h = await ControlPlaneHarness.start({
      nats,
      env: { CONNECTION_ENCRYPTION_KEYS: `k1:${key(1)}`, CONNECTION_DEFAULT_ENFORCERS: '' },
    });
    admin = await h.token('carla@example.com', ['connection-admin']);
  });

  after(async () => {
    await h?.stop();
    await nc?.close();
    await nats?.stop();
  });

  it('a connection created without enforcers is sealed to nobody until it lists one', async () => {
    const e = await registerEnforcer(topology, 'e-any', ['*']);
    const r = await h.request('POST', '/v1/connections', {
      token: admin,
      body: {
        name: 'crm',
        type: 'http',
        url: 'https://crm.internal',
        credentials: { type: 'bearer', token: SECRETS.token },
      },
    });
    assert.equal(r.status, 201, r.text);
    assert.deepEqual((r.body as { enforcers: string[] }).enforcers, []);
    assert.equal((await published(topology, 'crm'))!.credentials?.jwe, null);
    const listed = await h.request('PATCH', '/v1/connections/crm', {
      token: admin,
      body: { enforcers: ['e-any'] },
    });
    assert.equal(listed.status, 200, listed.text);
    assert.deepEqual(await open((await published(topology, 'crm'))!, e), {
      type: 'bearer',
      token: SECRETS.token,
    });
  });
});

describe('connection keys: generated key file and rotation at boot', () => {
  let nats: NatsServerProcess;
  let dir: string;

  before(async () => {
    nats = await NatsServerProcess.start();
    dir = mkdtempSync(join(tmpdir(), 'cp-conn-keys-'));
  });
  after(async () => {
    await nats?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const storedKeyIds = (): string[] => {
    const db = new Database(join(dir, 'cp.db'), { readonly: true });
    try {
      return (
        db.prepare('SELECT secret_key_id FROM connections ORDER BY name').all() as {
          secret_key_id: string;
        }[]
      ).map((r) => r.secret_key_id);
    } finally {
      db.close();
    }
  };

  async function withControlPlane(
    env: Record<string, string>,
    run: (h: ControlPlaneHarness, token: string) => Promise<void>,
  ): Promise<void> {
    const h = await ControlPlaneHarness.start({
      nats,
      databaseUrl: `sqlite:${join(dir, 'cp.db')}`,
      env,
    });
    try {
      await run(h, await h.token('carla@example.com', ['connection-admin']));
    } finally {
      await h.stop();
    }
  }

  it('without CONNECTION_ENCRYPTION_KEYS a 0600 key file is generated beside the database and reused', async () => {
    const keyFile = join(dir, 'connection-keys');
    await withControlPlane({}, async (h, token) => {
      const r = await h.request('POST', '/v1/connections', {
        token,
        body: {
          name: 'crm',
          type: 'http',
          url: 'http://crm',
          credentials: { type: 'bearer', token: SECRETS.token },
        },
      });
      assert.equal(r.status, 201, r.text);
    });
    assert.ok(existsSync(keyFile));
    assert.equal(statSync(keyFile).mode & 0o777, 0o600);
    const generated = readFileSync(keyFile, 'utf8');
    // A second boot decrypts with the same file (it re-publishes from the stored ciphertext).
    await withControlPlane({}, async (h, token) => {
      assert.equal((await h.request('GET', '/v1/connections/crm', { token })).status, 200);
    });
    assert.equal(readFileSync(keyFile, 'utf8'), generated);
    assert.match(storedKeyIds()[0], /^gen-/);
  });

  it('a new first key re-encrypts every secret at boot; the retired key can then be dropped', async () => {
    const generated = readFileSync(join(dir, 'connection-keys'), 'utf8').trim();
    const enforcerSide = await connect({ servers: nats.url });
    try {
      const topology = await ensureJetStreamTopology(enforcerSide, undefined, 'client');
      const e = await registerEnforcer(topology, 'e-rot', ['*']);
      await withControlPlane(
        { CONNECTION_ENCRYPTION_KEYS: `k2:${key(2)},${generated}` },
        async () => {
          assert.deepEqual(storedKeyIds(), ['k2']);
          await waitFor(
            async () =>
              (await published(topology, 'crm'))?.credentials?.jwe?.recipients.some(
                (x) => x.header.kid === e.kid,
              ) ?? false,
            5000,
            'the secret sealed to the new enforcer',
          );
          assert.deepEqual(await open((await published(topology, 'crm'))!, e), {
            type: 'bearer',
            token: SECRETS.token,
          });
        },
      );
      // The old key is no longer needed: everything is under k2.
      await withControlPlane({ CONNECTION_ENCRYPTION_KEYS: `k2:${key(2)}` }, async (h, token) => {
        assert.equal((await h.request('GET', '/v1/connections/crm', { token })).status, 200);
      });
    } finally {
      await enforcerSide.close();
    }
  });

  it('a secret under a key that is not configured stops boot naming the key', async () => {
    await assert.rejects(
      ControlPlaneHarness.start({
        nats,
        databaseUrl: `sqlite:${join(dir, 'cp.db')}`,
        env: { CONNECTION_ENCRYPTION_KEYS: `k3:${key(3)}` },
      }),
      (err: unknown) =>
        err instanceof Error &&
        /CONNECTION_ENCRYPTION_KEYS/.test(err.message) &&
        /key "k2"/.test(err.message),
    );
  });
});

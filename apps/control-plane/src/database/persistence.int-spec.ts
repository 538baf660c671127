import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { NatsServerProcess } from '@portcullis/testing';
import { ControlPlaneHarness } from '../testing/control-plane.harness';

const POSTGRES_URL = process.env.PORTCULLIS_TEST_POSTGRES_URL;

const MODULE =
  'package portcullis\n\ndecision := {"allow": input.identity.subject == "svc-a", "reasons": []}\n';

/**
 * The same scenario on each database: migrations from scratch, a real upload race on the
 * (bundle, version) key, activation, and everything still there after a restart.
 */
async function persistenceScenario(t: TestContext, databaseUrl: string): Promise<void> {
  const cleanup: (() => unknown)[] = [];
  t.after(async () => {
    for (const undo of cleanup.reverse()) await undo();
  });
  const nats = await NatsServerProcess.start();
  cleanup.push(() => nats.stop());
  const h1 = await ControlPlaneHarness.start({ nats, databaseUrl });
  let h1Running = true;
  cleanup.push(async () => {
    if (h1Running) await h1.stop();
  });
  const admin = await h1.token('alice', ['policy-admin']);
  const uploads = await Promise.all(
    [1, 2, 3, 4].map((i) =>
      h1.request('POST', '/v1/bundles/persist/versions', {
        token: admin,
        body: { modules: { 'p.rego': MODULE }, data: { n: i } },
      }),
    ),
  );
  for (const r of uploads) assert.equal(r.status, 201, r.text);
  assert.deepEqual(
    uploads.map((r) => (r.body as { version: number }).version).sort(),
    [1, 2, 3, 4],
  );
  const act = await h1.request('POST', '/v1/bundles/persist/versions/3/activate', { token: admin });
  assert.equal(act.status, 200, act.text);
  const before = (await h1.request('GET', '/v1/bundles/persist', { token: admin })).body;
  await h1.stop();
  h1Running = false;

  const h2 = await ControlPlaneHarness.start({ nats, databaseUrl });
  cleanup.push(() => h2.stop());
  const admin2 = await h2.token('alice', ['policy-admin']);
  const after = await h2.request('GET', '/v1/bundles/persist', { token: admin2 });
  assert.equal(after.status, 200, after.text);
  assert.deepEqual(after.body, before, 'a restart (migrations already applied) changes nothing');
  assert.equal((after.body as { active_version: number }).active_version, 3);
  const v3 = await h2.request('GET', '/v1/bundles/persist/versions/3', { token: admin2 });
  const detail = v3.body as { modules: Record<string, string>; data: unknown };
  assert.equal(detail.modules['p.rego'], MODULE);
  assert.equal(typeof (detail.data as { n: number }).n, 'number');
}

describe('bundle persistence (SQLite file)', () => {
  it('versions, the race on version numbers and activation survive a restart', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'portcullis-cp-sqlite-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    // A nested, not yet existing directory: the app creates it.
    await persistenceScenario(t, `sqlite:${join(dir, 'nested', 'cp.db')}`);
  });
});

describe('bundle persistence (PostgreSQL)', () => {
  it(
    'versions, the race on version numbers and activation survive a restart, in a schema of their own',
    {
      skip: POSTGRES_URL ? false : 'set PORTCULLIS_TEST_POSTGRES_URL to run the PostgreSQL variant',
    },
    async (t) => {
      const schema = `cp_test_${randomBytes(6).toString('hex')}`;
      const admin = new Client({ connectionString: POSTGRES_URL });
      await admin.connect();
      t.after(async () => {
        await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        await admin.end();
      });
      await admin.query(`CREATE SCHEMA ${schema}`);
      const url = new URL(POSTGRES_URL!);
      url.searchParams.set('schema', schema);
      await persistenceScenario(t, url.toString());
      const tables = await admin.query<{ table_name: string }>(
        'SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name',
        [schema],
      );
      const names = tables.rows.map((r) => r.table_name);
      for (const expected of ['bundle_versions', 'bundles', 'migrations']) {
        assert.ok(
          names.includes(expected),
          `${expected} created in ${schema}: ${names.join(', ')}`,
        );
      }
    },
  );
});

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import {
  activeBundleKey,
  bundleArtifactNames,
  ensureJetStreamTopology,
  parseBundlePointer,
  type BundlePointer,
  type JetStreamTopology,
} from '@portcullis/contracts';
import { NatsServerProcess } from '@portcullis/testing';
import { ControlPlaneHarness } from '../testing/control-plane.harness';

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

const ALLOW = `package portcullis

decision := {"allow": allow, "reasons": reasons}

default allow := false

allow if input.identity.subject in data.allowed

reasons := [] if allow
reasons := ["subject not allowed"] if not allow
`;
const ALLOW_TEST = `package portcullis_test

import data.portcullis

test_listed_subject_allowed if portcullis.allow with input as {"identity": {"subject": "svc-a"}} with data.allowed as ["svc-a"]
test_other_subject_denied if not portcullis.allow with input as {"identity": {"subject": "svc-b"}} with data.allowed as ["svc-a"]
`;
const validBundle = (extra: Record<string, string> = {}) => ({
  modules: {
    'portcullis/decision.rego': ALLOW,
    'portcullis/decision_test.rego': ALLOW_TEST,
    ...extra,
  },
  data: { allowed: ['svc-a'] },
});

interface Rejection {
  errors: {
    code: string;
    file: string | null;
    row: number | null;
    col: number | null;
    message: string;
  }[];
}

describe('bundles API against real opa, nats-server and SQLite', () => {
  let nats: NatsServerProcess;
  let h: ControlPlaneHarness;
  let admin: string;
  let auditor: string;
  let enforcerSide: NatsConnection;
  let topology: JetStreamTopology;

  before(async () => {
    nats = await NatsServerProcess.start();
    h = await ControlPlaneHarness.start({ nats });
    admin = await h.token('alice@example.com', ['policy-admin']);
    auditor = await h.token('carol@example.com', 'auditor');
    // What an enforcer sees: its own connection, the same contract.
    enforcerSide = await connect({ servers: nats.url });
    topology = await ensureJetStreamTopology(enforcerSide);
  });

  after(async () => {
    await enforcerSide?.close();
    await h?.stop();
    await nats?.stop();
  });

  async function pointer(bundle: string): Promise<BundlePointer | null> {
    const e = await topology.bundles.get(activeBundleKey(bundle));
    return e && e.operation === 'PUT' ? parseBundlePointer(e.json()) : null;
  }

  async function versionCount(bundle: string): Promise<number> {
    const r = await h.request('GET', `/v1/bundles/${bundle}`, { token: admin });
    return r.status === 404 ? 0 : (r.body as { versions: unknown[] }).versions.length;
  }

  it('a valid bundle is accepted as version 1 with the sha256 of the wasm its artifacts carry', async () => {
    const r = await h.request('POST', '/v1/bundles/accept/versions', {
      token: admin,
      body: validBundle(),
    });
    assert.equal(r.status, 201, r.text);
    const body = r.body as {
      bundle: string;
      version: number;
      digest: string;
      active: boolean;
      created_by: string;
    };
    assert.equal(body.bundle, 'accept');
    assert.equal(body.version, 1);
    assert.equal(body.active, false);
    assert.equal(body.created_by, 'alice@example.com');
    const wasm = await topology.artifacts.getBlob(bundleArtifactNames('accept', 1).wasm);
    assert.ok(wasm, 'policy.wasm is in the object store after upload');
    assert.equal(sha256(wasm), body.digest);
    assert.deepEqual(
      wasm.subarray(0, 4),
      new Uint8Array([0, 0x61, 0x73, 0x6d]),
      'a WebAssembly module',
    );
    const data = await topology.artifacts.getBlob(bundleArtifactNames('accept', 1).data);
    assert.deepEqual(JSON.parse(new TextDecoder().decode(data)), { allowed: ['svc-a'] });
    assert.equal(
      await pointer('accept'),
      null,
      'an upload without activate changes nothing for enforcers',
    );
  });

  it('a syntax error is a 422 naming the file and row as uploaded, and stores nothing', async () => {
    const before = await versionCount('syntax');
    const r = await h.request('POST', '/v1/bundles/syntax/versions', {
      token: admin,
      body: { modules: { 'teams/crm.rego': 'package portcullis\n\ndecision := {"allow": true\n' } },
    });
    assert.equal(r.status, 422, r.text);
    const { errors } = r.body as Rejection;
    assert.ok(errors.length >= 1);
    assert.equal(errors[0].code, 'rego_parse_error');
    assert.equal(errors[0].file, 'teams/crm.rego');
    assert.equal(typeof errors[0].row, 'number');
    assert.ok(!r.text.includes('/tmp/'), 'no server paths in the rejection');
    assert.equal(await versionCount('syntax'), before);
  });

  it('a builtin the enforcer cannot evaluate (http.send) is rejected at upload with its location', async () => {
    const src =
      'package portcullis\n\ndecision := {"allow": r.status_code == 200}\n\nr := http.send({"method": "GET", "url": "http://example.com"})\n';
    const r = await h.request('POST', '/v1/bundles/builtin/versions', {
      token: admin,
      body: { modules: { 'p.rego': src } },
    });
    assert.equal(r.status, 422, r.text);
    const { errors } = r.body as Rejection;
    const e = errors.find((x) => x.message.includes('http.send'));
    assert.ok(e, r.text);
    assert.equal(e.code, 'rego_type_error');
    assert.equal(e.file, 'p.rego');
    assert.equal(e.row, 5);
  });

  it('a failing opa test rejects the version, locating the test', async () => {
    const failing = `package portcullis_more_test

import data.portcullis

test_unlisted_subject_allowed if portcullis.allow with input as {"identity": {"subject": "svc-z"}}
`;
    const r = await h.request('POST', '/v1/bundles/tested/versions', {
      token: admin,
      body: validBundle({ 'more_test.rego': failing }),
    });
    assert.equal(r.status, 422, r.text);
    assert.deepEqual((r.body as Rejection).errors, [
      {
        code: 'opa_test_failed',
        file: 'more_test.rego',
        row: 5,
        col: 1,
        message: 'test data.portcullis_more_test.test_unlisted_subject_allowed failed',
      },
    ]);
    assert.equal(await versionCount('tested'), 0);
  });

  it('a bundle without portcullis.decision is rejected rather than compiled into nothing', async () => {
    const r = await h.request('POST', '/v1/bundles/noentry/versions', {
      token: admin,
      body: { modules: { 'x.rego': 'package other\n\nx := 1\n' } },
    });
    assert.equal(r.status, 422, r.text);
    assert.equal((r.body as Rejection).errors[0].code, 'entrypoint_undefined');
  });

  it('a module path escaping the bundle is a 400 and never reaches opa', async () => {
    const r = await h.request('POST', '/v1/bundles/default/versions', {
      token: admin,
      body: { modules: { '../../etc/x.rego': ALLOW } },
    });
    assert.equal(r.status, 400, r.text);
    assert.equal((r.body as { error: { code: string } }).error.code, 'invalid_request');
  });

  it('unknown top-level fields are refused', async () => {
    const r = await h.request('POST', '/v1/bundles/default/versions', {
      token: admin,
      body: { ...validBundle(), wasm: 'AAA' },
    });
    assert.equal(r.status, 400, r.text);
  });

  it('without a token the API answers 401 with a JSON error and a Bearer challenge', async () => {
    const r = await h.request('POST', '/v1/bundles/default/versions', { body: validBundle() });
    assert.equal(r.status, 401);
    assert.equal(r.headers.get('www-authenticate'), 'Bearer');
    assert.deepEqual(Object.keys((r.body as { error: object }).error).sort(), ['code', 'message']);
  });

  it('a token for another audience is 401 audience_mismatch', async () => {
    const t = await h.issuer.mint({
      sub: 'alice',
      audience: 'portcullis-enforcer',
      claims: { portcullis_roles: ['policy-admin'] },
    });
    const r = await h.request('GET', '/v1/bundles', { token: t });
    assert.equal(r.status, 401);
    assert.equal((r.body as { error: { code: string } }).error.code, 'audience_mismatch');
  });

  it('an auditor cannot upload or activate (403) but can read bundles', async () => {
    const up = await h.request('POST', '/v1/bundles/default/versions', {
      token: auditor,
      body: validBundle(),
    });
    assert.equal(up.status, 403, up.text);
    assert.equal((up.body as { error: { code: string } }).error.code, 'forbidden');
    const act = await h.request('POST', '/v1/bundles/accept/versions/1/activate', {
      token: auditor,
    });
    assert.equal(act.status, 403);
    assert.equal((await h.request('GET', '/v1/bundles', { token: auditor })).status, 200);
  });

  it('a valid token without any known role is 403 everywhere but not 401', async () => {
    const t = await h.token('mallory', ['developer']);
    assert.equal((await h.request('GET', '/v1/bundles', { token: t })).status, 403);
    assert.equal((await h.request('GET', '/v1/enforcers', { token: t })).status, 403);
  });

  it('activation writes a pointer whose artifacts match its sha256 digests; rollback moves it back', async () => {
    const v1 = await h.request('POST', '/v1/bundles/roll/versions', {
      token: admin,
      body: { ...validBundle(), activate: true },
    });
    assert.equal(v1.status, 201, v1.text);
    assert.equal((v1.body as { active: boolean }).active, true);
    const p1 = await pointer('roll');
    assert.ok(p1);
    assert.equal(p1.version, 1);
    assert.equal(p1.activated_by, 'alice@example.com');
    const names = bundleArtifactNames('roll', 1);
    assert.equal(sha256((await topology.artifacts.getBlob(names.wasm))!), p1.digest);
    assert.equal(sha256((await topology.artifacts.getBlob(names.data))!), p1.data_digest);

    const v2body = validBundle();
    v2body.data = { allowed: ['svc-a', 'svc-b'] };
    const v2 = await h.request('POST', '/v1/bundles/roll/versions', { token: admin, body: v2body });
    assert.equal((v2.body as { version: number }).version, 2);
    assert.equal((await pointer('roll'))?.version, 1, 'uploading v2 does not activate it');
    const act2 = await h.request('POST', '/v1/bundles/roll/versions/2/activate', { token: admin });
    assert.equal(act2.status, 200, act2.text);
    const p2 = await pointer('roll');
    assert.equal(p2?.version, 2);
    assert.notEqual(p2?.data_digest, p1.data_digest);

    const back = await h.request('POST', '/v1/bundles/roll/versions/1/activate', { token: admin });
    assert.equal(back.status, 200, back.text);
    assert.equal((back.body as { active_version: number }).active_version, 1);
    const p3 = await pointer('roll');
    assert.equal(p3?.version, 1);
    assert.equal(p3?.digest, p1.digest);
    const detail = await h.request('GET', '/v1/bundles/roll', { token: admin });
    const b = detail.body as {
      active_version: number;
      versions: { version: number; active: boolean }[];
    };
    assert.equal(b.active_version, 1);
    assert.deepEqual(
      b.versions.map((v) => [v.version, v.active]),
      [
        [2, false],
        [1, true],
      ],
    );
    assert.ok(!detail.text.includes('wasm"'), 'bundle listing carries no wasm blob');

    const history = await h.request('GET', '/v1/bundles/roll/activations', { token: admin });
    assert.equal(history.status, 200, history.text);
    const items = (
      history.body as {
        items: {
          version: number;
          previous_version: number | null;
          digest: string;
          activated_by: string;
          activated_at: string;
        }[];
      }
    ).items;
    assert.deepEqual(
      items.map((a) => [a.version, a.previous_version]),
      [
        [1, 2],
        [2, 1],
        [1, null],
      ],
      'every activation, the rollback included, is on record newest first',
    );
    assert.equal(items[0].digest, p1.digest);
    assert.equal(items[0].activated_by, 'alice@example.com');
    // One instant for one activation: the bundle, its history, the pointer and the response agree.
    const activatedAt = (detail.body as { activated_at: string }).activated_at;
    assert.equal(items[0].activated_at, activatedAt);
    assert.equal(p3?.activated_at, activatedAt);
    assert.equal((back.body as { activated_at: string }).activated_at, activatedAt);
  });

  it('activating a version that does not exist is 404 and leaves the pointer alone', async () => {
    const before = await pointer('roll');
    const r = await h.request('POST', '/v1/bundles/roll/versions/99/activate', { token: admin });
    assert.equal(r.status, 404, r.text);
    assert.deepEqual(await pointer('roll'), before);
  });

  it('a version’s detail returns its Rego sources and data as uploaded', async () => {
    const r = await h.request('GET', '/v1/bundles/accept/versions/1', { token: auditor });
    assert.equal(r.status, 200, r.text);
    const v = r.body as { modules: Record<string, string>; data: unknown; version: number };
    assert.equal(v.version, 1);
    assert.equal(v.modules['portcullis/decision.rego'], ALLOW);
    assert.deepEqual(v.data, { allowed: ['svc-a'] });
  });

  it('concurrent uploads to one bundle get distinct consecutive versions', async () => {
    const results = await Promise.all(
      [0, 1, 2].map(() =>
        h.request('POST', '/v1/bundles/race/versions', { token: admin, body: validBundle() }),
      ),
    );
    for (const r of results) assert.equal(r.status, 201, r.text);
    assert.deepEqual(results.map((r) => (r.body as { version: number }).version).sort(), [1, 2, 3]);
  });

  it('the bundle list shows active and latest versions', async () => {
    const r = await h.request('GET', '/v1/bundles', { token: admin });
    const items = (
      r.body as { items: { name: string; active_version: number | null; latest_version: number }[] }
    ).items;
    const roll = items.find((i) => i.name === 'roll');
    assert.deepEqual(roll && [roll.active_version, roll.latest_version], [1, 2]);
  });

  it('upload metrics count accepted and rejected versions', async () => {
    const r = await h.request('GET', '/metrics');
    assert.equal(r.status, 200);
    assert.match(
      r.text,
      /portcullis_control_plane_bundle_uploads_total\{result="accepted"\} [1-9]/,
    );
    assert.match(
      r.text,
      /portcullis_control_plane_bundle_uploads_total\{result="rejected"\} [1-9]/,
    );
    assert.match(r.text, /portcullis_control_plane_bundle_active_version\{bundle="roll"\} 1/);
    assert.match(r.text, /portcullis_control_plane_bundle_compile_duration_seconds_count/);
  });
});

describe('distribution survives a wiped NATS', () => {
  it('a control plane booting against an empty nats-server republishes every active version', async (t) => {
    // Undo in reverse order of creation: clients before servers.
    const cleanup: (() => unknown)[] = [];
    t.after(async () => {
      for (const undo of cleanup.reverse()) await undo();
    });
    const nats1 = await NatsServerProcess.start();
    cleanup.push(() => nats1.stop());
    const dir = mkdtempSync(join(tmpdir(), 'portcullis-cp-keep-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const dbUrl = `sqlite:${join(dir, 'cp.db')}`;
    const h1 = await ControlPlaneHarness.start({ nats: nats1, databaseUrl: dbUrl });
    let h1Running = true;
    cleanup.push(async () => {
      if (h1Running) await h1.stop();
    });
    const admin = await h1.token('alice', ['policy-admin']);
    const up = await h1.request('POST', '/v1/bundles/keep/versions', {
      token: admin,
      body: { ...validBundle(), activate: true },
    });
    assert.equal(up.status, 201, up.text);
    const digest = (up.body as { digest: string }).digest;
    // Keep the database, lose NATS: the same SQLite file, a brand-new nats-server.
    await h1.stop();
    h1Running = false;
    const nats2 = await NatsServerProcess.start();
    cleanup.push(() => nats2.stop());
    const h2 = await ControlPlaneHarness.start({ nats: nats2, databaseUrl: dbUrl });
    cleanup.push(() => h2.stop());

    const nc = await connect({ servers: nats2.url });
    cleanup.push(() => nc.close());
    const topo = await ensureJetStreamTopology(nc);
    const e = await topo.bundles.get(activeBundleKey('keep'));
    assert.ok(e, 'pointer republished at boot');
    const p = parseBundlePointer(e.json());
    assert.equal(p.version, 1);
    assert.equal(p.digest, digest);
    const wasm = await topo.artifacts.getBlob(bundleArtifactNames('keep', 1).wasm);
    assert.equal(sha256(wasm!), digest);
  });
});

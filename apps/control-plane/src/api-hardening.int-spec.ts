import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import {
  activeBundleKey,
  ensureJetStreamTopology,
  NATS_NAMES,
  parseBundlePointer,
  type JetStreamTopology,
} from '@portcullis/contracts';
import { NatsServerProcess } from '@portcullis/testing';
import { ControlPlaneHarness } from './testing/control-plane.harness';

const DECISION = 'package portcullis\n\ndecision := {"allow": true, "reasons": []}\n';
/** One test that opa's own per-test deadline (5 s) would stop; OPA_TIMEOUT_MS below is shorter. */
const SLOW_TEST = `package slow_test

import rego.v1

test_slow if {
\tcount([1 | some i in numbers.range(1, 100000); some j in numbers.range(1, 100000); i == j]) > 0
}
`;

interface ErrorBody {
  error: { code: string; message: string };
}

describe('control-plane API hardening (real nats-server, opa, SQLite)', () => {
  let h: ControlPlaneHarness;
  let admin: string;
  let nc: NatsConnection;

  before(async () => {
    h = await ControlPlaneHarness.start({ env: { OPA_TIMEOUT_MS: '1500' } });
    admin = await h.token('alice', ['policy-admin', 'auditor']);
    nc = await connect({ servers: h.nats.url });
  });
  after(async () => {
    await nc.close();
    await h.stop();
  });

  it('listing enforcers over and over leaves no JetStream consumer behind', async () => {
    for (let i = 0; i < 25; i++) {
      const r = await h.request('GET', '/v1/enforcers', { token: admin });
      assert.equal(r.status, 200, r.text);
    }
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info(`KV_${NATS_NAMES.enforcerStatusBucket}`);
    assert.equal(info.state.consumer_count, 0);
  });

  it('an opa run past OPA_TIMEOUT_MS is stopped and answered 422 opa_timeout, not a hang', async () => {
    const started = Date.now();
    const r = await h.request('POST', '/v1/bundles/slow/versions', {
      token: admin,
      body: { modules: { 'a.rego': DECISION, 'slow_test.rego': SLOW_TEST } },
    });
    assert.equal(r.status, 422, r.text);
    const body = r.body as { errors: { code: string; message: string }[] };
    assert.equal(body.errors[0].code, 'opa_timeout');
    assert.match(body.errors[0].message, /opa test did not finish within 1500 ms/);
    assert.ok(Date.now() - started < 4500, 'the limit, not opa’s own 5 s test deadline, ended it');
  });

  it('deeply nested data is a 400, not a stack overflow 500', async () => {
    const deep = `{"modules":{"a.rego":${JSON.stringify(DECISION)}},"data":{"x":${'['.repeat(50_000)}${']'.repeat(50_000)}}}`;
    const res = await fetch(`${h.url}/v1/bundles/deep/versions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: deep,
    });
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as ErrorBody).error.code, 'invalid_request');
  });

  it('data keys such as constructor and __proto__ are stored and distributed as uploaded', async () => {
    const res = await fetch(`${h.url}/v1/bundles/protokeys/versions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: `{"modules":{"a.rego":${JSON.stringify(DECISION)}},"data":{"constructor":{"prototype":{"a":1}},"__proto__":{"b":2}}}`,
    });
    assert.equal(res.status, 201, await res.clone().text());
    const detail = await h.request('GET', '/v1/bundles/protokeys/versions/1', { token: admin });
    const data = (JSON.parse(detail.text) as { data: Record<string, unknown> }).data;
    assert.deepEqual(Object.keys(data).sort(), ['__proto__', 'constructor']);
    assert.equal(JSON.stringify(data.constructor), '{"prototype":{"a":1}}');
    assert.equal(
      JSON.stringify(Object.getOwnPropertyDescriptor(data, '__proto__')?.value),
      '{"b":2}',
    );
  });

  it('a module path that is also another module’s directory is a 400, not a 500', async () => {
    const r = await h.request('POST', '/v1/bundles/clash/versions', {
      token: admin,
      body: { modules: { 'a.rego': DECISION, 'a.rego/b.rego': 'package b\n' } },
    });
    assert.equal(r.status, 400, r.text);
  });

  it('a body that is not JSON (wrong content type) is a 400 saying so', async () => {
    const res = await fetch(`${h.url}/v1/bundles/ct/versions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'text/plain' },
      body: JSON.stringify({ modules: { 'a.rego': DECISION } }),
    });
    assert.equal(res.status, 400);
    assert.match(((await res.json()) as ErrorBody).error.message, /application\/json/);
  });

  it('the OpenAPI document requires bearer auth on every /v1 operation, none on probes, and every $ref resolves', async () => {
    const r = await h.request('GET', '/docs-json');
    assert.equal(r.status, 200);
    const doc = r.body as {
      security?: unknown;
      paths: Record<
        string,
        Record<string, { security?: unknown; responses: Record<string, unknown> }>
      >;
      components: { schemas: Record<string, unknown>; securitySchemes: Record<string, unknown> };
    };
    assert.equal(doc.security, undefined, 'no document-wide requirement');
    assert.ok(doc.components.securitySchemes.bearer);
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        if (path.startsWith('/v1/')) {
          assert.deepEqual(op.security, [{ bearer: [] }], `${method} ${path}`);
          const statuses = ['401', '403'];
          // Every operation with a parameter can answer 400.
          if (path.includes('{') || path === '/v1/decisions') statuses.push('400');
          for (const status of statuses)
            assert.ok(op.responses[status], `${method} ${path} documents ${status}`);
        } else {
          assert.equal(op.security, undefined, `${method} ${path} needs no token`);
        }
      }
    }
    const refs = [...r.text.matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)].map(
      (m) => m[1],
    );
    for (const ref of refs) assert.ok(doc.components.schemas[ref], `$ref ${ref} resolves`);
    const upload = doc.paths['/v1/bundles/{name}/versions'].post.responses['422'];
    assert.match(JSON.stringify(upload), /BundleRejectionDto/);
  });
});

describe('two control-plane replicas on one database and one NATS', () => {
  let nats: NatsServerProcess;
  let dir: string;
  let a: ControlPlaneHarness;
  let b: ControlPlaneHarness;
  let nc: NatsConnection;
  let topology: JetStreamTopology;

  before(async () => {
    nats = await NatsServerProcess.start();
    dir = mkdtempSync(join(tmpdir(), 'portcullis-replicas-'));
    const databaseUrl = `sqlite:${join(dir, 'cp.db')}`;
    // One after the other: both run the migrations at boot.
    a = await ControlPlaneHarness.start({ nats, databaseUrl });
    b = await ControlPlaneHarness.start({ nats, databaseUrl });
    nc = await connect({ servers: nats.url });
    topology = await ensureJetStreamTopology(nc);
  });
  after(async () => {
    await nc.close();
    await a.stop();
    await b.stop();
    await nats.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('concurrent activations of different versions leave NATS showing the version the database records', async () => {
    const tokenA = await a.token('alice', ['policy-admin']);
    const tokenB = await b.token('bob', ['policy-admin']);
    for (let i = 0; i < 3; i++) {
      const up = await a.request('POST', '/v1/bundles/race/versions', {
        token: tokenA,
        body: { modules: { 'a.rego': DECISION.replace('[]', `["v${i}"]`) } },
      });
      assert.equal(up.status, 201, up.text);
    }
    for (let round = 0; round < 6; round++) {
      const results = await Promise.all([
        a.request('POST', `/v1/bundles/race/versions/${1 + (round % 3)}/activate`, {
          token: tokenA,
        }),
        b.request('POST', `/v1/bundles/race/versions/${1 + ((round + 1) % 3)}/activate`, {
          token: tokenB,
        }),
      ]);
      for (const r of results) assert.ok([200, 409].includes(r.status), r.text);
      const recorded = await a.request('GET', '/v1/bundles/race', { token: tokenA });
      const active = (recorded.body as { active_version: number }).active_version;
      const entry = await topology.bundles.get(activeBundleKey('race'));
      assert.ok(entry, 'a pointer is published');
      assert.equal(parseBundlePointer(entry.json()).version, active, `round ${round}`);
    }
  });
});

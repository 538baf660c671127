import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from '@nats-io/transport-node';
import {
  ENFORCER_STATUS_SCHEMA,
  ensureJetStreamTopology,
  type EnforcerStatus,
} from '@portcullis/contracts';
import { NatsServerProcess } from '@portcullis/testing';
import { ControlPlaneHarness } from './testing/control-plane.harness';

describe('control-plane app: probes, OpenAPI, errors, enforcer status', () => {
  let h: ControlPlaneHarness;

  before(async () => {
    h = await ControlPlaneHarness.start();
  });
  after(async () => {
    await h?.stop();
  });

  it('/healthz answers without a token', async () => {
    const r = await h.request('GET', '/healthz');
    assert.equal(r.status, 200);
    assert.equal((r.body as { status: string }).status, 'ok');
  });

  it('/readyz reports database, NATS and the compiler, each ok', async () => {
    const r = await h.request('GET', '/readyz');
    assert.equal(r.status, 200, r.text);
    const body = r.body as { ready: boolean; components: Record<string, { state: string }> };
    assert.equal(body.ready, true);
    for (const c of ['database', 'nats', 'compiler'])
      assert.equal(body.components[c]?.state, 'ok', c);
  });

  it('the OpenAPI document is served at /docs-json and describes the bundle endpoints', async () => {
    const r = await h.request('GET', '/docs-json');
    assert.equal(r.status, 200);
    const doc = r.body as { openapi: string; paths: Record<string, Record<string, unknown>> };
    assert.match(doc.openapi, /^3\./);
    assert.ok(doc.paths['/v1/bundles/{name}/versions']?.post, 'upload documented');
    assert.ok(
      doc.paths['/v1/bundles/{name}/versions/{version}/activate']?.post,
      'activation documented',
    );
    assert.ok(doc.paths['/v1/enforcers']?.get, 'enforcers documented');
    const ui = await h.request('GET', '/docs');
    assert.equal(ui.status, 200);
    assert.match(ui.headers.get('content-type') ?? '', /text\/html/);
  });

  it('/metrics is public Prometheus text of this instance', async () => {
    const r = await h.request('GET', '/metrics');
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /text\/plain/);
    assert.match(r.text, /portcullis_control_plane_process_cpu_seconds_total/);
  });

  it('an unknown route is a JSON 404 with a stable code, not an HTML page', async () => {
    const token = await h.token('alice', ['policy-admin']);
    const r = await h.request('GET', '/v1/nothing', { token });
    assert.equal(r.status, 404);
    assert.equal((r.body as { error: { code: string } }).error.code, 'not_found');
  });

  it('a malformed JSON body is a 400 JSON error, not an HTML page', async () => {
    const token = await h.token('alice', ['policy-admin']);
    const res = await fetch(`${h.url}/v1/bundles/default/versions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: '{"modules": ',
    });
    assert.equal(res.status, 400);
    const body = (await res.json()) as { error: { code: string } };
    assert.equal(body.error.code, 'invalid_request');
  });

  it('a body above the size limit is a 413 JSON error', async () => {
    const token = await h.token('alice', ['policy-admin']);
    const res = await fetch(`${h.url}/v1/bundles/default/versions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ modules: { 'a.rego': 'x'.repeat(9 * 1024 * 1024) } }),
    });
    assert.equal(res.status, 413);
    assert.equal(
      ((await res.json()) as { error: { code: string } }).error.code,
      'payload_too_large',
    );
  });

  it('GET /v1/enforcers lists valid status reports and skips malformed ones', async () => {
    const nc = await connect({ servers: h.nats.url });
    try {
      const topo = await ensureJetStreamTopology(nc);
      const now = new Date().toISOString();
      const status: EnforcerStatus = {
        schema: ENFORCER_STATUS_SCHEMA,
        enforcer_id: 'edge-1',
        bundle: 'default',
        active_version: 3,
        active_digest: 'a'.repeat(64),
        activated_at: now,
        last_error: null,
        started_at: now,
        reported_at: now,
      };
      await topo.enforcers.put('edge-1', JSON.stringify(status));
      await topo.enforcers.put('edge-2', JSON.stringify({ hello: 'world' }));
      const auditor = await h.token('carol', ['auditor']);
      const r = await h.request('GET', '/v1/enforcers', { token: auditor });
      assert.equal(r.status, 200, r.text);
      const items = (r.body as { items: { enforcer_id: string; active_version: number | null }[] })
        .items;
      assert.deepEqual(
        items.map((i) => [i.enforcer_id, i.active_version]),
        [['edge-1', 3]],
      );
    } finally {
      await nc.close();
    }
  });
});

describe('readiness follows NATS', () => {
  it('/readyz turns 503 naming nats when nats-server goes away, while /healthz stays 200', async (t) => {
    const nats = await NatsServerProcess.start();
    const h = await ControlPlaneHarness.start({ nats });
    t.after(async () => {
      await h.stop();
      await nats.stop();
    });
    await nats.stop();
    const r = await h.request('GET', '/readyz');
    assert.equal(r.status, 503, r.text);
    const body = r.body as { ready: boolean; components: Record<string, { state: string }> };
    assert.equal(body.ready, false);
    assert.equal(body.components.nats.state, 'failed');
    assert.equal(body.components.database.state, 'ok');
    assert.equal((await h.request('GET', '/healthz')).status, 200);
  });
});

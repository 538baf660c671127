import { it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { waitFor } from '@portcullis/testing';
import { decisionApiStack, describeOnEachDatabase } from './decision-api.fixture';
import { makeDecisionEvent } from './decision-event.fixture';

interface Page {
  items: Record<string, unknown>[];
  next_cursor: string | null;
}
interface ErrorBody {
  error: { code: string; message: string };
}

const DTO_FIELDS = [
  'approval',
  'bundle',
  'call',
  'log_mask',
  'connection',
  'decision_id',
  'enforcer_id',
  'error',
  'input',
  'metrics',
  'outcome',
  'path',
  'protocol',
  'reasons',
  'request',
  'result',
  'status',
  'stored_at',
  'subject',
  'timestamp',
].sort();

/** The HTTP contract of the decision log, against a running control plane on the given database. */
function decisionApiContract(databaseUrl: () => Promise<string | undefined>): void {
  const api = decisionApiStack(databaseUrl);
  const { publish } = api;
  const list = async (query: string, token = api.auditor) =>
    api.h.request('GET', `/v1/decisions${query}`, { token });

  void it('reading decisions needs a token with the auditor role', async () => {
    assert.equal((await list('')).status, 200);
    const none = await api.h.request('GET', '/v1/decisions');
    assert.equal(none.status, 401);
    assert.equal((none.body as ErrorBody).error.code.length > 0, true);
    const admin = await api.h.token('alice@example.com', ['policy-admin']);
    const forbidden = await list('', admin);
    assert.equal(forbidden.status, 403);
    assert.equal((forbidden.body as ErrorBody).error.code, 'forbidden');
    assert.equal(
      (
        await api.h.request('GET', `/v1/decisions/${makeDecisionEvent().decision_id}`, {
          token: admin,
        })
      ).status,
      403,
    );
  });

  void it('every published decision appears exactly once, with the documented fields, even when delivered twice', async () => {
    const e = makeDecisionEvent({
      subject: `api-once-${randomBytes(4).toString('hex')}`,
      outcome: 'deny',
      status: 403,
    });
    await publish(e);
    await publish(e, `${e.decision_id}-again`);
    await waitFor(
      async () => ((await list(`?subject=${e.subject}`)).body as Page).items.length === 1,
      15_000,
      'decision listed',
    );
    // Give the second delivery time to land, then check there is still exactly one.
    await new Promise((r) => setTimeout(r, 300));
    const page = (await list(`?subject=${e.subject}`)).body as Page;
    assert.equal(page.items.length, 1);
    assert.equal(page.next_cursor, null);
    const item = page.items[0];
    assert.deepEqual(Object.keys(item).sort(), DTO_FIELDS);
    assert.equal(item.decision_id, e.decision_id);
    assert.equal(item.outcome, 'deny');
    assert.deepEqual(item.bundle, e.bundle);
    assert.deepEqual(item.request, { ...e.request, query: null });
    assert.equal(item.call, null);
    assert.deepEqual(item.input, e.input);
    const one = await api.h.request('GET', `/v1/decisions/${e.decision_id}`, {
      token: api.auditor,
    });
    assert.equal(one.status, 200);
    assert.deepEqual(one.body, item);
  });

  void it('pages walk every decision newest first and end with a null cursor', async () => {
    const subject = `api-walk-${randomBytes(4).toString('hex')}`;
    const base = Date.now() - 60_000;
    const events = Array.from({ length: 12 }, (_, i) =>
      makeDecisionEvent({ subject, timestamp: new Date(base + i).toISOString() }),
    );
    for (const e of events) await publish(e);
    await waitFor(
      async () => ((await list(`?subject=${subject}&limit=500`)).body as Page).items.length === 12,
      15_000,
      'all listed',
    );
    const seen: unknown[] = [];
    let cursor: string | null = null;
    do {
      const res = await list(`?subject=${subject}&limit=5${cursor ? `&cursor=${cursor}` : ''}`);
      assert.equal(res.status, 200);
      const page = res.body as Page;
      seen.push(...page.items.map((i) => i.decision_id));
      cursor = page.next_cursor;
    } while (cursor);
    assert.deepEqual(
      seen,
      [...events].reverse().map((e) => e.decision_id),
    );
  });

  void it('filters by outcome, connection and time window over HTTP', async () => {
    const subject = `api-filter-${randomBytes(4).toString('hex')}`;
    const t0 = Date.now() - 10_000;
    const a = makeDecisionEvent({
      subject,
      connection: 'crm',
      outcome: 'allow',
      timestamp: new Date(t0).toISOString(),
    });
    const b = makeDecisionEvent({
      subject,
      connection: 'billing',
      outcome: 'deny',
      timestamp: new Date(t0 + 1000).toISOString(),
    });
    await publish(a);
    await publish(b);
    await waitFor(
      async () => ((await list(`?subject=${subject}`)).body as Page).items.length === 2,
      15_000,
      'both listed',
    );
    const ids = async (q: string) =>
      ((await list(`?subject=${subject}&${q}`)).body as Page).items.map((i) => i.decision_id);
    assert.deepEqual(await ids('outcome=deny'), [b.decision_id]);
    assert.deepEqual(await ids('connection=crm'), [a.decision_id]);
    assert.deepEqual(await ids(`to=${encodeURIComponent(new Date(t0 + 1000).toISOString())}`), [
      a.decision_id,
    ]);
    assert.deepEqual(await ids(`from=${encodeURIComponent(new Date(t0 + 1000).toISOString())}`), [
      b.decision_id,
    ]);
    assert.deepEqual(await ids('bundle_version=1&outcome=allow'), [a.decision_id]);
  });

  void it('an invalid parameter is a 400 JSON error that names the parameter', async () => {
    const cases: [string, string][] = [
      ['?limit=0', 'limit'],
      ['?limit=501', 'limit'],
      ['?outcome=maybe', 'outcome'],
      ['?from=yesterday', 'from'],
      ['?bundle_version=x', 'bundle_version'],
      ['?cursor=not-a-cursor', 'cursor'],
      ['?subjet=typo', 'subjet'],
      ['?outcome=allow&outcome=deny', 'outcome'],
    ];
    for (const [query, parameter] of cases) {
      const res = await list(query);
      assert.equal(res.status, 400, query);
      const body = res.body as ErrorBody;
      assert.equal(body.error.code, 'invalid_request', query);
      assert.ok(body.error.message.startsWith(`${parameter} `), `${query}: ${body.error.message}`);
    }
  });

  void it('an unknown decision is a 404 JSON error', async () => {
    const res = await api.h.request('GET', '/v1/decisions/00000000-0000-0000-0000-000000000000', {
      token: api.auditor,
    });
    assert.equal(res.status, 404);
    assert.equal((res.body as ErrorBody).error.code, 'not_found');
  });

  void it('readiness reports the decision consumer and /metrics exposes ingestion metrics', async () => {
    const ready = (await api.h.request('GET', '/readyz')).body as {
      components: Record<string, { state: string }>;
    };
    assert.equal(ready.components['decisions-consumer']?.state, 'ok');
    const metrics = (await api.h.request('GET', '/metrics')).text;
    for (const name of [
      'portcullis_control_plane_decision_events_stored_total',
      'portcullis_control_plane_decision_events_duplicate_total',
      'portcullis_control_plane_decision_events_malformed_total',
      'portcullis_control_plane_decision_consumer_lag',
      'portcullis_control_plane_decision_store_duration_seconds',
    ]) {
      assert.ok(metrics.includes(name), name);
    }
  });

  void it('the OpenAPI document describes the decision endpoints and DTOs', async () => {
    const doc = (await api.h.request('GET', '/docs-json')).body as {
      paths: Record<string, unknown>;
      components: { schemas: Record<string, { properties?: Record<string, unknown> }> };
    };
    assert.ok(doc.paths['/v1/decisions']);
    assert.ok(doc.paths['/v1/decisions/{decision_id}']);
    assert.deepEqual(
      Object.keys(doc.components.schemas.DecisionDto?.properties ?? {}).sort(),
      DTO_FIELDS,
    );
  });
}

describeOnEachDatabase('decision log API', 'decisions_api', decisionApiContract);

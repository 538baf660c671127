import { it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { CallRecord } from '@portcullis/contracts';
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

const CALL_FIELDS = [
  'approval',
  'bundle',
  'bytes_in',
  'bytes_out',
  'connection',
  'decision_id',
  'duration_ms',
  'enforcer_id',
  'error_code',
  'log_mask',
  'masked',
  'outcome',
  'protocol',
  'recorded',
  'request',
  'request_body',
  'response_body',
  'status',
  'subject',
  'timestamp',
  'upstream_status',
].sort();

const CALL: CallRecord = {
  bytes_in: 14,
  bytes_out: 61,
  upstream_status: 200,
  masked: { fields: 1, detectors: { email: 1 } },
  request_body: { encoding: 'utf8', data: '{"id":"c-42"}', bytes: 14, truncated: false },
  response_body: {
    encoding: 'utf8',
    data: '{"id":"c-42","email":"***","name":"Ada"}',
    bytes: 61,
    truncated: false,
  },
};

/** Recorded calls, end to end: JetStream → consumer → database → `GET /v1/calls`. */
function callApiContract(databaseUrl: () => Promise<string | undefined>): void {
  const api = decisionApiStack(databaseUrl);
  const { publish } = api;
  const get = (path: string, token = api.auditor) => api.h.request('GET', path, { token });
  const calls = async (query: string) => (await get(`/v1/calls${query}`)).body as Page;
  const listed = (subject: string, n: number) =>
    waitFor(
      async () => (await calls(`?subject=${subject}`)).items.length === n,
      15_000,
      `${n} call(s) of ${subject} listed`,
    );
  const unique = (prefix: string) => `${prefix}-${randomBytes(4).toString('hex')}`;

  void it('reading calls needs a token with the auditor role', async () => {
    assert.equal((await get('/v1/calls')).status, 200);
    assert.equal((await api.h.request('GET', '/v1/calls')).status, 401);
    const admin = await api.h.token('alice@example.com', ['policy-admin']);
    const forbidden = await get('/v1/calls', admin);
    assert.equal(forbidden.status, 403);
    assert.equal((forbidden.body as ErrorBody).error.code, 'forbidden');
    assert.equal((await get(`/v1/calls/${makeDecisionEvent().decision_id}`, admin)).status, 403);
  });

  void it('a published call record reaches both APIs field for field, once, even when delivered twice', async () => {
    const e = makeDecisionEvent({
      subject: unique('calls-once'),
      request: { method: 'POST', path: '/customers', query: 'fields=email' },
      metrics: { timer_eval_ns: 50_000, timer_total_ns: 3_500_000 },
      call: CALL,
      log_mask: { erased: ['/input/request/body'], masked: ['/call/response_body'] },
    });
    await publish(e);
    // A different message id gets past the stream's duplicate window: the database must dedupe.
    await publish(e, `${e.decision_id}-again`);
    await listed(e.subject ?? '', 1);
    await new Promise((r) => setTimeout(r, 300));
    const page = await calls(`?subject=${e.subject}`);
    assert.equal(page.items.length, 1);
    assert.equal(page.next_cursor, null);
    const item = page.items[0];
    assert.deepEqual(Object.keys(item).sort(), CALL_FIELDS);
    assert.deepEqual(item, {
      decision_id: e.decision_id,
      timestamp: e.timestamp,
      subject: e.subject,
      connection: 'crm',
      enforcer_id: 'enforcer-1',
      protocol: 'http',
      request: { method: 'POST', path: '/customers', query: 'fields=email' },
      outcome: 'allow',
      error_code: null,
      status: 200,
      upstream_status: 200,
      duration_ms: 3.5,
      bytes_in: 14,
      bytes_out: 61,
      bundle: e.bundle,
      masked: CALL.masked,
      log_mask: e.log_mask,
      approval: null,
      request_body: CALL.request_body,
      response_body: CALL.response_body,
      recorded: true,
    });
    const one = await get(`/v1/calls/${e.decision_id}`);
    assert.equal(one.status, 200);
    assert.deepEqual(one.body, item);
    const decision = (await get(`/v1/decisions/${e.decision_id}`)).body as Record<string, unknown>;
    assert.deepEqual(decision.call, CALL);
    assert.deepEqual(decision.log_mask, e.log_mask);
    assert.deepEqual(decision.request, e.request);
  });

  void it('an event without a call record (an older enforcer) still stores and lists in both APIs', async () => {
    const e = makeDecisionEvent({ subject: unique('calls-legacy') });
    await publish(e);
    await listed(e.subject ?? '', 1);
    const [item] = (await calls(`?subject=${e.subject}`)).items;
    assert.equal(item.recorded, false);
    assert.equal(item.bytes_in, null);
    assert.equal(item.response_body, null);
    assert.deepEqual(item.request, { ...e.request, query: null });
    const decisions = (await get(`/v1/decisions?subject=${e.subject}`)).body as Page;
    assert.deepEqual(
      decisions.items.map((d) => [d.decision_id, d.call, d.log_mask]),
      [[e.decision_id, null, null]],
    );
  });

  void it('filters by subject, connection, outcome and time window, and pages with the decision cursor', async () => {
    const subject = unique('calls-filter');
    const t0 = Date.now() - 10_000;
    const at = (s: number) => new Date(t0 + s * 1000).toISOString();
    const a = makeDecisionEvent({ subject, connection: 'crm', timestamp: at(0), call: CALL });
    const b = makeDecisionEvent({
      subject,
      connection: 'billing',
      outcome: 'deny',
      timestamp: at(1),
      call: { ...CALL, upstream_status: null, response_body: null, bytes_out: 0 },
    });
    const c = makeDecisionEvent({ subject, connection: 'crm', timestamp: at(2) });
    const other = makeDecisionEvent({ subject: unique('calls-other'), timestamp: at(1) });
    for (const e of [a, b, c, other]) await publish(e);
    await listed(subject, 3);
    const ids = async (q: string) =>
      (await calls(`?subject=${subject}&${q}`)).items.map((i) => i.decision_id);
    assert.deepEqual(await ids('connection=crm'), [c.decision_id, a.decision_id]);
    assert.deepEqual(await ids('outcome=deny'), [b.decision_id]);
    assert.deepEqual(await ids(`from=${encodeURIComponent(at(1))}`), [
      c.decision_id,
      b.decision_id,
    ]);
    assert.deepEqual(await ids(`to=${encodeURIComponent(at(1))}`), [a.decision_id]);
    assert.deepEqual(await ids('connection=crm&outcome=deny'), []);
    const first = await calls(`?subject=${subject}&limit=2`);
    assert.deepEqual(
      first.items.map((i) => i.decision_id),
      [c.decision_id, b.decision_id],
    );
    assert.ok(first.next_cursor);
    const rest = await calls(`?subject=${subject}&limit=2&cursor=${first.next_cursor}`);
    assert.deepEqual(
      rest.items.map((i) => i.decision_id),
      [a.decision_id],
    );
    assert.equal(rest.next_cursor, null);
  });

  void it('invalid parameters and ids are JSON errors naming the parameter, like /v1/decisions', async () => {
    for (const [query, parameter] of [
      ['?limit=0', 'limit'],
      ['?outcome=maybe', 'outcome'],
      ['?cursor=nope', 'cursor'],
      ['?subjet=typo', 'subjet'],
    ]) {
      const res = await get(`/v1/calls${query}`);
      assert.equal(res.status, 400, query);
      assert.ok((res.body as ErrorBody).error.message.startsWith(`${parameter} `), query);
    }
    assert.equal((await get('/v1/calls/not-an-id')).status, 400);
    const missing = await get('/v1/calls/00000000-0000-0000-0000-000000000000');
    assert.equal(missing.status, 404);
    assert.equal((missing.body as ErrorBody).error.code, 'not_found');
  });

  void it('the OpenAPI document describes the call endpoints and the call fields of decisions', async () => {
    const doc = (await api.h.request('GET', '/docs-json')).body as {
      paths: Record<string, unknown>;
      components: { schemas: Record<string, { properties?: Record<string, unknown> }> };
    };
    assert.ok(doc.paths['/v1/calls']);
    assert.ok(doc.paths['/v1/calls/{decision_id}']);
    assert.deepEqual(
      Object.keys(doc.components.schemas.CallDto?.properties ?? {}).sort(),
      CALL_FIELDS,
    );
    const decision = doc.components.schemas.DecisionDto?.properties ?? {};
    assert.ok('call' in decision && 'log_mask' in decision);
    assert.deepEqual(Object.keys(doc.components.schemas.CallRecordDto?.properties ?? {}).sort(), [
      'bytes_in',
      'bytes_out',
      'masked',
      'request_body',
      'response_body',
      'upstream_status',
    ]);
  });
}

describeOnEachDatabase('recorded calls API', 'calls_api', callApiContract);

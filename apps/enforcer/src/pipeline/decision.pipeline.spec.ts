import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseDecisionEvent, type DecisionEvent } from '@portcullis/contracts';
import { Masker } from '@portcullis/masking';
import { Logger } from '@portcullis/platform';
import { EnforcerMetrics } from '../metrics/enforcer.metrics';
import { DecisionPipeline } from './decision.pipeline';
import type {
  ActivePolicy,
  CallFacts,
  CapturedBody,
  EvaluablePolicy,
  PipelineRequest,
  PolicySource,
} from './decision.types';

const quiet = new Logger('test', 'error', () => undefined);

function setup(opts: { policy?: EvaluablePolicy | null; failMode?: 'closed' | 'open' } = {}) {
  const events: DecisionEvent[] = [];
  const metrics = new EnforcerMetrics();
  let active: ActivePolicy | null =
    opts.policy === null
      ? null
      : {
          bundle: 'default',
          version: 3,
          digest: 'a'.repeat(64),
          activatedAt: new Date().toISOString(),
          policy: opts.policy ?? { evaluate: () => ({ allow: true }) },
        };
  const source: PolicySource & { set(p: ActivePolicy | null): void } = {
    bundleName: 'default',
    current: () => active,
    set: (p) => (active = p),
  };
  const pipeline = new DecisionPipeline({
    enforcerId: 'e1',
    failMode: opts.failMode ?? 'closed',
    policies: source,
    sink: { enqueue: (e) => events.push(e) },
    metrics,
    logger: quiet,
    masker: new Masker(Buffer.alloc(32, 1)),
    recordMaxBytes: 64,
  });
  return { pipeline, events, metrics, source };
}

function call(over: Partial<PipelineRequest> = {}): PipelineRequest {
  return {
    decisionId: '00000000-0000-4000-8000-000000000001',
    protocol: 'http',
    startNs: process.hrtime.bigint(),
    receivedAt: Date.parse('2026-01-05T10:00:00.000Z'),
    sourceIp: '127.0.0.1',
    summary: { method: 'GET', path: '/customers' },
    connectionName: 'crm',
    connection: { name: 'crm', type: 'http', labels: { team: 'sales' } },
    identity: {
      ok: true,
      identity: {
        subject: 'fn-billing',
        issuer: 'http://iss',
        audience: ['portcullis-enforcer'],
        claims: { sub: 'fn-billing', team: 'billing' },
        expiresAt: new Date(),
      },
    },
    request: {
      method: 'GET',
      path: '/customers',
      query: {},
      headers: { accept: '*/*' },
      body: null,
    },
    ...over,
  };
}

async function counter(metrics: EnforcerMetrics, outcome: string, code: string): Promise<number> {
  const m = await metrics.decisions.get();
  return m.values.find((v) => v.labels.outcome === outcome && v.labels.code === code)?.value ?? 0;
}

describe('decision pipeline', () => {
  it('the policy sees identity, connection, request and context exactly as the contract says', () => {
    let seen: unknown;
    const { pipeline } = setup({
      policy: { evaluate: (input) => ((seen = input), { allow: true }) },
    });
    pipeline.decide(call());
    assert.deepEqual(seen, {
      identity: {
        subject: 'fn-billing',
        issuer: 'http://iss',
        audience: ['portcullis-enforcer'],
        claims: { sub: 'fn-billing', team: 'billing' },
      },
      connection: { name: 'crm', type: 'http', labels: { team: 'sales' } },
      request: {
        method: 'GET',
        path: '/customers',
        query: {},
        headers: { accept: '*/*' },
        body: null,
      },
      context: {
        time: '2026-01-05T10:00:00.000Z',
        time_ns: Date.parse('2026-01-05T10:00:00.000Z') * 1e6,
        enforcer_id: 'e1',
        source_ip: '127.0.0.1',
        request_id: '00000000-0000-4000-8000-000000000001',
      },
    });
  });

  it('an allow is forwarded and recorded with the bundle version that made it', async () => {
    const { pipeline, events, metrics } = setup();
    const d = pipeline.decide(call());
    assert.equal(d.forward, true);
    assert.equal(d.outcome, 'allow');
    pipeline.complete(d, { status: 200 });
    assert.equal(events.length, 1);
    const e = parseDecisionEvent(JSON.parse(JSON.stringify(events[0])));
    assert.equal(e.outcome, 'allow');
    assert.equal(e.status, 200);
    assert.deepEqual(e.bundle, { name: 'default', version: 3, digest: 'a'.repeat(64) });
    assert.equal(e.path, 'portcullis/decision');
    assert.equal(e.subject, 'fn-billing');
    assert.equal(e.connection, 'crm');
    assert.deepEqual(e.result, { allow: true, reasons: [] });
    assert.equal(typeof e.metrics.timer_eval_ns, 'number');
    assert.equal(await counter(metrics, 'allow', 'policy'), 1);
  });

  it('a deny carries the policy reasons and is not forwarded', () => {
    const { pipeline } = setup({
      policy: { evaluate: () => ({ allow: false, reasons: ['not in business hours'] }) },
    });
    const d = pipeline.decide(call());
    assert.equal(d.forward, false);
    assert.equal(d.outcome, 'deny');
    assert.equal(d.code, null);
    assert.deepEqual(d.reasons, ['not in business hours']);
  });

  it('an authentication failure is a recorded deny that never reaches the policy', async () => {
    let evaluated = false;
    const { pipeline, events, metrics } = setup({
      policy: { evaluate: () => ((evaluated = true), { allow: true }) },
    });
    const d = pipeline.decide(
      call({ identity: { ok: false, code: 'token_expired', message: 'token has expired' } }),
    );
    assert.equal(evaluated, false);
    assert.equal(d.outcome, 'deny');
    assert.equal(d.code, 'unauthenticated');
    pipeline.complete(d, { status: 401 });
    assert.equal(events[0].input, null);
    assert.equal(events[0].subject, null);
    assert.deepEqual(events[0].error, {
      code: 'unauthenticated',
      message: 'token_expired: token has expired',
    });
    assert.equal(await counter(metrics, 'deny', 'unauthenticated'), 1);
    // No policy saw it, so there is nothing to mask, and the event says so.
    assert.deepEqual(events[0].log_mask, { erased: [], masked: [] });
  });

  it('an unknown connection is a recorded deny', async () => {
    const { pipeline, events, metrics } = setup();
    const d = pipeline.decide(call({ connection: null, connectionName: 'nope' }));
    assert.equal(d.code, 'unknown_connection');
    assert.equal(d.forward, false);
    pipeline.complete(d, { status: 404 });
    assert.equal(events.length, 1);
    assert.equal(events[0].outcome, 'deny');
    assert.equal(events[0].connection, 'nope');
    assert.equal(events[0].error?.code, 'unknown_connection');
    assert.equal(await counter(metrics, 'deny', 'unknown_connection'), 1);
  });

  const failures: [string, EvaluablePolicy | null, string][] = [
    ['no policy loaded', null, 'no_policy'],
    [
      'a policy evaluation that throws',
      {
        evaluate: () => {
          throw new Error('wasm trap');
        },
      },
      'evaluation_failed',
    ],
    ['an undefined decision', { evaluate: () => undefined }, 'malformed_decision'],
    [
      'a decision whose allow is not a boolean',
      { evaluate: () => ({ allow: 'yes' }) },
      'malformed_decision',
    ],
    [
      'a decision whose reasons are not strings',
      { evaluate: () => ({ allow: false, reasons: [1] }) },
      'malformed_decision',
    ],
  ];
  for (const [what, policy, code] of failures) {
    it(`${what} fails closed as an error outcome (${code})`, () => {
      const { pipeline } = setup({ policy });
      const d = pipeline.decide(call());
      assert.equal(d.outcome, 'error');
      assert.equal(d.code, code);
      assert.equal(d.forward, false);
      assert.equal(d.failOpen, false);
    });
    it(`${what} is let through in fail-open mode, marked and counted`, async () => {
      const { pipeline, events, metrics } = setup({ policy, failMode: 'open' });
      const d = pipeline.decide(call());
      assert.equal(d.forward, true);
      assert.equal(d.failOpen, true);
      pipeline.complete(d, { status: 200 });
      assert.equal(events[0].outcome, 'error');
      assert.equal(events[0].result?.fail_open, true);
      assert.equal(events[0].error?.code, code);
      const m = await metrics.failOpen.get();
      assert.equal(m.values.find((v) => v.labels.code === code)?.value, 1);
    });
  }

  it('fail-open never lets an authentication failure through', () => {
    const { pipeline } = setup({ policy: null, failMode: 'open' });
    const d = pipeline.decide(
      call({ identity: { ok: false, code: 'token_missing', message: 'missing' } }),
    );
    assert.equal(d.forward, false);
  });

  it('a call keeps the policy it started with when the bundle swaps', () => {
    const { pipeline, source } = setup();
    const v3 = source.current()!;
    const d1 = pipeline.decide(call());
    source.set({
      ...v3,
      version: 4,
      digest: 'b'.repeat(64),
      policy: { evaluate: () => ({ allow: false }) },
    });
    const d2 = pipeline.decide(call());
    assert.equal(d1.bundle.version, 3);
    assert.equal(d1.outcome, 'allow');
    assert.equal(d2.bundle.version, 4);
    assert.equal(d2.outcome, 'deny');
  });

  it('an allowed call whose upstream failed is recorded as an error with upstream_failed', async () => {
    const { pipeline, events, metrics } = setup();
    const d = pipeline.decide(call());
    pipeline.complete(d, {
      status: 502,
      error: { code: 'upstream_failed', message: 'upstream unreachable (ECONNREFUSED)' },
    });
    assert.equal(events[0].outcome, 'error');
    assert.equal(events[0].error?.code, 'upstream_failed');
    assert.equal(await counter(metrics, 'error', 'upstream_failed'), 1);
  });

  it('time.now_ns inside the policy is the instant the call was received, as in the input', () => {
    let now: unknown;
    const { pipeline } = setup({
      policy: { evaluate: (_input, o) => ((now = o?.nowNs), { allow: true }) },
    });
    const d = pipeline.decide(call());
    assert.equal(now, BigInt(Date.parse('2026-01-05T10:00:00.000Z')) * 1_000_000n);
    assert.equal(
      Number(now) / 1e6,
      (d.input as { context: { time_ns: number } }).context.time_ns / 1e6,
    );
  });

  it('an internal failure is recorded as an error, never as a policy deny, and not forwarded', async () => {
    const { pipeline, events, metrics } = setup();
    const d = pipeline.internalError(call(), 'internal error');
    assert.equal(d.forward, false);
    pipeline.complete(d, { status: 500 });
    assert.equal(events[0].outcome, 'error');
    assert.equal(events[0].error?.code, 'internal_error');
    assert.equal(await counter(metrics, 'error', 'internal_error'), 1);
    parseDecisionEvent(JSON.parse(JSON.stringify(events[0])));
  });

  describe('obligations', () => {
    const facts = (over: Partial<CallFacts> = {}): CallFacts => ({
      bytesIn: 0,
      bytesOut: 0,
      upstreamStatus: 200,
      masked: null,
      requestBody: null,
      responseBody: null,
      erasedHeaders: [],
      ...over,
    });
    const jsonBody = (value: unknown): CapturedBody => {
      const data = Buffer.from(JSON.stringify(value));
      return {
        data,
        contentType: 'application/json',
        bytes: data.length,
        complete: true,
        masked: false,
      };
    };

    it('a valid mask obligation reaches the adapter as a parsed spec', () => {
      const { pipeline } = setup({
        policy: {
          evaluate: () => ({ allow: true, mask: { fields: ['$..ssn'], strategy: 'partial' } }),
        },
      });
      const d = pipeline.decide(call());
      assert.equal(d.forward, true);
      assert.equal(d.obligations.mask?.strategy, 'partial');
      assert.equal(d.obligations.mask?.fields.length, 1);
    });

    it('a malformed mask obligation is a malformed decision and nothing is forwarded', () => {
      const { pipeline } = setup({
        policy: { evaluate: () => ({ allow: true, mask: { detectors: ['horoscope'] } }) },
      });
      const d = pipeline.decide(call());
      assert.equal(d.forward, false);
      assert.equal(d.code, 'malformed_decision');
      assert.match(d.detail, /horoscope/);
    });

    it('a malformed record obligation is a malformed decision', () => {
      const { pipeline } = setup({
        policy: { evaluate: () => ({ allow: true, record: { request_body: 'yes' } }) },
      });
      const d = pipeline.decide(call());
      assert.equal(d.code, 'malformed_decision');
      assert.match(d.detail, /record\.request_body/);
    });

    it('an approval obligation holds the call, even when the policy also says allow', () => {
      const { pipeline } = setup({
        policy: {
          evaluate: () => ({
            allow: true,
            reasons: ['deleting needs a DBA'],
            approval: { required: true, reason: 'risky', approvers: ['group:dba'] },
          }),
        },
      });
      const d = pipeline.decide(call());
      assert.equal(d.forward, false);
      assert.equal(d.outcome, 'deny');
      assert.equal(d.code, null);
      assert.deepEqual(d.obligations.approval, {
        required: true,
        reason: 'risky',
        approvers: ['group:dba'],
        min_approvals: 1,
        ttl_seconds: 900,
      });
      const approved = pipeline.approved(d);
      assert.equal(approved.forward, true);
      assert.equal(approved.outcome, 'allow');
    });

    it('a malformed approval obligation is a malformed decision', () => {
      const { pipeline } = setup({
        policy: { evaluate: () => ({ allow: false, approval: { required: true } }) },
      });
      const d = pipeline.decide(call());
      assert.equal(d.forward, false);
      assert.equal(d.code, 'malformed_decision');
      assert.match(d.detail, /approvers/);
    });

    it('recorded request bodies are masked with the decision mask before they enter the event', () => {
      const { pipeline, events } = setup({
        policy: {
          evaluate: () => ({
            allow: true,
            mask: { fields: ['$.ssn'], detectors: ['credit_card'] },
            record: { request_body: true, response_body: false },
          }),
        },
      });
      const d = pipeline.decide(call());
      const body = jsonBody({ ssn: '123-45-6789', note: 'card 4111 1111 1111 1111' });
      pipeline.complete(d, {
        status: 200,
        call: facts({ bytesIn: body.bytes, requestBody: body }),
      });
      const recorded = events[0].call?.request_body;
      assert.ok(recorded);
      assert.ok(!recorded.data.includes('123-45-6789'), recorded.data);
      assert.ok(!recorded.data.includes('4111 1111 1111 1111'), recorded.data);
      assert.equal(events[0].call?.response_body, null, 'response body not asked for');
      assert.equal(events[0].call?.bytes_in, body.bytes);
      parseDecisionEvent(JSON.parse(JSON.stringify(events[0])));
    });

    it('bodies are not recorded unless the record obligation asks for them', () => {
      const { pipeline, events } = setup();
      const d = pipeline.decide(call());
      pipeline.complete(d, { status: 200, call: facts({ requestBody: jsonBody({ a: 1 }) }) });
      assert.equal(events[0].call?.request_body, null);
    });

    it('a recorded body is capped at the record limit and marked truncated', () => {
      const { pipeline, events } = setup({
        policy: { evaluate: () => ({ allow: true, record: { request_body: true } }) },
      });
      const d = pipeline.decide(call());
      const body = jsonBody({ text: 'x'.repeat(500) });
      pipeline.complete(d, { status: 200, call: facts({ requestBody: body }) });
      const recorded = events[0].call?.request_body;
      assert.equal(recorded?.data.length, 64);
      assert.equal(recorded?.truncated, true);
      assert.equal(recorded?.bytes, body.bytes);
    });

    it('the policy log_mask erases and masks event fields, and the event lists them', () => {
      const { pipeline, events } = setup({
        policy: {
          entrypoints: new Set(['portcullis/decision', 'portcullis/log_mask']),
          evaluate: (_input, o) =>
            o?.entrypoint === 'portcullis/log_mask'
              ? [
                  '/input/request/headers/accept',
                  {
                    op: 'detect',
                    path: '/input/request/body',
                    detectors: ['credit_card'],
                  },
                ]
              : { allow: true },
        },
      });
      const d = pipeline.decide(
        call({
          request: {
            method: 'POST',
            path: '/customers',
            query: {},
            headers: { accept: '*/*' },
            body: { card: '4111-1111-1111-1111' },
          },
        }),
      );
      pipeline.complete(d, { status: 200, call: facts({ erasedHeaders: ['authorization'] }) });
      const e = events[0];
      const text = JSON.stringify(e);
      assert.ok(!text.includes('4111-1111-1111-1111'), text);
      const headers = (e.input as { request: { headers: Record<string, string> } }).request.headers;
      assert.equal(headers.accept, undefined);
      assert.deepEqual(e.log_mask?.erased, [
        '/input/request/headers/authorization',
        '/input/request/headers/accept',
      ]);
      assert.ok(e.log_mask?.masked.some((p) => p.startsWith('/input/request/body')));
    });

    it('a log_mask that cannot be evaluated erases every body and the query, and is counted', async () => {
      const { pipeline, events, metrics } = setup({
        policy: {
          entrypoints: new Set(['portcullis/decision', 'portcullis/log_mask']),
          evaluate: (_input, o) => {
            if (o?.entrypoint === 'portcullis/log_mask') throw new Error('boom');
            return { allow: true, record: { request_body: true } };
          },
        },
      });
      const d = pipeline.decide(
        call({
          request: {
            method: 'POST',
            path: '/customers',
            query: { q: ['secret-ish'] },
            headers: {},
            body: { ssn: '123-45-6789' },
          },
        }),
      );
      pipeline.complete(d, {
        status: 200,
        call: facts({ requestBody: jsonBody({ ssn: '123-45-6789' }) }),
      });
      const text = JSON.stringify(events[0]);
      assert.ok(!text.includes('123-45-6789'), text);
      assert.ok(!text.includes('secret-ish'), text);
      assert.equal((await metrics.logMaskFailures.get()).values[0]?.value, 1);
    });

    it('without a policy log_mask, every detector still runs over the bodies and headers in the event', () => {
      const { pipeline, events } = setup();
      const d = pipeline.decide(
        call({
          request: {
            method: 'POST',
            path: '/customers',
            query: {},
            headers: { 'x-note': 'mail ada@example.com' },
            body: { card: '4111 1111 1111 1111' },
          },
        }),
      );
      pipeline.complete(d, { status: 200, call: facts() });
      const text = JSON.stringify(events[0]);
      assert.ok(!text.includes('4111 1111 1111 1111'), text);
      assert.ok(!text.includes('ada@example.com'), text);
      assert.ok(events[0].log_mask?.masked.includes('/input/request/body'), text);
    });

    it('a log_mask that would break the event contract is replaced by erasure, and the event survives', async () => {
      const { pipeline, events, metrics } = setup({
        policy: {
          entrypoints: new Set(['portcullis/decision', 'portcullis/log_mask']),
          evaluate: (_input, o) =>
            o?.entrypoint === 'portcullis/log_mask' ? ['/call/bytes_out'] : { allow: true },
        },
      });
      const d = pipeline.decide(
        call({
          request: {
            method: 'POST',
            path: '/x',
            query: {},
            headers: {},
            body: { ssn: '123-45-6789' },
          },
        }),
      );
      pipeline.complete(d, { status: 200, call: facts({ bytesOut: 12 }) });
      const parsed = parseDecisionEvent(JSON.parse(JSON.stringify(events[0])));
      assert.equal(parsed.call?.bytes_out, 12);
      assert.ok(!JSON.stringify(parsed).includes('123-45-6789'));
      assert.equal((await metrics.logMaskFailures.get()).values[0]?.value, 1);
    });

    it('a call forwarded by fail-open is masked by every detector: no decision is no licence', () => {
      const { pipeline } = setup({
        failMode: 'open',
        policy: {
          evaluate: () => {
            throw new Error('boom');
          },
        },
      });
      const d = pipeline.decide(call());
      assert.equal(d.forward, true);
      assert.equal(d.failOpen, true);
      assert.ok(d.obligations.mask);
      assert.equal(d.obligations.mask.detectors.length, 6);
    });
  });
});

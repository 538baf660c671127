import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseDecisionEvent, type DecisionEvent } from '@portcullis/contracts';
import { Logger } from '@portcullis/platform';
import { EnforcerMetrics } from '../metrics/enforcer.metrics';
import { DecisionPipeline } from './decision.pipeline';
import type {
  ActivePolicy,
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
  });

  it('an unknown connection is a recorded deny', () => {
    const { pipeline } = setup();
    const d = pipeline.decide(call({ connection: null, connectionName: 'nope' }));
    assert.equal(d.code, 'unknown_connection');
    assert.equal(d.forward, false);
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
});

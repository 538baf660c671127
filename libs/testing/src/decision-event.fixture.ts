import { randomUUID } from 'node:crypto';
import { DECISION_EVENT_SCHEMA, type DecisionEvent } from '@portcullis/contracts';

/**
 * A valid DecisionEvent as an enforcer would publish it, with a fresh decision id. `result`,
 * `reasons` and `status` follow `over.outcome` (an allow is 200, anything else 403 with a
 * reason); every field in `over` wins.
 */
export function decisionEventFixture(over: Partial<DecisionEvent> = {}): DecisionEvent {
  const allow = (over.outcome ?? 'allow') === 'allow';
  const reasons = () => (allow ? [] : ['not allowed']);
  return {
    schema: DECISION_EVENT_SCHEMA,
    decision_id: randomUUID(),
    timestamp: new Date().toISOString(),
    path: 'portcullis/decision',
    enforcer_id: 'enforcer-1',
    bundle: { name: 'default', version: 1, digest: 'a'.repeat(64) },
    connection: 'crm',
    protocol: 'http',
    subject: 'svc-billing',
    input: {
      identity: {
        subject: 'svc-billing',
        issuer: 'http://127.0.0.1:8900',
        audience: ['portcullis-enforcer'],
        claims: {},
      },
      request: { method: 'GET', path: '/customers', headers: { accept: 'application/json' } },
    },
    result: { allow, reasons: reasons() },
    outcome: 'allow',
    reasons: reasons(),
    error: null,
    status: allow ? 200 : 403,
    request: { method: 'GET', path: '/customers' },
    metrics: { timer_eval_ns: 120_000, timer_total_ns: 900_000 },
    ...over,
  };
}

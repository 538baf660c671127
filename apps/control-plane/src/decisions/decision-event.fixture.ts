import { randomUUID } from 'node:crypto';
import { DECISION_EVENT_SCHEMA, type DecisionEvent } from '@portcullis/contracts';

/** Test helper: a valid DecisionEvent as an enforcer would publish it, with overrides. */
export function makeDecisionEvent(overrides: Partial<DecisionEvent> = {}): DecisionEvent {
  const allow = (overrides.outcome ?? 'allow') === 'allow';
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
    result: { allow, reasons: allow ? [] : ['not allowed'] },
    outcome: 'allow',
    reasons: allow ? [] : ['not allowed'],
    error: null,
    status: allow ? 200 : 403,
    request: { method: 'GET', path: '/customers' },
    metrics: { timer_eval_ns: 120_000, timer_total_ns: 900_000 },
    ...overrides,
  };
}

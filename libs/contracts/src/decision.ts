import { NAME_PATTERN } from './nats';
import { Reader, isObject, type JsonObject } from './validation';

export const DECISION_PATH = 'portcullis/decision';

/** Every enforcer decision is exactly one of these (Envoy ext_authz: denied ≠ could not decide). */
export const OUTCOMES = ['allow', 'deny', 'error'] as const;
export type Outcome = (typeof OUTCOMES)[number];

export const PROTOCOLS = ['http', 'postgres'] as const;
export type Protocol = (typeof PROTOCOLS)[number];

/**
 * Stable codes for why a call was not decided by policy, or why the policy's answer could not be
 * used. They appear in caller-facing errors, decision events and metrics labels.
 */
export const DECISION_ERROR_CODES = [
  'unauthenticated', // token missing, malformed or failed verification (outcome deny, 401)
  'bad_request', // request cannot be canonicalized or is ambiguous (outcome deny, 400/413/431)
  'unknown_connection', // no connection with that name (outcome deny, 404)
  'no_policy', // no bundle loaded yet (outcome error, 503)
  'evaluation_failed', // the WASM evaluation threw (outcome error, 500)
  'malformed_decision', // the policy returned something that is not a decision document (error, 500)
  'upstream_failed', // allowed, but the upstream could not be reached or broke off (error, 502/504)
  'internal_error', // the enforcer itself failed while handling the call (error, 500)
] as const;
export type DecisionErrorCode = (typeof DECISION_ERROR_CODES)[number];

/**
 * The decision document a policy returns from `portcullis/decision` (schema v1). `allow` is
 * required; everything else is optional. Unknown fields are kept for forward compatibility
 * (obligations such as `mask`, `record`, `approval` arrive in later schema versions).
 */
export interface DecisionDocument {
  allow: boolean;
  reasons: string[];
  [obligation: string]: unknown;
}

/**
 * Obligation fields of the decision document that later schema versions define. An enforcer
 * that receives one it does not implement must not act as if it were absent (forwarding data
 * the policy said to mask, say), so {@link checkDecisionDocument} fails closed on them. Other
 * unknown fields are informational and kept.
 */
export const DECISION_OBLIGATIONS = ['mask', 'record', 'approval'] as const;
export type DecisionObligation = (typeof DECISION_OBLIGATIONS)[number];

/** Result of checking what the policy returned; a malformed document is an error outcome. */
export type DecisionDocumentCheck =
  { ok: true; document: DecisionDocument } | { ok: false; message: string };

export function checkDecisionDocument(
  value: unknown,
  supportedObligations: ReadonlySet<DecisionObligation> = new Set(),
): DecisionDocumentCheck {
  if (value === undefined) {
    return { ok: false, message: 'policy produced no decision (portcullis.decision is undefined)' };
  }
  if (!isObject(value)) return { ok: false, message: 'decision must be an object' };
  if (typeof value.allow !== 'boolean')
    return { ok: false, message: 'decision.allow must be a boolean' };
  let reasons: string[] = [];
  if (value.reasons !== undefined) {
    const raw = value.reasons;
    // Rego sets serialize to arrays; accept both and keep the author's order.
    if (!Array.isArray(raw) || !raw.every((x) => typeof x === 'string')) {
      return { ok: false, message: 'decision.reasons must be an array of strings' };
    }
    reasons = raw;
  }
  for (const obligation of DECISION_OBLIGATIONS) {
    const v = value[obligation];
    if (v !== undefined && v !== null && v !== false && !supportedObligations.has(obligation)) {
      return {
        ok: false,
        message: `decision carries the obligation "${obligation}", which this enforcer cannot honor`,
      };
    }
  }
  return { ok: true, document: { ...value, allow: value.allow, reasons } };
}

/** The input document the policy sees (see docs/policy-authors.md). */
export interface PolicyInput {
  identity: {
    subject: string;
    issuer: string;
    audience: string[];
    claims: JsonObject;
  } | null;
  connection: { name: string; type: Protocol; labels: Record<string, string> };
  request: JsonObject;
  context: {
    time: string;
    /** Same instant as `time`, in nanoseconds since the epoch (what time.* builtins take). */
    time_ns: number;
    enforcer_id: string;
    source_ip: string;
    request_id: string;
  };
}

export const DECISION_EVENT_SCHEMA = 'portcullis.decision-event/v1';

/**
 * One event per call an enforcer handled, published to the decision stream after the response
 * started (never on the response path). Field names follow OPA's decision log where they fit.
 * Credentials never appear: `input` carries the request with credentials already removed.
 */
export interface DecisionEvent {
  schema: typeof DECISION_EVENT_SCHEMA;
  decision_id: string;
  timestamp: string;
  path: string;
  enforcer_id: string;
  bundle: { name: string; version: number | null; digest: string | null };
  connection: string | null;
  protocol: Protocol;
  subject: string | null;
  /** The input document as evaluated; null when the call never reached evaluation. */
  input: JsonObject | null;
  /** The decision document as returned; null when there was none. */
  result: JsonObject | null;
  outcome: Outcome;
  reasons: string[];
  error: { code: DecisionErrorCode; message: string } | null;
  /** Protocol-level status returned to the caller (HTTP status for http). */
  status: number;
  request: { method: string; path: string };
  metrics: { timer_eval_ns: number | null; timer_total_ns: number };
}

export function parseDecisionEvent(value: unknown): DecisionEvent {
  const r = Reader.of('DecisionEvent', value);
  r.oneOf('schema', [DECISION_EVENT_SCHEMA]);
  const bundle = r.object('bundle');
  const request = r.object('request');
  const metrics = r.object('metrics');
  const error = r.optionalObject('error');
  const input = r.raw('input');
  const result = r.raw('result');
  if (input !== null && !isObject(input))
    throw new Error('DecisionEvent: input must be an object or null');
  if (result !== null && !isObject(result))
    throw new Error('DecisionEvent: result must be an object or null');
  return {
    schema: DECISION_EVENT_SCHEMA,
    decision_id: r.string('decision_id', { pattern: /^[0-9a-f-]{36}$/ }),
    timestamp: r.timestamp('timestamp'),
    path: r.string('path', { max: 256 }),
    enforcer_id: r.string('enforcer_id', { pattern: NAME_PATTERN }),
    bundle: {
      name: bundle.string('name', { pattern: NAME_PATTERN }),
      version: bundle.optionalInteger('version'),
      digest: bundle.optionalString('digest'),
    },
    connection: r.optionalString('connection'),
    protocol: r.oneOf('protocol', PROTOCOLS),
    subject: r.optionalString('subject'),
    input,
    result,
    outcome: r.oneOf('outcome', OUTCOMES),
    reasons: r.stringArray('reasons'),
    error: error
      ? {
          code: error.oneOf('code', DECISION_ERROR_CODES),
          message: error.string('message', { max: 2048 }),
        }
      : null,
    status: r.integer('status', { min: 0 }),
    request: {
      method: request.string('method', { max: 32 }),
      path: request.string('path', { max: 8192 }),
    },
    metrics: {
      timer_eval_ns: metrics.optionalInteger('timer_eval_ns'),
      timer_total_ns: metrics.integer('timer_total_ns', { min: 0 }),
    },
  };
}

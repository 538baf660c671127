import { NAME_PATTERN } from './nats';
import { ContractViolation, Reader, isObject, type JsonObject } from './validation';

/** The policy entrypoint that decides a call. */
export const DECISION_PATH = 'portcullis/decision';

/** The optional policy entrypoint naming what to erase or mask in a call's decision event. */
export const LOG_MASK_PATH = 'portcullis/log_mask';

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
  'masking_failed', // allowed, but the response could not be masked as the policy said (error, 502)
  'connection_unavailable', // the connection exists but its credentials are not usable here yet (error, 503)
  'approval_pending', // the policy requires a human approval that is not granted yet (deny, 202)
  'approval_invalid', // the approval the caller presented cannot be used for this call (deny, 403)
  'approval_unavailable', // the control plane could not be asked for an approval (error, 503)
] as const;
export type DecisionErrorCode = (typeof DECISION_ERROR_CODES)[number];

/**
 * The decision document a policy returns from `portcullis/decision` (schema v1). `allow` is
 * required; the obligations `mask`, `record` and `approval` are optional. Other unknown fields
 * are kept for forward compatibility.
 */
export interface DecisionDocument {
  allow: boolean;
  reasons: string[];
  [obligation: string]: unknown;
}

/**
 * Obligation fields of the decision document. An enforcer that receives one it does not
 * implement (an older enforcer meeting a newer policy) must not act as if it were absent (forwarding data
 * the policy said to mask, say), so {@link checkDecisionDocument} fails closed on them. Other
 * unknown fields are informational and kept.
 */
export const DECISION_OBLIGATIONS = ['mask', 'record', 'approval'] as const;
export type DecisionObligation = (typeof DECISION_OBLIGATIONS)[number];

/**
 * The `record` obligation: which bodies the call's audit record keeps (after masking, within the
 * enforcer's size cap). Absent or false means neither.
 */
export interface RecordObligation {
  request_body: boolean;
  response_body: boolean;
}

/** Validates a `record` obligation; returns a message naming the bad field otherwise. */
export function parseRecordObligation(
  value: unknown,
): { ok: true; record: RecordObligation } | { ok: false; message: string } {
  if (value === undefined || value === null || value === false) {
    return { ok: true, record: { request_body: false, response_body: false } };
  }
  if (value === true) return { ok: true, record: { request_body: true, response_body: true } };
  if (!isObject(value)) return { ok: false, message: 'decision.record must be an object' };
  const out: RecordObligation = { request_body: false, response_body: false };
  for (const key of Object.keys(value)) {
    if (key !== 'request_body' && key !== 'response_body') {
      return { ok: false, message: `decision.record.${key} is not a known field` };
    }
    const v = value[key];
    if (v !== undefined && typeof v !== 'boolean') {
      return { ok: false, message: `decision.record.${key} must be a boolean` };
    }
    out[key] = v === true;
  }
  return { ok: true, record: out };
}

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
  /** `query` is the canonical query string as forwarded (credential parameters redacted), or null. */
  request: { method: string; path: string; query?: string | null };
  metrics: { timer_eval_ns: number | null; timer_total_ns: number };
  /** The call's audit facts; absent only in events from enforcers older than this field. */
  call?: CallRecord;
  /** What decision-log masking erased or masked in this event before it left the enforcer. */
  log_mask?: LogMaskReport;
  /** The approval request this call created, waited for or used (JIT approval). */
  approval?: { id: string; status: string };
}

/**
 * Who called what and what came back, beyond the decision itself: bytes moved each way and,
 * when the policy's `record` obligation asked for them, the bodies after masking (UTF-8 text,
 * or base64 for binary) capped at the enforcer's record limit.
 */
export interface CallRecord {
  /** Request body bytes received from the caller. */
  bytes_in: number;
  /** Response body bytes sent to the caller (after masking). */
  bytes_out: number;
  /** Upstream response status, or null when nothing was forwarded or no answer came. */
  upstream_status: number | null;
  /** What response masking replaced: field-path hits and detector hits by detector name. */
  masked: { fields: number; detectors: Record<string, number> } | null;
  request_body: RecordedBody | null;
  response_body: RecordedBody | null;
}

export interface RecordedBody {
  encoding: 'utf8' | 'base64';
  data: string;
  /** Size of the whole body; `data` holds at most the record cap of it. */
  bytes: number;
  truncated: boolean;
}

/** JSON pointers (RFC 6901, rooted at the event: `/input/...`, `/result/...`, `/call/...`). */
export interface LogMaskReport {
  erased: string[];
  masked: string[];
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
    throw new ContractViolation('DecisionEvent', 'input', 'must be an object or null');
  if (result !== null && !isObject(result))
    throw new ContractViolation('DecisionEvent', 'result', 'must be an object or null');
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
      ...optionalQuery(request),
    },
    metrics: {
      timer_eval_ns: metrics.optionalInteger('timer_eval_ns'),
      timer_total_ns: metrics.integer('timer_total_ns', { min: 0 }),
    },
    ...optionalCall(r),
    ...optionalLogMask(r),
    ...optionalApproval(r),
  };
}

function optionalQuery(request: Reader): { query?: string | null } {
  return request.raw('query') === undefined ? {} : { query: request.optionalString('query') };
}

function optionalCall(r: Reader): { call?: CallRecord } {
  const c = r.optionalObject('call');
  if (c === null) return {};
  const masked = c.optionalObject('masked');
  const detectors = masked?.raw('detectors');
  if (detectors !== undefined && !isObject(detectors)) {
    throw new ContractViolation('DecisionEvent', 'call.masked.detectors', 'must be an object');
  }
  const counts: Record<string, number> = {};
  for (const [name, n] of Object.entries(detectors ?? {})) {
    if (!Number.isInteger(n) || (n as number) < 0) {
      throw new ContractViolation(
        'DecisionEvent',
        `call.masked.detectors.${name}`,
        'must be a count',
      );
    }
    counts[name] = n as number;
  }
  return {
    call: {
      bytes_in: c.integer('bytes_in', { min: 0 }),
      bytes_out: c.integer('bytes_out', { min: 0 }),
      upstream_status: c.optionalInteger('upstream_status'),
      masked: masked ? { fields: masked.integer('fields', { min: 0 }), detectors: counts } : null,
      request_body: recordedBody(c.optionalObject('request_body')),
      response_body: recordedBody(c.optionalObject('response_body')),
    },
  };
}

function recordedBody(b: Reader | null): RecordedBody | null {
  if (b === null) return null;
  return {
    encoding: b.oneOf('encoding', ['utf8', 'base64'] as const),
    data: b.string('data', { max: 4 * 1_048_576 }),
    bytes: b.integer('bytes', { min: 0 }),
    truncated: b.boolean('truncated'),
  };
}

function optionalApproval(r: Reader): { approval?: { id: string; status: string } } {
  const a = r.optionalObject('approval');
  if (a === null) return {};
  return { approval: { id: a.string('id', { max: 64 }), status: a.string('status', { max: 32 }) } };
}

function optionalLogMask(r: Reader): { log_mask?: LogMaskReport } {
  const m = r.optionalObject('log_mask');
  if (m === null) return {};
  return { log_mask: { erased: m.stringArray('erased'), masked: m.stringArray('masked') } };
}

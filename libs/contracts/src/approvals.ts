import { createHash } from 'node:crypto';
import { NAME_PATTERN } from './nats';
import { ContractViolation, Reader, isObject } from './validation';

/**
 * Just-in-time approval over NATS request-reply. The enforcer asks, the control plane (a
 * `@nestjs/microservices` NATS handler in a queue group, so replicas share the work) answers.
 * Message bodies are the plain JSON below, no framework envelope, validated on both sides.
 */
export const APPROVAL_SUBJECTS = {
  /** {@link ApprovalCreateRequest} → {@link ApprovalReply}: store a pending request (idempotent per decision_id). */
  create: 'portcullis.approvals.create',
  /** {@link ApprovalLookupRequest} → {@link ApprovalReply}: the current state of one request. */
  get: 'portcullis.approvals.get',
  /** {@link ApprovalConsumeRequest} → {@link ApprovalReply}: use a granted approval, atomically, once. */
  consume: 'portcullis.approvals.consume',
  /** Prefix of core-NATS notices `<prefix>.<approval_id>` carrying an {@link ApprovalState} on every change. */
  changedPrefix: 'portcullis.approvals.changed',
} as const;

/** Queue group every control-plane replica joins for the approval subjects. */
export const APPROVAL_QUEUE_GROUP = 'portcullis-control-plane';

export function approvalChangedSubject(approvalId: string): string {
  return `${APPROVAL_SUBJECTS.changedPrefix}.${approvalId}`;
}

export const APPROVAL_STATUSES = ['pending', 'approved', 'denied', 'expired', 'consumed'] as const;
export type ApprovalStatus = (typeof APPROVAL_STATUSES)[number];

/** Defaults when the policy's approval obligation leaves them out. */
export const APPROVAL_DEFAULTS = { minApprovals: 1, ttlSeconds: 900, maxTtlSeconds: 86_400 };

/**
 * The `approval` obligation of a decision document: escalate instead of deny. `approvers` are
 * `group:<name>` (matched against the approver token's groups claim) or `user:<subject>`.
 */
export interface ApprovalObligation {
  required: true;
  reason: string;
  approvers: string[];
  min_approvals: number;
  ttl_seconds: number;
}

const APPROVER = /^(group|user):[^\s]{1,256}$/;

/**
 * Validates `decision.approval`. Absent, null, false or `{required: false}` mean no approval
 * (null). Anything malformed is a message naming the field: the decision is then malformed and
 * nothing is forwarded.
 */
export function parseApprovalObligation(
  value: unknown,
): { ok: true; approval: ApprovalObligation | null } | { ok: false; message: string } {
  if (value === undefined || value === null || value === false) return { ok: true, approval: null };
  if (!isObject(value)) return { ok: false, message: 'decision.approval must be an object' };
  if (value.required === false) return { ok: true, approval: null };
  if (value.required !== true) {
    return { ok: false, message: 'decision.approval.required must be a boolean' };
  }
  const reason = value.reason ?? '';
  if (typeof reason !== 'string' || reason.length > 1024) {
    return {
      ok: false,
      message: 'decision.approval.reason must be a string of at most 1024 characters',
    };
  }
  const approvers = value.approvers;
  if (!Array.isArray(approvers) || approvers.length === 0 || approvers.length > 64) {
    return { ok: false, message: 'decision.approval.approvers must name 1 to 64 approvers' };
  }
  for (const [i, a] of approvers.entries()) {
    if (typeof a !== 'string' || !APPROVER.test(a)) {
      return {
        ok: false,
        message: `decision.approval.approvers[${i}] must be "group:<name>" or "user:<subject>"`,
      };
    }
  }
  const min = value.min_approvals ?? APPROVAL_DEFAULTS.minApprovals;
  if (!Number.isInteger(min) || (min as number) < 1 || (min as number) > 16) {
    return {
      ok: false,
      message: 'decision.approval.min_approvals must be an integer from 1 to 16',
    };
  }
  const ttl = value.ttl_seconds ?? APPROVAL_DEFAULTS.ttlSeconds;
  if (
    !Number.isInteger(ttl) ||
    (ttl as number) < 1 ||
    (ttl as number) > APPROVAL_DEFAULTS.maxTtlSeconds
  ) {
    return {
      ok: false,
      message: `decision.approval.ttl_seconds must be an integer from 1 to ${APPROVAL_DEFAULTS.maxTtlSeconds}`,
    };
  }
  return {
    ok: true,
    approval: {
      required: true,
      reason,
      approvers: [...new Set(approvers as string[])].sort(),
      min_approvals: min as number,
      ttl_seconds: ttl as number,
    },
  };
}

/**
 * What identifies "the same operation": a retry must match it exactly to use an approval. The
 * caller is issuer and subject together: the same `sub` from another issuer is someone else.
 */
export interface FingerprintParts {
  /** The verified token's issuer. */
  issuer: string;
  subject: string;
  connection: string;
  method: string;
  /** Canonical path, as the policy saw it. */
  path: string;
  /** Canonical raw query string as forwarded, or null. */
  query: string | null;
  /** The request body bytes (empty when none). */
  body: Uint8Array;
}

/**
 * sha256 (hex) over issuer, subject, connection, method, canonical path and query, and the
 * sha256 of the body, as one JSON array, so no field can bleed into the next.
 */
export function approvalFingerprint(p: FingerprintParts): string {
  const bodyHash = createHash('sha256').update(p.body).digest('hex');
  return createHash('sha256')
    .update(
      JSON.stringify([p.issuer, p.subject, p.connection, p.method, p.path, p.query, bodyHash]),
    )
    .digest('hex');
}

/**
 * sha256 (hex) over who may approve and how many must: the sorted, de-duplicated `approvers` and
 * `min_approvals`, as one JSON array. The enforcer sends it with create and with every consume,
 * computed from the decision of that very call, so an approval granted under one requirement is
 * refused (`requirement_changed`) once the policy asks for another, and a create whose
 * `approvers` do not produce the digest it claims is refused as malformed.
 */
export function approvalRequirementDigest(
  obligation: Pick<ApprovalObligation, 'approvers' | 'min_approvals'>,
): string {
  const approvers = [...new Set(obligation.approvers)].sort();
  return createHash('sha256')
    .update(JSON.stringify([approvers, obligation.min_approvals]))
    .digest('hex');
}

export const APPROVAL_CREATE_SCHEMA = 'portcullis.approval-create/v1';

/** Enforcer → control plane: a call needs a human. Bodies in `request` are already masked. */
export interface ApprovalCreateRequest {
  schema: typeof APPROVAL_CREATE_SCHEMA;
  /** The escalated call's decision id; creating twice with the same id returns the same request. */
  decision_id: string;
  enforcer_id: string;
  requester: { subject: string; issuer: string };
  connection: string;
  request: { method: string; path: string; query: string | null; body: unknown };
  fingerprint: string;
  approval: ApprovalObligation;
  /** {@link approvalRequirementDigest} of `approval`; the control plane checks they agree. */
  requirement: string;
  bundle: { name: string; version: number | null };
}

/** Enforcer → control plane: the current state of a request (held calls poll with it). */
export interface ApprovalLookupRequest {
  approval_id: string;
}

/** Enforcer → control plane: use a granted approval for this exact call, once. */
export interface ApprovalConsumeRequest {
  approval_id: string;
  /** Who retries (subject and issuer of the verified token): must be the requester. */
  subject: string;
  issuer: string;
  fingerprint: string;
  /** {@link approvalRequirementDigest} of this call's own decision: must be the stored one. */
  requirement: string;
  /** The decision id of the call that uses it (recorded as consumed_by). */
  decision_id: string;
  enforcer_id: string;
}

/** One approval request as the enforcer needs to know it. */
export interface ApprovalState {
  approval_id: string;
  status: ApprovalStatus;
  expires_at: string;
  approvals: number;
  min_approvals: number;
}

/** Why a consume (or create/get) was refused; stable codes the enforcer maps to its answer. */
export const APPROVAL_ERROR_CODES = [
  'not_found',
  'not_approved', // still pending
  'denied',
  'expired',
  'already_used',
  'fingerprint_mismatch', // a different operation (method, path, query, body, connection)
  'subject_mismatch', // a different caller (subject or issuer)
  'requirement_changed', // the policy now asks for other approvers or another count
  'too_many_pending', // create: the requester has APPROVAL_MAX_PENDING_PER_REQUESTER pending already
  'invalid_request', // the message broke this contract
  'unavailable', // the control plane could not reach its store
] as const;
export type ApprovalErrorCode = (typeof APPROVAL_ERROR_CODES)[number];

/** Control plane → enforcer, for every approval subject. */
export type ApprovalReply =
  | { ok: true; approval: ApprovalState }
  | { ok: false; error: { code: ApprovalErrorCode; message: string } };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const HEX_SHA256 = /^[0-9a-f]{64}$/;

export function isApprovalId(value: string): boolean {
  return UUID.test(value);
}

export function parseApprovalCreateRequest(value: unknown): ApprovalCreateRequest {
  const r = Reader.of('ApprovalCreateRequest', value);
  r.oneOf('schema', [APPROVAL_CREATE_SCHEMA]);
  const requester = r.object('requester');
  const request = r.object('request');
  const bundle = r.object('bundle');
  const obligation = parseApprovalObligation(r.raw('approval'));
  if (!obligation.ok)
    throw new ContractViolation('ApprovalCreateRequest', 'approval', obligation.message);
  if (obligation.approval === null) {
    throw new ContractViolation('ApprovalCreateRequest', 'approval', 'must be required');
  }
  const body = request.raw('body');
  const requirement = r.string('requirement', { pattern: HEX_SHA256 });
  if (requirement !== approvalRequirementDigest(obligation.approval)) {
    // A forged or stale digest must not let `approvers` differ from what consume will check.
    throw new ContractViolation(
      'ApprovalCreateRequest',
      'requirement',
      'must be the digest of approval.approvers and approval.min_approvals',
    );
  }
  return {
    schema: APPROVAL_CREATE_SCHEMA,
    decision_id: r.string('decision_id', { pattern: UUID }),
    enforcer_id: r.string('enforcer_id', { pattern: NAME_PATTERN }),
    requester: {
      subject: requester.string('subject', { max: 1024 }),
      issuer: requester.string('issuer', { max: 1024 }),
    },
    connection: r.string('connection', { pattern: NAME_PATTERN }),
    request: {
      method: request.string('method', { max: 32 }),
      path: request.string('path', { max: 8192 }),
      query: request.optionalString('query'),
      body: body === undefined ? null : body,
    },
    fingerprint: r.string('fingerprint', { pattern: HEX_SHA256 }),
    approval: obligation.approval,
    requirement,
    bundle: {
      name: bundle.string('name', { pattern: NAME_PATTERN }),
      version: bundle.optionalInteger('version'),
    },
  };
}

export function parseApprovalLookupRequest(value: unknown): ApprovalLookupRequest {
  const r = Reader.of('ApprovalLookupRequest', value);
  return { approval_id: r.string('approval_id', { pattern: UUID }) };
}

export function parseApprovalConsumeRequest(value: unknown): ApprovalConsumeRequest {
  const r = Reader.of('ApprovalConsumeRequest', value);
  return {
    approval_id: r.string('approval_id', { pattern: UUID }),
    subject: r.string('subject', { max: 1024 }),
    issuer: r.string('issuer', { max: 1024 }),
    fingerprint: r.string('fingerprint', { pattern: HEX_SHA256 }),
    requirement: r.string('requirement', { pattern: HEX_SHA256 }),
    decision_id: r.string('decision_id', { pattern: UUID }),
    enforcer_id: r.string('enforcer_id', { pattern: NAME_PATTERN }),
  };
}

export function parseApprovalState(value: unknown): ApprovalState {
  const r = Reader.of('ApprovalState', value);
  return {
    approval_id: r.string('approval_id', { pattern: UUID }),
    status: r.oneOf('status', APPROVAL_STATUSES),
    expires_at: r.timestamp('expires_at'),
    approvals: r.integer('approvals', { min: 0 }),
    min_approvals: r.integer('min_approvals', { min: 1 }),
  };
}

export function parseApprovalReply(value: unknown): ApprovalReply {
  const r = Reader.of('ApprovalReply', value);
  if (r.boolean('ok')) return { ok: true, approval: parseApprovalState(r.raw('approval')) };
  const e = r.object('error');
  return {
    ok: false,
    error: {
      code: e.oneOf('code', APPROVAL_ERROR_CODES),
      message: e.string('message', { max: 2048 }),
    },
  };
}

import {
  DECISION_EVENT_SCHEMA,
  DECISION_PATH,
  checkDecisionDocument,
  parseApprovalObligation,
  parseRecordObligation,
  type DecisionErrorCode,
  type DecisionEvent,
  type DecisionObligation,
  type JsonObject,
  type PolicyInput,
} from '@portcullis/contracts';
import { DETECTORS, parseMaskObligation, type Masker, type MaskSpec } from '@portcullis/masking';
import { errorMessage, type Logger } from '@portcullis/platform';
import { CallRecorder } from './call.recorder';
import { DecisionLogMasker } from './decision-log.masker';
import type { FailMode } from '../config/enforcer.config';
import type { EnforcerMetrics } from '../metrics/enforcer.metrics';
import type {
  ActivePolicy,
  CallCompletion,
  CallMeta,
  Decision,
  DecisionSink,
  Obligations,
  PipelineRequest,
  PolicySource,
} from './decision.types';

/**
 * Everything the pipeline needs to decide and record a call: the enforcer id, the fail mode,
 * where the active policy comes from and where events go.
 */
export interface DecisionPipelineOptions {
  enforcerId: string;
  failMode: FailMode;
  policies: PolicySource;
  sink: DecisionSink;
  metrics: EnforcerMetrics;
  logger: Logger;
  /** Masks recorded bodies and decision-log fields; keyed for the `hash` strategy. */
  masker: Masker;
  /** Cap on each body a call record keeps. */
  recordMaxBytes: number;
}

/** Obligations this enforcer honours (see checkDecisionDocument). */
const SUPPORTED_OBLIGATIONS: ReadonlySet<DecisionObligation> = new Set([
  'mask',
  'record',
  'approval',
]);

const NO_OBLIGATIONS: Obligations = {
  mask: null,
  record: { request_body: false, response_body: false },
  approval: null,
};

/**
 * A call forwarded without a decision (fail-open) has no obligations from the policy, so it gets
 * the strictest masking the enforcer knows: every detector, redacted. Failing open is about
 * availability, never about letting data out unmasked.
 */
const FAIL_OPEN_OBLIGATIONS: Obligations = (() => {
  const mask = parseMaskObligation({ detectors: [...DETECTORS], strategy: 'redact' });
  if (!mask.ok) throw new Error(mask.message);
  return { ...NO_OBLIGATIONS, mask: mask.spec };
})();

/** Codes an adapter may turn a decision into after the policy decided (see `fail`). */
type AdapterCode = Extract<
  DecisionErrorCode,
  'connection_unavailable' | 'approval_pending' | 'approval_invalid' | 'approval_unavailable'
>;

/** Error codes that mean "the policy could not decide"; only these may fail open. */
const UNDECIDED: ReadonlySet<DecisionErrorCode> = new Set([
  'no_policy',
  'evaluation_failed',
  'malformed_decision',
]);

/**
 * The protocol-agnostic decision pipeline: identity → input → evaluate → obligations → record.
 * `decide` is synchronous so a call evaluates against exactly the policy it picked up, however
 * often the bundle swaps meanwhile. `complete` records the call once the adapter knows how it
 * ended, off the response path.
 */
export class DecisionPipeline {
  private readonly recorder: CallRecorder;
  private readonly logMasker: DecisionLogMasker;

  constructor(private readonly opts: DecisionPipelineOptions) {
    this.recorder = new CallRecorder(opts.masker, opts.recordMaxBytes);
    this.logMasker = new DecisionLogMasker(opts.masker, opts.metrics, opts.logger);
  }

  /** A call refused before identity could even be considered (malformed or ambiguous protocol input). */
  reject(meta: CallMeta, message: string): Decision {
    return this.refused(meta, 'bad_request', message, null);
  }

  /** A call the enforcer failed to handle through its own fault: outcome error, never forwarded. */
  internalError(meta: CallMeta, message: string): Decision {
    return {
      ...this.refused(meta, 'bad_request', message, null),
      outcome: 'error',
      code: 'internal_error',
    };
  }

  /**
   * Turns an allowed decision into an error the adapter found before forwarding (the connection's
   * credentials are not usable here, say): never forwarded, whatever the fail mode.
   */
  fail(decision: Decision, code: AdapterCode, message: string): Decision {
    const outcome = code === 'approval_pending' || code === 'approval_invalid' ? 'deny' : 'error';
    if (outcome === 'error') {
      this.opts.logger.warn('call not forwarded', {
        decision_id: decision.meta.decisionId,
        code,
        detail: truncate(message, 512),
      });
    }
    return { ...decision, outcome, code, forward: false, message, detail: message };
  }

  /** A call the policy escalated, now allowed because an approval was consumed for it. */
  approved(decision: Decision): Decision {
    return {
      ...decision,
      outcome: 'allow',
      code: null,
      forward: true,
      message: 'allowed by approval',
      detail: 'allowed by approval',
    };
  }

  decide(req: PipelineRequest): Decision {
    const meta: CallMeta = req;
    if (!req.identity.ok) {
      return this.refused(meta, 'unauthenticated', req.identity.message, null, req.identity.code);
    }
    const identity = req.identity.identity;
    if (req.connection === null) {
      return this.refused(
        meta,
        'unknown_connection',
        `no connection named "${req.connectionName ?? ''}"`,
        identity.subject,
      );
    }
    // One read of the active policy per call: a swap after this line does not affect this call.
    const active = this.opts.policies.current();
    const input: PolicyInput = {
      identity: {
        subject: identity.subject,
        issuer: identity.issuer,
        audience: identity.audience,
        claims: identity.claims,
      },
      connection: {
        name: req.connection.name,
        type: req.connection.type,
        labels: req.connection.labels,
      },
      request: req.request,
      context: {
        time: new Date(req.receivedAt).toISOString(),
        time_ns: req.receivedAt * 1_000_000,
        enforcer_id: this.opts.enforcerId,
        source_ip: req.sourceIp,
        request_id: req.decisionId,
      },
    };
    if (active === null) {
      return this.undecided(
        meta,
        'no_policy',
        'no policy is loaded yet',
        'no bundle version has been loaded',
        null,
        identity.subject,
        input,
        null,
      );
    }
    const t0 = process.hrtime.bigint();
    let raw: unknown;
    try {
      // time.now_ns() inside the policy is the instant in the input, so a recorded decision replays.
      raw = active.policy.evaluate(input, { nowNs: BigInt(req.receivedAt) * 1_000_000n });
    } catch (err) {
      const evalNs = Number(process.hrtime.bigint() - t0);
      this.opts.metrics.evaluationSeconds.observe(evalNs / 1e9);
      return this.undecided(
        meta,
        'evaluation_failed',
        'policy evaluation failed',
        errorMessage(err),
        active,
        identity.subject,
        input,
        evalNs,
      );
    }
    const evalNs = Number(process.hrtime.bigint() - t0);
    this.opts.metrics.evaluationSeconds.observe(evalNs / 1e9);
    const check = checkDecisionDocument(raw, SUPPORTED_OBLIGATIONS);
    const obligations = check.ok ? parseObligations(check.document) : check;
    if (!check.ok || !obligations.ok) {
      return this.undecided(
        meta,
        'malformed_decision',
        'policy returned a malformed decision',
        check.ok ? (obligations as { message: string }).message : check.message,
        active,
        identity.subject,
        input,
        evalNs,
      );
    }
    const document = check.document as JsonObject;
    // An approval requirement holds the call whatever `allow` says: only a human can release it.
    const allow = check.document.allow && obligations.obligations.approval === null;
    return {
      meta,
      outcome: allow ? 'allow' : 'deny',
      code: null,
      forward: allow,
      failOpen: false,
      message: allow
        ? 'allowed'
        : obligations.obligations.approval
          ? 'approval required'
          : 'denied by policy',
      detail: allow ? 'allowed' : 'denied by policy',
      reasons: check.document.reasons,
      document,
      bundle: bundleOf(active, this.opts.policies.bundleName),
      subject: identity.subject,
      input,
      evalNs,
      obligations: obligations.obligations,
      policy: active,
    };
  }

  /**
   * Records the call: counts it and hands its decision event to the sink. Call exactly once per
   * decision, when the protocol-level status is known.
   */
  complete(decision: Decision, completion: CallCompletion): DecisionEvent {
    const totalNs = Number(process.hrtime.bigint() - decision.meta.startNs);
    const upstreamError = completion.error ?? null;
    const outcome = upstreamError ? 'error' : decision.outcome;
    const code = upstreamError ? upstreamError.code : decision.code;
    this.opts.metrics.decisions.inc({ outcome, code: code ?? 'policy' });
    if (decision.failOpen && decision.code) this.opts.metrics.failOpen.inc({ code: decision.code });
    let result: JsonObject | null = decision.document;
    if (decision.failOpen) result = { ...(result ?? {}), fail_open: true };
    const error =
      upstreamError ??
      (decision.code ? { code: decision.code, message: truncate(decision.detail, 2048) } : null);
    const facts = completion.call;
    const event: DecisionEvent = {
      schema: DECISION_EVENT_SCHEMA,
      decision_id: decision.meta.decisionId,
      timestamp: new Date(decision.meta.receivedAt).toISOString(),
      path: DECISION_PATH,
      enforcer_id: this.opts.enforcerId,
      bundle: decision.bundle,
      connection: decision.meta.connectionName,
      protocol: decision.meta.protocol,
      subject: decision.subject,
      input: decision.input as unknown as JsonObject | null,
      result,
      outcome,
      reasons: decision.reasons,
      error: error ? { code: error.code, message: truncate(error.message, 2048) } : null,
      status: completion.status,
      request: {
        method: truncate(decision.meta.summary.method, 32),
        path: truncate(decision.meta.summary.path, 8192),
        query: decision.meta.summary.query ?? null,
      },
      metrics: { timer_eval_ns: decision.evalNs, timer_total_ns: totalNs },
      ...(facts?.approval ? { approval: facts.approval } : {}),
      ...(facts
        ? {
            call: this.recorder.record(
              facts,
              decision.obligations.record,
              decision.obligations.mask,
            ),
          }
        : {}),
    };
    const masked = this.logMasker.apply(event, decision, facts?.erasedHeaders ?? []);
    this.opts.sink.enqueue(masked);
    return masked;
  }

  private refused(
    meta: CallMeta,
    code: Extract<DecisionErrorCode, 'bad_request' | 'unauthenticated' | 'unknown_connection'>,
    message: string,
    subject: string | null,
    authCode?: string,
  ): Decision {
    return {
      meta,
      outcome: 'deny',
      code,
      forward: false,
      failOpen: false,
      message,
      detail: authCode ? `${authCode}: ${message}` : message,
      reasons: [],
      document: null,
      bundle: bundleOf(this.opts.policies.current(), this.opts.policies.bundleName),
      subject,
      input: null,
      evalNs: null,
      obligations: NO_OBLIGATIONS,
      policy: null,
    };
  }

  private undecided(
    meta: CallMeta,
    code: Extract<DecisionErrorCode, 'no_policy' | 'evaluation_failed' | 'malformed_decision'>,
    message: string,
    detail: string,
    active: ActivePolicy | null,
    subject: string,
    input: PolicyInput,
    evalNs: number | null,
  ): Decision {
    const failOpen = this.opts.failMode === 'open' && UNDECIDED.has(code);
    if (failOpen) {
      this.opts.logger.warn('failing open', { decision_id: meta.decisionId, code });
    } else if (code !== 'no_policy') {
      this.opts.logger.error('policy could not decide', {
        decision_id: meta.decisionId,
        code,
        detail: truncate(detail, 512),
      });
    }
    return {
      meta,
      outcome: 'error',
      code,
      forward: failOpen,
      failOpen,
      message,
      detail,
      reasons: [],
      document: null,
      bundle: bundleOf(active, this.opts.policies.bundleName),
      subject,
      input,
      evalNs,
      obligations: failOpen ? FAIL_OPEN_OBLIGATIONS : NO_OBLIGATIONS,
      policy: active,
    };
  }
}

/** Validates the obligations a policy decision carries; a bad one makes the decision malformed. */
function parseObligations(
  document: JsonObject,
): { ok: true; obligations: Obligations } | { ok: false; message: string } {
  const record = parseRecordObligation(document.record);
  if (!record.ok) return record;
  const approval = parseApprovalObligation(document.approval);
  if (!approval.ok) return approval;
  let mask: MaskSpec | null = null;
  if (document.mask !== undefined && document.mask !== null && document.mask !== false) {
    const parsed = parseMaskObligation(document.mask);
    if (!parsed.ok) return parsed;
    mask = parsed.spec;
  }
  return {
    ok: true,
    obligations: { mask, record: record.record, approval: approval.approval },
  };
}

function bundleOf(active: ActivePolicy | null, name: string): Decision['bundle'] {
  return active
    ? { name: active.bundle, version: active.version, digest: active.digest }
    : { name, version: null, digest: null };
}

function truncate(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

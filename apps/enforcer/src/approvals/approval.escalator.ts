import {
  APPROVAL_CREATE_SCHEMA,
  approvalRequirementDigest,
  isApprovalId,
  type ApprovalErrorCode,
  type ApprovalObligation,
  type ApprovalReply,
  type ApprovalState,
} from '@portcullis/contracts';
import { DETECTORS, type Masker, type MaskSpec } from '@portcullis/masking';
import type { Logger } from '@portcullis/platform';
import type { Decision } from '../pipeline/decision.types';
import { ApprovalUnavailableError, type ApprovalClient } from './approval.client';

/** A call whose decision requires a human approval, as a protocol adapter hands it over. */
export interface EscalationRequest {
  decision: Decision;
  approval: ApprovalObligation;
  connection: string;
  /** See approvalFingerprint in libs/contracts: what a retry must match exactly. */
  fingerprint: string;
  /** The canonical request for the approvers; `body` is masked here before it leaves. */
  request: { method: string; path: string; query: string | null; body: unknown };
  /** The approval id the caller presented to use (a retry), or null for a new request. */
  presentedId: string | null;
  /** How long the caller is willing to be held for a decision (0: answer at once). */
  waitMs: number;
  /** Aborted when the caller goes away: stop holding, and never use an approval for nobody. */
  signal?: AbortSignal;
}

/**
 * Where an escalation ended. `approved` means an approval was consumed for this very call,
 * which may now be forwarded; everything else is answered without forwarding.
 */
export type Escalation =
  | { kind: 'approved'; approval: ApprovalState }
  | { kind: 'pending'; approval: ApprovalState }
  | { kind: 'refused'; approvalId: string | null; code: ApprovalErrorCode; message: string }
  | { kind: 'unavailable'; approvalId: string | null; message: string };

/**
 * The enforcer's half of just-in-time approval, protocol-agnostic: create (or look up) the
 * approval request, optionally hold the call until a human decides, and consume a granted
 * approval atomically for exactly this call. Both carry the requirement digest of this call's
 * own decision, so an approval granted under another requirement is never used. Fails closed:
 * any doubt is `unavailable`; refusals the control plane names (including codes this enforcer
 * has no special case for) are `refused`.
 */
export class ApprovalEscalator {
  constructor(
    private readonly client: ApprovalClient,
    private readonly masker: Masker,
    private readonly enforcerId: string,
    private readonly logger: Logger,
  ) {}

  /**
   * What approvers are shown: the decision's field paths and strategy, plus every detector.
   * A decision's mask is written for the caller's response, not for a request body seen by
   * people outside the call, so detectors always run on top of whatever it names.
   */
  static approverMask(decisionMask: MaskSpec | null): MaskSpec {
    return Object.freeze({
      fields: decisionMask?.fields ?? Object.freeze([]),
      detectors: Object.freeze([...DETECTORS]),
      strategy: decisionMask?.strategy ?? 'redact',
    });
  }

  async escalate(req: EscalationRequest): Promise<Escalation> {
    try {
      if (req.presentedId !== null) return await this.use(req, req.presentedId);
      return await this.request(req);
    } catch (err) {
      if (!(err instanceof ApprovalUnavailableError)) throw err;
      this.logger.warn('approval escalation failed closed', {
        decision_id: req.decision.meta.decisionId,
        error: err.message,
      });
      return { kind: 'unavailable', approvalId: req.presentedId, message: err.message };
    }
  }

  private async request(req: EscalationRequest): Promise<Escalation> {
    const identity = req.decision.input?.identity;
    if (!identity) throw new Error('an escalated decision always has an identity');
    const created = await this.client.create({
      schema: APPROVAL_CREATE_SCHEMA,
      decision_id: req.decision.meta.decisionId,
      enforcer_id: this.enforcerId,
      requester: { subject: identity.subject, issuer: identity.issuer },
      connection: req.connection,
      request: {
        ...req.request,
        body: this.masker.maskJson(
          req.request.body,
          ApprovalEscalator.approverMask(req.decision.obligations.mask),
        ).value,
      },
      fingerprint: req.fingerprint,
      approval: req.approval,
      requirement: approvalRequirementDigest(req.approval),
      bundle: { name: req.decision.bundle.name, version: req.decision.bundle.version },
    });
    if (!created.ok) return failed(created, null);
    const approval = created.approval;
    if (req.waitMs <= 0) return { kind: 'pending', approval };
    const settled = await this.client.waitWhilePending(
      approval.approval_id,
      req.waitMs,
      req.signal,
    );
    // A caller who left must not burn the approval: its retry will use it.
    if (settled === null || req.signal?.aborted) return { kind: 'pending', approval };
    if (settled.status === 'approved') return this.use(req, approval.approval_id);
    return {
      kind: 'refused',
      approvalId: approval.approval_id,
      code:
        settled.status === 'denied'
          ? 'denied'
          : settled.status === 'expired'
            ? 'expired'
            : 'already_used',
      message: `approval ${settled.status}`,
    };
  }

  private async use(req: EscalationRequest, approvalId: string): Promise<Escalation> {
    if (!isApprovalId(approvalId)) {
      return {
        kind: 'refused',
        approvalId: null,
        code: 'not_found',
        message: 'Portcullis-Approval must be an approval id (a UUID)',
      };
    }
    const identity = req.decision.input?.identity;
    if (!identity) throw new Error('an escalated decision always has an identity');
    const consumed = await this.client.consume({
      approval_id: approvalId,
      subject: identity.subject,
      issuer: identity.issuer,
      fingerprint: req.fingerprint,
      requirement: approvalRequirementDigest(req.approval),
      decision_id: req.decision.meta.decisionId,
      enforcer_id: this.enforcerId,
    });
    if (!consumed.ok) return failed(consumed, approvalId);
    return { kind: 'approved', approval: consumed.approval };
  }
}

function failed(
  reply: Extract<ApprovalReply, { ok: false }>,
  approvalId: string | null,
): Escalation {
  if (reply.error.code === 'unavailable' || reply.error.code === 'invalid_request') {
    return { kind: 'unavailable', approvalId, message: reply.error.message };
  }
  return { kind: 'refused', approvalId, code: reply.error.code, message: reply.error.message };
}

import {
  APPROVAL_CREATE_SCHEMA,
  isApprovalId,
  type ApprovalErrorCode,
  type ApprovalObligation,
  type ApprovalReply,
  type ApprovalState,
} from '@portcullis/contracts';
import { DETECTORS, parseMaskObligation, type Masker, type MaskSpec } from '@portcullis/masking';
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
 * approval atomically for exactly this call. Fails closed: any doubt is `unavailable`.
 */
export class ApprovalEscalator {
  private readonly defaultMask: MaskSpec;

  constructor(
    private readonly client: ApprovalClient,
    private readonly masker: Masker,
    private readonly enforcerId: string,
    private readonly logger: Logger,
  ) {
    const spec = parseMaskObligation({ detectors: [...DETECTORS] });
    if (!spec.ok) throw new Error(spec.message);
    this.defaultMask = spec.spec;
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
      // Approvers see the body masked as the decision says, or by every detector when it says nothing.
      request: {
        ...req.request,
        body: this.masker.maskJson(
          req.request.body,
          req.decision.obligations.mask ?? this.defaultMask,
        ).value,
      },
      fingerprint: req.fingerprint,
      approval: req.approval,
      bundle: { name: req.decision.bundle.name, version: req.decision.bundle.version },
    });
    if (!created.ok) return failed(created, null);
    const approval = created.approval;
    if (req.waitMs <= 0) return { kind: 'pending', approval };
    const settled = await this.client.waitWhilePending(approval.approval_id, req.waitMs);
    if (settled === null) return { kind: 'pending', approval };
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
    const subject = req.decision.input?.identity?.subject;
    if (subject === undefined) throw new Error('an escalated decision always has an identity');
    const consumed = await this.client.consume({
      approval_id: approvalId,
      subject,
      fingerprint: req.fingerprint,
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

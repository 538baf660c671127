import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type {
  ApprovalConsumeRequest,
  ApprovalCreateRequest,
  ApprovalErrorCode,
  ApprovalLookupRequest,
  ApprovalReply,
} from '@portcullis/contracts';
import type { Principal } from '../auth/principal.model';
import { CONTROL_PLANE_CONFIG, type ControlPlaneConfig } from '../config/control-plane.config';
import { NotFoundError } from '../errors/domain.error';
import { ApprovalChangeNotifier, type ApprovalActor } from './approval-change.notifier';
import type { ApprovalListInput } from './approval-request.validator';
import { ApprovalStateRules } from './approval-state.rules';
import type { ApprovalDetailDto, ApprovalPageDto, ApprovalStatusDto } from './approval.dto';
import type { ApprovalEntity } from './approval.entity';
import { ApprovalMapper } from './approval.mapper';
import { ApprovalRepository } from './approval.repository';
import { approvalCursorCodec } from './approval-cursor.codec';
import { ApproverMatcher } from './approver.matcher';

/**
 * Approval requests as enforcers and readers see them: create (idempotent per decision id, a
 * still-pending request for the same call reused, at most APPROVAL_MAX_PENDING_PER_REQUESTER
 * pending per requester), state, consume (exactly once, by the same issuer and subject, for the
 * same operation under the same requirement), and the REST reads (auditors read all, approvers
 * only the requests that name them). Approvals and denials are ApprovalVoteService's. Replies to
 * enforcers are values, never exceptions: the NATS handler turns only unexpected failures into
 * `unavailable`.
 */
@Injectable()
export class ApprovalService {
  constructor(
    @Inject(CONTROL_PLANE_CONFIG) private readonly config: ControlPlaneConfig,
    private readonly approvals: ApprovalRepository,
    private readonly notifier: ApprovalChangeNotifier,
  ) {}

  async create(req: ApprovalCreateRequest): Promise<ApprovalReply> {
    const now = Date.now();
    const row: ApprovalEntity = {
      id: randomUUID(),
      decisionId: req.decision_id,
      status: 'pending',
      requesterSubject: req.requester.subject,
      requesterIssuer: req.requester.issuer,
      connection: req.connection,
      enforcerId: req.enforcer_id,
      bundleName: req.bundle.name,
      bundleVersion: req.bundle.version,
      method: req.request.method,
      path: req.request.path,
      query: req.request.query,
      body: req.request.body === null ? null : JSON.stringify(req.request.body),
      fingerprint: req.fingerprint,
      requirement: req.requirement,
      reason: req.approval.reason,
      approvers: JSON.stringify(req.approval.approvers),
      minApprovals: req.approval.min_approvals,
      approvalsCount: 0,
      createdAtMs: now,
      expiresAtMs: now + req.approval.ttl_seconds * 1000,
      resolvedAtMs: null,
      consumedAtMs: null,
      consumedByDecision: null,
      consumedByEnforcer: null,
    };
    const actor: ApprovalActor = {
      kind: 'caller',
      subject: req.requester.subject,
      issuer: req.requester.issuer,
      enforcerId: req.enforcer_id,
      decisionId: req.decision_id,
    };
    const stored = await this.approvals.insertRequested(
      row,
      req.approval.approvers,
      this.maxPendingPerRequester,
      this.notifier.records('requested', actor, now),
    );
    switch (stored.kind) {
      case 'too_many_pending':
        return refusal(
          'too_many_pending',
          `the caller already has ${stored.pending} pending approval requests (the limit); wait until approvers decide them or they expire`,
        );
      case 'created':
        this.notifier.announce('requested', stored.row, actor, now);
        break;
      case 'existing':
      case 'reused':
        break;
    }
    return { ok: true, approval: ApprovalMapper.state(stored.row, Date.now()) };
  }

  async state(req: ApprovalLookupRequest): Promise<ApprovalReply> {
    const row = await this.approvals.findById(req.approval_id);
    if (!row) return refusal('not_found', `no approval request ${req.approval_id}`);
    return { ok: true, approval: ApprovalMapper.state(row, Date.now()) };
  }

  async consume(req: ApprovalConsumeRequest): Promise<ApprovalReply> {
    const now = Date.now();
    const actor: ApprovalActor = {
      kind: 'caller',
      subject: req.subject,
      issuer: req.issuer,
      enforcerId: req.enforcer_id,
      decisionId: req.decision_id,
    };
    const consumed = await this.approvals.consume(
      req.approval_id,
      {
        subject: req.subject,
        issuer: req.issuer,
        fingerprint: req.fingerprint,
        requirement: req.requirement,
        decisionId: req.decision_id,
        enforcerId: req.enforcer_id,
      },
      now,
      this.notifier.records('consumed', actor, now),
    );
    if (consumed) {
      this.notifier.announce('consumed', consumed, actor, now);
      return { ok: true, approval: ApprovalMapper.state(consumed, now) };
    }
    const row = await this.approvals.findById(req.approval_id);
    const code = ApprovalStateRules.consumeRefusal(
      row,
      {
        subject: req.subject,
        issuer: req.issuer,
        fingerprint: req.fingerprint,
        requirement: req.requirement,
        decisionId: req.decision_id,
      },
      now,
    );
    // This very call consumed it before (its enforcer asked again after a lost reply).
    if (code === null && row) return { ok: true, approval: ApprovalMapper.state(row, now) };
    return refusal(code ?? 'not_found', consumeMessage(code ?? 'not_found', req.approval_id));
  }

  /** Auditors see every request; an approver only those whose `approvers` name them. */
  async list(input: ApprovalListInput, principal: Principal): Promise<ApprovalPageDto> {
    const now = Date.now();
    const { rows, more } = await this.approvals.page({
      ...input,
      nowMs: now,
      ...(isAuditor(principal)
        ? {}
        : { approverEntries: ApproverMatcher.entriesNaming(approverOf(principal)) }),
    });
    const last = rows[rows.length - 1];
    return {
      items: rows.map((r) => ApprovalMapper.summary(r, now, this.config.publicUrl)),
      next_cursor:
        more && last
          ? approvalCursorCodec.encode({ createdAtMs: last.createdAtMs, id: last.id })
          : null,
    };
  }

  /**
   * One request with its (masked) body: for auditors, and for approvers it names. Any other
   * approver is told it does not exist, as if it did not, so ids cannot be probed.
   */
  async detail(id: string, principal: Principal): Promise<ApprovalDetailDto> {
    const row = await this.approvals.findById(id);
    if (!row || !this.mayReview(row, principal))
      throw new NotFoundError(`no approval request ${id} for this approver`);
    const events = await this.approvals.events(id);
    return ApprovalMapper.detail(row, events, Date.now(), this.config.publicUrl);
  }

  /**
   * The status for the requester (same subject, from this control plane's issuer), an approver
   * the request names, or an auditor. Anyone else is told it does not exist, so ids cannot be probed.
   */
  async status(id: string, principal: Principal): Promise<ApprovalStatusDto> {
    const row = await this.approvals.findById(id);
    const issuer = principal.issuer ?? this.config.auth.issuer;
    const mayRead =
      row !== null &&
      ((row.requesterSubject === principal.subject && row.requesterIssuer === issuer) ||
        this.mayReview(row, principal));
    if (!row || !mayRead) throw new NotFoundError(`no approval request ${id} for this caller`);
    return ApprovalMapper.status(row, Date.now());
  }

  /** Auditors review every request; approvers those whose `approvers` name them. */
  private mayReview(row: ApprovalEntity, principal: Principal): boolean {
    if (isAuditor(principal)) return true;
    return (
      principal.roles.includes('approver') &&
      ApproverMatcher.matches(JSON.parse(row.approvers) as string[], approverOf(principal))
    );
  }

  /** APPROVAL_MAX_PENDING_PER_REQUESTER. */
  private get maxPendingPerRequester(): number {
    return this.config.approvals.maxPendingPerRequester;
  }
}

function isAuditor(p: Principal): boolean {
  return p.roles.includes('auditor');
}

function approverOf(p: Principal): { subject: string; groups: string[] } {
  return { subject: p.subject, groups: p.groups ?? [] };
}

function refusal(code: ApprovalErrorCode, message: string): ApprovalReply {
  return { ok: false, error: { code, message } };
}

function consumeMessage(code: ApprovalErrorCode, id: string): string {
  switch (code) {
    case 'not_found':
      return `no approval request ${id}`;
    case 'not_approved':
      return `approval request ${id} is still pending`;
    case 'denied':
      return `approval request ${id} was denied`;
    case 'expired':
      return `approval request ${id} has expired`;
    case 'already_used':
      return `approval ${id} was already used by another call`;
    case 'fingerprint_mismatch':
      return `approval ${id} was granted for a different operation (method, path, query, body or connection)`;
    case 'subject_mismatch':
      return `approval ${id} was requested by a different caller`;
    case 'requirement_changed':
      return `approval ${id} was granted under different approvers or approval count than the policy requires now; request a new approval`;
    case 'too_many_pending':
    case 'invalid_request':
    case 'unavailable':
      return `approval ${id} cannot be used now`;
  }
}

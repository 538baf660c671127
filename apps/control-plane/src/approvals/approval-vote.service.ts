import { Inject, Injectable } from '@nestjs/common';
import type { Principal } from '../auth/principal.model';
import { CONTROL_PLANE_CONFIG, type ControlPlaneConfig } from '../config/control-plane.config';
import { NotFoundError } from '../errors/domain.error';
import { ApprovalChangeNotifier, type ApprovalActor } from './approval-change.notifier';
import { ApprovalStateRules } from './approval-state.rules';
import type { ApprovalDetailDto } from './approval.dto';
import type { ApprovalEntity } from './approval.entity';
import { ApproverRefusedError, ApprovalStateConflictError } from './approval.errors';
import { ApprovalMapper } from './approval.mapper';
import { ApprovalRepository } from './approval.repository';
import { ApproverMatcher, type ApproverIdentity } from './approver.matcher';

/**
 * Approvers acting on a request. Approve: the approver must be listed (user or group), must not
 * be the requester, and counts once; the request is approved at `min_approvals` distinct
 * approvals. Deny: any listed approver, ends the request at once. Both only while it is pending
 * and unexpired (409 otherwise). The database re-checks the state in the same statement that
 * changes it, so concurrent approvers and replicas cannot double-count or revive a request.
 */
@Injectable()
export class ApprovalVoteService {
  constructor(
    @Inject(CONTROL_PLANE_CONFIG) private readonly config: ControlPlaneConfig,
    private readonly approvals: ApprovalRepository,
    private readonly notifier: ApprovalChangeNotifier,
  ) {}

  async approve(
    id: string,
    principal: Principal,
    comment: string | null,
  ): Promise<ApprovalDetailDto> {
    const row = await this.existing(id);
    const who = this.identity(principal);
    const refused = ApproverMatcher.mayApprove(approversOf(row), requesterOf(row), who);
    if (refused === 'self_approval')
      throw new ApproverRefusedError(refused, 'the requester cannot approve their own request');
    if (refused === 'not_an_approver')
      throw new ApproverRefusedError(refused, 'you are not among the approvers of this request');
    const now = Date.now();
    this.assertPending(row, now);
    const actor: ApprovalActor = {
      kind: 'approver',
      subject: who.subject,
      issuer: who.issuer,
      comment,
    };
    const result = await this.approvals.vote(
      id,
      who.subject,
      now,
      this.notifier.records('approved', actor, now),
    );
    switch (result.kind) {
      case 'already_voted':
        throw new ApprovalStateConflictError(
          'already_approved',
          'you already approved this request; another approver must approve',
        );
      case 'not_pending':
        return this.changedMeanwhile(id);
      case 'counted':
        this.notifier.announce('approved', result.row, actor, now);
        return this.detail(result.row);
    }
  }

  async deny(id: string, principal: Principal, comment: string): Promise<ApprovalDetailDto> {
    const row = await this.existing(id);
    const who = this.identity(principal);
    if (ApproverMatcher.mayDeny(approversOf(row), who) !== null)
      throw new ApproverRefusedError(
        'not_an_approver',
        'you are not among the approvers of this request',
      );
    const now = Date.now();
    this.assertPending(row, now);
    const actor: ApprovalActor = {
      kind: 'approver',
      subject: who.subject,
      issuer: who.issuer,
      comment,
    };
    const denied = await this.approvals.deny(id, now, this.notifier.records('denied', actor, now));
    if (!denied) return this.changedMeanwhile(id);
    this.notifier.announce('denied', denied, actor, now);
    return this.detail(denied);
  }

  /** Tokens the control plane accepts all come from AUTH_ISSUER. */
  private identity(p: Principal): ApproverIdentity {
    return {
      subject: p.subject,
      issuer: p.issuer ?? this.config.auth.issuer,
      groups: p.groups ?? [],
    };
  }

  private assertPending(row: ApprovalEntity, now: number): void {
    const status = ApprovalStateRules.effectiveStatus(row, now);
    if (status === 'expired')
      throw new ApprovalStateConflictError('approval_expired', 'the request has expired');
    if (status !== 'pending')
      throw new ApprovalStateConflictError(
        'approval_not_pending',
        `the request is already ${status}`,
      );
  }

  /**
   * The vote lost a race with another writer: says what the request became (expired, approved,
   * denied …), or that it changed, when a reload still shows it pending.
   */
  private async changedMeanwhile(id: string): Promise<never> {
    this.assertPending(await this.existing(id), Date.now());
    throw new ApprovalStateConflictError('approval_not_pending', 'the request changed; reload it');
  }

  private async existing(id: string): Promise<ApprovalEntity> {
    const row = await this.approvals.findById(id);
    if (!row) throw new NotFoundError(`no approval request ${id}`);
    return row;
  }

  private async detail(row: ApprovalEntity): Promise<ApprovalDetailDto> {
    return ApprovalMapper.detail(
      row,
      await this.approvals.events(row.id),
      Date.now(),
      this.config.publicUrl,
    );
  }
}

function approversOf(row: ApprovalEntity): string[] {
  return JSON.parse(row.approvers) as string[];
}

function requesterOf(row: ApprovalEntity): { subject: string; issuer: string } {
  return { subject: row.requesterSubject, issuer: row.requesterIssuer };
}

import type { ApprovalState } from '@portcullis/contracts';
import type { ApprovalEventEntity } from './approval-event.entity';
import { ApprovalStateRules } from './approval-state.rules';
import {
  ApprovalDetailDto,
  ApprovalStatusDto,
  ApprovalSummaryDto,
  type ApprovalEventDto,
} from './approval.dto';
import type { ApprovalEntity } from './approval.entity';

/** Webhook event names: `approval.<step>`. */
export type ApprovalWebhookEvent =
  | 'approval.requested'
  | 'approval.approved'
  | 'approval.denied'
  | 'approval.expired'
  | 'approval.consumed';

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Rows to the shapes that leave the control plane (NATS state, REST DTOs, webhook payloads),
 * field by field. Status is always the effective one at `nowMs`.
 */
export class ApprovalMapper {
  static statusPath(id: string): string {
    return `/v1/approvals/${id}/status`;
  }

  static state(row: ApprovalEntity, nowMs: number): ApprovalState {
    return {
      approval_id: row.id,
      status: ApprovalStateRules.effectiveStatus(row, nowMs),
      expires_at: iso(row.expiresAtMs),
      approvals: row.approvalsCount,
      min_approvals: row.minApprovals,
    };
  }

  static status(row: ApprovalEntity, nowMs: number): ApprovalStatusDto {
    const dto = new ApprovalStatusDto();
    dto.approval_id = row.id;
    dto.status = ApprovalStateRules.effectiveStatus(row, nowMs);
    dto.expires_at = iso(row.expiresAtMs);
    return dto;
  }

  static summary(row: ApprovalEntity, nowMs: number, publicUrl: string): ApprovalSummaryDto {
    return ApprovalMapper.fillSummary(new ApprovalSummaryDto(), row, nowMs, publicUrl);
  }

  static detail(
    row: ApprovalEntity,
    events: readonly ApprovalEventEntity[],
    nowMs: number,
    publicUrl: string,
  ): ApprovalDetailDto {
    const dto = ApprovalMapper.fillSummary(new ApprovalDetailDto(), row, nowMs, publicUrl);
    dto.request = {
      method: row.method,
      path: row.path,
      query: row.query,
      body: row.body === null ? null : (JSON.parse(row.body) as unknown),
    };
    dto.decision_id = row.decisionId;
    dto.enforcer_id = row.enforcerId;
    dto.bundle = { name: row.bundleName, version: row.bundleVersion };
    dto.fingerprint = row.fingerprint;
    dto.approvals_given = events
      .filter((e) => e.type === 'approved')
      .map((e) => ({
        approver: { subject: e.actorSubject ?? '', issuer: e.actorIssuer },
        comment: e.comment,
        at: iso(e.atMs),
      }));
    dto.consumed =
      row.consumedAtMs === null
        ? null
        : {
            at: iso(row.consumedAtMs),
            decision_id: row.consumedByDecision ?? '',
            enforcer_id: row.consumedByEnforcer ?? '',
          };
    dto.events = events.map((e) => ApprovalMapper.event(e));
    return dto;
  }

  /**
   * The webhook body: the state and what an approver needs to decide, never the request body or
   * query (they may carry data the policy masked only for the approvers' screen).
   */
  static webhookPayload(
    event: ApprovalWebhookEvent,
    eventId: string,
    row: ApprovalEntity,
    nowMs: number,
    publicUrl: string,
  ): string {
    return JSON.stringify({
      event,
      event_id: eventId,
      occurred_at: iso(nowMs),
      approval: {
        ...ApprovalMapper.state(row, nowMs),
        reason: row.reason,
        connection: row.connection,
        requester: { subject: row.requesterSubject, issuer: row.requesterIssuer },
        approvers: JSON.parse(row.approvers) as string[],
        request: { method: row.method, path: row.path },
      },
      status_url: publicUrl + ApprovalMapper.statusPath(row.id),
      approval_url: `${publicUrl}/v1/approvals/${row.id}`,
    });
  }

  private static fillSummary<T extends ApprovalSummaryDto>(
    dto: T,
    row: ApprovalEntity,
    nowMs: number,
    publicUrl: string,
  ): T {
    dto.approval_id = row.id;
    dto.status = ApprovalStateRules.effectiveStatus(row, nowMs);
    dto.reason = row.reason;
    dto.connection = row.connection;
    dto.requester = { subject: row.requesterSubject, issuer: row.requesterIssuer };
    dto.request = { method: row.method, path: row.path, query: row.query };
    dto.approvers = JSON.parse(row.approvers) as string[];
    dto.min_approvals = row.minApprovals;
    dto.approvals = row.approvalsCount;
    dto.created_at = iso(row.createdAtMs);
    dto.expires_at = iso(row.expiresAtMs);
    dto.resolved_at = row.resolvedAtMs === null ? null : iso(row.resolvedAtMs);
    dto.status_url = publicUrl + ApprovalMapper.statusPath(row.id);
    return dto;
  }

  private static event(e: ApprovalEventEntity): ApprovalEventDto {
    return {
      type: e.type,
      actor: e.actorSubject === null ? null : { subject: e.actorSubject, issuer: e.actorIssuer },
      enforcer_id: e.enforcerId,
      decision_id: e.decisionId,
      comment: e.comment,
      at: iso(e.atMs),
    };
  }
}

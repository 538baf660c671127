import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { Logger, errorMessage } from '@portcullis/platform';
import { CONTROL_PLANE_CONFIG, type ControlPlaneConfig } from '../config/control-plane.config';
import type { ApprovalEventType } from './approval-event.entity';
import { ApprovalNoticeRepository } from './approval-notice.repository';
import { ApprovalWebhookDispatcher } from './approval-webhook.dispatcher';
import type { ChangeRecordsFactory } from './approval.repository';
import type { ApprovalEntity } from './approval.entity';
import { ApprovalMapper } from './approval.mapper';
import { ApprovalMetrics } from './approval.metrics';

/** Who caused a step: an enforcer relaying its caller, an approver, or the control plane's clock. */
export type ApprovalActor =
  | {
      kind: 'caller';
      subject: string;
      issuer: string | null;
      enforcerId: string;
      decisionId: string;
    }
  | { kind: 'approver'; subject: string; issuer: string; comment: string | null }
  | { kind: 'clock' };

/**
 * Everything a step produces besides the row change: the audit event and webhook notification
 * written with it ({@link records}), and, once committed, the NATS notice, the metric and the
 * one structured log line ({@link announce}). Comments are user text: logged by length only.
 */
@Injectable()
export class ApprovalChangeNotifier {
  private readonly logger: Logger;

  constructor(
    @Inject(CONTROL_PLANE_CONFIG) private readonly config: ControlPlaneConfig,
    private readonly notices: ApprovalNoticeRepository,
    private readonly dispatcher: ApprovalWebhookDispatcher,
    private readonly metrics: ApprovalMetrics,
    logger: Logger,
  ) {
    this.logger = logger.child('approvals');
  }

  /**
   * The event of `type` and, when a webhook is configured and the step is the creation or a
   * resolution, its notification (a vote that leaves the request pending notifies nobody).
   */
  records(type: ApprovalEventType, actor: ApprovalActor, nowMs: number): ChangeRecordsFactory {
    return (row) => {
      const notify = type !== 'approved' || row.status === 'approved';
      const webhook = this.config.approvals.webhook;
      const deliveryId = randomUUID();
      return {
        event: {
          id: randomUUID(),
          approvalId: row.id,
          type,
          actorSubject: actor.kind === 'clock' ? null : actor.subject,
          actorIssuer: actor.kind === 'clock' ? null : actor.issuer,
          enforcerId: actor.kind === 'caller' ? actor.enforcerId : null,
          decisionId: actor.kind === 'caller' ? actor.decisionId : null,
          comment: actor.kind === 'approver' ? actor.comment : null,
          atMs: nowMs,
        },
        delivery:
          webhook && notify
            ? {
                id: deliveryId,
                approvalId: row.id,
                event: `approval.${type}`,
                payload: ApprovalMapper.webhookPayload(
                  `approval.${type}`,
                  deliveryId,
                  row,
                  nowMs,
                  this.config.publicUrl,
                ),
                state: 'pending',
                attempts: 0,
                nextAttemptAtMs: nowMs,
                claimedUntilMs: null,
                lastError: null,
                createdAtMs: nowMs,
                finishedAtMs: null,
              }
            : null,
      };
    };
  }

  /** After the step committed: wake held calls, count it, log it, send its webhook soon. */
  announce(
    type: ApprovalEventType,
    row: ApprovalEntity,
    actor: ApprovalActor,
    nowMs: number,
  ): void {
    const state = ApprovalMapper.state(row, nowMs);
    // A vote that leaves the request pending is no status change: nothing to wake up for.
    if (type !== 'approved' || row.status === 'approved') {
      try {
        this.notices.publish(state);
      } catch (err) {
        this.logger.warn('approval notice not published', {
          approval_id: row.id,
          error: errorMessage(err),
        });
      }
      this.metrics.transitions.inc({ status: type === 'requested' ? 'pending' : row.status });
      this.dispatcher.kick();
    }
    this.logger.info(`approval ${type}`, {
      approval_id: row.id,
      status: state.status,
      connection: row.connection,
      requester: row.requesterSubject,
      ...(actor.kind === 'caller'
        ? { enforcer_id: actor.enforcerId, decision_id: actor.decisionId }
        : {}),
      ...(actor.kind === 'approver'
        ? { by: actor.subject, comment_chars: actor.comment?.length ?? 0 }
        : {}),
      approvals: row.approvalsCount,
      min_approvals: row.minApprovals,
      expires_at: state.expires_at,
    });
  }
}

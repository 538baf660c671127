import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { bigintAsNumber } from '../bundles/bigint.transformer';

/** Audit event types, in lifecycle order (the order of events that share a millisecond). */
export const APPROVAL_EVENT_TYPES = [
  'requested',
  'approved',
  'denied',
  'expired',
  'consumed',
] as const;
export type ApprovalEventType = (typeof APPROVAL_EVENT_TYPES)[number];

/**
 * One step of an approval request, append-only: requested (by the caller, through an enforcer),
 * approved or denied (by an approver, with the comment), expired (by the control plane), consumed
 * (by the retried call, through an enforcer). Internal to the approvals module.
 */
@Entity({ name: 'approval_events' })
@Index('IDX_approval_events_approval', ['approvalId', 'atMs'])
export class ApprovalEventEntity {
  @PrimaryColumn({
    name: 'id',
    type: 'varchar',
    length: 36,
    primaryKeyConstraintName: 'PK_approval_events',
  })
  id!: string;

  @Column({ name: 'approval_id', type: 'varchar', length: 36 })
  approvalId!: string;

  @Column({ name: 'type', type: 'varchar', length: 16 })
  type!: ApprovalEventType;

  /** The person or machine identity that acted; null for expiry. */
  @Column({ name: 'actor_subject', type: 'text', nullable: true })
  actorSubject!: string | null;

  @Column({ name: 'actor_issuer', type: 'text', nullable: true })
  actorIssuer!: string | null;

  /** The enforcer that relayed a request or a consume. */
  @Column({ name: 'enforcer_id', type: 'varchar', length: 63, nullable: true })
  enforcerId!: string | null;

  /** The call that requested (requested) or used (consumed) the approval. */
  @Column({ name: 'decision_id', type: 'varchar', length: 36, nullable: true })
  decisionId!: string | null;

  /** The approver's comment: user text, never logged. */
  @Column({ name: 'comment', type: 'text', nullable: true })
  comment!: string | null;

  @Column({ name: 'at_ms', type: 'bigint', transformer: bigintAsNumber })
  atMs!: number;
}

import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { bigintAsNumber } from '../bundles/bigint.transformer';

export type WebhookDeliveryState = 'pending' | 'delivered' | 'failed';

/**
 * One webhook notification in the outbox: written with the change it announces, delivered (and
 * retried) by ApprovalWebhookDispatcher. `claimedUntilMs` is a lease so that one replica at a time
 * sends it. Internal to the approvals module.
 */
@Entity({ name: 'approval_webhook_deliveries' })
@Index('IDX_approval_webhook_deliveries_due', ['state', 'nextAttemptAtMs'])
export class ApprovalWebhookDeliveryEntity {
  /** Also the `Portcullis-Event-Id` header: stable across retries, so receivers can de-duplicate. */
  @PrimaryColumn({
    name: 'id',
    type: 'varchar',
    length: 36,
    primaryKeyConstraintName: 'PK_approval_webhook_deliveries',
  })
  id!: string;

  @Column({ name: 'approval_id', type: 'varchar', length: 36 })
  approvalId!: string;

  @Column({ name: 'event', type: 'varchar', length: 32 })
  event!: string;

  /** The exact JSON body POSTed (never a request body: see ApprovalMapper.webhookPayload). */
  @Column({ name: 'payload', type: 'text' })
  payload!: string;

  @Column({ name: 'state', type: 'varchar', length: 16 })
  state!: WebhookDeliveryState;

  @Column({ name: 'attempts', type: 'integer' })
  attempts!: number;

  @Column({ name: 'next_attempt_at_ms', type: 'bigint', transformer: bigintAsNumber })
  nextAttemptAtMs!: number;

  @Column({ name: 'claimed_until_ms', type: 'bigint', nullable: true, transformer: bigintAsNumber })
  claimedUntilMs!: number | null;

  @Column({ name: 'last_error', type: 'text', nullable: true })
  lastError!: string | null;

  @Column({ name: 'created_at_ms', type: 'bigint', transformer: bigintAsNumber })
  createdAtMs!: number;

  @Column({ name: 'finished_at_ms', type: 'bigint', nullable: true, transformer: bigintAsNumber })
  finishedAtMs!: number | null;
}

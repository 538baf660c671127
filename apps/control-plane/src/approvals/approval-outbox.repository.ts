import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { TransactionRunner } from '../database/transaction.runner';
import { ApprovalWebhookDeliveryEntity } from './approval-webhook-delivery.entity';

/**
 * The webhook outbox (rows are written by ApprovalRepository with the change they announce).
 * Replicas share it: a delivery is sent by whoever claims it, with a conditional UPDATE that sets
 * a lease, so two replicas never send the same attempt; a replica that dies mid-send leaves a
 * lease that runs out, and the delivery is retried.
 *
 * Every write runs in its own {@link TransactionRunner} transaction: on SQLite a plain write
 * issued while another transaction is open would join it and could be rolled back with it.
 */
@Injectable()
export class ApprovalOutboxRepository {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly transactions: TransactionRunner,
  ) {}

  /** Up to `limit` pending deliveries that are due and not leased, oldest first. */
  async due(nowMs: number, limit: number): Promise<ApprovalWebhookDeliveryEntity[]> {
    return this.dataSource
      .getRepository(ApprovalWebhookDeliveryEntity)
      .createQueryBuilder('d')
      .where("d.state = 'pending' AND d.nextAttemptAtMs <= :now", { now: nowMs })
      .andWhere('(d.claimedUntilMs IS NULL OR d.claimedUntilMs < :now)', { now: nowMs })
      .orderBy('d.nextAttemptAtMs', 'ASC')
      .addOrderBy('d.id', 'ASC')
      .limit(limit)
      .getMany();
  }

  /**
   * Takes the lease on one delivery until `untilMs`; false when another replica holds it, or
   * when the row moved on since it was listed (another replica tried it meanwhile: its backoff
   * and attempt count stand, so `attempts` must still be what the caller saw, and the row due).
   */
  async claim(id: string, attempts: number, nowMs: number, untilMs: number): Promise<boolean> {
    const result = await this.transactions.run((tx) =>
      tx
        .createQueryBuilder()
        .update(ApprovalWebhookDeliveryEntity)
        .set({ claimedUntilMs: untilMs })
        .where(
          "id = :id AND state = 'pending' AND attempts = :attempts AND next_attempt_at_ms <= :now" +
            ' AND (claimed_until_ms IS NULL OR claimed_until_ms < :now)',
          { id, attempts, now: nowMs },
        )
        .execute(),
    );
    return (result.affected ?? 0) === 1;
  }

  async delivered(id: string, attempts: number, nowMs: number): Promise<void> {
    await this.transactions.run((tx) =>
      tx.getRepository(ApprovalWebhookDeliveryEntity).update(
        { id },
        {
          state: 'delivered',
          attempts,
          claimedUntilMs: null,
          lastError: null,
          finishedAtMs: nowMs,
        },
      ),
    );
  }

  /** Records a failed attempt: retried at `nextAttemptAtMs`, or given up when that is null. */
  async failed(
    id: string,
    attempts: number,
    error: string,
    nextAttemptAtMs: number | null,
    nowMs: number,
  ): Promise<void> {
    await this.transactions.run((tx) =>
      tx.getRepository(ApprovalWebhookDeliveryEntity).update(
        { id },
        nextAttemptAtMs === null
          ? {
              state: 'failed',
              attempts,
              claimedUntilMs: null,
              lastError: error,
              finishedAtMs: nowMs,
            }
          : { attempts, claimedUntilMs: null, lastError: error, nextAttemptAtMs },
      ),
    );
  }
}

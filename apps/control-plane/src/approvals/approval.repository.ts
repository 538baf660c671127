import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { ApprovalStatus } from '@portcullis/contracts';
import type { DataSource, EntityManager } from 'typeorm';
import { TransactionRunner } from '../database/transaction.runner';
import { ApprovalApproverEntity } from './approval-approver.entity';
import { ApprovalEventEntity, APPROVAL_EVENT_TYPES } from './approval-event.entity';
import { ApprovalWebhookDeliveryEntity } from './approval-webhook-delivery.entity';
import { ApprovalEntity } from './approval.entity';

/** What a state change writes besides the row: its audit event and, with a webhook, its notification. */
export interface ApprovalChangeRecords {
  event: ApprovalEventEntity;
  delivery: ApprovalWebhookDeliveryEntity | null;
}

/** Builds the records of a change from the row as it is after the change. */
export type ChangeRecordsFactory = (row: ApprovalEntity) => ApprovalChangeRecords;

/** Keyset position in the list: after (created_at_ms, id) of the last item, newest first. */
export interface ApprovalListCursor {
  createdAtMs: number;
  id: string;
}

export interface ApprovalListQuery {
  status?: ApprovalStatus;
  cursor?: ApprovalListCursor;
  limit: number;
  nowMs: number;
  /**
   * Only requests whose `approvers` name one of these entries (`user:<sub>`, `group:<name>`);
   * absent: every request.
   */
  approverEntries?: readonly string[];
}

/**
 * The outcome of a create: the request this call created, the one already stored for its
 * decision id (`existing`), a still-pending one for the same requester, operation and
 * requirement (`reused`), or none because the requester has too many pending.
 */
export type InsertResult =
  | { kind: 'created' | 'existing' | 'reused'; row: ApprovalEntity }
  | { kind: 'too_many_pending'; pending: number };

/** The outcome of a vote: the row after it, or why nothing was written. */
export type VoteResult =
  { kind: 'counted'; row: ApprovalEntity } | { kind: 'already_voted' } | { kind: 'not_pending' };

/**
 * The only code that touches the approval tables. Every change is one conditional UPDATE of the
 * approval row (`WHERE status = … AND expires_at_ms > now …`) followed, only when it changed the
 * row, by the inserts of its event and webhook notification, in one transaction. Checks that can
 * fail run before any write, so a refused change never needs a rollback.
 *
 * SQLite: transactions run one at a time ({@link TransactionRunner}). PostgreSQL: each
 * transaction has its own connection and the row lock of the UPDATE (or `FOR UPDATE`) orders
 * concurrent replicas.
 */
@Injectable()
export class ApprovalRepository {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly transactions: TransactionRunner,
  ) {}

  /**
   * Stores a new request with its approver entries and `requested` event, unless its decision
   * id already has one (returned as `existing`) or the same requester (issuer and subject) has a
   * pending, unexpired request for the same fingerprint and requirement (returned as `reused`,
   * so retries do not pile up requests for approvers). Refused when the requester already has
   * `maxPending` pending requests. On PostgreSQL a transaction-scoped advisory lock per requester
   * makes the lookups and the insert one step across replicas; on SQLite transactions run alone.
   */
  async insertRequested(
    row: ApprovalEntity,
    approvers: readonly string[],
    maxPending: number,
    records: ChangeRecordsFactory,
  ): Promise<InsertResult> {
    return this.transactions.run(async (tx) => {
      if (this.isPostgres) {
        await tx.query('SELECT pg_advisory_xact_lock($1)', [
          requesterLockKey(row.requesterIssuer, row.requesterSubject),
        ]);
      }
      const approvals = tx.getRepository(ApprovalEntity);
      const existing = await approvals.findOneBy({ decisionId: row.decisionId });
      if (existing) return { kind: 'existing', row: existing };
      const pending = approvals
        .createQueryBuilder('a')
        .where("a.status = 'pending' AND a.expiresAtMs > :now", { now: row.createdAtMs })
        .andWhere('a.requesterSubject = :subject AND a.requesterIssuer = :issuer', {
          subject: row.requesterSubject,
          issuer: row.requesterIssuer,
        });
      const same = await pending
        .clone()
        .andWhere('a.fingerprint = :fingerprint AND a.requirement = :requirement', {
          fingerprint: row.fingerprint,
          requirement: row.requirement,
        })
        .orderBy('a.createdAtMs', 'DESC')
        .addOrderBy('a.id', 'DESC')
        .getOne();
      if (same) return { kind: 'reused', row: same };
      const count = await pending.getCount();
      if (count >= maxPending) return { kind: 'too_many_pending', pending: count };
      await tx
        .createQueryBuilder()
        .insert()
        .into(ApprovalEntity)
        .values(row)
        .orIgnore()
        .updateEntity(false)
        .execute();
      const stored = await approvals.findOneByOrFail({ decisionId: row.decisionId });
      if (stored.id !== row.id) return { kind: 'existing', row: stored };
      await tx
        .getRepository(ApprovalApproverEntity)
        .insert(approvers.map((entry) => ({ approvalId: stored.id, entry })));
      await this.insertRecords(tx, records(stored));
      return { kind: 'created', row: stored };
    });
  }

  findById(id: string): Promise<ApprovalEntity | null> {
    return this.dataSource.getRepository(ApprovalEntity).findOneBy({ id });
  }

  /** The audit trail of one request, oldest first (lifecycle order within one millisecond). */
  async events(approvalId: string): Promise<ApprovalEventEntity[]> {
    const rows = await this.dataSource
      .getRepository(ApprovalEventEntity)
      .find({ where: { approvalId }, order: { atMs: 'ASC', id: 'ASC' } });
    const rank = (t: string) =>
      APPROVAL_EVENT_TYPES.indexOf(t as (typeof APPROVAL_EVENT_TYPES)[number]);
    return rows.sort((a, b) => a.atMs - b.atMs || rank(a.type) - rank(b.type));
  }

  /**
   * A page, newest first: at most `limit` rows and whether more follow. `status` is the effective
   * status: `pending`/`approved` exclude rows past expiry, `expired` includes them.
   */
  async page(q: ApprovalListQuery): Promise<{ rows: ApprovalEntity[]; more: boolean }> {
    const qb = this.dataSource.getRepository(ApprovalEntity).createQueryBuilder('a');
    switch (q.status) {
      case undefined:
        break;
      case 'pending':
      case 'approved':
        qb.andWhere('a.status = :status AND a.expiresAtMs > :now', {
          status: q.status,
          now: q.nowMs,
        });
        break;
      case 'expired':
        qb.andWhere(
          "(a.status = 'expired' OR (a.status IN ('pending', 'approved') AND a.expiresAtMs <= :now))",
          { now: q.nowMs },
        );
        break;
      case 'denied':
      case 'consumed':
        qb.andWhere('a.status = :status', { status: q.status });
        break;
    }
    if (q.approverEntries) {
      if (q.approverEntries.length === 0) return { rows: [], more: false };
      qb.andWhere(
        'EXISTS (SELECT 1 FROM approval_approvers x WHERE x.approval_id = a.id AND x.entry IN (:...entries))',
        { entries: [...new Set(q.approverEntries)] },
      );
    }
    if (q.cursor) {
      // The redundant `<=` bounds the index range; the OR breaks ties on equal times.
      qb.andWhere('a.createdAtMs <= :ct AND (a.createdAtMs < :ct OR a.id < :cid)', {
        ct: q.cursor.createdAtMs,
        cid: q.cursor.id,
      });
    }
    const rows = await qb
      .orderBy('a.createdAtMs', 'DESC')
      .addOrderBy('a.id', 'DESC')
      .limit(q.limit + 1)
      .getMany();
    return { rows: rows.slice(0, q.limit), more: rows.length > q.limit };
  }

  /**
   * Counts one approval by `actorSubject`; the request becomes approved when it reaches
   * `min_approvals`. Refused when that approver already approved or the request is no longer
   * pending (or has expired by time).
   */
  async vote(
    id: string,
    actorSubject: string,
    nowMs: number,
    records: ChangeRecordsFactory,
  ): Promise<VoteResult> {
    return this.transactions.run(async (tx) => {
      // PostgreSQL: lock the row first, so a concurrent vote by the same approver waits here and
      // then sees this vote's event. SQLite: this transaction already runs alone.
      if (this.isPostgres) {
        await tx.query('SELECT id FROM approvals WHERE id = $1 FOR UPDATE', [id]);
      }
      const already = await tx.getRepository(ApprovalEventEntity).countBy({
        approvalId: id,
        type: 'approved',
        actorSubject,
      });
      if (already > 0) return { kind: 'already_voted' };
      const result = await tx
        .createQueryBuilder()
        .update(ApprovalEntity)
        .set({
          approvalsCount: () => 'approvals_count + 1',
          // SET expressions read the row as it was before the update, in both databases.
          status: () =>
            "CASE WHEN approvals_count + 1 >= min_approvals THEN 'approved' ELSE 'pending' END",
          resolvedAtMs: () =>
            `CASE WHEN approvals_count + 1 >= min_approvals THEN ${Math.trunc(nowMs)} ELSE NULL END`,
        })
        .where("id = :id AND status = 'pending' AND expires_at_ms > :now", { id, now: nowMs })
        .execute();
      if ((result.affected ?? 0) !== 1) return { kind: 'not_pending' };
      const row = await tx.getRepository(ApprovalEntity).findOneByOrFail({ id });
      await this.insertRecords(tx, records(row));
      return { kind: 'counted', row };
    });
  }

  /** Ends a pending, unexpired request as denied; null when it was not. */
  deny(id: string, nowMs: number, records: ChangeRecordsFactory): Promise<ApprovalEntity | null> {
    return this.change(
      id,
      { status: 'denied', resolvedAtMs: nowMs },
      "status = 'pending' AND expires_at_ms > :now",
      { now: nowMs },
      records,
    );
  }

  /** Marks a pending or approved request past its expiry as expired; null when it was not. */
  expire(id: string, nowMs: number, records: ChangeRecordsFactory): Promise<ApprovalEntity | null> {
    return this.change(
      id,
      { status: 'expired', resolvedAtMs: nowMs },
      "status IN ('pending', 'approved') AND expires_at_ms <= :now",
      { now: nowMs },
      records,
    );
  }

  /**
   * Uses a granted approval for one call: a single conditional UPDATE, so of any number of
   * concurrent consumers (on any replica) exactly one changes the row. Null when nothing changed;
   * the caller reads the row to say why.
   */
  consume(
    id: string,
    by: {
      subject: string;
      issuer: string;
      fingerprint: string;
      requirement: string;
      decisionId: string;
      enforcerId: string;
    },
    nowMs: number,
    records: ChangeRecordsFactory,
  ): Promise<ApprovalEntity | null> {
    return this.change(
      id,
      {
        status: 'consumed',
        consumedAtMs: nowMs,
        consumedByDecision: by.decisionId,
        consumedByEnforcer: by.enforcerId,
      },
      "status = 'approved' AND expires_at_ms > :now AND fingerprint = :fingerprint AND requirement = :requirement AND requester_subject = :subject AND requester_issuer = :issuer",
      {
        now: nowMs,
        fingerprint: by.fingerprint,
        requirement: by.requirement,
        subject: by.subject,
        issuer: by.issuer,
      },
      records,
    );
  }

  /** Ids of pending or approved requests past their expiry, oldest expiry first. */
  async dueForExpiry(nowMs: number, limit: number): Promise<string[]> {
    const rows = await this.dataSource
      .getRepository(ApprovalEntity)
      .createQueryBuilder('a')
      .select('a.id')
      .where("a.status IN ('pending', 'approved') AND a.expiresAtMs <= :now", { now: nowMs })
      .orderBy('a.expiresAtMs', 'ASC')
      .limit(limit)
      .getMany();
    return rows.map((r) => r.id);
  }

  private get isPostgres(): boolean {
    return this.dataSource.options.type === 'postgres';
  }

  private change(
    id: string,
    set: Partial<ApprovalEntity>,
    condition: string,
    params: Record<string, string | number>,
    records: ChangeRecordsFactory,
  ): Promise<ApprovalEntity | null> {
    return this.transactions.run(async (tx) => {
      const result = await tx
        .createQueryBuilder()
        .update(ApprovalEntity)
        .set(set)
        .where(`id = :id AND ${condition}`, { ...params, id })
        .execute();
      if ((result.affected ?? 0) !== 1) return null;
      const row = await tx.getRepository(ApprovalEntity).findOneByOrFail({ id });
      await this.insertRecords(tx, records(row));
      return row;
    });
  }

  private async insertRecords(tx: EntityManager, r: ApprovalChangeRecords): Promise<void> {
    await tx.getRepository(ApprovalEventEntity).insert(r.event);
    if (r.delivery) await tx.getRepository(ApprovalWebhookDeliveryEntity).insert(r.delivery);
  }
}

/**
 * A signed 64-bit key (as text, for `pg_advisory_xact_lock(bigint)`) naming one requester; a
 * collision only makes two requesters wait for each other, never mixes their requests.
 */
function requesterLockKey(issuer: string, subject: string): string {
  const digest = createHash('sha256')
    .update(JSON.stringify([issuer, subject]))
    .digest();
  return digest.readBigInt64BE(0).toString();
}

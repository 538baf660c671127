import { Injectable } from '@nestjs/common';
import {
  DataSource,
  In,
  type EntityManager,
  type Repository,
  type SelectQueryBuilder,
} from 'typeorm';
import type { DecisionEvent } from '@portcullis/contracts';
import { TransactionRunner } from '../database/transaction.runner';
import { CallRecordEntity } from './call-record.entity';
import type { DecisionCursor } from './decision-cursor.codec';
import type { DecisionQuery } from './decision-query.parser';
import { DecisionEntity } from './decision.entity';
import { DecisionTimestamp } from './decision.timestamp';

/** Outcome of storing a batch: every event is either newly inserted or a duplicate of a stored one. */
export interface DecisionInsertResult {
  inserted: number;
  duplicates: number;
}

/**
 * One page of stored decisions, newest first, each with its call record (bodies loaded) when it
 * has one, and the position after its last item when more exist.
 */
export interface DecisionPage {
  rows: DecisionEntity[];
  next: DecisionCursor | null;
}

/** The exact-match filters of a {@link DecisionQuery} and the column each one compares. */
const EQUALITY_FILTERS = [
  ['subject', 'd.subject'],
  ['connection', 'd.connection'],
  ['outcome', 'd.outcome'],
  ['bundle', 'd.bundleName'],
  ['bundleVersion', 'd.bundleVersion'],
  ['enforcerId', 'd.enforcerId'],
] as const satisfies readonly (readonly [keyof DecisionQuery, string])[];

/**
 * Recorded bodies one page may load, in characters of stored JSON. A page ends early (with a
 * next_cursor) rather than exceed it, and always holds at least one item, so a page costs at most
 * this much plus one call's bodies, whatever `limit` and the enforcers' record cap are.
 */
export const PAGE_BODY_BUDGET_CHARS = 8 * 1024 * 1024;

/**
 * The only code that touches the `decisions` and `call_records` tables. Inserts are idempotent on
 * `decision_id` (`INSERT … ON CONFLICT DO NOTHING`, portable between SQLite and PostgreSQL; a
 * decision and its call record in one transaction), and reads use keyset pagination on
 * (timestamp_us, decision_id), the tail of every index on `decisions`.
 */
@Injectable()
export class DecisionRepository {
  private readonly repo: Repository<DecisionEntity>;

  constructor(
    private readonly dataSource: DataSource,
    // Defaulted for tests that build the repository by hand; the lock is per DataSource either way.
    private readonly transactions: TransactionRunner = new TransactionRunner(dataSource),
  ) {
    this.repo = dataSource.getRepository(DecisionEntity);
  }

  /**
   * Stores events, ignoring any whose `decision_id` is already stored (or repeated in the batch).
   * One transaction, so the batch is atomic: when this resolves, every event and its call record
   * are durably stored.
   */
  async insertIgnoringDuplicates(events: readonly DecisionEvent[]): Promise<DecisionInsertResult> {
    const unique = new Map<string, DecisionEvent>();
    for (const e of events) if (!unique.has(e.decision_id)) unique.set(e.decision_id, e);
    if (unique.size === 0) return { inserted: 0, duplicates: events.length };
    const storedAtMs = Date.now();
    // Sorted so that replicas inserting overlapping batches on PostgreSQL take row locks in the
    // same order (decisions, then call records) and wait for each other instead of deadlocking.
    const sorted = [...unique.values()].sort((a, b) =>
      a.decision_id < b.decision_id ? -1 : a.decision_id > b.decision_id ? 1 : 0,
    );
    const rows = sorted.map((e) => toRow(e, storedAtMs));
    const calls = sorted.flatMap((e) => (e.call ? [toCallRow(e.decision_id, e.call)] : []));
    const inserted = await this.transactions.run(async (manager) => {
      const count = await this.insertDecisions(manager, rows);
      // A call record whose decision was already stored is a duplicate too: ignored likewise.
      if (calls.length > 0) {
        await manager
          .createQueryBuilder()
          .insert()
          .into(CallRecordEntity)
          .values(calls)
          .orIgnore()
          .updateEntity(false)
          .execute();
      }
      return count;
    });
    return { inserted, duplicates: events.length - inserted };
  }

  /** Inserts decision rows ignoring stored ids; returns how many were new. */
  private async insertDecisions(manager: EntityManager, rows: DecisionEntity[]): Promise<number> {
    const insert = manager
      .createQueryBuilder()
      .insert()
      .into(DecisionEntity)
      .values(rows)
      .orIgnore()
      .updateEntity(false);
    if (this.dataSource.driver.isReturningSqlSupported('insert')) {
      // PostgreSQL: RETURNING lists exactly the rows this statement inserted, even when another
      // replica inserts the same ids concurrently.
      const result = await insert.returning('decision_id').execute();
      return Array.isArray(result.raw) ? result.raw.length : 0;
    }
    // SQLite: one process and one writer, so counting what already exists is exact; the count
    // only feeds metrics, never the idempotency itself (that is the primary key).
    const existing = await manager
      .createQueryBuilder(DecisionEntity, 'd')
      .select('d.decisionId')
      .where('d.decisionId IN (:...ids)', { ids: rows.map((r) => r.decisionId) })
      .getCount();
    await insert.execute();
    return rows.length - existing;
  }

  /** One decision with its call record, bodies included; null when not stored. */
  async findById(decisionId: string): Promise<DecisionEntity | null> {
    const row = await this.withCall(this.repo.createQueryBuilder('d'))
      .where('d.decisionId = :decisionId', { decisionId })
      .getOne();
    if (row) await this.loadBodies([row]);
    return row;
  }

  /**
   * A page of decisions with their call records: at most `limit` items, cut earlier when their
   * recorded bodies would exceed {@link PAGE_BODY_BUDGET_CHARS}.
   */
  async findPage(query: DecisionQuery): Promise<DecisionPage> {
    const qb = this.withCall(this.repo.createQueryBuilder('d'));
    for (const [key, column] of EQUALITY_FILTERS) {
      const value = query[key];
      if (value !== undefined) qb.andWhere(`${column} = :${key}`, { [key]: value });
    }
    if (query.fromUs !== undefined)
      qb.andWhere('d.timestampUs >= :fromUs', { fromUs: query.fromUs });
    if (query.toUs !== undefined) qb.andWhere('d.timestampUs < :toUs', { toUs: query.toUs });
    if (query.cursor !== undefined) {
      // The redundant `<=` bounds the index range; the OR breaks ties on equal timestamps.
      qb.andWhere(
        'd.timestampUs <= :cursorTs AND (d.timestampUs < :cursorTs OR d.decisionId < :cursorId)',
        { cursorTs: query.cursor.timestampUs, cursorId: query.cursor.decisionId },
      );
    }
    const fetched = await qb
      .orderBy('d.timestampUs', 'DESC')
      .addOrderBy('d.decisionId', 'DESC')
      .limit(query.limit + 1)
      .getMany();
    const rows: DecisionEntity[] = [];
    let budget = PAGE_BODY_BUDGET_CHARS;
    for (const row of fetched.slice(0, query.limit)) {
      const chars = row.call?.bodyChars ?? 0;
      if (rows.length > 0 && chars > budget) break;
      rows.push(row);
      budget -= chars;
    }
    await this.loadBodies(rows);
    if (rows.length === fetched.length) return { rows, next: null };
    const last = rows[rows.length - 1];
    return { rows, next: { timestampUs: last.timestampUs, decisionId: last.decisionId } };
  }

  /** Joins each decision's call record (without its bodies) into `d.call`. */
  private withCall(qb: SelectQueryBuilder<DecisionEntity>): SelectQueryBuilder<DecisionEntity> {
    return qb.leftJoinAndMapOne('d.call', CallRecordEntity, 'c', 'c.decisionId = d.decisionId');
  }

  /** Fills in the bodies of the rows' call records, in one query. */
  private async loadBodies(rows: DecisionEntity[]): Promise<void> {
    const byId = new Map<string, CallRecordEntity>();
    for (const r of rows) if (r.call) byId.set(r.decisionId, r.call);
    if (byId.size === 0) return;
    const bodies = await this.dataSource.getRepository(CallRecordEntity).find({
      select: { decisionId: true, requestBody: true, responseBody: true },
      where: { decisionId: In([...byId.keys()]) },
    });
    for (const b of bodies) {
      const call = byId.get(b.decisionId);
      if (!call) continue;
      call.requestBody = b.requestBody ?? null;
      call.responseBody = b.responseBody ?? null;
    }
  }
}

function toRow(event: DecisionEvent, storedAtMs: number): DecisionEntity {
  const row = new DecisionEntity();
  row.decisionId = event.decision_id;
  // parseDecisionEvent accepts anything Date.parse does; RFC 3339 keeps microseconds.
  row.timestampUs =
    DecisionTimestamp.toEpochMicros(event.timestamp) ?? Date.parse(event.timestamp) * 1000;
  row.enforcerId = event.enforcer_id;
  row.bundleName = event.bundle.name;
  row.bundleVersion = event.bundle.version;
  row.bundleDigest = event.bundle.digest;
  row.connection = event.connection;
  row.subject = event.subject;
  row.outcome = event.outcome;
  row.status = event.status;
  // The call record is stored in call_records (JSON.stringify drops the undefined): keeping it
  // here too would store the bodies twice and load them with every decision.
  row.event = JSON.stringify({ ...event, call: undefined });
  row.storedAtMs = storedAtMs;
  return row;
}

function toCallRow(decisionId: string, call: NonNullable<DecisionEvent['call']>): CallRecordEntity {
  const row = new CallRecordEntity();
  row.decisionId = decisionId;
  row.bytesIn = call.bytes_in;
  row.bytesOut = call.bytes_out;
  row.upstreamStatus = call.upstream_status;
  row.masked = call.masked === null ? null : JSON.stringify(call.masked);
  row.requestBody = call.request_body === null ? null : JSON.stringify(call.request_body);
  row.responseBody = call.response_body === null ? null : JSON.stringify(call.response_body);
  row.bodyChars = (row.requestBody?.length ?? 0) + (row.responseBody?.length ?? 0);
  return row;
}

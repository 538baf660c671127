import { Injectable } from '@nestjs/common';
import { DataSource, type Repository } from 'typeorm';
import type { DecisionEvent } from '@portcullis/contracts';
import type { DecisionCursor } from './decision-cursor.codec';
import type { DecisionQuery } from './decision-query.parser';
import { DecisionEntity } from './decision.entity';
import { DecisionTimestamp } from './decision.timestamp';

/** Outcome of storing a batch: every event is either newly inserted or a duplicate of a stored one. */
export interface DecisionInsertResult {
  inserted: number;
  duplicates: number;
}

/** One page of stored decisions, newest first, and whether more exist past its last item. */
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
 * The only code that touches the `decisions` table. Inserts are idempotent on `decision_id`
 * (`INSERT … ON CONFLICT DO NOTHING`, portable between SQLite and PostgreSQL), and reads use
 * keyset pagination on (timestamp_us, decision_id), the tail of every index on the table.
 */
@Injectable()
export class DecisionRepository {
  private readonly repo: Repository<DecisionEntity>;

  constructor(private readonly dataSource: DataSource) {
    this.repo = dataSource.getRepository(DecisionEntity);
  }

  /**
   * Stores events, ignoring any whose `decision_id` is already stored (or repeated in the batch).
   * One statement, so the batch is atomic: when this resolves, every event is durably stored.
   */
  async insertIgnoringDuplicates(events: readonly DecisionEvent[]): Promise<DecisionInsertResult> {
    const unique = new Map<string, DecisionEvent>();
    for (const e of events) if (!unique.has(e.decision_id)) unique.set(e.decision_id, e);
    if (unique.size === 0) return { inserted: 0, duplicates: events.length };
    const storedAtMs = Date.now();
    // Sorted so that replicas inserting overlapping batches on PostgreSQL take row locks in the
    // same order and wait for each other instead of deadlocking.
    const rows = [...unique.values()]
      .sort((a, b) => (a.decision_id < b.decision_id ? -1 : a.decision_id > b.decision_id ? 1 : 0))
      .map((e) => toRow(e, storedAtMs));
    const insert = this.repo
      .createQueryBuilder()
      .insert()
      .into(DecisionEntity)
      .values(rows)
      .orIgnore()
      .updateEntity(false);

    let inserted: number;
    if (this.dataSource.driver.isReturningSqlSupported('insert')) {
      // PostgreSQL: RETURNING lists exactly the rows this statement inserted, even when another
      // replica inserts the same ids concurrently.
      const result = await insert.returning('decision_id').execute();
      inserted = Array.isArray(result.raw) ? result.raw.length : 0;
    } else {
      // SQLite: one process and one writer, so counting what already exists is exact; the
      // count only feeds metrics, never the idempotency itself (that is the primary key).
      const existing = await this.repo
        .createQueryBuilder('d')
        .select('d.decisionId')
        .where('d.decisionId IN (:...ids)', { ids: [...unique.keys()] })
        .getCount();
      await insert.execute();
      inserted = unique.size - existing;
    }
    return { inserted, duplicates: events.length - inserted };
  }

  async findById(decisionId: string): Promise<DecisionEntity | null> {
    return this.repo.findOneBy({ decisionId });
  }

  async findPage(query: DecisionQuery): Promise<DecisionPage> {
    const qb = this.repo.createQueryBuilder('d');
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
    const rows = await qb
      .orderBy('d.timestampUs', 'DESC')
      .addOrderBy('d.decisionId', 'DESC')
      .limit(query.limit + 1)
      .getMany();
    if (rows.length <= query.limit) return { rows, next: null };
    rows.length = query.limit;
    const last = rows[rows.length - 1];
    return { rows, next: { timestampUs: last.timestampUs, decisionId: last.decisionId } };
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
  row.event = JSON.stringify(event);
  row.storedAtMs = storedAtMs;
  return row;
}

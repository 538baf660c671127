import { Check, Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { bigintAsNumber } from '../bundles/bigint.transformer';
import type { CallRecordEntity } from './call-record.entity';

/**
 * One stored decision event. Internal to the decisions module: the API maps it to `DecisionDto`.
 * `decision_id` is the primary key, which is what makes storage idempotent: a redelivered event
 * is an `INSERT … ON CONFLICT DO NOTHING` that changes nothing. The filter columns duplicate
 * fields of `event` so they can be indexed; `event` is the validated event as stored, without its
 * `call`, which lives in `call_records` (see {@link CallRecordEntity}).
 *
 * The schema is created by migration `1764400000000-decisions` (never by `synchronize`); the
 * constraint and index declarations below mirror it so that `migration:generate` finds no diff.
 */
@Entity({ name: 'decisions' })
@Check('CHK_decisions_outcome', `"outcome" IN ('allow', 'deny', 'error')`)
@Index('IDX_decisions_time', ['timestampUs', 'decisionId'])
@Index('IDX_decisions_subject_time', ['subject', 'timestampUs', 'decisionId'])
@Index('IDX_decisions_connection_time', ['connection', 'timestampUs', 'decisionId'])
@Index('IDX_decisions_outcome_time', ['outcome', 'timestampUs', 'decisionId'])
@Index('IDX_decisions_bundle_time', ['bundleName', 'bundleVersion', 'timestampUs', 'decisionId'])
@Index('IDX_decisions_bundle_version_time', ['bundleVersion', 'timestampUs', 'decisionId'])
@Index('IDX_decisions_enforcer_time', ['enforcerId', 'timestampUs', 'decisionId'])
export class DecisionEntity {
  @PrimaryColumn({
    name: 'decision_id',
    type: 'varchar',
    length: 36,
    primaryKeyConstraintName: 'PK_decisions',
  })
  decisionId!: string;

  /** The event's `timestamp` in microseconds since the epoch (UTC): the sort key. */
  @Column({ name: 'timestamp_us', type: 'bigint', transformer: bigintAsNumber })
  timestampUs!: number;

  @Column({ name: 'enforcer_id', type: 'varchar', length: 63 })
  enforcerId!: string;

  @Column({ name: 'bundle_name', type: 'varchar', length: 63 })
  bundleName!: string;

  @Column({ name: 'bundle_version', type: 'integer', nullable: true })
  bundleVersion!: number | null;

  @Column({ name: 'bundle_digest', type: 'text', nullable: true })
  bundleDigest!: string | null;

  @Column({ name: 'connection', type: 'text', nullable: true })
  connection!: string | null;

  @Column({ name: 'subject', type: 'text', nullable: true })
  subject!: string | null;

  @Column({ name: 'outcome', type: 'varchar', length: 8 })
  outcome!: string;

  @Column({ name: 'status', type: 'integer' })
  status!: number;

  /**
   * The validated DecisionEvent as JSON text (portable; queried by the columns above), minus
   * `call`. Rows stored before `call_records` existed may still hold `call` here.
   */
  @Column({ name: 'event', type: 'text' })
  event!: string;

  /** When this replica stored it (epoch ms): the gap to `timestamp_us` is the pipeline delay. */
  @Column({ name: 'stored_at_ms', type: 'bigint', transformer: bigintAsNumber })
  storedAtMs!: number;

  /** The decision's call record, when the query joined it (not a column of this table). */
  call?: CallRecordEntity | null;
}

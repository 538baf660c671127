import { Column, Entity, PrimaryColumn } from 'typeorm';
import { bigintAsNumber } from '../bundles/bigint.transformer';

/**
 * The call audit facts of one stored decision (the event's `call`), keyed by its `decision_id`.
 * Internal to the decisions module: the API maps it to `CallRecordDto` / `CallDto`. JSON fields
 * are stored as text. The bodies are not selected by default (`select: false`): they are the
 * bulk of the table, so pages load them in a second query bounded by `body_chars`.
 *
 * The schema is created by migration `1764430000000-call-records` (never by `synchronize`).
 */
@Entity({ name: 'call_records' })
export class CallRecordEntity {
  @PrimaryColumn({
    name: 'decision_id',
    type: 'varchar',
    length: 36,
    primaryKeyConstraintName: 'PK_call_records',
  })
  decisionId!: string;

  @Column({ name: 'bytes_in', type: 'bigint', transformer: bigintAsNumber })
  bytesIn!: number;

  @Column({ name: 'bytes_out', type: 'bigint', transformer: bigintAsNumber })
  bytesOut!: number;

  @Column({ name: 'upstream_status', type: 'integer', nullable: true })
  upstreamStatus!: number | null;

  /** `call.masked` as JSON text (`{fields, detectors}`), or null when nothing was masked. */
  @Column({ name: 'masked', type: 'text', nullable: true })
  masked!: string | null;

  /** `call.request_body` as JSON text (a RecordedBody), or null when not recorded. */
  @Column({ name: 'request_body', type: 'text', nullable: true, select: false })
  requestBody?: string | null;

  /** `call.response_body` as JSON text (a RecordedBody), or null when not recorded. */
  @Column({ name: 'response_body', type: 'text', nullable: true, select: false })
  responseBody?: string | null;

  /** Length of both body columns together: what loading them costs a page. */
  @Column({ name: 'body_chars', type: 'integer' })
  bodyChars!: number;
}

import { Table, TableCheck, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * The `decisions` table (see `decisions/decision.entity.ts`), for SQLite and PostgreSQL alike.
 * Built with TypeORM's schema API rather than raw SQL so that the table lands in the configured
 * PostgreSQL schema (`?schema=` in DATABASE_URL) exactly where the entity's queries look for it.
 * Types are the common subset: `bigint` is 64-bit in PostgreSQL and has INTEGER affinity in
 * SQLite; `text` is unbounded in both, so a long subject can never make an insert fail and turn a
 * valid event into a poison message.
 *
 * Every index ends with (timestamp_us, decision_id), the keyset of `GET /v1/decisions`, so each
 * filter is answered "newest first" by a backward index scan, without a sort.
 */
export class Decisions1764400000000 implements MigrationInterface {
  name = 'Decisions1764400000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'decisions',
        columns: [
          {
            name: 'decision_id',
            type: 'varchar',
            length: '36',
            isPrimary: true,
            primaryKeyConstraintName: 'PK_decisions',
          },
          { name: 'timestamp_us', type: 'bigint' },
          { name: 'enforcer_id', type: 'varchar', length: '63' },
          { name: 'bundle_name', type: 'varchar', length: '63' },
          { name: 'bundle_version', type: 'integer', isNullable: true },
          { name: 'bundle_digest', type: 'text', isNullable: true },
          { name: 'connection', type: 'text', isNullable: true },
          { name: 'subject', type: 'text', isNullable: true },
          { name: 'outcome', type: 'varchar', length: '8' },
          { name: 'status', type: 'integer' },
          { name: 'event', type: 'text' },
          { name: 'stored_at_ms', type: 'bigint' },
        ],
        checks: [
          new TableCheck({
            name: 'CHK_decisions_outcome',
            expression: `"outcome" IN ('allow', 'deny', 'error')`,
          }),
        ],
        indices: DECISION_INDEXES.map(
          ([name, columnNames]) => new TableIndex({ name, columnNames: [...columnNames] }),
        ),
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('decisions');
  }
}

const DECISION_INDEXES: ReadonlyArray<readonly [string, readonly string[]]> = [
  ['IDX_decisions_time', ['timestamp_us', 'decision_id']],
  ['IDX_decisions_subject_time', ['subject', 'timestamp_us', 'decision_id']],
  ['IDX_decisions_connection_time', ['connection', 'timestamp_us', 'decision_id']],
  ['IDX_decisions_outcome_time', ['outcome', 'timestamp_us', 'decision_id']],
  ['IDX_decisions_bundle_time', ['bundle_name', 'bundle_version', 'timestamp_us', 'decision_id']],
  ['IDX_decisions_bundle_version_time', ['bundle_version', 'timestamp_us', 'decision_id']],
  ['IDX_decisions_enforcer_time', ['enforcer_id', 'timestamp_us', 'decision_id']],
];

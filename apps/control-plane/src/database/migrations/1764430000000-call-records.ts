import { Table, TableForeignKey, type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * The `call_records` table (see `decisions/call-record.entity.ts`): the call audit facts of a
 * decision (bytes each way, upstream status, masking summary and the recorded bodies), one row per
 * decision that carried them, for SQLite and PostgreSQL alike. A table of its own rather than
 * columns on `decisions`:
 *
 * - Bodies are the bulk of the log (up to the enforcer's record cap, twice per call). Kept out of
 *   `decisions`, they never slow the decision queries and index scans, and a page of calls can
 *   fetch them in a second, bounded query.
 * - Bodies are the most sensitive part and may deserve a shorter retention than decisions; a
 *   separate table can be pruned without rewriting decision rows.
 * - Events from enforcers older than the call record simply have no row, rather than a row of
 *   nulls that would read as "zero bytes".
 *
 * `decision_id` is the primary key and references `decisions` (ON DELETE CASCADE), and the row is
 * written in the same transaction as its decision with `ON CONFLICT DO NOTHING`, so a redelivered
 * event is still stored exactly once. JSON fields are `text` (portable; never queried inside).
 */
export class CallRecords1764430000000 implements MigrationInterface {
  name = 'CallRecords1764430000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'call_records',
        columns: [
          {
            name: 'decision_id',
            type: 'varchar',
            length: '36',
            isPrimary: true,
            primaryKeyConstraintName: 'PK_call_records',
          },
          { name: 'bytes_in', type: 'bigint' },
          { name: 'bytes_out', type: 'bigint' },
          { name: 'upstream_status', type: 'integer', isNullable: true },
          { name: 'masked', type: 'text', isNullable: true },
          { name: 'request_body', type: 'text', isNullable: true },
          { name: 'response_body', type: 'text', isNullable: true },
          { name: 'body_chars', type: 'integer' },
        ],
        foreignKeys: [
          new TableForeignKey({
            name: 'FK_call_records_decision',
            columnNames: ['decision_id'],
            referencedTableName: 'decisions',
            referencedColumnNames: ['decision_id'],
            onDelete: 'CASCADE',
          }),
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('call_records');
  }
}

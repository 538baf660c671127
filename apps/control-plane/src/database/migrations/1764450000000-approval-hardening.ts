import {
  Table,
  TableForeignKey,
  TableIndex,
  type MigrationInterface,
  type QueryRunner,
} from 'typeorm';

/**
 * Approval hardening (docs/approvals.md), SQLite and PostgreSQL alike:
 *
 * - `approvals.requirement`: the digest of who may approve and how many must
 *   (approvalRequirementDigest in libs/contracts), checked again by every consume. Rows from
 *   before this migration get `''`, which no digest equals: an approval requested before the
 *   upgrade cannot be used after it (its fingerprint, which now covers the issuer, no longer
 *   matches either); the caller asks again.
 * - `approval_approvers`: the `approvers` entries one per row, so an approver lists only the
 *   requests they may act on. Filled here from the existing rows.
 *
 * `ADD COLUMN` is plain SQL on purpose: TypeORM's SQLite `addColumn` rebuilds the table, and
 * dropping the old `approvals` would cascade into `approval_events`.
 */
export class ApprovalHardening1764450000000 implements MigrationInterface {
  name = 'ApprovalHardening1764450000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      "ALTER TABLE approvals ADD COLUMN requirement varchar(64) NOT NULL DEFAULT ''",
    );
    await queryRunner.createTable(
      new Table({
        name: 'approval_approvers',
        columns: [
          {
            name: 'approval_id',
            type: 'varchar',
            length: '36',
            isPrimary: true,
            primaryKeyConstraintName: 'PK_approval_approvers',
          },
          {
            name: 'entry',
            type: 'varchar',
            length: '300',
            isPrimary: true,
            primaryKeyConstraintName: 'PK_approval_approvers',
          },
        ],
        foreignKeys: [
          new TableForeignKey({
            name: 'FK_approval_approvers_approval',
            columnNames: ['approval_id'],
            referencedTableName: 'approvals',
            referencedColumnNames: ['id'],
            onDelete: 'CASCADE',
          }),
        ],
      }),
    );
    await queryRunner.createIndex(
      'approval_approvers',
      new TableIndex({
        name: 'IDX_approval_approvers_entry',
        columnNames: ['entry', 'approval_id'],
      }),
    );
    const rows = (await queryRunner.query('SELECT id, approvers FROM approvals')) as {
      id: string;
      approvers: string;
    }[];
    const postgres = queryRunner.connection.options.type === 'postgres';
    const insert = postgres
      ? 'INSERT INTO approval_approvers (approval_id, entry) VALUES ($1, $2) ON CONFLICT DO NOTHING'
      : 'INSERT OR IGNORE INTO approval_approvers (approval_id, entry) VALUES (?, ?)';
    for (const row of rows) {
      for (const entry of JSON.parse(row.approvers) as string[]) {
        await queryRunner.query(insert, [row.id, entry]);
      }
    }
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('approval_approvers');
    await queryRunner.query('ALTER TABLE approvals DROP COLUMN requirement');
  }
}

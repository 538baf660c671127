import {
  Table,
  TableForeignKey,
  TableIndex,
  type MigrationInterface,
  type QueryRunner,
} from 'typeorm';

/**
 * Just-in-time approvals (approvals/*.entity.ts), SQLite and PostgreSQL alike:
 *
 * - `approvals`: one row per escalated call. `decision_id` is unique, so an enforcer that asks
 *   twice for the same call gets the same request. Every state change is one conditional
 *   `UPDATE … WHERE status = …`, which is what makes consume exactly-once across replicas.
 * - `approval_events`: the append-only audit trail (requested, approved, denied, expired,
 *   consumed), written in the same transaction as the change it records.
 * - `approval_webhook_deliveries`: the webhook outbox, also written in that transaction, so a
 *   restart between the change and the POST loses no notification.
 *
 * Times are epoch milliseconds (`bigint`); JSON (approvers, the masked body, webhook payloads) is
 * `text`, never queried inside.
 */
export class Approvals1764440000000 implements MigrationInterface {
  name = 'Approvals1764440000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'approvals',
        columns: [
          {
            name: 'id',
            type: 'varchar',
            length: '36',
            isPrimary: true,
            primaryKeyConstraintName: 'PK_approvals',
          },
          { name: 'decision_id', type: 'varchar', length: '36' },
          { name: 'status', type: 'varchar', length: '16' },
          { name: 'requester_subject', type: 'text' },
          { name: 'requester_issuer', type: 'text' },
          { name: 'connection', type: 'varchar', length: '63' },
          { name: 'enforcer_id', type: 'varchar', length: '63' },
          { name: 'bundle_name', type: 'varchar', length: '63' },
          { name: 'bundle_version', type: 'integer', isNullable: true },
          { name: 'method', type: 'varchar', length: '32' },
          { name: 'path', type: 'text' },
          { name: 'query', type: 'text', isNullable: true },
          { name: 'body', type: 'text', isNullable: true },
          { name: 'fingerprint', type: 'varchar', length: '64' },
          { name: 'reason', type: 'text' },
          { name: 'approvers', type: 'text' },
          { name: 'min_approvals', type: 'integer' },
          { name: 'approvals_count', type: 'integer' },
          { name: 'created_at_ms', type: 'bigint' },
          { name: 'expires_at_ms', type: 'bigint' },
          { name: 'resolved_at_ms', type: 'bigint', isNullable: true },
          { name: 'consumed_at_ms', type: 'bigint', isNullable: true },
          { name: 'consumed_by_decision', type: 'varchar', length: '36', isNullable: true },
          { name: 'consumed_by_enforcer', type: 'varchar', length: '63', isNullable: true },
        ],
        uniques: [{ name: 'UQ_approvals_decision_id', columnNames: ['decision_id'] }],
      }),
    );
    await queryRunner.createIndex(
      'approvals',
      new TableIndex({ name: 'IDX_approvals_created', columnNames: ['created_at_ms', 'id'] }),
    );
    await queryRunner.createIndex(
      'approvals',
      new TableIndex({
        name: 'IDX_approvals_status_expiry',
        columnNames: ['status', 'expires_at_ms'],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'approval_events',
        columns: [
          {
            name: 'id',
            type: 'varchar',
            length: '36',
            isPrimary: true,
            primaryKeyConstraintName: 'PK_approval_events',
          },
          { name: 'approval_id', type: 'varchar', length: '36' },
          { name: 'type', type: 'varchar', length: '16' },
          { name: 'actor_subject', type: 'text', isNullable: true },
          { name: 'actor_issuer', type: 'text', isNullable: true },
          { name: 'enforcer_id', type: 'varchar', length: '63', isNullable: true },
          { name: 'decision_id', type: 'varchar', length: '36', isNullable: true },
          { name: 'comment', type: 'text', isNullable: true },
          { name: 'at_ms', type: 'bigint' },
        ],
        foreignKeys: [
          new TableForeignKey({
            name: 'FK_approval_events_approval',
            columnNames: ['approval_id'],
            referencedTableName: 'approvals',
            referencedColumnNames: ['id'],
            onDelete: 'CASCADE',
          }),
        ],
      }),
    );
    await queryRunner.createIndex(
      'approval_events',
      new TableIndex({
        name: 'IDX_approval_events_approval',
        columnNames: ['approval_id', 'at_ms'],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'approval_webhook_deliveries',
        columns: [
          {
            name: 'id',
            type: 'varchar',
            length: '36',
            isPrimary: true,
            primaryKeyConstraintName: 'PK_approval_webhook_deliveries',
          },
          { name: 'approval_id', type: 'varchar', length: '36' },
          { name: 'event', type: 'varchar', length: '32' },
          { name: 'payload', type: 'text' },
          { name: 'state', type: 'varchar', length: '16' },
          { name: 'attempts', type: 'integer' },
          { name: 'next_attempt_at_ms', type: 'bigint' },
          { name: 'claimed_until_ms', type: 'bigint', isNullable: true },
          { name: 'last_error', type: 'text', isNullable: true },
          { name: 'created_at_ms', type: 'bigint' },
          { name: 'finished_at_ms', type: 'bigint', isNullable: true },
        ],
      }),
    );
    await queryRunner.createIndex(
      'approval_webhook_deliveries',
      new TableIndex({
        name: 'IDX_approval_webhook_deliveries_due',
        columnNames: ['state', 'next_attempt_at_ms'],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('approval_webhook_deliveries');
    await queryRunner.dropTable('approval_events');
    await queryRunner.dropTable('approvals');
  }
}

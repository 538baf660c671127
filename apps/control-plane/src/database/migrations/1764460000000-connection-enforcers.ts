import { TableColumn, type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * Each connection's enforcer allow-list (connections/connection.entity.ts `enforcers`), SQLite and
 * PostgreSQL. Existing connections get `["*"]`: every enforcer that serves them keeps receiving
 * their secret, as before allow-lists existed.
 */
export class ConnectionEnforcers1764460000000 implements MigrationInterface {
  name = 'ConnectionEnforcers1764460000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.addColumn(
      'connections',
      new TableColumn({ name: 'enforcers', type: 'text', default: `'["*"]'` }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropColumn('connections', 'enforcers');
  }
}

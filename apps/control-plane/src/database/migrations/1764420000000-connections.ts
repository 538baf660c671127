import { Table, type MigrationInterface, type QueryRunner } from 'typeorm';

/** Connections with encrypted credentials (connections/connection.entity.ts), SQLite and PostgreSQL. */
export class Connections1764420000000 implements MigrationInterface {
  name = 'Connections1764420000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'connections',
        columns: [
          {
            name: 'name',
            type: 'varchar',
            length: '63',
            isPrimary: true,
            primaryKeyConstraintName: 'PK_connections',
          },
          { name: 'type', type: 'varchar', length: '16' },
          { name: 'url', type: 'text' },
          { name: 'labels', type: 'text' },
          { name: 'credential_type', type: 'varchar', length: '16', isNullable: true },
          { name: 'credential_header_name', type: 'varchar', length: '256', isNullable: true },
          { name: 'secret_key_id', type: 'varchar', length: '32', isNullable: true },
          { name: 'secret_ciphertext', type: 'text', isNullable: true },
          { name: 'credentials_rotated_at_ms', type: 'bigint', isNullable: true },
          { name: 'revision', type: 'integer' },
          { name: 'created_by', type: 'text' },
          { name: 'created_at_ms', type: 'bigint' },
          { name: 'updated_by', type: 'text' },
          { name: 'updated_at_ms', type: 'bigint' },
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('connections');
  }
}

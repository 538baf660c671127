import { Table, type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * Bundles and their versions (see bundles/*.entity.ts), for SQLite and PostgreSQL alike: only
 * types both share (varchar, integer, bigint, text), built with TypeORM's schema API.
 */
export class Bundles1764390000000 implements MigrationInterface {
  name = 'Bundles1764390000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'bundles',
        columns: [
          {
            name: 'name',
            type: 'varchar',
            length: '63',
            isPrimary: true,
            primaryKeyConstraintName: 'PK_bundles',
          },
          { name: 'active_version', type: 'integer', isNullable: true },
          { name: 'activated_at_ms', type: 'bigint', isNullable: true },
          { name: 'activated_by', type: 'text', isNullable: true },
          { name: 'created_at_ms', type: 'bigint' },
        ],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'bundle_versions',
        columns: [
          {
            name: 'bundle',
            type: 'varchar',
            length: '63',
            isPrimary: true,
            primaryKeyConstraintName: 'PK_bundle_versions',
          },
          {
            name: 'version',
            type: 'integer',
            isPrimary: true,
            primaryKeyConstraintName: 'PK_bundle_versions',
          },
          { name: 'digest', type: 'varchar', length: '64' },
          { name: 'data_digest', type: 'varchar', length: '64' },
          { name: 'entrypoint', type: 'varchar', length: '256' },
          { name: 'modules', type: 'text' },
          { name: 'data', type: 'text' },
          { name: 'wasm', type: 'text' },
          { name: 'wasm_bytes', type: 'integer' },
          { name: 'created_by', type: 'text' },
          { name: 'created_at_ms', type: 'bigint' },
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('bundle_versions');
    await queryRunner.dropTable('bundles');
  }
}

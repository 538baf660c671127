import { Table, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';

/** Append-only activation history (bundles/bundle-activation.entity.ts), SQLite and PostgreSQL. */
export class BundleActivations1764410000000 implements MigrationInterface {
  name = 'BundleActivations1764410000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'bundle_activations',
        columns: [
          {
            name: 'id',
            type: 'varchar',
            length: '36',
            isPrimary: true,
            primaryKeyConstraintName: 'PK_bundle_activations',
          },
          { name: 'bundle', type: 'varchar', length: '63' },
          { name: 'version', type: 'integer' },
          { name: 'digest', type: 'varchar', length: '64' },
          { name: 'previous_version', type: 'integer', isNullable: true },
          { name: 'activated_by', type: 'text' },
          { name: 'activated_at_ms', type: 'bigint' },
        ],
      }),
    );
    await queryRunner.createIndex(
      'bundle_activations',
      new TableIndex({
        name: 'IDX_bundle_activations_bundle_time',
        columnNames: ['bundle', 'activated_at_ms', 'id'],
      }),
    );
    // Versions activated before this table existed keep their current activation on record.
    await queryRunner.query(
      `INSERT INTO bundle_activations (id, bundle, version, digest, previous_version, activated_by, activated_at_ms)
       SELECT b.name || ':' || CAST(b.active_version AS VARCHAR(12)), b.name, b.active_version, v.digest, NULL,
              b.activated_by, b.activated_at_ms
       FROM bundles b JOIN bundle_versions v ON v.bundle = b.name AND v.version = b.active_version
       WHERE b.active_version IS NOT NULL`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('bundle_activations');
  }
}

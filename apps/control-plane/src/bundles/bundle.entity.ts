import { Column, Entity, PrimaryColumn } from 'typeorm';
import { bigintAsNumber } from './bigint.transformer';

/**
 * A named bundle and which of its versions is active. Internal to the bundles module (the API
 * returns DTOs). Times are epoch milliseconds (bigint) in both SQLite and PostgreSQL.
 */
@Entity({ name: 'bundles' })
export class BundleEntity {
  @PrimaryColumn({
    name: 'name',
    type: 'varchar',
    length: 63,
    primaryKeyConstraintName: 'PK_bundles',
  })
  name!: string;

  @Column({ name: 'active_version', type: 'integer', nullable: true })
  activeVersion!: number | null;

  @Column({ name: 'activated_at_ms', type: 'bigint', nullable: true, transformer: bigintAsNumber })
  activatedAtMs!: number | null;

  @Column({ name: 'activated_by', type: 'text', nullable: true })
  activatedBy!: string | null;

  @Column({ name: 'created_at_ms', type: 'bigint', transformer: bigintAsNumber })
  createdAtMs!: number;
}

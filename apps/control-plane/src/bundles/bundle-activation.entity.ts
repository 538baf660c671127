import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { bigintAsNumber } from './bigint.transformer';

/**
 * One activation of a bundle version (an older version: a rollback), append-only: who made which
 * version active, when, and what it replaced. The auditors' answer to "which policy was in force
 * on that day, and who put it there". Internal to the bundles module.
 */
@Entity({ name: 'bundle_activations' })
@Index('IDX_bundle_activations_bundle_time', ['bundle', 'activatedAtMs', 'id'])
export class BundleActivationEntity {
  @PrimaryColumn({
    name: 'id',
    type: 'varchar',
    length: 36,
    primaryKeyConstraintName: 'PK_bundle_activations',
  })
  id!: string;

  @Column({ name: 'bundle', type: 'varchar', length: 63 })
  bundle!: string;

  @Column({ name: 'version', type: 'integer' })
  version!: number;

  @Column({ name: 'digest', type: 'varchar', length: 64 })
  digest!: string;

  @Column({ name: 'previous_version', type: 'integer', nullable: true })
  previousVersion!: number | null;

  @Column({ name: 'activated_by', type: 'text' })
  activatedBy!: string;

  @Column({ name: 'activated_at_ms', type: 'bigint', transformer: bigintAsNumber })
  activatedAtMs!: number;
}

import { Column, Entity, PrimaryColumn } from 'typeorm';
import { bigintAsNumber } from './bigint.transformer';

/**
 * One immutable, accepted version of a bundle. The primary key (bundle, version) is what makes
 * concurrent uploads safe: two uploads that pick the same next number cannot both insert.
 * Large columns (`modules`, `data`, `wasm`) are read only where needed. `wasm` is base64 text and
 * `modules`/`data` JSON text, which keeps the schema identical in SQLite and PostgreSQL.
 */
@Entity({ name: 'bundle_versions' })
export class BundleVersionEntity {
  @PrimaryColumn({
    name: 'bundle',
    type: 'varchar',
    length: 63,
    primaryKeyConstraintName: 'PK_bundle_versions',
  })
  bundle!: string;

  @PrimaryColumn({
    name: 'version',
    type: 'integer',
    primaryKeyConstraintName: 'PK_bundle_versions',
  })
  version!: number;

  /** Hex sha256 of the wasm module. */
  @Column({ name: 'digest', type: 'varchar', length: 64 })
  digest!: string;

  /** Hex sha256 of `data` (the data.json bytes as distributed). */
  @Column({ name: 'data_digest', type: 'varchar', length: 64 })
  dataDigest!: string;

  @Column({ name: 'entrypoint', type: 'varchar', length: 256 })
  entrypoint!: string;

  /** JSON object `{ "<path>.rego": "<source>" }`, as uploaded. */
  @Column({ name: 'modules', type: 'text', select: false })
  modules!: string;

  /** data.json exactly as built by opa and distributed to enforcers. */
  @Column({ name: 'data', type: 'text', select: false })
  data!: string;

  /** policy.wasm, base64. */
  @Column({ name: 'wasm', type: 'text', select: false })
  wasm!: string;

  @Column({ name: 'wasm_bytes', type: 'integer' })
  wasmBytes!: number;

  @Column({ name: 'created_by', type: 'text' })
  createdBy!: string;

  @Column({ name: 'created_at_ms', type: 'bigint', transformer: bigintAsNumber })
  createdAtMs!: number;
}

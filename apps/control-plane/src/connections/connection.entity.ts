import { Column, Entity, PrimaryColumn } from 'typeorm';
import { bigintAsNumber } from '../bundles/bigint.transformer';

/**
 * One connection with its credential encrypted at rest (AES-256-GCM, key id beside the
 * ciphertext). Internal to the connections module: never returned by the API.
 */
@Entity({ name: 'connections' })
export class ConnectionEntity {
  @PrimaryColumn({
    name: 'name',
    type: 'varchar',
    length: 63,
    primaryKeyConstraintName: 'PK_connections',
  })
  name!: string;

  @Column({ name: 'type', type: 'varchar', length: 16 })
  type!: string;

  @Column({ name: 'url', type: 'text' })
  url!: string;

  /** JSON object of strings. */
  @Column({ name: 'labels', type: 'text' })
  labels!: string;

  /** `bearer`, `basic`, `header`, or null without credentials. */
  @Column({ name: 'credential_type', type: 'varchar', length: 16, nullable: true })
  credentialType!: string | null;

  /** Header name of a `header` credential; not secret. */
  @Column({ name: 'credential_header_name', type: 'varchar', length: 256, nullable: true })
  credentialHeaderName!: string | null;

  @Column({ name: 'secret_key_id', type: 'varchar', length: 32, nullable: true })
  secretKeyId!: string | null;

  /** base64(nonce ‖ AES-256-GCM ciphertext ‖ tag); never in clear. */
  @Column({ name: 'secret_ciphertext', type: 'text', nullable: true })
  secretCiphertext!: string | null;

  @Column({
    name: 'credentials_rotated_at_ms',
    type: 'bigint',
    nullable: true,
    transformer: bigintAsNumber,
  })
  credentialsRotatedAtMs!: number | null;

  /**
   * JSON array: the enforcer ids its secret may be sealed to, `["*"]` for every enforcer, `[]` for
   * none. An enforcer must also serve the connection (ConnectionPublisher).
   */
  @Column({ name: 'enforcers', type: 'text' })
  enforcers!: string;

  /** Increases with every change; published with the connection so reconciliation can compare. */
  @Column({ name: 'revision', type: 'integer' })
  revision!: number;

  @Column({ name: 'created_by', type: 'text' })
  createdBy!: string;

  @Column({ name: 'created_at_ms', type: 'bigint', transformer: bigintAsNumber })
  createdAtMs!: number;

  @Column({ name: 'updated_by', type: 'text' })
  updatedBy!: string;

  @Column({ name: 'updated_at_ms', type: 'bigint', transformer: bigintAsNumber })
  updatedAtMs!: number;
}

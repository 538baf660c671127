import { Column, Entity, Index, PrimaryColumn, Unique } from 'typeorm';
import { bigintAsNumber } from '../bundles/bigint.transformer';

/**
 * One approval request: the escalated call (masked), who asked, who may approve, and where it
 * stands. Internal to the approvals module: the API maps it to DTOs. `status` is the stored
 * state; a `pending` or `approved` row past `expiresAtMs` is expired whether or not the sweeper
 * has written that yet (see approval-state.rules.ts).
 */
@Entity({ name: 'approvals' })
@Index('IDX_approvals_created', ['createdAtMs', 'id'])
@Index('IDX_approvals_status_expiry', ['status', 'expiresAtMs'])
@Unique('UQ_approvals_decision_id', ['decisionId'])
export class ApprovalEntity {
  @PrimaryColumn({
    name: 'id',
    type: 'varchar',
    length: 36,
    primaryKeyConstraintName: 'PK_approvals',
  })
  id!: string;

  /** The escalated call's decision id; unique, so a repeated create finds the same request. */
  @Column({ name: 'decision_id', type: 'varchar', length: 36 })
  decisionId!: string;

  @Column({ name: 'status', type: 'varchar', length: 16 })
  status!: string;

  @Column({ name: 'requester_subject', type: 'text' })
  requesterSubject!: string;

  @Column({ name: 'requester_issuer', type: 'text' })
  requesterIssuer!: string;

  @Column({ name: 'connection', type: 'varchar', length: 63 })
  connection!: string;

  @Column({ name: 'enforcer_id', type: 'varchar', length: 63 })
  enforcerId!: string;

  @Column({ name: 'bundle_name', type: 'varchar', length: 63 })
  bundleName!: string;

  @Column({ name: 'bundle_version', type: 'integer', nullable: true })
  bundleVersion!: number | null;

  @Column({ name: 'method', type: 'varchar', length: 32 })
  method!: string;

  @Column({ name: 'path', type: 'text' })
  path!: string;

  @Column({ name: 'query', type: 'text', nullable: true })
  query!: string | null;

  /** The request body as the enforcer sent it, already masked as the decision said; JSON text. */
  @Column({ name: 'body', type: 'text', nullable: true })
  body!: string | null;

  @Column({ name: 'fingerprint', type: 'varchar', length: 64 })
  fingerprint!: string;

  @Column({ name: 'reason', type: 'text' })
  reason!: string;

  /** JSON array of `group:<name>` / `user:<subject>`, sorted and de-duplicated. */
  @Column({ name: 'approvers', type: 'text' })
  approvers!: string;

  /**
   * approvalRequirementDigest (libs/contracts) of `approvers` and `min_approvals`: a consume must
   * present the same digest, computed from its own decision, or the policy changed meanwhile.
   */
  @Column({ name: 'requirement', type: 'varchar', length: 64 })
  requirement!: string;

  @Column({ name: 'min_approvals', type: 'integer' })
  minApprovals!: number;

  /** Distinct approvers who approved so far. */
  @Column({ name: 'approvals_count', type: 'integer' })
  approvalsCount!: number;

  @Column({ name: 'created_at_ms', type: 'bigint', transformer: bigintAsNumber })
  createdAtMs!: number;

  @Column({ name: 'expires_at_ms', type: 'bigint', transformer: bigintAsNumber })
  expiresAtMs!: number;

  /** When it became approved, denied or expired. */
  @Column({ name: 'resolved_at_ms', type: 'bigint', nullable: true, transformer: bigintAsNumber })
  resolvedAtMs!: number | null;

  @Column({ name: 'consumed_at_ms', type: 'bigint', nullable: true, transformer: bigintAsNumber })
  consumedAtMs!: number | null;

  @Column({ name: 'consumed_by_decision', type: 'varchar', length: 36, nullable: true })
  consumedByDecision!: string | null;

  @Column({ name: 'consumed_by_enforcer', type: 'varchar', length: 63, nullable: true })
  consumedByEnforcer!: string | null;
}

import { Entity, Index, PrimaryColumn } from 'typeorm';

/**
 * One `approvers` entry of an approval request (`user:<sub>` or `group:<name>`), one row each, so
 * an approver's list is filtered to the requests they may act on by an indexed lookup instead of
 * a search inside the JSON column. Written with the request, never changed. Internal to the
 * approvals module.
 */
@Entity({ name: 'approval_approvers' })
@Index('IDX_approval_approvers_entry', ['entry', 'approvalId'])
export class ApprovalApproverEntity {
  @PrimaryColumn({
    name: 'approval_id',
    type: 'varchar',
    length: 36,
    primaryKeyConstraintName: 'PK_approval_approvers',
  })
  approvalId!: string;

  @PrimaryColumn({
    name: 'entry',
    type: 'varchar',
    length: 300,
    primaryKeyConstraintName: 'PK_approval_approvers',
  })
  entry!: string;
}

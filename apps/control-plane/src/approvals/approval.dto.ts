import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { APPROVAL_STATUSES, type ApprovalStatus } from '@portcullis/contracts';
import { APPROVAL_EVENT_TYPES, type ApprovalEventType } from './approval-event.entity';

/** The machine identity whose call waits for approval, as its token named it. */
export class ApprovalRequesterDto {
  @ApiProperty({ example: 'svc-reporting' })
  subject!: string;

  @ApiProperty({ example: 'https://idp.example.com' })
  issuer!: string;
}

/** The escalated call's request line: canonical path and query as the policy saw them. */
export class ApprovalRequestLineDto {
  @ApiProperty({ example: 'DELETE' })
  method!: string;

  @ApiProperty({ example: '/customers' })
  path!: string;

  @ApiProperty({ type: 'string', nullable: true, example: 'confirm=true' })
  query!: string | null;
}

/** The request line with its body, masked by the enforcer as the decision said. */
export class ApprovalRequestDto extends ApprovalRequestLineDto {
  @ApiProperty({
    nullable: true,
    description: 'The request body as JSON (already masked); null when there was none',
  })
  body!: unknown;
}

/** One approval request in a list: what is asked, by whom, who may approve, where it stands. */
export class ApprovalSummaryDto {
  @ApiProperty({ format: 'uuid' })
  approval_id!: string;

  @ApiProperty({
    enum: APPROVAL_STATUSES,
    description:
      'pending and approved turn into expired at expires_at, even before the sweeper writes it',
  })
  status!: ApprovalStatus;

  @ApiProperty({ description: 'Why the policy asks for a human' })
  reason!: string;

  @ApiProperty({ example: 'crm' })
  connection!: string;

  @ApiProperty({ type: ApprovalRequesterDto })
  requester!: ApprovalRequesterDto;

  @ApiProperty({ type: ApprovalRequestLineDto })
  request!: ApprovalRequestLineDto;

  @ApiProperty({ type: [String], example: ['group:dba', 'user:alice'] })
  approvers!: string[];

  @ApiProperty({ type: 'integer', description: 'Distinct approvals needed' })
  min_approvals!: number;

  @ApiProperty({ type: 'integer', description: 'Distinct approvals given so far' })
  approvals!: number;

  @ApiProperty({ format: 'date-time' })
  created_at!: string;

  @ApiProperty({ format: 'date-time', description: 'Approving and using must both happen before' })
  expires_at!: string;

  @ApiProperty({ type: 'string', format: 'date-time', nullable: true })
  resolved_at!: string | null;

  @ApiProperty({ description: 'Where the requester polls the status' })
  status_url!: string;
}

/** Who acted in an event. */
export class ApprovalActorDto {
  @ApiProperty()
  subject!: string;

  @ApiProperty({ type: 'string', nullable: true })
  issuer!: string | null;
}

/** One step of the request's audit trail. */
export class ApprovalEventDto {
  @ApiProperty({ enum: APPROVAL_EVENT_TYPES })
  type!: ApprovalEventType;

  @ApiProperty({
    type: ApprovalActorDto,
    nullable: true,
    description:
      'The requester (requested, consumed) or approver (approved, denied); null for expired',
  })
  actor!: ApprovalActorDto | null;

  @ApiProperty({ type: 'string', nullable: true, description: 'The enforcer that relayed it' })
  enforcer_id!: string | null;

  @ApiProperty({
    type: 'string',
    nullable: true,
    description: 'The call that requested or used the approval',
  })
  decision_id!: string | null;

  @ApiProperty({ type: 'string', nullable: true })
  comment!: string | null;

  @ApiProperty({ format: 'date-time' })
  at!: string;
}

/** One approval given. */
export class ApprovalGivenDto {
  @ApiProperty({ type: ApprovalActorDto })
  approver!: ApprovalActorDto;

  @ApiProperty({ type: 'string', nullable: true })
  comment!: string | null;

  @ApiProperty({ format: 'date-time' })
  at!: string;
}

/** The call that used the approval. */
export class ApprovalConsumptionDto {
  @ApiProperty({ format: 'date-time' })
  at!: string;

  @ApiProperty({ format: 'uuid' })
  decision_id!: string;

  @ApiProperty()
  enforcer_id!: string;
}

/** The policy bundle version that asked for the approval. */
export class ApprovalBundleDto {
  @ApiProperty()
  name!: string;

  @ApiProperty({ type: 'integer', nullable: true })
  version!: number | null;
}

/** One approval request in full: the (masked) request, the approvals given and the history. */
export class ApprovalDetailDto extends ApprovalSummaryDto {
  @ApiProperty({ type: ApprovalRequestDto })
  declare request: ApprovalRequestDto;

  @ApiProperty({ format: 'uuid', description: 'The escalated call (GET /v1/decisions/{id})' })
  decision_id!: string;

  @ApiProperty()
  enforcer_id!: string;

  @ApiProperty({ type: ApprovalBundleDto })
  bundle!: ApprovalBundleDto;

  @ApiProperty({
    description: 'sha256 over issuer, subject, connection, method, path, query and the body hash',
  })
  fingerprint!: string;

  @ApiProperty({ type: [ApprovalGivenDto] })
  approvals_given!: ApprovalGivenDto[];

  @ApiProperty({ type: ApprovalConsumptionDto, nullable: true })
  consumed!: ApprovalConsumptionDto | null;

  @ApiProperty({ type: [ApprovalEventDto], description: 'Oldest first' })
  events!: ApprovalEventDto[];
}

/** A page of approval requests, newest first; pass `next_cursor` as `cursor` for the next. */
export class ApprovalPageDto {
  @ApiProperty({ type: [ApprovalSummaryDto] })
  items!: ApprovalSummaryDto[];

  @ApiProperty({ type: 'string', nullable: true })
  next_cursor!: string | null;
}

/** What the requester may read about its own request (the 202's status_url). */
export class ApprovalStatusDto {
  @ApiProperty({ format: 'uuid' })
  approval_id!: string;

  @ApiProperty({ enum: APPROVAL_STATUSES })
  status!: ApprovalStatus;

  @ApiProperty({ format: 'date-time' })
  expires_at!: string;
}

/** Body of approve (comment optional) and deny (comment required). */
export class ApprovalCommentDto {
  @ApiPropertyOptional({
    maxLength: 2000,
    description: 'Required to deny; kept in the audit trail',
  })
  comment?: string;
}

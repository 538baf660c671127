import { ApiProperty } from '@nestjs/swagger';
import {
  DECISION_ERROR_CODES,
  OUTCOMES,
  PROTOCOLS,
  type DecisionErrorCode,
  type Outcome,
  type Protocol,
} from '@portcullis/contracts';

/** The bundle version that made the decision; version and digest are null when no policy was loaded. */
export class DecisionBundleDto {
  @ApiProperty({ example: 'default' })
  name!: string;

  @ApiProperty({ type: 'integer', nullable: true, example: 3 })
  version!: number | null;

  @ApiProperty({
    type: 'string',
    nullable: true,
    description: 'sha256 (hex) of the policy WASM',
    example: 'e3b0c442…',
  })
  digest!: string | null;
}

/** Why the call was not decided by policy, or why the policy's answer could not be used. */
export class DecisionErrorDto {
  @ApiProperty({ enum: DECISION_ERROR_CODES })
  code!: DecisionErrorCode;

  @ApiProperty({ example: 'token expired' })
  message!: string;
}

/** The canonical request line: method, path and query string as the upstream received them. */
export class DecisionRequestDto {
  @ApiProperty({ example: 'GET' })
  method!: string;

  @ApiProperty({
    example: '/customers/42',
    description: 'The canonical path the upstream received',
  })
  path!: string;

  @ApiProperty({
    type: 'string',
    nullable: true,
    example: 'fields=name&access_token=[REDACTED]',
    description:
      'The canonical query string as forwarded, credential parameters redacted; null when there was none or the enforcer predates this field',
  })
  query!: string | null;
}

/** A body the call record kept, after response masking, capped at the enforcer's record limit. */
export class RecordedBodyDto {
  @ApiProperty({
    enum: ['utf8', 'base64'],
    description: 'utf8: `data` is the text; base64: a binary body',
  })
  encoding!: 'utf8' | 'base64';

  @ApiProperty({ description: 'The body (or its first part when truncated)' })
  data!: string;

  @ApiProperty({ type: 'integer', description: 'Size of the whole body in bytes' })
  bytes!: number;

  @ApiProperty({ description: 'True when `data` holds only the first part of the body' })
  truncated!: boolean;
}

/** What response masking replaced in the body sent to the caller. */
export class MaskedSummaryDto {
  @ApiProperty({ type: 'integer', description: 'Values replaced by the policy’s field paths' })
  fields!: number;

  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'integer' },
    example: { email: 2, credit_card: 1 },
    description: 'Values replaced by each detector, by detector name',
  })
  detectors!: Record<string, number>;
}

/** The call's audit facts beyond the decision: bytes moved, the upstream's answer, masking, bodies. */
export class CallRecordDto {
  @ApiProperty({ type: 'integer', description: 'Request body bytes received from the caller' })
  bytes_in!: number;

  @ApiProperty({
    type: 'integer',
    description: 'Response body bytes sent to the caller (after masking)',
  })
  bytes_out!: number;

  @ApiProperty({
    type: 'integer',
    nullable: true,
    description: 'The upstream’s status; null when nothing was forwarded or no answer came',
  })
  upstream_status!: number | null;

  @ApiProperty({
    type: MaskedSummaryDto,
    nullable: true,
    description: 'null when the response was not masked',
  })
  masked!: MaskedSummaryDto | null;

  @ApiProperty({
    type: RecordedBodyDto,
    nullable: true,
    description: 'Kept only when the policy’s record obligation asked for it',
  })
  request_body!: RecordedBodyDto | null;

  @ApiProperty({
    type: RecordedBodyDto,
    nullable: true,
    description: 'Kept only when the policy’s record obligation asked for it (after masking)',
  })
  response_body!: RecordedBodyDto | null;
}

/**
 * What decision-log masking took out of this record before it left the enforcer: JSON pointers
 * (RFC 6901) into the decision record (`/input/…`, `/result/…`, `/call/…`).
 */
export class LogMaskDto {
  @ApiProperty({
    type: [String],
    example: ['/input/request/headers/authorization', '/input/request/body/password'],
    description: 'Removed from the record: the pointer no longer resolves',
  })
  erased!: string[];

  @ApiProperty({
    type: [String],
    example: ['/input/identity/claims/email'],
    description: 'Kept in the record, with the value replaced by its mask',
  })
  masked!: string[];
}

/** The approval request a call created, waited for or used (just-in-time approval). */
export class DecisionApprovalDto {
  @ApiProperty({ format: 'uuid', description: 'GET /v1/approvals/{id}' })
  id!: string;

  @ApiProperty({
    example: 'pending',
    description: 'The approval status as the enforcer saw it at the call (pending, consumed, …)',
  })
  status!: string;
}

/** Timings the enforcer measured for one call, in OPA's decision-log field names. */
export class DecisionMetricsDto {
  @ApiProperty({
    type: 'integer',
    nullable: true,
    description: 'Policy evaluation time (ns); null without evaluation',
  })
  timer_eval_ns!: number | null;

  @ApiProperty({ type: 'integer', description: 'Time the enforcer spent on the call (ns)' })
  timer_total_ns!: number;
}

/**
 * One decision an enforcer made, as recorded in the decision log. Field names follow OPA's
 * decision log where they fit. Never contains credentials: the enforcer removes them from the
 * input before evaluation, and nothing else in the record carries request headers. Recorded
 * bodies are the policy's choice (`record`) and were masked as its `mask` and `log_mask` said.
 */
export class DecisionDto {
  @ApiProperty({ format: 'uuid', example: '0b7a3c1e-6a43-4c5e-9f1d-2b8e4f6a9c10' })
  decision_id!: string;

  @ApiProperty({
    format: 'date-time',
    description: 'When the enforcer decided (RFC 3339, as the enforcer stamped it)',
  })
  timestamp!: string;

  @ApiProperty({ format: 'date-time', description: 'When the control plane stored the record' })
  stored_at!: string;

  @ApiProperty({ example: 'enforcer-1' })
  enforcer_id!: string;

  @ApiProperty({ type: DecisionBundleDto })
  bundle!: DecisionBundleDto;

  @ApiProperty({
    type: 'string',
    nullable: true,
    description: 'Connection name; null when the path named none',
    example: 'crm',
  })
  connection!: string | null;

  @ApiProperty({ enum: PROTOCOLS })
  protocol!: Protocol;

  @ApiProperty({ example: 'portcullis/decision', description: 'Policy decision path evaluated' })
  path!: string;

  @ApiProperty({
    type: 'string',
    nullable: true,
    description: 'Verified token subject; null when unauthenticated',
  })
  subject!: string | null;

  @ApiProperty({ enum: OUTCOMES })
  outcome!: Outcome;

  @ApiProperty({
    type: [String],
    description: 'Reasons from the policy (or the enforcer, for errors)',
  })
  reasons!: string[];

  @ApiProperty({ type: DecisionErrorDto, nullable: true })
  error!: DecisionErrorDto | null;

  @ApiProperty({
    type: 'integer',
    description: 'Status returned to the caller (HTTP status for http)',
    example: 403,
  })
  status!: number;

  @ApiProperty({ type: DecisionRequestDto })
  request!: DecisionRequestDto;

  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    nullable: true,
    description:
      'The policy input document as evaluated (credentials removed); null when evaluation was not reached',
  })
  input!: Record<string, unknown> | null;

  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    nullable: true,
    description: 'The decision document the policy returned; null when there was none',
  })
  result!: Record<string, unknown> | null;

  @ApiProperty({ type: DecisionMetricsDto })
  metrics!: DecisionMetricsDto;

  @ApiProperty({
    type: CallRecordDto,
    nullable: true,
    description: 'The call record; null for events from enforcers that predate it',
  })
  call!: CallRecordDto | null;

  @ApiProperty({
    type: LogMaskDto,
    nullable: true,
    description: 'What decision-log masking removed or masked; null when nothing was',
  })
  log_mask!: LogMaskDto | null;

  @ApiProperty({
    type: DecisionApprovalDto,
    nullable: true,
    description: 'The approval request this call created or used; null when none',
  })
  approval!: DecisionApprovalDto | null;
}

/** A page of decisions, newest first. Pass `next_cursor` as `cursor` for the next page; null on the last. */
export class DecisionPageDto {
  @ApiProperty({ type: [DecisionDto] })
  items!: DecisionDto[];

  @ApiProperty({
    type: 'string',
    nullable: true,
    description: 'Opaque; null when this is the last page',
  })
  next_cursor!: string | null;
}

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

/** Method and canonical path of the protocol request (credentials and query values are not here). */
export class DecisionRequestDto {
  @ApiProperty({ example: 'GET' })
  method!: string;

  @ApiProperty({
    example: '/customers/42',
    description: 'The canonical path the upstream received',
  })
  path!: string;
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
 * input before evaluation, and nothing else in the record carries request headers.
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

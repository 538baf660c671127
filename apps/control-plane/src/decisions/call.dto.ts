import { ApiProperty } from '@nestjs/swagger';
import {
  DECISION_ERROR_CODES,
  OUTCOMES,
  PROTOCOLS,
  type DecisionErrorCode,
  type Outcome,
  type Protocol,
} from '@portcullis/contracts';
import {
  DecisionApprovalDto,
  DecisionBundleDto,
  DecisionRequestDto,
  LogMaskDto,
  MaskedSummaryDto,
  RecordedBodyDto,
} from './decision.dto';

/**
 * One call as an auditor reads it: who called what through which connection, what came of it,
 * how long it took, how much moved each way and what was masked. The same stored record as
 * `DecisionDto`, flattened for review; the policy input and decision document are in
 * `GET /v1/decisions/{decision_id}`. The call fields are null for calls handled by enforcers
 * that predate the call record (`recorded` is false).
 */
export class CallDto {
  @ApiProperty({ format: 'uuid', example: '0b7a3c1e-6a43-4c5e-9f1d-2b8e4f6a9c10' })
  decision_id!: string;

  @ApiProperty({ format: 'date-time', description: 'When the enforcer received the call' })
  timestamp!: string;

  @ApiProperty({
    type: 'string',
    nullable: true,
    description: 'Verified token subject; null when unauthenticated',
  })
  subject!: string | null;

  @ApiProperty({ type: 'string', nullable: true, example: 'crm' })
  connection!: string | null;

  @ApiProperty({ example: 'enforcer-1' })
  enforcer_id!: string;

  @ApiProperty({ enum: PROTOCOLS })
  protocol!: Protocol;

  @ApiProperty({ type: DecisionRequestDto, description: 'The canonical request line' })
  request!: DecisionRequestDto;

  @ApiProperty({ enum: OUTCOMES })
  outcome!: Outcome;

  @ApiProperty({
    enum: DECISION_ERROR_CODES,
    nullable: true,
    description: 'Why the call was not decided by policy or not completed; null otherwise',
  })
  error_code!: DecisionErrorCode | null;

  @ApiProperty({ type: 'integer', description: 'Status returned to the caller', example: 200 })
  status!: number;

  @ApiProperty({
    type: 'integer',
    nullable: true,
    description: 'The upstream’s status; null when nothing was forwarded or no answer came',
  })
  upstream_status!: number | null;

  @ApiProperty({
    type: 'number',
    description: 'The enforcer’s total time for the call, upstream included (ms, µs precision)',
    example: 12.345,
  })
  duration_ms!: number;

  @ApiProperty({ type: 'integer', nullable: true, description: 'Request body bytes received' })
  bytes_in!: number | null;

  @ApiProperty({
    type: 'integer',
    nullable: true,
    description: 'Response body bytes sent (after masking)',
  })
  bytes_out!: number | null;

  @ApiProperty({ type: DecisionBundleDto, description: 'The bundle version that decided' })
  bundle!: DecisionBundleDto;

  @ApiProperty({
    type: MaskedSummaryDto,
    nullable: true,
    description: 'What response masking replaced; null when nothing was',
  })
  masked!: MaskedSummaryDto | null;

  @ApiProperty({
    type: LogMaskDto,
    nullable: true,
    description:
      'What decision-log masking removed or masked (pointers into the decision record); null when nothing was',
  })
  log_mask!: LogMaskDto | null;

  @ApiProperty({
    type: DecisionApprovalDto,
    nullable: true,
    description: 'The approval request this call created or used; null when none',
  })
  approval!: DecisionApprovalDto | null;

  @ApiProperty({ type: RecordedBodyDto, nullable: true })
  request_body!: RecordedBodyDto | null;

  @ApiProperty({ type: RecordedBodyDto, nullable: true })
  response_body!: RecordedBodyDto | null;

  @ApiProperty({
    description: 'False for calls from enforcers that predate the call record: its fields are null',
  })
  recorded!: boolean;
}

/**
 * A page of calls, newest first. Pass `next_cursor` as `cursor` for the next page; null on the
 * last. A page may hold fewer than `limit` items when their recorded bodies are large.
 */
export class CallPageDto {
  @ApiProperty({ type: [CallDto] })
  items!: CallDto[];

  @ApiProperty({
    type: 'string',
    nullable: true,
    description: 'Opaque; null when this is the last page',
  })
  next_cursor!: string | null;
}

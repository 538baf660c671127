import { ApiProperty } from '@nestjs/swagger';

/**
 * The last bundle version an enforcer failed to load, and why; it keeps running its previous
 * version meanwhile.
 */
export class EnforcerErrorDto {
  @ApiProperty({ type: 'integer' })
  version!: number;
  @ApiProperty()
  message!: string;
  @ApiProperty({ format: 'date-time' })
  at!: string;
}

/** An enforcer as it last reported itself (contract: EnforcerStatus in @portcullis/contracts). */
export class EnforcerStatusDto {
  @ApiProperty()
  enforcer_id!: string;
  @ApiProperty()
  bundle!: string;
  @ApiProperty({
    type: 'integer',
    nullable: true,
    description: 'null while it has no policy (it fails closed)',
  })
  active_version!: number | null;
  @ApiProperty({ type: 'string', nullable: true })
  active_digest!: string | null;
  @ApiProperty({ type: 'string', format: 'date-time', nullable: true })
  activated_at!: string | null;
  @ApiProperty({ type: EnforcerErrorDto, nullable: true })
  last_error!: EnforcerErrorDto | null;
  @ApiProperty({ format: 'date-time' })
  started_at!: string;
  @ApiProperty({ format: 'date-time' })
  reported_at!: string;
}

/** The body of GET /v1/enforcers: every enforcer with a valid status report. */
export class EnforcerListDto {
  @ApiProperty({ type: [EnforcerStatusDto] })
  items!: EnforcerStatusDto[];
}

import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

/**
 * The stable code and caller-safe message of an error; a 500 adds only a correlation id, never
 * internals.
 */
export class ErrorDetailDto {
  @ApiProperty({
    description:
      'Stable code: unauthenticated (or the token problem, e.g. token_expired), forbidden, invalid_request, not_found, conflict, payload_too_large, unavailable, internal',
  })
  code!: string;
  @ApiProperty()
  message!: string;
  @ApiPropertyOptional({
    description: 'Only on 500: quote it to the operator; the log has the details',
  })
  correlation_id?: string;
}

/** The body of every error response except a bundle rejection (422). */
export class ErrorDto {
  @ApiProperty({ type: ErrorDetailDto })
  error!: ErrorDetailDto;
}

import { ApiProperty, getSchemaPath } from '@nestjs/swagger';

/** The body of GET /healthz: the process answers HTTP; it says nothing about its dependencies. */
export class LivenessDto {
  @ApiProperty({ enum: ['ok'] })
  status!: 'ok';
  @ApiProperty({ description: 'Seconds since the process started' })
  uptime_s!: number;
}

/** The state of one dependency or long-lived part, with a caller-safe detail when it is not ok. */
export class ComponentHealthDto {
  @ApiProperty({ enum: ['starting', 'ok', 'degraded', 'failed', 'stopped'] })
  state!: string;
  @ApiProperty({ required: false })
  detail?: string;
}

/**
 * The body of GET /readyz (200 when ready, 503 otherwise): ready only when every component is ok.
 */
export class ReadinessDto {
  @ApiProperty()
  ready!: boolean;
  @ApiProperty({
    description: 'One entry per dependency: database, nats, compiler, and long-lived parts',
    type: 'object',
    additionalProperties: { $ref: getSchemaPath(ComponentHealthDto) },
  })
  components!: Record<string, ComponentHealthDto>;
}

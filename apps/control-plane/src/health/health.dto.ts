import { ApiProperty, getSchemaPath } from '@nestjs/swagger';

export class LivenessDto {
  @ApiProperty({ enum: ['ok'] })
  status!: 'ok';
  @ApiProperty({ description: 'Seconds since the process started' })
  uptime_s!: number;
}

export class ComponentHealthDto {
  @ApiProperty({ enum: ['starting', 'ok', 'degraded', 'failed', 'stopped'] })
  state!: string;
  @ApiProperty({ required: false })
  detail?: string;
}

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

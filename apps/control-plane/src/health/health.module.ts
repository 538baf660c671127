import { Global, Module } from '@nestjs/common';
import { HealthController } from './health.controller';
import { HealthRegistry } from './health.registry';
import { HealthService } from './health.service';

/** GET /healthz and /readyz; {@link HealthRegistry} is global so capabilities add their checks. */
@Global()
@Module({
  providers: [HealthRegistry, HealthService],
  controllers: [HealthController],
  exports: [HealthRegistry],
})
export class HealthModule {}

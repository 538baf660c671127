import { Module } from '@nestjs/common';
import { EnforcerStatusRepository } from './enforcer-status.repository';
import { EnforcersController } from './enforcers.controller';
import { EnforcerService } from './enforcer.service';

/** GET /v1/enforcers: the fleet as it reports itself through the enforcer status KV bucket. */
@Module({
  controllers: [EnforcersController],
  providers: [EnforcerStatusRepository, EnforcerService],
})
export class EnforcersModule {}

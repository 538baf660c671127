import { Module } from '@nestjs/common';
import { EnforcerStatusRepository } from './enforcer-status.repository';
import { EnforcersController } from './enforcers.controller';

/** GET /v1/enforcers: the fleet as it reports itself through the enforcer status KV bucket. */
@Module({ controllers: [EnforcersController], providers: [EnforcerStatusRepository] })
export class EnforcersModule {}

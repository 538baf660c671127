import { Module, type DynamicModule } from '@nestjs/common';
import { ApprovalsModule } from './approvals/approvals.module';
import { AuthModule } from './auth/auth.module';
import { BundlesModule } from './bundles/bundles.module';
import { ConnectionsModule } from './connections/connections.module';
import { ControlPlaneConfigModule } from './config/control-plane-config.module';
import type { ControlPlaneConfig } from './config/control-plane.config';
import { DatabaseModule } from './database/database.module';
import { DecisionsModule } from './decisions/decisions.module';
import { EnforcersModule } from './enforcers/enforcers.module';
import { ErrorsModule } from './errors/errors.module';
import { HealthModule } from './health/health.module';
import { LoggingModule } from './logging/logging.module';
import { MetricsModule } from './metrics/metrics.module';
import { NatsModule } from './nats/nats.module';

/** The control plane: shared infrastructure first, then one module per capability. */
@Module({})
export class AppModule {
  static forRoot(config: ControlPlaneConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ControlPlaneConfigModule.forRoot(config),
        LoggingModule,
        ErrorsModule,
        MetricsModule,
        DatabaseModule,
        NatsModule,
        AuthModule,
        HealthModule,
        BundlesModule,
        EnforcersModule,
        DecisionsModule,
        ConnectionsModule,
        ApprovalsModule,
      ],
    };
  }
}

import { Module } from '@nestjs/common';
import { Logger } from '@portcullis/platform';
import { CONTROL_PLANE_CONFIG, type ControlPlaneConfig } from '../config/control-plane.config';
import { ConnectionDistributionRepository } from './connection-distribution.repository';
import { CONNECTION_DEFAULT_ENFORCERS } from './connection-enforcers.allow-list';
import { ConnectionKeyFileRepository } from './connection-key-file.repository';
import { ConnectionKeyRotator } from './connection-key.rotator';
import { ConnectionSecretCipher } from './connection-secret.cipher';
import { ConnectionSecretSealer } from './connection-secret.sealer';
import { ConnectionPublisher } from './connection.publisher';
import { ConnectionReconciler } from './connection.reconciler';
import { ConnectionRepository } from './connection.repository';
import { ConnectionService } from './connection.service';
import { ConnectionsController } from './connections.controller';

/**
 * Connections: CRUD with write-only credentials, encryption at rest, and distribution to
 * enforcers over NATS sealed to each enforcer's key (docs/connections.md).
 */
@Module({
  controllers: [ConnectionsController],
  providers: [
    {
      provide: ConnectionSecretCipher,
      inject: [CONTROL_PLANE_CONFIG, Logger],
      useFactory: (config: ControlPlaneConfig, logger: Logger) =>
        new ConnectionSecretCipher(
          config.connections.keys ??
            new ConnectionKeyFileRepository(logger.child('connections')).loadOrCreate(
              config.connections.keyFile,
            ),
        ),
    },
    { provide: ConnectionSecretSealer, useFactory: () => new ConnectionSecretSealer() },
    {
      // Validated with the rest of the configuration at boot (CONNECTION_DEFAULT_ENFORCERS).
      provide: CONNECTION_DEFAULT_ENFORCERS,
      inject: [CONTROL_PLANE_CONFIG],
      useFactory: (config: ControlPlaneConfig) => config.connections.defaultEnforcers,
    },
    ConnectionRepository,
    ConnectionDistributionRepository,
    ConnectionPublisher,
    ConnectionKeyRotator,
    ConnectionReconciler,
    ConnectionService,
  ],
})
export class ConnectionsModule {}

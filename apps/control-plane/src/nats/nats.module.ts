import { Global, Module } from '@nestjs/common';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import {
  DEFAULT_TOPOLOGY,
  ensureJetStreamTopology,
  type JetStreamTopology,
} from '@portcullis/contracts';
import { CONTROL_PLANE_CONFIG, type ControlPlaneConfig } from '../config/control-plane.config';
import { natsConnectFailure, natsConnectTarget } from './nats-connect.options';
import { NatsConnectionLifecycle } from './nats-connection.lifecycle';
import { JETSTREAM_TOPOLOGY, NATS_CONNECTION } from './nats.tokens';

/**
 * One NATS connection per control-plane instance and the JetStream resources Portcullis uses.
 * The app does not start without NATS: a control plane that cannot distribute bundles or
 * collect decisions would only pretend to work.
 */
@Global()
@Module({
  providers: [
    {
      provide: NATS_CONNECTION,
      inject: [CONTROL_PLANE_CONFIG],
      useFactory: async (config: ControlPlaneConfig): Promise<NatsConnection> => {
        try {
          return await connect({
            ...natsConnectTarget(config),
            name: 'portcullis-control-plane',
            maxReconnectAttempts: -1,
            reconnectTimeWait: 500,
          });
        } catch (err) {
          throw new Error(natsConnectFailure(config, err));
        }
      },
    },
    {
      provide: JETSTREAM_TOPOLOGY,
      inject: [NATS_CONNECTION, CONTROL_PLANE_CONFIG],
      useFactory: async (
        nc: NatsConnection,
        config: ControlPlaneConfig,
      ): Promise<JetStreamTopology> => {
        try {
          return await ensureJetStreamTopology(nc, {
            ...DEFAULT_TOPOLOGY,
            replicas: config.jetstreamReplicas,
          });
        } catch (err) {
          // Nest does not run shutdown hooks for an app that failed to boot; close here or leak.
          await nc.close();
          throw err;
        }
      },
    },
    NatsConnectionLifecycle,
  ],
  exports: [NATS_CONNECTION, JETSTREAM_TOPOLOGY, NatsConnectionLifecycle],
})
export class NatsModule {}

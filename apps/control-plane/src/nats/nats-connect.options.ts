import type { Authenticator } from '@nats-io/nats-core';
import { natsAuthOptions, natsConnectError, natsServers } from '@portcullis/contracts';
import { redactUrl } from '@portcullis/platform';
import type { ControlPlaneConfig } from '../config/control-plane.config';

/** Where and how a control-plane NATS client connects; spread into `connect()` options. */
export interface NatsConnectTarget {
  servers: string[];
  authenticator?: Authenticator;
}

/**
 * The servers and login of every control-plane NATS client: the shared connection
 * (NATS_CONNECTION) and the approvals microservice, so both log in as the same user.
 */
export function natsConnectTarget(config: ControlPlaneConfig): NatsConnectTarget {
  return { servers: natsServers(config.natsUrl), ...natsAuthOptions(config.natsAuth) };
}

/**
 * Why the control plane could not connect, for the boot failure: the servers without userinfo and,
 * when the server refused the login, the method used (a user or file name, never a secret).
 */
export function natsConnectFailure(config: ControlPlaneConfig, err: unknown): string {
  return `cannot connect to NATS at ${redactUrl(config.natsUrl)}: ${natsConnectError(err, config.natsAuth)}`;
}

import {
  credsAuthenticator,
  nkeyAuthenticator,
  tokenAuthenticator,
  usernamePasswordAuthenticator,
  type Authenticator,
} from '@nats-io/nats-core';
import { describeNatsAuth, errorMessage, redactUrl } from '@portcullis/platform';
import type { ControlPlaneConfig } from '../config/control-plane.config';

const encoder = new TextEncoder();

/** Where and how a control-plane NATS client connects; spread into `connect()` options. */
export interface NatsConnectTarget {
  servers: string[];
  authenticator?: Authenticator;
}

/**
 * The servers and login of every control-plane NATS client: the shared connection
 * (NATS_CONNECTION) and the approvals microservice, so both log in as the same user. Secrets leave
 * their wrapper only here.
 */
export function natsConnectTarget(config: ControlPlaneConfig): NatsConnectTarget {
  const servers = config.natsUrl
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const auth = config.natsAuth;
  switch (auth.method) {
    case 'none':
      return { servers };
    case 'user-password':
      return {
        servers,
        authenticator: usernamePasswordAuthenticator(auth.user, auth.password.reveal()),
      };
    case 'token':
      return { servers, authenticator: tokenAuthenticator(auth.token.reveal()) };
    case 'creds':
      return { servers, authenticator: credsAuthenticator(encoder.encode(auth.creds.reveal())) };
    case 'nkey':
      return { servers, authenticator: nkeyAuthenticator(encoder.encode(auth.seed.reveal())) };
  }
}

/**
 * Why the control plane could not connect, for the boot failure: the servers without userinfo and,
 * when the server refused the login, the method used (a user or file name, never a secret).
 */
export function natsConnectFailure(config: ControlPlaneConfig, err: unknown): string {
  const login = isAuthError(err)
    ? `NATS refused the login with ${describeNatsAuth(config.natsAuth)}: `
    : '';
  return `cannot connect to NATS at ${redactUrl(config.natsUrl)}: ${login}${errorMessage(err)}`;
}

/** By name, through causes: the client may wrap the server's `-ERR 'Authorization Violation'`. */
function isAuthError(err: unknown): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++)
    if (e.name === 'AuthorizationError' || e.name === 'UserAuthenticationExpiredError') return true;
  return false;
}

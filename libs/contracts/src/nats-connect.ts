// Here rather than in libs/platform, beside NatsAuth: platform stays free of third-party packages
// (dev-issuer and sample-upstream load it and never talk to NATS), while this lib is already the
// one through which both apps use @nats-io.
import {
  credsAuthenticator,
  nkeyAuthenticator,
  tokenAuthenticator,
  usernamePasswordAuthenticator,
  type Authenticator,
} from '@nats-io/nats-core';
import { describeNatsAuth, errorMessage, type NatsAuth } from '@portcullis/platform';

const encoder = new TextEncoder();

/**
 * The login part of `connect()` options for a configured {@link NatsAuth}: an authenticator, or
 * nothing when the client connects anonymously. Every Portcullis NATS client logs in through this,
 * and secrets leave their wrapper only here.
 */
export function natsAuthOptions(auth: NatsAuth): { authenticator?: Authenticator } {
  switch (auth.method) {
    case 'none':
      return {};
    case 'user-password':
      return { authenticator: usernamePasswordAuthenticator(auth.user, auth.password.reveal()) };
    case 'token':
      return { authenticator: tokenAuthenticator(auth.token.reveal()) };
    case 'creds':
      return { authenticator: credsAuthenticator(encoder.encode(auth.creds.reveal())) };
    case 'nkey':
      return { authenticator: nkeyAuthenticator(encoder.encode(auth.seed.reveal())) };
  }
}

/** NATS_URL without userinfo, comma-separated, as the list of servers the client tries. */
export function natsServers(url: string): string[] {
  return url
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/**
 * A connection error as the operator needs it: a refused login names the method (never the
 * secret, which the server does not echo either), anything else is the client's message.
 */
export function natsConnectError(err: unknown, auth: NatsAuth): string {
  const message = errorMessage(err);
  return isAuthError(err)
    ? `NATS refused the login with ${describeNatsAuth(auth)}: ${message}`
    : message;
}

/** By name, through causes: the client may wrap the server's `-ERR 'Authorization Violation'`. */
function isAuthError(err: unknown): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++)
    if (e.name === 'AuthorizationError' || e.name === 'UserAuthenticationExpiredError') return true;
  return false;
}

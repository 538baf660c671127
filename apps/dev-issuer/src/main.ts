// Development token issuer: exists ONLY for the dev stack (`npm start`) and local experiments.
// It signs whatever subject and claims a caller asks for, so anything that trusts it trusts
// everyone who can reach its port. Production enforcers and control planes trust a real OIDC
// provider (AUTH_ISSUER) instead. Endpoints: OIDC discovery, JWKS, POST /token
// `{ "sub", "claims"?, "ttl"?, "aud"? }` → `{ "access_token" }`. The signing key is generated at
// start and never persisted: restarting it invalidates every token it minted.
import { EnvReader, Logger, loadConfigOrExit, runMain, stopOnSignals } from '@portcullis/platform';
import { TokenIssuer } from '@portcullis/testing';

const DEFAULT_AUDIENCE = ['portcullis-enforcer', 'portcullis-control-plane'];

async function main(): Promise<void> {
  const log = new Logger('dev-issuer');
  const config = loadConfigOrExit(() => {
    const env = new EnvReader();
    return {
      port: env.port('DEV_ISSUER_PORT', 8900),
      host: env.string('DEV_ISSUER_HOST', '127.0.0.1'),
      audience: env.list('DEV_ISSUER_AUDIENCE', DEFAULT_AUDIENCE),
      // Behind a proxy or in a container the advertised issuer differs from the bind address.
      issuerUrl:
        env.optionalString('DEV_ISSUER_URL') === undefined ? undefined : env.url('DEV_ISSUER_URL'),
    };
  });
  const issuer = new TokenIssuer({
    port: config.port,
    host: config.host,
    audience: config.audience,
    issuer: config.issuerUrl,
  });
  await issuer.start();
  const bound = Number(new URL(issuer.issuer).port) || config.port;
  log.info('listening', {
    port: bound,
    issuer: issuer.issuer,
    jwks_url: issuer.jwksUrl,
    audience: config.audience,
  });
  log.warn(
    'development token issuer: mints any token it is asked for; never use it outside a dev stack',
  );
  stopOnSignals(() => issuer.stop(), log);
}

runMain('dev-issuer', main);

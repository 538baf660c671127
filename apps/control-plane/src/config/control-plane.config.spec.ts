import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '@portcullis/platform';
import { loadControlPlaneConfig } from './control-plane.config';

const base = { AUTH_ISSUER: 'http://127.0.0.1:8900' };

function failsOn(env: Record<string, string>, key: string): void {
  assert.throws(
    () => loadControlPlaneConfig({ ...base, ...env }),
    (err: unknown) =>
      err instanceof ConfigError &&
      err.key === key &&
      err.message.startsWith(`invalid configuration: ${key}`),
  );
}

describe('control-plane configuration', () => {
  it('defaults match the runtime contract when only AUTH_ISSUER is set', () => {
    const c = loadControlPlaneConfig(base);
    assert.equal(c.host, '127.0.0.1');
    assert.equal(c.port, 8700);
    assert.equal(c.databaseUrl, 'sqlite:.data/control-plane.db');
    assert.equal(c.natsUrl, 'nats://127.0.0.1:4222');
    assert.deepEqual(c.auth.audience, ['portcullis-control-plane']);
    assert.equal(c.auth.rolesClaim, 'portcullis_roles');
    assert.equal(c.auth.jwksUrl, undefined);
    assert.equal(c.jetstreamReplicas, 1);
    assert.match(c.opa.bin, /\.tools\/bin\/opa$/);
    assert.match(c.opa.capabilitiesFile, /libs\/policy-runtime\/capabilities\.json$/);
  });

  it('a missing AUTH_ISSUER stops boot naming the key', () =>
    failsOn({ AUTH_ISSUER: '' }, 'AUTH_ISSUER'));
  it('a non-numeric CP_PORT is named', () => failsOn({ CP_PORT: 'http' }, 'CP_PORT'));
  it('a CP_PORT above 65535 is named', () => failsOn({ CP_PORT: '70000' }, 'CP_PORT'));
  it('a DATABASE_URL that is neither sqlite nor postgres is named', () =>
    failsOn({ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL'));
  it('an empty sqlite path is named', () => failsOn({ DATABASE_URL: 'sqlite:' }, 'DATABASE_URL'));
  it('an http NATS_URL is named', () => failsOn({ NATS_URL: 'http://127.0.0.1:4222' }, 'NATS_URL'));
  it('a JWKS URL that is not http(s) is named', () =>
    failsOn({ AUTH_JWKS_URL: 'file:///etc/passwd' }, 'AUTH_JWKS_URL'));
  it('zero JetStream replicas is named', () =>
    failsOn({ JETSTREAM_REPLICAS: '0' }, 'JETSTREAM_REPLICAS'));
  it('an unknown LOG_LEVEL is named', () => failsOn({ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'));
  it('a roles claim with spaces is named', () =>
    failsOn({ AUTH_ROLES_CLAIM: 'my roles' }, 'AUTH_ROLES_CLAIM'));

  it('a postgres DATABASE_URL with credentials is accepted, and a bad one never echoes the password', () => {
    assert.equal(
      loadControlPlaneConfig({ ...base, DATABASE_URL: 'postgres://cp:s3cret@db:5432/cp' })
        .databaseUrl,
      'postgres://cp:s3cret@db:5432/cp',
    );
    assert.throws(
      () => loadControlPlaneConfig({ ...base, DATABASE_URL: 'postgres://cp:s3cret@[bad' }),
      (err: unknown) => err instanceof ConfigError && !err.message.includes('s3cret'),
    );
  });

  it('AUTH_AUDIENCE takes a comma-separated list', () => {
    assert.deepEqual(loadControlPlaneConfig({ ...base, AUTH_AUDIENCE: 'a, b' }).auth.audience, [
      'a',
      'b',
    ]);
  });
});

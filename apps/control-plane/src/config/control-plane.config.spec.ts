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

  const key32 = Buffer.alloc(32, 9).toString('base64');

  it('CONNECTION_ENCRYPTION_KEYS: the first key encrypts, every key is kept for decryption', () => {
    const c = loadControlPlaneConfig({
      ...base,
      CONNECTION_ENCRYPTION_KEYS: `k2:${key32}, k1:${Buffer.alloc(32, 1).toString('base64')}`,
    });
    assert.deepEqual(
      c.connections.keys?.map((k) => k.kid),
      ['k2', 'k1'],
    );
    assert.equal(c.connections.keys?.[0].key.length, 32);
  });
  it('without CONNECTION_ENCRYPTION_KEYS the key file sits beside the SQLite file', () => {
    const c = loadControlPlaneConfig({ ...base, DATABASE_URL: 'sqlite:/var/lib/cp/cp.db' });
    assert.equal(c.connections.keys, null);
    assert.equal(c.connections.keyFile, '/var/lib/cp/connection-keys');
  });
  it('a connection key of the wrong length is named by its id, never by its material', () => {
    const short = Buffer.alloc(16, 3).toString('base64');
    assert.throws(
      () => loadControlPlaneConfig({ ...base, CONNECTION_ENCRYPTION_KEYS: `k1:${short}` }),
      (err: unknown) =>
        err instanceof ConfigError &&
        err.key === 'CONNECTION_ENCRYPTION_KEYS' &&
        /"k1" must be exactly 32 bytes/.test(err.message) &&
        !err.message.includes(short),
    );
  });
  it('a connection key without an id is named', () =>
    failsOn({ CONNECTION_ENCRYPTION_KEYS: key32 }, 'CONNECTION_ENCRYPTION_KEYS'));
  it('a connection key id used twice is named', () =>
    failsOn({ CONNECTION_ENCRYPTION_KEYS: `a:${key32},a:${key32}` }, 'CONNECTION_ENCRYPTION_KEYS'));
  it('approvals: groups claim, public URL, sweep interval and no webhook by default', () => {
    const c = loadControlPlaneConfig({ ...base, CP_HOST: '10.0.0.5', CP_PORT: '9000' });
    assert.equal(c.auth.groupsClaim, 'groups');
    assert.equal(c.publicUrl, 'http://10.0.0.5:9000');
    assert.equal(c.approvals.sweepIntervalMs, 5000);
    assert.equal(c.approvals.webhook, null);
    const set = loadControlPlaneConfig({
      ...base,
      APPROVER_GROUPS_CLAIM: 'teams',
      CP_PUBLIC_URL: 'https://cp.example.com/',
    });
    assert.equal(set.auth.groupsClaim, 'teams');
    assert.equal(set.publicUrl, 'https://cp.example.com');
  });

  it('an approval webhook URL without its secret is named by the secret key', () =>
    failsOn({ APPROVAL_WEBHOOK_URL: 'https://hooks.example.com/x' }, 'APPROVAL_WEBHOOK_SECRET'));
  it('a short approval webhook secret is named, never echoed', () => {
    failsOn(
      {
        APPROVAL_WEBHOOK_URL: 'https://hooks.example.com/x',
        APPROVAL_WEBHOOK_SECRET: 'short-s3cr',
      },
      'APPROVAL_WEBHOOK_SECRET',
    );
    assert.throws(
      () =>
        loadControlPlaneConfig({
          ...base,
          APPROVAL_WEBHOOK_URL: 'https://hooks.example.com/x',
          APPROVAL_WEBHOOK_SECRET: 'short-s3cr',
        }),
      (err: unknown) => err instanceof ConfigError && !err.message.includes('short-s3cr'),
    );
  });
  it('an approval webhook secret without a URL is named', () =>
    failsOn({ APPROVAL_WEBHOOK_SECRET: 'a-secret-of-enough-length' }, 'APPROVAL_WEBHOOK_SECRET'));
  it('an approval webhook URL that is not http(s) is named', () =>
    failsOn(
      { APPROVAL_WEBHOOK_URL: 'ftp://hooks', APPROVAL_WEBHOOK_SECRET: 'a-secret-of-enough-length' },
      'APPROVAL_WEBHOOK_URL',
    ));
  it('a groups claim with spaces is named', () =>
    failsOn({ APPROVER_GROUPS_CLAIM: 'my groups' }, 'APPROVER_GROUPS_CLAIM'));
  it('a webhook with its secret gets retry defaults', () => {
    const c = loadControlPlaneConfig({
      ...base,
      APPROVAL_WEBHOOK_URL: 'https://hooks.example.com/x',
      APPROVAL_WEBHOOK_SECRET: 'a-secret-of-enough-length',
    });
    assert.deepEqual(c.approvals.webhook, {
      url: 'https://hooks.example.com/x',
      secret: 'a-secret-of-enough-length',
      maxAttempts: 10,
      timeoutMs: 5000,
    });
  });

  it('NATS login: NATS_USER and NATS_PASSWORD become natsAuth; NATS_URL keeps no userinfo', () => {
    assert.deepEqual(loadControlPlaneConfig(base).natsAuth, { method: 'none' });
    const c = loadControlPlaneConfig({
      ...base,
      NATS_URL: 'nats://nats-1:4222,nats://nats-2:4222',
      NATS_USER: 'control-plane',
      NATS_PASSWORD: 'pw',
    });
    assert.equal(c.natsUrl, 'nats://nats-1:4222,nats://nats-2:4222');
    assert.ok(c.natsAuth.method === 'user-password' && c.natsAuth.user === 'control-plane');
    const fromUrl = loadControlPlaneConfig({ ...base, NATS_URL: 'nats://cp:pw@nats-1:4222' });
    assert.equal(fromUrl.natsUrl, 'nats://nats-1:4222');
    assert.ok(fromUrl.natsAuth.method === 'user-password' && fromUrl.natsAuth.from === 'NATS_URL');
  });
  it('an unreadable NATS_CREDS_FILE is named', () =>
    failsOn({ NATS_CREDS_FILE: '/nonexistent/cp.creds' }, 'NATS_CREDS_FILE'));
  it('a NATS_URL password together with NATS_TOKEN is named', () =>
    failsOn({ NATS_URL: 'nats://cp:pw@h:4222', NATS_TOKEN: 't' }, 'NATS_TOKEN'));
  it('CONNECTION_DEFAULT_ENFORCERS is part of the config: unset every enforcer, empty none', () => {
    assert.deepEqual(loadControlPlaneConfig(base).connections.defaultEnforcers, ['*']);
    assert.deepEqual(
      loadControlPlaneConfig({ ...base, CONNECTION_DEFAULT_ENFORCERS: '' }).connections
        .defaultEnforcers,
      [],
    );
    assert.deepEqual(
      loadControlPlaneConfig({ ...base, CONNECTION_DEFAULT_ENFORCERS: 'crm-eu-1, crm-eu-2' })
        .connections.defaultEnforcers,
      ['crm-eu-1', 'crm-eu-2'],
    );
  });
  it('an invalid CONNECTION_DEFAULT_ENFORCERS is named', () =>
    failsOn({ CONNECTION_DEFAULT_ENFORCERS: 'Bad Id' }, 'CONNECTION_DEFAULT_ENFORCERS'));
});

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '@portcullis/platform';
import { idFromHostname, loadEnforcerConfig, parseConnections } from './enforcer.config';

describe('enforcer configuration', () => {
  let dir: string;
  let file: string;
  const env = (over: Record<string, string | undefined> = {}) => ({
    ENFORCER_CONNECTIONS_FILE: file,
    AUTH_ISSUER: 'http://127.0.0.1:8900',
    ENFORCER_ID: 'e1',
    ...over,
  });

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'enforcer-config-'));
    file = join(dir, 'connections.json');
    writeFileSync(
      file,
      JSON.stringify({
        connections: [
          { name: 'crm', type: 'http', url: 'http://127.0.0.1:8901', labels: { team: 'sales' } },
        ],
      }),
    );
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('defaults follow the runtime contract', () => {
    const c = loadEnforcerConfig(env());
    assert.equal(c.host, '127.0.0.1');
    assert.equal(c.port, 8800);
    assert.equal(c.adminPort, 8801);
    assert.equal(c.bundle, 'default');
    assert.equal(c.natsUrl, 'nats://127.0.0.1:4222');
    assert.deepEqual(c.auth, {
      issuer: 'http://127.0.0.1:8900',
      audience: ['portcullis-enforcer'],
    });
    assert.equal(c.maxBodyBytes, 1_048_576);
    assert.equal(c.maxHeaderBytes, 16_384);
    assert.equal(c.requestTimeoutMs, 30_000);
    assert.equal(c.upstreamTimeoutMs, 30_000);
    assert.equal(c.failMode, 'closed');
    assert.equal(c.connections[0].name, 'crm');
    assert.equal(c.connections[0].url.href, 'http://127.0.0.1:8901/');
    assert.deepEqual(c.connections[0].labels, { team: 'sales' });
  });

  const bad: [string, Record<string, string>, RegExp][] = [
    [
      'a missing AUTH_ISSUER',
      { AUTH_ISSUER: '' },
      /^invalid configuration: AUTH_ISSUER is required/,
    ],
    [
      'an ENFORCER_SERVES entry that is not a connection name',
      { ENFORCER_SERVES: 'crm, CRM!' },
      /^invalid configuration: ENFORCER_SERVES "CRM!" is neither "\*" nor a name/,
    ],
    [
      'an unreadable connections file',
      { ENFORCER_CONNECTIONS_FILE: '/nonexistent/c.json' },
      /ENFORCER_CONNECTIONS_FILE cannot be read \(ENOENT\)/,
    ],
    ['an ENFORCER_ID outside NAME_PATTERN', { ENFORCER_ID: 'Bad.Id' }, /ENFORCER_ID must match/],
    [
      'an ENFORCER_BUNDLE outside NAME_PATTERN',
      { ENFORCER_BUNDLE: 'a.b' },
      /ENFORCER_BUNDLE must match/,
    ],
    ['a non-numeric port', { ENFORCER_PORT: 'http' }, /ENFORCER_PORT must be an integer/],
    [
      'the admin port equal to the proxy port',
      { ENFORCER_PORT: '9000', ENFORCER_ADMIN_PORT: '9000' },
      /ENFORCER_ADMIN_PORT must differ/,
    ],
    [
      'an unknown fail mode',
      { ENFORCER_FAIL_MODE: 'sometimes' },
      /ENFORCER_FAIL_MODE must be one of closed, open/,
    ],
    [
      'a negative body cap',
      { ENFORCER_MAX_BODY_BYTES: '-1' },
      /ENFORCER_MAX_BODY_BYTES must be >= 0/,
    ],
    [
      'a tiny header cap',
      { ENFORCER_MAX_HEADER_BYTES: '10' },
      /ENFORCER_MAX_HEADER_BYTES must be >= 1024/,
    ],
    [
      'a NATS_URL with the wrong scheme',
      { NATS_URL: 'http://127.0.0.1:4222' },
      /NATS_URL must use/,
    ],
    ['an invalid AUTH_JWKS_URL', { AUTH_JWKS_URL: 'not a url' }, /AUTH_JWKS_URL must be a URL/],
  ];
  for (const [what, over, message] of bad) {
    it(`${what} stops boot with a message naming the key`, () => {
      assert.throws(
        () => loadEnforcerConfig(env(over)),
        (err: unknown) => {
          assert.ok(err instanceof ConfigError);
          assert.match(err.message, message);
          return true;
        },
      );
    });
  }

  it('a connections file that is not JSON names the key', () => {
    const f = join(dir, 'broken.json');
    writeFileSync(f, '{"connections": [');
    assert.throws(
      () => loadEnforcerConfig(env({ ENFORCER_CONNECTIONS_FILE: f })),
      /ENFORCER_CONNECTIONS_FILE is not valid JSON/,
    );
  });

  const badEntries: [string, unknown, RegExp][] = [
    ['a file without a connections array', { conns: [] }, /must contain \{"connections"/],
    [
      'an entry that is not an object',
      { connections: ['crm'] },
      /connections\[0\] must be an object/,
    ],
    [
      'a name outside NAME_PATTERN',
      { connections: [{ name: 'CRM!', type: 'http', url: 'http://a' }] },
      /connections\[0\] "CRM!": name must match/,
    ],
    [
      'a duplicate name',
      {
        connections: [
          { name: 'a', type: 'http', url: 'http://a' },
          { name: 'a', type: 'http', url: 'http://b' },
        ],
      },
      /connections\[1\] "a": name is used twice/,
    ],
    [
      'an unsupported type',
      { connections: [{ name: 'db', type: 'postgres', url: 'http://a' }] },
      /connections\[0\] "db": type must be "http"/,
    ],
    [
      'a URL that is not a URL',
      { connections: [{ name: 'a', type: 'http', url: 'nope' }] },
      /"a": url is not a URL/,
    ],
    [
      'a non-http URL',
      { connections: [{ name: 'a', type: 'http', url: 'ftp://a' }] },
      /url must be http or https/,
    ],
    [
      'a URL with credentials (never echoed)',
      { connections: [{ name: 'a', type: 'http', url: 'http://u:hunter2@a' }] },
      /^(?!.*hunter2).*url must not carry credentials/,
    ],
    [
      'a URL with a query',
      { connections: [{ name: 'a', type: 'http', url: 'http://a/?x=1' }] },
      /query or fragment/,
    ],
    [
      'a non-string label',
      { connections: [{ name: 'a', type: 'http', url: 'http://a', labels: { tier: 1 } }] },
      /labels\.tier must be a string/,
    ],
  ];
  for (const [what, json, message] of badEntries) {
    it(`${what} is rejected naming the entry`, () => {
      assert.throws(
        () => parseConnections(json),
        (err: unknown) => {
          assert.ok(err instanceof ConfigError);
          assert.equal(err.key, 'ENFORCER_CONNECTIONS_FILE');
          assert.match(err.message, message);
          return true;
        },
      );
    });
  }

  it('without a connections file the enforcer starts with no local connections and serves every control-plane one', () => {
    const c = loadEnforcerConfig(env({ ENFORCER_CONNECTIONS_FILE: '' }));
    assert.deepEqual(c.connections, []);
    assert.deepEqual(c.connectionServes, ['*']);
    assert.deepEqual(
      loadEnforcerConfig(env({ ENFORCER_SERVES: 'crm, erp, crm' })).connectionServes,
      ['crm', 'erp'],
    );
  });

  const entry = (credentials: unknown) => ({
    connections: [{ name: 'crm', type: 'http', url: 'http://a', credentials }],
  });

  it('file credentials are read from the environment variables the file names', () => {
    const secrets = { CRM_TOKEN: 'tok-1', CRM_PW: 'pw-1', CRM_KEY: 'key-1' };
    assert.deepEqual(
      parseConnections(entry({ type: 'bearer', token_env: 'CRM_TOKEN' }), undefined, secrets)[0]
        .credentials,
      { type: 'bearer', token: 'tok-1' },
    );
    assert.deepEqual(
      parseConnections(
        entry({ type: 'basic', username: 'svc', password_env: 'CRM_PW' }),
        undefined,
        secrets,
      )[0].credentials,
      { type: 'basic', username: 'svc', password: 'pw-1' },
    );
    assert.deepEqual(
      parseConnections(
        entry({ type: 'header', name: 'X-Api-Key', value_env: 'CRM_KEY' }),
        undefined,
        secrets,
      )[0].credentials,
      { type: 'header', name: 'X-Api-Key', value: 'key-1' },
    );
    assert.equal(parseConnections(entry(undefined))[0].credentials, null);
  });

  const badCredentials: [string, unknown, Record<string, string>, RegExp][] = [
    [
      'a secret written into the file',
      { type: 'bearer', token: 'tok-in-file' },
      {},
      /connections\[0\] "crm": credentials\.token must not be in the file; use token_env/,
    ],
    [
      'an environment variable that is not set',
      { type: 'bearer', token_env: 'CRM_TOKEN' },
      {},
      /"crm": credentials\.token_env names CRM_TOKEN, which is not set/,
    ],
    [
      'a secret with a line break (header injection)',
      { type: 'bearer', token_env: 'CRM_TOKEN' },
      { CRM_TOKEN: 'tok-in-env\r\nX: y' },
      /"crm": credentials\.token must be printable ASCII/,
    ],
    [
      'a credential header that is hop-by-hop',
      { type: 'header', name: 'Transfer-Encoding', value_env: 'K' },
      { K: 'v' },
      /"crm": credentials\.name must not be the hop-by-hop/,
    ],
    [
      'an unknown credential type',
      { type: 'oauth' },
      {},
      /"crm": credentials\.type must be one of bearer, basic, header/,
    ],
  ];
  for (const [what, credentials, secrets, message] of badCredentials) {
    it(`${what} stops boot naming the entry, never quoting the secret`, () => {
      assert.throws(
        () => parseConnections(entry(credentials), undefined, secrets),
        (err: unknown) => {
          assert.ok(err instanceof ConfigError);
          assert.equal(err.key, 'ENFORCER_CONNECTIONS_FILE');
          assert.match(err.message, message);
          assert.ok(!/tok-in-(file|env)/.test(err.message), 'secret quoted');
          return true;
        },
      );
    });
  }

  it('NATS login: anonymous by default; user:password in NATS_URL becomes natsAuth and leaves the URL', () => {
    assert.deepEqual(loadEnforcerConfig(env()).natsAuth, { method: 'none' });
    const c = loadEnforcerConfig(env({ NATS_URL: 'nats://enforcer-e1:pw@nats-1:4222' }));
    assert.equal(c.natsUrl, 'nats://nats-1:4222');
    assert.ok(c.natsAuth.method === 'user-password');
    assert.equal(c.natsAuth.user, 'enforcer-e1');
    assert.equal(c.natsAuth.password.reveal(), 'pw');
  });

  it('two NATS login methods stop boot naming both keys, never the secrets', () => {
    assert.throws(
      () =>
        loadEnforcerConfig(
          env({ NATS_TOKEN: 'tok-secret', NATS_USER: 'u', NATS_PASSWORD: 'pw-secret' }),
        ),
      (err: unknown) =>
        err instanceof ConfigError &&
        err.key === 'NATS_TOKEN' &&
        /NATS_TOKEN and NATS_USER are both set/.test(err.message) &&
        !/secret/.test(err.message),
    );
  });

  it('the default enforcer id is derived from the host name within NAME_PATTERN', () => {
    assert.equal(idFromHostname('Web-01.Prod.Example.COM'), 'web-01-prod-example-com');
    assert.equal(idFromHostname('...'), 'enforcer');
    assert.equal(idFromHostname('x'.repeat(100)).length, 63);
  });
});

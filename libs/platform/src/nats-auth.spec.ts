import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { ConfigError } from './config';
import { describeNatsAuth, loadNatsClientConfig, SecretValue } from './nats-auth';

const SEED = 'SUALD44J6CJMSH4K3YJW62FBQVPMHTHGRUPZSICOYMDEGJI3LBVBWIUYWE';
const JWT = 'eyJ0eXAiOiJKV1QiLCJhbGciOiJlZDI1NTE5LW5rZXkifQ.eyJzdWIiOiJVQSJ9.c2lnbmF0dXJl';
const CREDS = `-----BEGIN NATS USER JWT-----
${JWT}
------END NATS USER JWT------

************************* IMPORTANT *************************
NKEY Seed printed below can be used to sign and prove identity.

-----BEGIN USER NKEY SEED-----
${SEED}
------END USER NKEY SEED------
`;

const dir = mkdtempSync(join(tmpdir(), 'portcullis-nats-auth-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

/** The load fails with a ConfigError on `key`, and its message holds none of `secrets`. */
function failsOn(
  env: Record<string, string>,
  key: string,
  pattern: RegExp,
  secrets: string[] = [],
) {
  assert.throws(
    () => loadNatsClientConfig(env),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError, String(err));
      assert.equal(err.key, key);
      assert.match(err.message, pattern);
      for (const s of secrets) assert.ok(!err.message.includes(s), `message repeats ${s}`);
      return true;
    },
  );
}

describe('NATS client configuration', () => {
  it('without any auth variable the client connects anonymously to the default server', () => {
    const c = loadNatsClientConfig({});
    assert.deepEqual(c.servers, ['nats://127.0.0.1:4222']);
    assert.equal(c.url, 'nats://127.0.0.1:4222');
    assert.deepEqual(c.auth, { method: 'none' });
  });

  it('NATS_USER and NATS_PASSWORD log in as that user', () => {
    const c = loadNatsClientConfig({ NATS_USER: 'enforcer-a', NATS_PASSWORD: 's3cret' });
    assert.equal(c.auth.method, 'user-password');
    assert.ok(c.auth.method === 'user-password');
    assert.equal(c.auth.user, 'enforcer-a');
    assert.equal(c.auth.password.reveal(), 's3cret');
    assert.equal(c.auth.from, 'NATS_USER');
  });

  it('a NATS_USER without NATS_PASSWORD (or the reverse) stops boot naming the missing key', () => {
    failsOn({ NATS_USER: 'u' }, 'NATS_PASSWORD', /is required when NATS_USER is set/);
    failsOn({ NATS_PASSWORD: 'pw' }, 'NATS_USER', /is required when NATS_PASSWORD is set/, ['pw']);
  });

  it('NATS_TOKEN logs in with the token', () => {
    const c = loadNatsClientConfig({ NATS_TOKEN: 'tok-123' });
    assert.ok(c.auth.method === 'token');
    assert.equal(c.auth.token.reveal(), 'tok-123');
  });

  it('NATS_CREDS_FILE is read at boot and keeps the whole file for the client', () => {
    const path = file('user.creds', CREDS);
    const c = loadNatsClientConfig({ NATS_CREDS_FILE: path });
    assert.ok(c.auth.method === 'creds');
    assert.equal(c.auth.file, path);
    assert.equal(c.auth.creds.reveal(), CREDS);
  });

  it('NATS_NKEY_SEED_FILE is read at boot and trimmed to the seed', () => {
    const path = file('user.nk', `${SEED}\n`);
    const c = loadNatsClientConfig({ NATS_NKEY_SEED_FILE: path });
    assert.ok(c.auth.method === 'nkey');
    assert.equal(c.auth.seed.reveal(), SEED);
  });

  it('an unreadable credentials or seed file stops boot naming the key and the path', () => {
    const missing = join(dir, 'nope.creds');
    failsOn({ NATS_CREDS_FILE: missing }, 'NATS_CREDS_FILE', /cannot be read \(ENOENT\): .*nope/);
    failsOn({ NATS_NKEY_SEED_FILE: dir }, 'NATS_NKEY_SEED_FILE', /cannot be read \(EISDIR\)/);
  });

  it('a malformed credentials or seed file is refused without echoing its content', () => {
    const notCreds = file('bad.creds', `password=${SEED}\n`);
    failsOn({ NATS_CREDS_FILE: notCreds }, 'NATS_CREDS_FILE', /is not a NATS credentials file/, [
      SEED,
    ]);
    const jwtOnly = file('jwt-only.creds', CREDS.replace(SEED, 'not-a-seed'));
    failsOn({ NATS_CREDS_FILE: jwtOnly }, 'NATS_CREDS_FILE', /is not a NATS credentials/, [JWT]);
    const accountSeed = file('account.nk', `SA${SEED.slice(2)}`);
    failsOn({ NATS_NKEY_SEED_FILE: accountSeed }, 'NATS_NKEY_SEED_FILE', /one user nkey seed/, [
      SEED.slice(2),
    ]);
  });

  it('two methods at once stop boot naming both keys', () => {
    const creds = file('two.creds', CREDS);
    const seed = file('two.nk', SEED);
    const cases: [Record<string, string>, string, string][] = [
      [{ NATS_USER: 'u', NATS_PASSWORD: 'p', NATS_TOKEN: 't' }, 'NATS_TOKEN', 'NATS_USER'],
      [{ NATS_TOKEN: 't', NATS_CREDS_FILE: creds }, 'NATS_CREDS_FILE', 'NATS_TOKEN'],
      [{ NATS_CREDS_FILE: creds, NATS_NKEY_SEED_FILE: seed }, 'NATS_NKEY_SEED_FILE', 'NATS_CREDS'],
      [{ NATS_URL: 'nats://u:p@h:4222', NATS_TOKEN: 't' }, 'NATS_TOKEN', 'NATS_URL'],
      [
        { NATS_URL: 'nats://u:p@h:4222', NATS_USER: 'u', NATS_PASSWORD: 'p' },
        'NATS_USER',
        'NATS_URL',
      ],
    ];
    for (const [env, key, other] of cases)
      failsOn(env, key, new RegExp(`${key} and .*${other}.* are both set: use one`), ['p@']);
  });

  it('user:password in NATS_URL logs in as that user and leaves the URL without it', () => {
    const c = loadNatsClientConfig({ NATS_URL: 'nats://control-plane:p%40ss%3Aw@nats-1:4222' });
    assert.equal(c.url, 'nats://nats-1:4222');
    assert.deepEqual(c.servers, ['nats://nats-1:4222']);
    assert.ok(c.auth.method === 'user-password');
    assert.equal(c.auth.user, 'control-plane');
    assert.equal(c.auth.password.reveal(), 'p@ss:w');
    assert.equal(c.auth.from, 'NATS_URL');
  });

  it('comma-separated servers each lose their userinfo, which must be the same on all', () => {
    const c = loadNatsClientConfig({
      NATS_URL: 'nats://u:pw@nats-1:4222, nats://nats-2:4222,tls://u:pw@nats-3:4222',
    });
    assert.deepEqual(c.servers, ['nats://nats-1:4222', 'nats://nats-2:4222', 'tls://nats-3:4222']);
    assert.equal(c.url, 'nats://nats-1:4222,nats://nats-2:4222,tls://nats-3:4222');
    assert.ok(c.auth.method === 'user-password' && c.auth.password.reveal() === 'pw');
    failsOn({ NATS_URL: 'nats://u:one@a:4222,nats://u:two@b:4222' }, 'NATS_URL', /different/, [
      'one',
      'two',
    ]);
  });

  it('a NATS_URL with a lone name, a bad scheme or no URL at all is refused without the secret', () => {
    failsOn({ NATS_URL: 'nats://tok3n@h:4222' }, 'NATS_URL', /user:password .*NATS_TOKEN/, [
      'tok3n',
    ]);
    failsOn({ NATS_URL: 'http://u:pw@h:4222' }, 'NATS_URL', /must use nats: or tls:/, ['pw']);
    failsOn({ NATS_URL: 'nats://u:hunter2@[bad' }, 'NATS_URL', /must be a URL/, ['hunter2']);
  });

  it('secrets print as [redacted] in strings, JSON and util.inspect, and describe names no secret', () => {
    const c = loadNatsClientConfig({ NATS_USER: 'enforcer-a', NATS_PASSWORD: 'hunter2' });
    const s = new SecretValue('hunter2');
    for (const text of [
      String(s),
      [s].join(''),
      JSON.stringify(c),
      inspect(c, { depth: 10 }),
      describeNatsAuth(c.auth),
    ])
      assert.ok(!text.includes('hunter2'), text);
    assert.equal(describeNatsAuth(c.auth), 'user "enforcer-a" (NATS_USER/NATS_PASSWORD)');
  });
});

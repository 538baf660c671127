import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as connectNats } from '@nats-io/transport-node';
import { nkeys, type NatsConnection } from '@nats-io/nats-core';
import {
  ensureJetStreamTopology,
  parseEnforcerStatus,
  type JetStreamTopology,
} from '@portcullis/contracts';
import { Logger, loadNatsClientConfig } from '@portcullis/platform';
import { NatsServerProcess, REPO_ROOT, TokenIssuer, waitFor } from '@portcullis/testing';
import { createEnforcer, type EnforcerApp } from '../enforcer.app';
import { testEnforcerConfig } from '../../test/enforcer-config.fixture';

/** The enforcer id the example configuration grants permissions to. */
const EXAMPLE_ID = 'crm-eu-1';
const secret = () => randomBytes(12).toString('hex');
const enforcerPassword = secret();
const adminPassword = secret();
const nkeyUser = nkeys.createUser();

/**
 * The `authorization` block of deploy/nats/nats-cluster.conf, uncommented and used as it is (its
 * passwords are config variables, defined here), plus the given users: the test checks the example
 * operators copy, not a lookalike.
 */
function exampleAuthorization(extraUsers: string[]): string {
  const lines = readFileSync(join(REPO_ROOT, 'deploy', 'nats', 'nats-cluster.conf'), 'utf8').split(
    '\n',
  );
  const start = lines.indexOf('# authorization {');
  const end = lines.indexOf('# }', start);
  assert.ok(start >= 0 && end > start, 'nats-cluster.conf has a commented authorization block');
  const block = lines
    .slice(start, end + 1)
    .map((l) => l.replace(/^# ?/, ''))
    .join('\n');
  return [
    `ENFORCER_CRM_EU_1_NATS_PASSWORD: "${enforcerPassword}"`,
    `CONTROL_PLANE_NATS_PASSWORD: "${secret()}"`,
    block.replace('users: [', ['users: [', ...extraUsers].join('\n    ')),
  ].join('\n');
}

const ADMIN_USER = `{ user: test-admin, password: "${adminPassword}" }`;
const NKEY_USER = `{ nkey: ${nkeyUser.getPublicKey()} }`;

describe('the enforcer logs in to a NATS server that requires authentication', () => {
  let nats: NatsServerProcess;
  let tokenNats: NatsServerProcess;
  let issuer: TokenIssuer;
  let admin: NatsConnection;
  let topology: JetStreamTopology;
  let dir: string;
  const token = secret();
  const enforcers: EnforcerApp[] = [];
  const logs: string[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'portcullis-nats-auth-'));
    nats = await NatsServerProcess.start({ config: exampleAuthorization([ADMIN_USER, NKEY_USER]) });
    tokenNats = await NatsServerProcess.start({ config: `authorization { token: "${token}" }` });
    issuer = new TokenIssuer({ port: 0, audience: 'portcullis-enforcer' });
    await issuer.start();
    admin = await connectNats({ servers: nats.url, user: 'test-admin', pass: adminPassword });
    topology = await ensureJetStreamTopology(admin, undefined, 'client');
  });

  after(async () => {
    for (const e of enforcers) await e.stop();
    await admin?.close();
    await issuer?.stop();
    await nats?.stop();
    await tokenNats?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** An in-process enforcer whose NATS settings come from `env`, as `loadEnforcerConfig` reads them. */
  async function startEnforcer(
    enforcerId: string,
    env: Record<string, string>,
  ): Promise<EnforcerApp> {
    const nats = loadNatsClientConfig(env);
    const enforcer = createEnforcer(
      testEnforcerConfig(
        {
          enforcerId,
          bundle: 'auth',
          natsUrl: nats.url,
          issuer: issuer.issuer,
          upstreamUrl: 'http://127.0.0.1:9',
        },
        { natsAuth: nats.auth, statusIntervalMs: 500 },
      ),
      { logger: new Logger('test', 'debug', (line) => logs.push(line)) },
    );
    enforcers.push(enforcer);
    await enforcer.start();
    return enforcer;
  }

  async function reportedStatus(id: string, kv = topology): Promise<void> {
    await waitFor(
      async () => {
        const entry = await kv.enforcers.get(id);
        return entry !== null && entry.operation === 'PUT' && entry.length > 0;
      },
      10_000,
      `status of ${id}`,
    );
    const entry = await kv.enforcers.get(id);
    assert.equal(parseEnforcerStatus(entry?.json()).enforcer_id, id);
  }

  it('with NATS_USER and NATS_PASSWORD, as the example user, it connects and reports its status', async () => {
    const enforcer = await startEnforcer(EXAMPLE_ID, {
      NATS_URL: nats.url,
      NATS_USER: `enforcer-${EXAMPLE_ID}`,
      NATS_PASSWORD: enforcerPassword,
    });
    await waitFor(() => enforcer.nats.isConnected(), 10_000, 'nats connection');
    await reportedStatus(EXAMPLE_ID);
    assert.equal(enforcer.nats.health().state, 'ok');
  });

  it('with NATS_NKEY_SEED_FILE it signs the server nonce and reports its status', async () => {
    const seedFile = join(dir, 'enforcer.nk');
    writeFileSync(seedFile, new TextDecoder().decode(nkeyUser.getSeed()), { mode: 0o600 });
    const enforcer = await startEnforcer('nkey-1', {
      NATS_URL: nats.url,
      NATS_NKEY_SEED_FILE: seedFile,
    });
    await waitFor(() => enforcer.nats.isConnected(), 10_000, 'nats connection');
    await reportedStatus('nkey-1');
  });

  it('with NATS_TOKEN it connects to a token-protected server and reports its status', async () => {
    const enforcer = await startEnforcer('token-1', { NATS_URL: tokenNats.url, NATS_TOKEN: token });
    await waitFor(() => enforcer.nats.isConnected(), 10_000, 'nats connection');
    const nc = await connectNats({ servers: tokenNats.url, token });
    try {
      await reportedStatus('token-1', await ensureJetStreamTopology(nc, undefined, 'client'));
    } finally {
      await nc.close();
    }
  });

  it('with a wrong password it says NATS refused the login, never the password, and keeps retrying until the server accepts it', async () => {
    const wrong = `wrong-${secret()}`;
    const enforcer = await startEnforcer('late-1', {
      NATS_URL: `nats://late-user:${wrong}@127.0.0.1:${nats.port}`,
    });
    await waitFor(
      () => /refused the login/.test(enforcer.nats.health().detail ?? ''),
      10_000,
      'a refused login',
    );
    const health = enforcer.nats.health();
    assert.equal(health.state, 'degraded');
    assert.match(
      health.detail ?? '',
      /NATS refused the login with user "late-user" \(NATS_URL\): .*authorization violation/i,
    );
    const ready = await fetch(`http://127.0.0.1:${enforcer.adminPort}/readyz`);
    const body = await ready.text();
    assert.match(body, /refused the login/);
    // The enforcer stays up and retries: once the server knows the user, it gets in by itself.
    await nats.reload(
      exampleAuthorization([ADMIN_USER, NKEY_USER, `{ user: late-user, password: "${wrong}" }`]),
    );
    await waitFor(() => enforcer.nats.isConnected(), 15_000, 'login after the user was created');
    await reportedStatus('late-1');
    for (const text of [...logs, body, JSON.stringify(enforcer.config)])
      assert.ok(!text.includes(wrong), `a secret leaked: ${text.slice(0, 200)}`);
    for (const text of logs)
      for (const s of [enforcerPassword, token])
        assert.ok(!text.includes(s), `a secret leaked: ${text.slice(0, 200)}`);
  });
});

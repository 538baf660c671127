import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect as connectNats } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { APPROVAL_SUBJECTS } from '@portcullis/contracts';
import { NatsServerProcess, REPO_ROOT } from '@portcullis/testing';
import { ControlPlaneHarness } from '../testing/control-plane.harness';

const secret = () => randomBytes(12).toString('hex');
const enforcerPassword = secret();
const controlPlanePassword = secret();

/**
 * The `authorization` block of deploy/nats/nats-cluster.conf, uncommented and used as it is (its
 * passwords are config variables, defined here): the test checks the example operators copy.
 */
function exampleAuthorization(): string {
  const lines = readFileSync(join(REPO_ROOT, 'deploy', 'nats', 'nats-cluster.conf'), 'utf8').split(
    '\n',
  );
  const start = lines.indexOf('# authorization {');
  const end = lines.indexOf('# }', start);
  assert.ok(start >= 0 && end > start, 'nats-cluster.conf has a commented authorization block');
  return [
    `ENFORCER_CRM_EU_1_NATS_PASSWORD: "${enforcerPassword}"`,
    `CONTROL_PLANE_NATS_PASSWORD: "${controlPlanePassword}"`,
    ...lines.slice(start, end + 1).map((l) => l.replace(/^# ?/, '')),
  ].join('\n');
}

describe('the control plane logs in to a NATS server that requires authentication', () => {
  let nats: NatsServerProcess;
  let h: ControlPlaneHarness;
  let enforcerNc: NatsConnection;

  before(async () => {
    nats = await NatsServerProcess.start({ config: exampleAuthorization() });
    h = await ControlPlaneHarness.start({
      nats,
      env: { NATS_USER: 'control-plane', NATS_PASSWORD: controlPlanePassword },
    });
    // An enforcer as the example permits it: it may ask for approvals and read the replies.
    enforcerNc = await connectNats({
      servers: nats.url,
      user: 'enforcer-crm-eu-1',
      pass: enforcerPassword,
    });
  });

  after(async () => {
    await enforcerNc?.close();
    await h?.stop();
    await nats?.stop();
  });

  it('as the example control-plane user it is ready: NATS round trip and decision consumer', async () => {
    const res = await h.request('GET', '/readyz');
    assert.equal(res.status, 200, res.text);
    const body = res.body as { components: Record<string, { state: string }> };
    assert.equal(body.components.nats?.state, 'ok');
    assert.equal(body.components['decisions-consumer']?.state, 'ok');
  });

  it('the approvals transport logs in too: it answers an enforcer request in its queue group', async () => {
    const msg = await enforcerNc.request(APPROVAL_SUBJECTS.get, JSON.stringify({}), {
      timeout: 5000,
    });
    const reply = msg.json<{ ok: boolean; error?: { code: string } }>();
    assert.equal(reply.ok, false);
    assert.ok(
      ['invalid_request', 'not_found'].includes(reply.error?.code ?? ''),
      JSON.stringify(reply),
    );
  });

  it('user:password in NATS_URL logs it in as well, and the URL it keeps has none', async () => {
    const h2 = await ControlPlaneHarness.start({
      nats,
      env: { NATS_URL: `nats://control-plane:${controlPlanePassword}@127.0.0.1:${nats.port}` },
    });
    try {
      assert.equal(h2.config.natsUrl, nats.url);
      assert.equal((await h2.request('GET', '/readyz')).status, 200);
    } finally {
      await h2.stop();
    }
  });

  it('a wrong password stops boot with an error that names the user, not the password', async () => {
    const wrong = `wrong-${secret()}`;
    await assert.rejects(
      ControlPlaneHarness.start({
        nats,
        env: { NATS_URL: `nats://control-plane:${wrong}@127.0.0.1:${nats.port}` },
      }),
      (err: Error) => {
        assert.match(
          err.message,
          /^cannot connect to NATS at nats:\/\/127\.0\.0\.1:\d+: NATS refused the login with user "control-plane" \(NATS_URL\): .*authorization violation/i,
        );
        assert.ok(!err.message.includes(wrong), err.message);
        assert.ok(!JSON.stringify(err).includes(wrong));
        return true;
      },
    );
  });
});

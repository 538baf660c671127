import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect as connectNats } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { NATS_NAMES, decisionSubject, type BundlePointer } from '@portcullis/contracts';
import { Logger } from '@portcullis/platform';
import { NatsServerProcess, TokenIssuer, waitFor } from '@portcullis/testing';
import { createEnforcer, type EnforcerApp } from '../enforcer.app';
import { activate, compileRego, uploadVersion } from '../../test/policy-bundle.fixture';
import { RecordingUpstream } from '../../test/recording-upstream.fixture';
import { testEnforcerConfig } from '../../test/enforcer-config.fixture';

const policy = (allow: boolean) => `package portcullis

import rego.v1

decision := {"allow": ${allow}, "reasons": []}
`;

const quiet = new Logger('test', 'error', () => undefined);

describe('the enforcer survives a NATS outage (real nats-server, killed and restarted)', () => {
  let nats: NatsServerProcess;
  let issuer: TokenIssuer;
  let upstream: RecordingUpstream;
  let enforcer: EnforcerApp;
  let token: string;
  let v2: BundlePointer;

  before(async () => {
    nats = await NatsServerProcess.start();
    issuer = new TokenIssuer({ port: 0, audience: 'portcullis-enforcer' });
    await issuer.start();
    upstream = new RecordingUpstream();
    await upstream.start();
    token = await issuer.mint({ sub: 'fn-outage' });
    const nc = await connectNats({ servers: nats.url });
    await activate(
      nc,
      await uploadVersion(nc, 'outage', 1, compileRego({ 'policy.rego': policy(true) })),
    );
    v2 = await uploadVersion(nc, 'outage', 2, compileRego({ 'policy.rego': policy(false) }));
    await nc.close();
    enforcer = createEnforcer(
      testEnforcerConfig(
        {
          enforcerId: 'itest-outage',
          bundle: 'outage',
          natsUrl: nats.url,
          issuer: issuer.issuer,
          upstreamUrl: upstream.url,
        },
        { statusIntervalMs: 500, eventQueueMax: 100 },
      ),
      { logger: quiet },
    );
    await enforcer.start();
    await waitFor(() => enforcer.watcher.current()?.version === 1, 10_000, 'version 1');
  });

  after(async () => {
    await enforcer?.stop();
    await upstream?.stop();
    await issuer?.stop();
    await nats?.stop();
  });

  const get = () =>
    fetch(`http://127.0.0.1:${enforcer.proxyPort}/crm/x`, {
      headers: { authorization: `Bearer ${token}` },
    });

  it('keeps enforcing during the outage, then delivers the queued events and follows new activations', async () => {
    // A crash, not a shutdown: the server gets no chance to say goodbye to its clients.
    await nats.halt('SIGKILL');
    await waitFor(() => !enforcer.nats.isConnected(), 10_000, 'disconnect noticed');
    const during = await Promise.all([get(), get(), get()]);
    assert.deepEqual(
      during.map((r) => r.status),
      [200, 200, 200],
    );
    const ids = during.map((r) => r.headers.get('x-portcullis-decision-id'));
    // Still ready: it decides calls with its last policy; NATS shows as degraded, not fatal.
    const ready = await fetch(`http://127.0.0.1:${enforcer.adminPort}/readyz`);
    assert.equal(ready.status, 200);
    const report = (await ready.json()) as { components: Record<string, { state: string }> };
    assert.notEqual(report.components.nats.state, 'ok');

    await nats.resume();
    await waitFor(() => enforcer.nats.isConnected(), 20_000, 'reconnect');
    const nc = await connectNats({ servers: nats.url });
    try {
      await activate(nc, v2);
      await waitFor(
        () => enforcer.watcher.current()?.version === 2,
        20_000,
        'version 2 after the outage',
      );
      assert.equal((await get()).status, 403);
      const js = jetstream(nc);
      const seen = new Set<string>();
      await waitFor(
        async () => {
          const consumer = await js.consumers.get(NATS_NAMES.decisionStream, {
            filter_subjects: decisionSubject('itest-outage'),
          });
          const batch = await consumer.fetch({ max_messages: 100, expires: 1000 });
          for await (const m of batch) {
            seen.add(m.json<{ decision_id: string }>().decision_id);
            if (m.info.pending === 0) break;
          }
          return ids.every((id) => id !== null && seen.has(id));
        },
        20_000,
        'events queued during the outage',
      );
    } finally {
      await nc.close();
    }
  });
});

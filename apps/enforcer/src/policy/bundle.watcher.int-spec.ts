import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect as connectNats } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import {
  NATS_NAMES,
  activeBundleKey,
  decisionSubject,
  ensureJetStreamTopology,
  parseDecisionEvent,
  parseEnforcerStatus,
  type BundlePointer,
  type DecisionEvent,
} from '@portcullis/contracts';
import { Logger } from '@portcullis/platform';
import { NatsServerProcess, TokenIssuer, waitFor } from '@portcullis/testing';
import type { EnforcerConfig } from '../config/enforcer.config';
import { createEnforcer, type EnforcerApp } from '../enforcer.app';
import { activate, compileRego, uploadVersion } from '../../test/policy-bundle.fixture';
import { RecordingUpstream } from '../../test/recording-upstream.fixture';
import { testEnforcerConfig } from '../../test/enforcer-config.fixture';

const allowAll = `package portcullis

import rego.v1

decision := {"allow": true, "reasons": ["version one allows"]}
`;
const denyAll = `package portcullis

import rego.v1

decision := {"allow": false, "reasons": ["version two denies"]}
`;

const quiet = new Logger('test', 'error', () => undefined);

describe('bundle distribution to running and late-starting enforcers (real nats-server and opa)', () => {
  let nats: NatsServerProcess;
  let nc: NatsConnection;
  let issuer: TokenIssuer;
  let upstream: RecordingUpstream;
  let token: string;
  let v1: BundlePointer;
  let v2: BundlePointer;
  const enforcers: EnforcerApp[] = [];

  async function startEnforcer(
    enforcerId: string,
    over: Partial<EnforcerConfig> = {},
  ): Promise<EnforcerApp> {
    const e = createEnforcer(
      testEnforcerConfig(
        {
          enforcerId,
          bundle: 'swaptest',
          natsUrl: nats.url,
          issuer: issuer.issuer,
          upstreamUrl: upstream.url,
        },
        { statusIntervalMs: 200, ...over },
      ),
      { logger: quiet },
    );
    enforcers.push(e);
    await e.start();
    return e;
  }

  const get = (e: EnforcerApp, path: string) =>
    fetch(`http://127.0.0.1:${e.proxyPort}${path}`, {
      headers: { authorization: `Bearer ${token}` },
    });

  async function events(enforcerId: string, expected: number): Promise<DecisionEvent[]> {
    const js = jetstream(nc);
    let out: DecisionEvent[] = [];
    await waitFor(
      async () => {
        const consumer = await js.consumers.get(NATS_NAMES.decisionStream, {
          filter_subjects: decisionSubject(enforcerId),
        });
        const batch = await consumer.fetch({ max_messages: 1000, expires: 1000 });
        out = [];
        for await (const m of batch) {
          out.push(parseDecisionEvent(m.json()));
          if (m.info.pending === 0) break;
        }
        return out.length >= expected;
      },
      15_000,
      `${expected} decision events from ${enforcerId}`,
    );
    return out;
  }

  before(async () => {
    nats = await NatsServerProcess.start();
    nc = await connectNats({ servers: nats.url });
    issuer = new TokenIssuer({ port: 0, audience: 'portcullis-enforcer' });
    await issuer.start();
    upstream = new RecordingUpstream();
    await upstream.start();
    token = await issuer.mint({ sub: 'fn-swap' });
    v1 = await uploadVersion(nc, 'swaptest', 1, compileRego({ 'policy.rego': allowAll }));
    v2 = await uploadVersion(nc, 'swaptest', 2, compileRego({ 'policy.rego': denyAll }));
  });

  after(async () => {
    for (const e of enforcers.reverse()) await e.stop();
    await nc?.close();
    await upstream?.stop();
    await issuer?.stop();
    await nats?.stop();
  });

  it('an enforcer started after activation enforces the active version', async () => {
    await activate(nc, v1);
    const e = await startEnforcer('itest-late');
    await waitFor(
      () => e.watcher.current()?.version === 1,
      10_000,
      'version 1 on the late enforcer',
    );
    const res = await get(e, '/crm/customers');
    assert.equal(res.status, 200);
  });

  it('activation changes the decisions of a running enforcer without failing in-flight calls', async () => {
    const e = enforcers[0];
    const t0 = Date.now();
    // Calls already past their decision when v2 activates must complete as v1 decided.
    const inFlight = Array.from({ length: 5 }, () => get(e, '/crm/customers?ms=800'));
    await waitFor(
      () => upstream.seen.filter((s) => s.url.includes('ms=800')).length === 5,
      5000,
      'in-flight calls at the upstream',
    );
    const swapStart = Date.now();
    await activate(nc, v2);
    await waitFor(
      async () => (await get(e, '/crm/customers')).status === 403,
      10_000,
      'version 2 enforced',
    );
    const swapMs = Date.now() - swapStart;
    const results = await Promise.all(inFlight);
    assert.deepEqual(
      results.map((r) => r.status),
      [200, 200, 200, 200, 200],
    );
    assert.ok(Date.now() - t0 >= 800);
    assert.equal(e.watcher.current()?.version, 2);
    const denied = await get(e, '/crm/customers');
    assert.equal(denied.status, 403);
    assert.deepEqual(((await denied.json()) as { reasons: string[] }).reasons, [
      'version two denies',
    ]);
    // Activation → enforcement on the same machine; reported, and bounded generously for CI.
    assert.ok(swapMs < 5000, `swap took ${swapMs} ms`);
    process.stderr.write(
      `[enforcer] activation to enforcement: ${swapMs} ms (upper bound, includes polling)\n`,
    );
  });

  it('each decision records the bundle version that made it', async () => {
    const all = await events('itest-late', 8);
    const allowed = all.filter((e) => e.outcome === 'allow');
    const denied = all.filter((e) => e.outcome === 'deny');
    assert.ok(allowed.length >= 6);
    assert.ok(allowed.every((e) => e.bundle.version === 1 && e.bundle.digest === v1.digest));
    assert.ok(denied.length >= 1);
    assert.ok(denied.every((e) => e.bundle.version === 2 && e.bundle.digest === v2.digest));
  });

  it('a version whose artifact does not match its digest is refused and the previous policy stays', async () => {
    const e = enforcers[0];
    const wasm = compileRego({ 'policy.rego': allowAll });
    const v3 = await uploadVersion(nc, 'swaptest', 3, wasm);
    await activate(nc, { ...v3, digest: v2.digest });
    await waitFor(
      () => e.watcher.status().last_error?.version === 3,
      10_000,
      'load failure reported',
    );
    assert.equal(e.watcher.current()?.version, 2);
    assert.match(e.watcher.status().last_error?.message ?? '', /digest mismatch/);
    assert.equal((await get(e, '/crm/customers')).status, 403);
    const topo = await ensureJetStreamTopology(nc);
    await waitFor(
      async () => {
        const entry = await topo.enforcers.get('itest-late');
        if (!entry) return false;
        const status = parseEnforcerStatus(entry.json());
        return status.active_version === 2 && status.last_error?.version === 3;
      },
      10_000,
      'status KV with active version 2 and the version 3 error',
    );
  });

  it('activating an older version again (rollback) takes effect', async () => {
    const e = enforcers[0];
    await activate(nc, v1);
    await waitFor(() => e.watcher.current()?.version === 1, 10_000, 'rollback to version 1');
    assert.equal((await get(e, '/crm/customers')).status, 200);
    assert.equal(e.watcher.status().last_error, null);
    const metrics = await (await fetch(`http://127.0.0.1:${e.adminPort}/metrics`)).text();
    assert.match(metrics, /portcullis_enforcer_bundle_version\{bundle="swaptest"\} 1/);
    assert.match(metrics, /portcullis_enforcer_bundle_load_failures_total\{bundle="swaptest"\} 1/);
  });

  it('an activation storm ends on the last activated pointer and every call in between is decided by a loaded version', async () => {
    const e = enforcers[0];
    let stop = false;
    const statuses: number[] = [];
    const caller = (async () => {
      while (!stop) statuses.push((await get(e, '/crm/customers')).status);
    })();
    const seen = new Set<number>();
    e.watcher.onSwap((p) => seen.add(p.version));
    for (let i = 0; i < 20; i++) await activate(nc, i % 2 === 0 ? v2 : v1);
    await activate(nc, v2);
    await waitFor(() => e.watcher.current()?.version === 2, 10_000, 'the last pointer (v2)');
    // Give a slower, older load every chance to finish after the newest one and overwrite it.
    await new Promise((r) => setTimeout(r, 1500));
    stop = true;
    await caller;
    assert.equal(e.watcher.current()?.version, 2);
    assert.equal(e.watcher.status().last_error, null);
    assert.ok(statuses.length > 0);
    assert.deepEqual(
      statuses.filter((s) => s !== 200 && s !== 403),
      [],
      'every call was decided by a loaded policy',
    );
    await activate(nc, v1);
    await waitFor(() => e.watcher.current()?.version === 1, 10_000, 'back to v1');
  });

  it('a pointer whose artifacts arrive after it is retried and loads once they are there', async () => {
    const e = enforcers[0];
    const wasm = compileRego({ 'policy.rego': denyAll });
    // Compute the pointer without storing it, then activate before uploading.
    const scratch = await connectNats({ servers: nats.url });
    const v7 = {
      ...(await uploadVersion(scratch, 'scratch-bundle', 7, wasm)),
      bundle: 'swaptest',
    };
    await scratch.close();
    await activate(nc, v7);
    await waitFor(
      () => e.watcher.status().last_error?.version === 7,
      10_000,
      'missing artifacts reported',
    );
    assert.match(e.watcher.status().last_error?.message ?? '', /not found/);
    assert.equal(e.watcher.current()?.version, 1, 'the previous policy keeps deciding');
    await uploadVersion(nc, 'swaptest', 7, wasm);
    await waitFor(() => e.watcher.current()?.version === 7, 15_000, 'version 7 after upload');
    assert.equal(e.watcher.status().last_error, null, 'the error is cleared on success');
    assert.equal((await get(e, '/crm/customers')).status, 403);
  });

  it('a pointer that names another bundle is ignored and the active policy stays', async () => {
    const e = enforcers[0];
    const topo = await ensureJetStreamTopology(nc);
    await topo.bundles.put(activeBundleKey('swaptest'), JSON.stringify({ ...v1, bundle: 'other' }));
    await waitFor(
      () => /another|names bundle "other"/.test(e.watcher.status().last_error?.message ?? ''),
      10_000,
      'the foreign pointer noticed',
    );
    assert.equal(e.watcher.current()?.version, 7);
    await activate(nc, v1);
    await waitFor(() => e.watcher.current()?.version === 1, 10_000, 'v1 after the foreign pointer');
  });

  it('after the bundle bucket is deleted and re-created, new activations are followed', async () => {
    const e = enforcers[0];
    const jsm = await jetstreamManager(nc);
    await jsm.streams.delete(`KV_${NATS_NAMES.bundlePointersBucket}`);
    // The enforcer keeps its policy while the bucket is gone.
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(e.watcher.current()?.version, 1);
    await ensureJetStreamTopology(nc);
    // Revision 1 of the new bucket: lower than every revision the enforcer applied before.
    await activate(nc, v2);
    await waitFor(
      () => e.watcher.current()?.version === 2,
      20_000,
      'version 2 from the re-created bucket',
    );
    assert.equal((await get(e, '/crm/customers')).status, 403);
  });

  it('fail-open mode lets calls through without a policy but marks and counts every one', async () => {
    const e = await startEnforcer('itest-open', { bundle: 'nothing-active', failMode: 'open' });
    await waitFor(() => e.nats.isConnected(), 10_000, 'nats');
    const res = await get(e, '/crm/customers');
    assert.equal(res.status, 200);
    const [event] = await events('itest-open', 1);
    assert.equal(event.outcome, 'error');
    assert.equal(event.error?.code, 'no_policy');
    assert.equal(event.result?.fail_open, true);
    const metrics = await (await fetch(`http://127.0.0.1:${e.adminPort}/metrics`)).text();
    assert.match(metrics, /portcullis_enforcer_fail_open_total\{code="no_policy"\} 1/);
  });

  it('an enforcer whose NATS is unreachable still serves, failing closed, and is not ready', async () => {
    const e = await startEnforcer('itest-nonats', { natsUrl: 'nats://127.0.0.1:1' });
    const res = await get(e, '/crm/customers');
    assert.equal(res.status, 503);
    const ready = await fetch(`http://127.0.0.1:${e.adminPort}/readyz`);
    assert.equal(ready.status, 503);
    const report = (await ready.json()) as { components: Record<string, { state: string }> };
    assert.equal(report.components.nats.state, 'degraded');
  });
});

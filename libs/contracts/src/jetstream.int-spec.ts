import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { jetstreamManager } from '@nats-io/jetstream';
import { NatsServerProcess } from '@portcullis/testing';
import { DEFAULT_TOPOLOGY, NATS_NAMES, ensureJetStreamTopology } from '@portcullis/contracts';

describe('JetStream topology', () => {
  let server: NatsServerProcess;
  let nc: NatsConnection;
  before(async () => {
    server = await NatsServerProcess.start();
    nc = await connect({ servers: server.url });
  });
  after(async () => {
    await nc.close();
    await server.stop();
  });

  it('an enforcer starting first (client role) creates every resource it needs', async () => {
    const topo = await ensureJetStreamTopology(nc, DEFAULT_TOPOLOGY, 'client');
    await topo.bundles.put('probe', 'x');
    assert.equal((await topo.bundles.get('probe'))?.string(), 'x');
    await topo.artifacts.putBlob({ name: 'probe' }, new Uint8Array([1, 2, 3]));
    assert.deepEqual([...((await topo.artifacts.getBlob('probe')) ?? [])], [1, 2, 3]);
    const jsm = await jetstreamManager(nc);
    assert.equal(
      (await jsm.streams.info(NATS_NAMES.decisionStream)).config.name,
      NATS_NAMES.decisionStream,
    );
  });

  it('a client never rewrites the decision stream; the owner does', async () => {
    const jsm = await jetstreamManager(nc);
    await ensureJetStreamTopology(
      nc,
      { ...DEFAULT_TOPOLOGY, decisionMaxAgeMs: 3_600_000 },
      'client',
    );
    const before = (await jsm.streams.info(NATS_NAMES.decisionStream)).config.max_age;
    assert.equal(before, DEFAULT_TOPOLOGY.decisionMaxAgeMs * 1_000_000);
    await ensureJetStreamTopology(
      nc,
      { ...DEFAULT_TOPOLOGY, decisionMaxAgeMs: 3_600_000 },
      'owner',
    );
    assert.equal(
      (await jsm.streams.info(NATS_NAMES.decisionStream)).config.max_age,
      3_600_000 * 1_000_000,
    );
  });

  it('opening existing resources keeps their data (idempotent)', async () => {
    const topo = await ensureJetStreamTopology(nc, DEFAULT_TOPOLOGY, 'client');
    assert.equal((await topo.bundles.get('probe'))?.string(), 'x');
  });

  it('the owner lifts every stream past the server default of 1000 consumers', async () => {
    await ensureJetStreamTopology(nc, DEFAULT_TOPOLOGY, 'owner');
    const jsm = await jetstreamManager(nc);
    const limits: Record<string, number> = {};
    for await (const info of jsm.streams.list())
      limits[info.config.name] = info.config.max_consumers;
    assert.ok(Object.keys(limits).length >= 6, JSON.stringify(limits));
    for (const [name, max] of Object.entries(limits)) {
      assert.equal(max, DEFAULT_TOPOLOGY.maxConsumersPerStream, name);
    }
  });
});

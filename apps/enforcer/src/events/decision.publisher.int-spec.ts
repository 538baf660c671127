import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { connect as connectNats } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import {
  DECISION_EVENT_SCHEMA,
  NATS_NAMES,
  decisionSubject,
  ensureJetStreamTopology,
  type DecisionEvent,
} from '@portcullis/contracts';
import { Logger } from '@portcullis/platform';
import { NatsServerProcess, waitFor } from '@portcullis/testing';
import { EnforcerMetrics } from '../metrics/enforcer.metrics';
import { NatsClient } from '../nats/nats.client';
import { DecisionPublisher } from './decision.publisher';

function event(enforcerId: string): DecisionEvent {
  return {
    schema: DECISION_EVENT_SCHEMA,
    decision_id: randomUUID(),
    timestamp: new Date().toISOString(),
    path: 'portcullis/decision',
    enforcer_id: enforcerId,
    bundle: { name: 'default', version: 1, digest: 'a'.repeat(64) },
    connection: 'crm',
    protocol: 'http',
    subject: 'fn',
    input: { request: { method: 'GET', path: '/x', headers: { accept: '*/*' }, body: null } },
    result: { allow: true, reasons: [] },
    outcome: 'allow',
    reasons: [],
    error: null,
    status: 200,
    request: { method: 'GET', path: '/x' },
    metrics: { timer_eval_ns: 1, timer_total_ns: 2 },
  };
}

interface Stored {
  id: string;
  msgId: string | undefined;
}

/** Every message of one enforcer's subject in the stream, read with an ephemeral ordered consumer. */
async function stored(nc: NatsConnection, enforcerId: string, expected: number): Promise<Stored[]> {
  const js = jetstream(nc);
  const out: Stored[] = [];
  const consumer = await js.consumers.get(NATS_NAMES.decisionStream, {
    filter_subjects: decisionSubject(enforcerId),
  });
  const deadline = Date.now() + 10_000;
  while (out.length < expected && Date.now() < deadline) {
    const batch = await consumer.fetch({ max_messages: 1000, expires: 1000 });
    for await (const m of batch) {
      out.push({ id: m.json<DecisionEvent>().decision_id, msgId: m.headers?.get('Nats-Msg-Id') });
    }
  }
  return out;
}

describe('decision publisher against a real nats-server', () => {
  let nats: NatsServerProcess;
  let nc: NatsConnection;
  const started: { stop(): Promise<void> }[] = [];

  async function publisher(enforcerId: string, lines: string[] = [], queueMax = 10_000) {
    const metrics = new EnforcerMetrics();
    const logger = new Logger('test', 'info', (l) => lines.push(l));
    const client = new NatsClient(nats.url, enforcerId, metrics, logger);
    const p = new DecisionPublisher(
      client,
      { enforcerId, queueMax, flushTimeoutMs: 1000 },
      metrics,
      logger,
    );
    await client.start();
    await p.start();
    started.push(client, p);
    await waitFor(() => client.isConnected(), 10_000, 'publisher connected');
    return { p, client, metrics };
  }

  before(async () => {
    nats = await NatsServerProcess.start();
    nc = await connectNats({ servers: nats.url });
    await ensureJetStreamTopology(nc);
  });

  after(async () => {
    for (const s of started.reverse()) await s.stop();
    await nc?.close();
    await nats?.stop();
  });

  it('a burst of 5000 events is stored exactly once each, with Nats-Msg-Id = decision_id', async () => {
    const { p } = await publisher('burst');
    const events = Array.from({ length: 5000 }, () => event('burst'));
    const t0 = process.hrtime.bigint();
    for (const e of events) p.enqueue(e);
    await waitFor(() => p.depth === 0, 60_000, 'queue drained');
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    process.stderr.write(`[publisher] 5000 events drained in ${ms.toFixed(0)} ms\n`);
    const got = await stored(nc, 'burst', 5000);
    assert.equal(got.length, 5000);
    assert.equal(new Set(got.map((g) => g.id)).size, 5000, 'no event stored twice');
    assert.ok(got.every((g) => g.msgId === g.id));
  });

  it('events published while an operator has deleted the stream are retried, logged once, and stored when it is back', async () => {
    const lines: string[] = [];
    const { p, metrics } = await publisher('nostream', lines);
    const jsm = await jetstreamManager(nc);
    await jsm.streams.delete(NATS_NAMES.decisionStream);
    const events = Array.from({ length: 50 }, () => event('nostream'));
    for (const e of events) p.enqueue(e);
    await waitFor(
      () => lines.some((l) => l.includes('decision publish failed; retrying')),
      10_000,
      'the failure logged',
    );
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(p.depth, 50, 'nothing dropped while the stream is missing');
    assert.equal(p.health().state, 'degraded');
    assert.equal(lines.filter((l) => l.includes('decision publish failed')).length, 1);
    const dropped = (await metrics.eventsDropped.get()).values.reduce((n, v) => n + v.value, 0);
    assert.equal(dropped, 0);
    await ensureJetStreamTopology(nc);
    await waitFor(() => p.depth === 0, 15_000, 'queue drained after the stream came back');
    const got = await stored(nc, 'nostream', 50);
    assert.deepEqual(new Set(got.map((g) => g.id)), new Set(events.map((e) => e.decision_id)));
    assert.equal(got.length, 50);
    assert.equal(p.health().state, 'ok');
  });

  it('stop() returns within its flush deadline even while every publish fails', async () => {
    const { p } = await publisher('stopdeadline');
    const jsm = await jetstreamManager(nc);
    await jsm.streams.delete(NATS_NAMES.decisionStream);
    try {
      for (let i = 0; i < 10; i++) p.enqueue(event('stopdeadline'));
      // Long enough for the retry backoff to grow past the flush deadline (1000 ms).
      await new Promise((r) => setTimeout(r, 4000));
      const t0 = Date.now();
      await p.stop();
      const took = Date.now() - t0;
      assert.ok(took < 1500, `stop() took ${took} ms with a 1000 ms flush deadline`);
    } finally {
      await ensureJetStreamTopology(nc);
    }
  });
});

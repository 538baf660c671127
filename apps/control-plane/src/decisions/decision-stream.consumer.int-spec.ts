import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import {
  jetstream,
  jetstreamManager,
  type ConsumerInfo,
  type JetStreamClient,
} from '@nats-io/jetstream';
import { Registry, type Counter, type Gauge } from 'prom-client';
import {
  NATS_NAMES,
  decisionSubject,
  ensureJetStreamTopology,
  type DecisionEvent,
} from '@portcullis/contracts';
import { Logger } from '@portcullis/platform';
import { NatsServerProcess, waitFor } from '@portcullis/testing';
import {
  DEFAULT_DECISION_CONSUMER_OPTIONS,
  type DecisionConsumerOptions,
} from './decision-consumer.options';
import { makeDecisionEvent } from './decision-event.fixture';
import { DecisionQueryParser } from './decision-query.parser';
import { DecisionStreamConsumer } from './decision-stream.consumer';
import { DecisionMetrics } from './decision.metrics';
import { DecisionRepository } from './decision.repository';
import { DecisionService } from './decision.service';
import { openSqliteTestDatabase, type DecisionTestDatabase } from './decision-test.datasource';

const OPTIONS: DecisionConsumerOptions = {
  ...DEFAULT_DECISION_CONSUMER_OPTIONS,
  ackWaitMs: 5000,
  retryMinMs: 100,
  retryMaxMs: 200,
  lagPollMs: 100,
  restartDelayMs: 100,
};

async function value(metric: Counter | Gauge): Promise<number> {
  return (await metric.get()).values.reduce((sum, v) => sum + v.value, 0);
}

void describe('decision stream consumer (real nats-server, real SQLite)', () => {
  let nats: NatsServerProcess;
  let nc: NatsConnection;
  let js: JetStreamClient;
  let db: DecisionTestDatabase;
  let service: DecisionService;
  const logLines: string[] = [];
  const replicas: { consumer: DecisionStreamConsumer; metrics: DecisionMetrics }[] = [];

  function startReplica(): Promise<{ consumer: DecisionStreamConsumer; metrics: DecisionMetrics }> {
    const metrics = new DecisionMetrics(new Registry());
    const logger = new Logger('test', 'debug', (line) => logLines.push(line));
    const consumer = new DecisionStreamConsumer(nc, service, metrics, logger, OPTIONS);
    const replica = { consumer, metrics };
    replicas.push(replica);
    return consumer.start().then(() => replica);
  }

  /** What an enforcer does: publish on its subject with the decision id as the dedupe id. */
  async function publish(event: DecisionEvent, msgID = event.decision_id): Promise<void> {
    await js.publish(decisionSubject(event.enforcer_id), JSON.stringify(event), { msgID });
  }

  async function storedIds(subject: string): Promise<string[]> {
    const page = await service.list(DecisionQueryParser.parse({ subject, limit: '500' }));
    return page.items.map((i) => i.decision_id);
  }

  function consumerInfo(): Promise<ConsumerInfo> {
    return jetstreamManager(nc).then((jsm) =>
      jsm.consumers.info(NATS_NAMES.decisionStream, NATS_NAMES.decisionConsumer),
    );
  }

  /** Every delivered event was acknowledged or terminated: none waits for redelivery. */
  async function waitForNoPendingAcks(label: string): Promise<void> {
    await waitFor(async () => (await consumerInfo()).num_ack_pending === 0, 10_000, label);
  }

  void before(async () => {
    nats = await NatsServerProcess.start();
    nc = await connect({ servers: nats.url });
    await ensureJetStreamTopology(nc);
    js = jetstream(nc);
    db = await openSqliteTestDatabase();
    service = new DecisionService(new DecisionRepository(db.dataSource));
  });

  void after(async () => {
    for (const r of replicas) await r.consumer.stop();
    await nc?.close();
    await nats?.stop();
    await db?.close();
  });

  void it('creates the shared durable consumer with explicit acks and the configured limits', async () => {
    const { consumer } = await startReplica();
    assert.equal(consumer.health().state, 'ok');
    const info = await consumerInfo();
    assert.equal(info.config.durable_name, NATS_NAMES.decisionConsumer);
    assert.equal(info.config.ack_policy, 'explicit');
    assert.equal(info.config.max_deliver, OPTIONS.maxDeliver);
    assert.equal(info.config.max_ack_pending, OPTIONS.maxAckPending);
    assert.equal(info.config.ack_wait, OPTIONS.ackWaitMs * 1_000_000);
  });

  void it('an event an enforcer publishes is stored and acknowledged', async () => {
    const e = makeDecisionEvent({ subject: 'c-basic' });
    await publish(e);
    await waitFor(async () => (await storedIds('c-basic')).length === 1, 10_000, 'event stored');
    const dto = await service.get(e.decision_id);
    assert.equal(dto.outcome, e.outcome);
    await waitForNoPendingAcks('ack');
  });

  void it('the same event published twice under different message ids (past server dedupe) is stored once', async () => {
    const { metrics } = replicas[0];
    const duplicatesBefore = await value(metrics.duplicates);
    const e = makeDecisionEvent({ subject: 'c-dup' });
    await publish(e);
    await publish(e, `${e.decision_id}-republished`);
    // And once more with the same msg id: JetStream itself drops it within the duplicate window.
    const ack = await js.publish(decisionSubject(e.enforcer_id), JSON.stringify(e), {
      msgID: e.decision_id,
    });
    assert.equal(ack.duplicate, true);
    await waitFor(
      async () => (await value(metrics.duplicates)) - duplicatesBefore === 1,
      10_000,
      'duplicate counted',
    );
    assert.deepEqual(await storedIds('c-dup'), [e.decision_id]);
  });

  void it('malformed messages are terminated, counted and logged without content, and do not block the events behind them', async () => {
    const { metrics } = replicas[0];
    const malformedBefore = await value(metrics.malformed);
    const linesBefore = logLines.length;
    const subject = decisionSubject('enforcer-1');
    await js.publish(subject, 'not json Bearer SECRET-MARKER-1', { msgID: 'malformed-1' });
    await js.publish(
      subject,
      JSON.stringify({ schema: 'portcullis.decision-event/v1', decision_id: 'SECRET-MARKER-2' }),
      {
        msgID: 'malformed-2',
      },
    );
    await js.publish(subject, new Uint8Array([0xff, 0xfe, 0x00]), { msgID: 'malformed-3' });
    const valid = [1, 2, 3].map(() => makeDecisionEvent({ subject: 'c-after-malformed' }));
    for (const e of valid) await publish(e);
    await waitFor(
      async () => (await storedIds('c-after-malformed')).length === 3,
      10_000,
      'valid events stored',
    );
    assert.equal((await value(metrics.malformed)) - malformedBefore, 3);
    const lines = logLines
      .slice(linesBefore)
      .filter((l) => l.includes('malformed decision event terminated'));
    assert.equal(lines.length, 3);
    for (const l of logLines)
      assert.ok(!l.includes('SECRET-MARKER'), `log line leaks message content: ${l}`);
    // Terminated, so never redelivered: nothing stays pending on the consumer.
    await waitForNoPendingAcks('no pending acks');
  });

  void it('an event is acknowledged only after its write commits: a failed write is retried until it succeeds', async () => {
    const { consumer, metrics } = replicas[0];
    const failuresBefore = await value(metrics.storeFailures);
    // A real database failure: the table disappears from under the consumer.
    await db.dataSource.query('ALTER TABLE "decisions" RENAME TO "decisions_offline"');
    const e = makeDecisionEvent({ subject: 'c-db-down' });
    try {
      await publish(e);
      await waitFor(
        async () => (await value(metrics.storeFailures)) > failuresBefore,
        10_000,
        'write failure',
      );
      assert.equal(consumer.health().state, 'degraded');
      // Delivered but not acknowledged while the database refuses the write.
      await waitFor(
        async () => (await value(metrics.ackPending)) >= 1,
        10_000,
        'ack pending while the database is down',
      );
    } finally {
      await db.dataSource.query('ALTER TABLE "decisions_offline" RENAME TO "decisions"');
    }
    await waitFor(
      async () => (await storedIds('c-db-down')).length === 1,
      10_000,
      'stored after recovery',
    );
    await waitFor(() => consumer.health().state === 'ok', 5000, 'healthy again');
    await waitFor(
      async () =>
        (await value(metrics.ackPending)) === 0 && (await value(metrics.consumerLag)) === 0,
      10_000,
      'lag drained',
    );
  });

  void it('replicas sharing the durable consumer together store every event exactly once', async () => {
    const second = await startReplica();
    const before = await Promise.all(
      replicas.map(
        async (r) => (await value(r.metrics.stored)) + (await value(r.metrics.duplicates)),
      ),
    );
    const events = Array.from({ length: 300 }, () => makeDecisionEvent({ subject: 'c-replicas' }));
    await Promise.all(events.map((e) => publish(e)));
    await waitFor(
      async () => (await storedIds('c-replicas')).length === 300,
      20_000,
      'all events stored',
    );
    assert.deepEqual(
      (await storedIds('c-replicas')).sort(),
      events.map((e) => e.decision_id).sort(),
    );
    const handled = await Promise.all(
      replicas.map(
        async (r) => (await value(r.metrics.stored)) + (await value(r.metrics.duplicates)),
      ),
    );
    assert.equal(handled.reduce((a, b) => a + b, 0) - before.reduce((a, b) => a + b, 0), 300);
    assert.equal(second.consumer.health().state, 'ok');
  });

  void it('a deleted durable consumer is re-created and consumption resumes; replayed events are not duplicated', async () => {
    const jsm = await jetstreamManager(nc);
    const stored = await storedIds('c-replicas');
    const duplicates = async () =>
      (await Promise.all(replicas.map((r) => value(r.metrics.duplicates)))).reduce(
        (a, b) => a + b,
        0,
      );
    const duplicatesBefore = await duplicates();
    await jsm.consumers.delete(NATS_NAMES.decisionStream, NATS_NAMES.decisionConsumer);
    const e = makeDecisionEvent({ subject: 'c-recreated' });
    await publish(e);
    await waitFor(
      async () => (await storedIds('c-recreated')).length === 1,
      20_000,
      'stored after re-creation',
    );
    // The new consumer starts at the beginning of the stream: everything is delivered again.
    await waitFor(
      async () => (await duplicates()) - duplicatesBefore >= stored.length,
      20_000,
      'replay seen as duplicates',
    );
    assert.equal((await storedIds('c-replicas')).length, stored.length);
    for (const r of replicas)
      await waitFor(() => r.consumer.health().state === 'ok', 5000, 'healthy again');
  });

  void it('stopping a consumer leaves the durable consumer in place for the other replicas', async () => {
    const r = replicas.pop()!;
    await r.consumer.stop();
    assert.equal(r.consumer.health().state, 'stopped');
    assert.equal((await consumerInfo()).config.durable_name, NATS_NAMES.decisionConsumer);
    const e = makeDecisionEvent({ subject: 'c-after-stop' });
    await publish(e);
    await waitFor(
      async () => (await storedIds('c-after-stop')).length === 1,
      10_000,
      'stored by the remaining replica',
    );
  });
});

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { scrubDecisionEvent, type DecisionEvent } from '@portcullis/contracts';
import { Logger } from '@portcullis/platform';
import { decisionEventFixture } from '@portcullis/testing';
import { EnforcerMetrics } from '../metrics/enforcer.metrics';
import { NatsClient } from '../nats/nats.client';
import { DecisionPublisher } from './decision.publisher';

function event(over: Partial<DecisionEvent> = {}): DecisionEvent {
  return decisionEventFixture({
    decision_id: '00000000-0000-4000-8000-000000000001',
    input: {
      request: {
        method: 'GET',
        path: '/x',
        headers: {
          Authorization: 'Bearer eyJ.secret.sig',
          cookie: 's=secret',
          'proxy-authorization': 'Basic c2VjcmV0',
          accept: '*/*',
        },
        body: null,
      },
      nested: { headers: { authorization: 'Bearer other-secret' } },
    },
    ...over,
  });
}

const quiet = () => new Logger('test', 'error', () => undefined);

describe('decision events', () => {
  it('credentials are scrubbed from every headers object in the input, even if an adapter forgot', () => {
    const text = JSON.stringify(scrubDecisionEvent(event()));
    assert.doesNotMatch(text, /secret/);
    assert.doesNotMatch(text, /c2VjcmV0/);
    assert.match(text, /"accept":"\*\/\*"/);
  });

  it('the published bytes never contain credentials', () => {
    const metrics = new EnforcerMetrics();
    const p = new DecisionPublisher(
      new NatsClient('nats://127.0.0.1:1', 't', metrics, quiet()),
      { enforcerId: 'e1', queueMax: 10 },
      metrics,
      quiet(),
    );
    const text = Buffer.from(p.encode(event())).toString('utf8');
    assert.doesNotMatch(text, /secret|c2VjcmV0/);
  });

  it('an event too large for NATS loses the request body, not the decision', () => {
    const metrics = new EnforcerMetrics();
    const p = new DecisionPublisher(
      new NatsClient('nats://127.0.0.1:1', 't', metrics, quiet()),
      { enforcerId: 'e1', queueMax: 10, maxEventBytes: 4096 },
      metrics,
      quiet(),
    );
    const big = event({
      input: { request: { method: 'POST', path: '/x', headers: {}, body: 'x'.repeat(10_000) } },
    });
    const decoded = JSON.parse(Buffer.from(p.encode(big)).toString('utf8')) as DecisionEvent;
    assert.deepEqual(decoded.input?.request, {
      method: 'POST',
      path: '/x',
      headers: {},
      body: null,
      body_omitted: true,
    });
    assert.equal(decoded.outcome, 'allow');
  });

  it('an event still too large loses its recorded bodies too, keeping their sizes', () => {
    const metrics = new EnforcerMetrics();
    const p = new DecisionPublisher(
      new NatsClient('nats://127.0.0.1:1', 't', metrics, quiet()),
      { enforcerId: 'e1', queueMax: 10, maxEventBytes: 4096 },
      metrics,
      quiet(),
    );
    const body = {
      encoding: 'utf8' as const,
      data: 'y'.repeat(10_000),
      bytes: 10_000,
      truncated: false,
    };
    const big = event({
      call: {
        bytes_in: 10_000,
        bytes_out: 10_000,
        upstream_status: 200,
        masked: null,
        request_body: body,
        response_body: body,
      },
    });
    const encoded = p.encode(big);
    assert.ok(encoded.length <= 4096, `${encoded.length} bytes`);
    const decoded = JSON.parse(Buffer.from(encoded).toString('utf8')) as DecisionEvent;
    assert.deepEqual(decoded.call?.response_body, {
      encoding: 'utf8',
      data: '',
      bytes: 10_000,
      truncated: true,
    });
    assert.equal(decoded.call?.bytes_out, 10_000);
  });

  it('events beyond the queue bound are dropped, counted and logged, never silently', async () => {
    const metrics = new EnforcerMetrics();
    const lines: string[] = [];
    const logger = new Logger('test', 'info', (l) => lines.push(l));
    // Never started, so never connected: everything stays queued.
    const nats = new NatsClient('nats://127.0.0.1:1', 't', metrics, logger);
    const p = new DecisionPublisher(nats, { enforcerId: 'e1', queueMax: 3 }, metrics, logger);
    for (let i = 0; i < 5; i++) p.enqueue(event());
    assert.equal(p.depth, 3);
    const dropped = await metrics.eventsDropped.get();
    assert.equal(dropped.values.find((v) => v.labels.reason === 'queue_full')?.value, 2);
    assert.equal((await metrics.eventQueueDepth.get()).values[0].value, 3);
    assert.ok(
      lines.some((l) => /decision event queue full/.test(l)),
      'the drop was not logged',
    );
  });

  it('events still queued at shutdown without NATS are counted as dropped', async () => {
    const metrics = new EnforcerMetrics();
    const nats = new NatsClient('nats://127.0.0.1:1', 't', metrics, quiet());
    const p = new DecisionPublisher(
      nats,
      { enforcerId: 'e1', queueMax: 10, flushTimeoutMs: 50 },
      metrics,
      quiet(),
    );
    await p.start();
    p.enqueue(event());
    p.enqueue(event());
    await p.stop();
    const dropped = await metrics.eventsDropped.get();
    assert.equal(dropped.values.find((v) => v.labels.reason === 'shutdown')?.value, 2);
  });

  it('a burst of drops is logged once at its start and once for the rest, accounting for every event', async () => {
    const metrics = new EnforcerMetrics();
    const lines: string[] = [];
    const logger = new Logger('test', 'info', (l) => lines.push(l));
    const nats = new NatsClient('nats://127.0.0.1:1', 't', metrics, logger);
    const p = new DecisionPublisher(nats, { enforcerId: 'e1', queueMax: 1 }, metrics, logger);
    for (let i = 0; i < 1001; i++) p.enqueue(event());
    const dropLines = () =>
      lines
        .filter((l) => l.includes('decision event queue full'))
        .map((l) => (JSON.parse(l) as { dropped: number }).dropped);
    assert.deepEqual(dropLines(), [1]);
    await new Promise((r) => setTimeout(r, 1100));
    assert.deepEqual(dropLines(), [1, 999]);
  });
});

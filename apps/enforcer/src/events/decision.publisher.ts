import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import {
  decisionSubject,
  isObject,
  scrubDecisionEvent,
  type DecisionEvent,
  type JsonObject,
} from '@portcullis/contracts';
import { errorMessage, type Component, type Health, type Logger } from '@portcullis/platform';
import type { EnforcerMetrics } from '../metrics/enforcer.metrics';
import type { NatsClient } from '../nats/nats.client';
import type { DecisionSink } from '../pipeline/decision.types';

/**
 * Bounds of the publisher: how many events it holds while NATS is away, how large one event may
 * be, and how long stop() flushes.
 */
export interface DecisionPublisherOptions {
  enforcerId: string;
  /** Events held while NATS is unreachable; the newest beyond this are dropped, counted and logged. */
  queueMax: number;
  /** Largest encoded event; bigger ones lose `input.request.body` (NATS max_payload is 1 MiB by default). */
  maxEventBytes?: number;
  /** How long stop() keeps publishing what is queued. */
  flushTimeoutMs?: number;
}

const BATCH = 64;

/**
 * Publishes decision events to JetStream (`portcullis.decisions.<enforcer_id>`, Nats-Msg-Id =
 * decision_id so a retry never duplicates). `enqueue` only appends to a bounded in-memory queue;
 * a background loop publishes, retrying with backoff while NATS is down.
 */
export class DecisionPublisher implements Component, DecisionSink {
  readonly name = 'decision-publisher';
  private readonly queue: DecisionEvent[] = [];
  private readonly subject: string;
  private readonly maxEventBytes: number;
  private running = false;
  private wake: (() => void) | null = null;
  private loop: Promise<void> | null = null;
  private lastError: string | null = null;
  private droppedSinceLog = 0;
  private lastDropLog = 0;
  private dropLogTimer: NodeJS.Timeout | null = null;
  /** Resolved by stop(): cuts short a retry backoff so that stop() keeps its deadline. */
  private stopRequested: Promise<void> = new Promise(() => undefined);
  private requestStop: () => void = () => undefined;

  constructor(
    private readonly nats: NatsClient,
    private readonly opts: DecisionPublisherOptions,
    private readonly metrics: EnforcerMetrics,
    private readonly logger: Logger,
  ) {
    this.subject = decisionSubject(opts.enforcerId);
    this.maxEventBytes = opts.maxEventBytes ?? 512 * 1024;
  }

  async start(): Promise<void> {
    this.running = true;
    this.stopRequested = new Promise((resolve) => (this.requestStop = resolve));
    this.loop = this.run();
  }

  /** Keeps publishing what is queued until empty or the flush timeout; what remains is counted as dropped. */
  async stop(): Promise<void> {
    const deadline = Date.now() + (this.opts.flushTimeoutMs ?? 5000);
    while (this.queue.length > 0 && this.nats.isConnected() && Date.now() < deadline) {
      this.signal();
      await new Promise((r) => setTimeout(r, 20));
    }
    this.running = false;
    this.signal();
    this.requestStop();
    // A batch still awaiting acks may finish after the deadline; its events count as dropped
    // here even if the server stores them (reported conservatively, never double-counted as sent).
    await Promise.race([
      this.loop,
      new Promise((r) => setTimeout(r, Math.max(0, deadline - Date.now())).unref()),
    ]);
    this.flushDropLog();
    if (this.queue.length > 0) {
      this.metrics.eventsDropped.inc({ reason: 'shutdown' }, this.queue.length);
      this.logger.error('decision events not published before shutdown', {
        dropped: this.queue.length,
      });
      this.queue.length = 0;
      this.metrics.eventQueueDepth.set(0);
    }
  }

  health(): Health {
    if (!this.running) return { state: 'stopped' };
    if (this.lastError)
      return { state: 'degraded', detail: `queue ${this.queue.length}: ${this.lastError}` };
    return { state: 'ok', detail: `queue ${this.queue.length}` };
  }

  get depth(): number {
    return this.queue.length;
  }

  enqueue(event: DecisionEvent): void {
    if (this.queue.length >= this.opts.queueMax) {
      this.metrics.eventsDropped.inc({ reason: 'queue_full' });
      this.droppedSinceLog++;
      // One log line per second at most, carrying the count: never silent, never a log flood.
      // The first drop of a burst is logged at once; the rest of the burst in one trailing line.
      if (Date.now() - this.lastDropLog >= 1000) this.flushDropLog();
      else if (this.dropLogTimer === null) {
        this.dropLogTimer = setTimeout(
          () => this.flushDropLog(),
          1000 - (Date.now() - this.lastDropLog),
        );
        this.dropLogTimer.unref();
      }
      return;
    }
    this.queue.push(event);
    this.metrics.eventQueueDepth.set(this.queue.length);
    this.signal();
  }

  /** The exact bytes published for an event: credentials scrubbed, size bounded. */
  encode(event: DecisionEvent): Uint8Array {
    const scrubbed = scrubDecisionEvent(event);
    let data = Buffer.from(JSON.stringify(scrubbed));
    if (data.length > this.maxEventBytes && scrubbed.input && isObject(scrubbed.input.request)) {
      const request: JsonObject = { ...scrubbed.input.request, body: null, body_omitted: true };
      data = Buffer.from(JSON.stringify({ ...scrubbed, input: { ...scrubbed.input, request } }));
    }
    return data;
  }

  private flushDropLog(): void {
    if (this.dropLogTimer) clearTimeout(this.dropLogTimer);
    this.dropLogTimer = null;
    if (this.droppedSinceLog === 0) return;
    this.logger.error('decision event queue full; dropping events', {
      dropped: this.droppedSinceLog,
      queue_max: this.opts.queueMax,
    });
    this.droppedSinceLog = 0;
    this.lastDropLog = Date.now();
  }

  private signal(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  private async run(): Promise<void> {
    let js: JetStreamClient | null = null;
    let jsConnection: NatsConnection | null = null;
    let delay = 100;
    while (this.running) {
      if (this.queue.length === 0 || !this.nats.isConnected()) {
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          // Re-check periodically: a reconnect does not signal this loop.
          setTimeout(resolve, 250).unref();
        });
        if (!this.running) break;
        continue;
      }
      try {
        const nc = await this.nats.whenConnected();
        if (js === null || nc !== jsConnection) {
          js = jetstream(nc);
          jsConnection = nc;
        }
        const batch = this.queue.slice(0, BATCH);
        const client = js;
        const results = await Promise.allSettled(
          batch.map((e) =>
            client.publish(this.subject, this.encode(e), { msgID: e.decision_id, timeout: 5000 }),
          ),
        );
        const failed = batch.filter((_, i) => results[i].status === 'rejected');
        this.queue.splice(0, batch.length, ...failed);
        this.metrics.eventQueueDepth.set(this.queue.length);
        const ok = batch.length - failed.length;
        if (ok > 0) this.metrics.eventsPublished.inc(ok);
        if (failed.length > 0) {
          const reason: unknown = results.find(
            (r): r is PromiseRejectedResult => r.status === 'rejected',
          )?.reason;
          throw reason instanceof Error ? reason : new Error(String(reason));
        }
        this.lastError = null;
        delay = 100;
      } catch (err) {
        if (this.lastError === null)
          this.logger.warn('decision publish failed; retrying', { error: errorMessage(err) });
        this.lastError = errorMessage(err);
        await Promise.race([new Promise((r) => setTimeout(r, delay).unref()), this.stopRequested]);
        delay = Math.min(delay * 2, 5000);
      }
    }
  }
}

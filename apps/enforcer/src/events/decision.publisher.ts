import {
  createInbox,
  headers,
  type Msg,
  type NatsConnection,
  type Subscription,
} from '@nats-io/nats-core';
import {
  decisionSubject,
  isObject,
  scrubDecisionEvent,
  type DecisionEvent,
  type JsonObject,
  type RecordedBody,
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

/** Events published before waiting for their acknowledgements (one round trip per batch). */
const BATCH = 256;
/** How long a batch waits for JetStream's acknowledgements before its rest is retried. */
const ACK_TIMEOUT_MS = 5000;

/**
 * Where JetStream's publish acknowledgements for one connection arrive: one wildcard inbox
 * subscription, each publish replying to `<inbox>.<n>`. This is JetStream's asynchronous publish
 * done by hand. The client's `js.publish()` is a full request per event (its own reply token,
 * timer and two Error objects with captured stacks), which under load cost about a tenth of
 * the enforcer's CPU (measured with --cpu-prof in `npm run bench`).
 */
class AckInbox {
  private readonly prefix = createInbox();
  private readonly sub: Subscription;
  private readonly waiting = new Map<string, (error: string | null) => void>();
  private seq = 0;

  constructor(readonly nc: NatsConnection) {
    this.sub = nc.subscribe(`${this.prefix}.*`, { callback: (_err, msg) => this.onAck(msg) });
  }

  /** Publishes one event; `done` is called once with null (stored) or why it was not stored. */
  publish(
    subject: string,
    data: Uint8Array,
    msgId: string,
    done: (error: string | null) => void,
  ): void {
    const reply = `${this.prefix}.${(this.seq++).toString(36)}`;
    const h = headers();
    h.set('Nats-Msg-Id', msgId);
    this.waiting.set(reply, done);
    try {
      this.nc.publish(subject, data, { reply, headers: h });
    } catch (err) {
      this.waiting.delete(reply);
      done(errorMessage(err));
    }
  }

  /** Gives up on acknowledgements not yet received (a late one is then ignored). */
  forget(replies: Iterable<string>): void {
    for (const r of replies) this.waiting.delete(r);
  }

  get lastReply(): string {
    return `${this.prefix}.${(this.seq - 1).toString(36)}`;
  }

  close(): void {
    this.waiting.clear();
    this.sub.unsubscribe();
  }

  private onAck(msg: Msg): void {
    const done = this.waiting.get(msg.subject);
    if (!done) return;
    this.waiting.delete(msg.subject);
    done(ackError(msg));
  }
}

/** Null for a JetStream publish acknowledgement, else what went wrong. */
function ackError(msg: Msg): string | null {
  // The server answers "no responders" (503, empty) when no stream captures the subject.
  if (msg.data.length === 0 && msg.headers?.code === 503)
    return 'no JetStream stream captures the decision subject';
  try {
    const ack = msg.json<{ stream?: unknown; error?: { description?: unknown } }>();
    if (ack.error) return `JetStream refused the event: ${String(ack.error.description)}`;
    return typeof ack.stream === 'string' && ack.stream !== ''
      ? null
      : 'invalid JetStream acknowledgement';
  } catch {
    return 'invalid JetStream acknowledgement';
  }
}

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
    let shrunk: DecisionEvent = scrubbed;
    // Too large for one message: drop the input body first, then the recorded bodies (their
    // sizes stay, marked truncated), so the event itself always gets through.
    if (data.length > this.maxEventBytes && shrunk.input && isObject(shrunk.input.request)) {
      const request: JsonObject = { ...shrunk.input.request, body: null, body_omitted: true };
      shrunk = { ...shrunk, input: { ...shrunk.input, request } };
      data = Buffer.from(JSON.stringify(shrunk));
    }
    if (data.length > this.maxEventBytes && shrunk.call) {
      const omit = (b: RecordedBody | null): RecordedBody | null =>
        b === null ? null : { ...b, data: '', truncated: true };
      shrunk = {
        ...shrunk,
        call: {
          ...shrunk.call,
          request_body: omit(shrunk.call.request_body),
          response_body: omit(shrunk.call.response_body),
        },
      };
      data = Buffer.from(JSON.stringify(shrunk));
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
    let inbox: AckInbox | null = null;
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
        if (inbox === null || inbox.nc !== nc) {
          inbox?.close();
          inbox = new AckInbox(nc);
        }
        const batch = this.queue.slice(0, BATCH);
        const errors = await this.publishBatch(inbox, batch);
        const failed = batch.filter((_, i) => errors[i] !== null);
        this.queue.splice(0, batch.length, ...failed);
        this.metrics.eventQueueDepth.set(this.queue.length);
        const ok = batch.length - failed.length;
        if (ok > 0) this.metrics.eventsPublished.inc(ok);
        if (failed.length > 0) throw new Error(errors.find((e) => e !== null) ?? 'publish failed');
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
    inbox?.close();
  }

  /**
   * Publishes every event of the batch at once and waits for all acknowledgements, at most
   * ACK_TIMEOUT_MS; resolves with null (stored) or an error per event, in batch order.
   */
  private publishBatch(inbox: AckInbox, batch: DecisionEvent[]): Promise<(string | null)[]> {
    const errors: (string | null | undefined)[] = new Array<undefined>(batch.length);
    const replies: string[] = [];
    return new Promise((resolve) => {
      let open = batch.length;
      let timer: NodeJS.Timeout | null = null;
      const finish = () => {
        if (timer) clearTimeout(timer);
        inbox.forget(replies);
        resolve(errors.map((e) => (e === undefined ? 'no acknowledgement in time' : e)));
      };
      batch.forEach((event, i) => {
        inbox.publish(this.subject, this.encode(event), event.decision_id, (error) => {
          if (errors[i] !== undefined) return;
          errors[i] = error;
          if (--open === 0) finish();
        });
        replies.push(inbox.lastReply);
      });
      if (open > 0) timer = setTimeout(finish, ACK_TIMEOUT_MS);
    });
  }
}

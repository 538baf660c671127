import { Inject, Injectable } from '@nestjs/common';
import { nanos, type NatsConnection } from '@nats-io/nats-core';
import {
  AckPolicy,
  DeliverPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  ReplayPolicy,
  jetstream,
  jetstreamManager,
  type Consumer,
  type ConsumerMessages,
  type ConsumerUpdateConfig,
  type JetStreamManager,
  type JsMsg,
} from '@nats-io/jetstream';
import { NATS_NAMES, parseDecisionEvent, type DecisionEvent } from '@portcullis/contracts';
import { Logger, errorMessage, type Component, type Health } from '@portcullis/platform';
import { NATS_CONNECTION } from '../nats/nats.tokens';
import {
  DECISION_CONSUMER_OPTIONS,
  type DecisionConsumerOptions,
} from './decision-consumer.options';
import { DecisionMetrics } from './decision.metrics';
import { DecisionService } from './decision.service';

interface Delivery {
  msg: JsMsg;
  event: DecisionEvent;
}

const LINGER_EXPIRED = Symbol('linger expired');

/**
 * Moves decision events from the JetStream stream into the database. It pulls from the durable
 * consumer `NATS_NAMES.decisionConsumer`, which every control-plane replica shares: JetStream
 * hands each event to one replica at a time, so adding replicas adds ingestion capacity.
 *
 * Guarantees: an event is acknowledged only after the database write that contains it has
 * committed; a failed write is negatively acknowledged with a growing delay and retried (by any
 * replica); a redelivered event is stored once (the primary key on decision_id makes the insert a
 * no-op). A message that is not a valid DecisionEvent is terminated, counted and logged without
 * its content, and never holds up the events behind it.
 */
@Injectable()
export class DecisionStreamConsumer implements Component {
  readonly name = 'decisions-consumer';
  private state: Health = { state: 'starting' };
  private stopping = false;
  private jsm: JetStreamManager | undefined;
  private consumer: Consumer | undefined;
  private loop: Promise<void> | undefined;
  private lagTimer: NodeJS.Timeout | undefined;
  private lagPoll: Promise<void> | undefined;
  private restartTimer: { timer: NodeJS.Timeout; wake: () => void } | undefined;
  private readonly log: Logger;

  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    private readonly decisions: DecisionService,
    private readonly metrics: DecisionMetrics,
    logger: Logger,
    @Inject(DECISION_CONSUMER_OPTIONS) private readonly options: DecisionConsumerOptions,
  ) {
    this.log = logger.child('decisions-consumer');
  }

  /** Creates or updates the durable consumer, then consumes in the background until {@link stop}. */
  async start(): Promise<void> {
    if (this.loop) return;
    this.stopping = false;
    try {
      this.jsm = await jetstreamManager(this.nc);
      await this.ensureConsumer(this.jsm);
      this.consumer = await this.bind();
    } catch (err) {
      this.state = { state: 'failed', detail: `cannot consume decisions: ${errorMessage(err)}` };
      throw err;
    }
    this.state = { state: 'ok' };
    this.loop = this.run();
    this.lagTimer = setInterval(() => this.pollLagOnce(), this.options.lagPollMs);
    this.lagTimer.unref();
    this.pollLagOnce();
  }

  /**
   * Stops pulling: lets the pull request in flight run out (at most `fetchExpiresMs`), writes and
   * acknowledges what it delivered, then returns. Abandoning an open pull request instead would
   * strand what the server still delivers into it until `ack_wait` passes.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.lagTimer) clearInterval(this.lagTimer);
    this.lagTimer = undefined;
    if (this.restartTimer) {
      clearTimeout(this.restartTimer.timer);
      this.restartTimer.wake();
    }
    await this.loop;
    await this.lagPoll;
    this.loop = undefined;
    this.state = { state: 'stopped' };
  }

  health(): Health {
    return { ...this.state };
  }

  private async ensureConsumer(jsm: JetStreamManager): Promise<void> {
    const stream = NATS_NAMES.decisionStream;
    const durable = NATS_NAMES.decisionConsumer;
    const tunables: Partial<ConsumerUpdateConfig> = {
      description: 'Portcullis control plane: stores decision events (shared by all replicas)',
      ack_wait: nanos(this.options.ackWaitMs),
      max_deliver: this.options.maxDeliver,
      max_ack_pending: this.options.maxAckPending,
    };
    if (await consumerExists(jsm, stream, durable)) {
      await jsm.consumers.update(stream, durable, tunables);
      return;
    }
    try {
      await jsm.consumers.add(stream, {
        ...tunables,
        durable_name: durable,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        replay_policy: ReplayPolicy.Instant,
        filter_subject: `${NATS_NAMES.decisionSubjectPrefix}.>`,
      });
    } catch (err) {
      // Another replica created it between our look-up and our add: settle on its existence.
      if (!(await consumerExists(jsm, stream, durable))) throw err;
      await jsm.consumers.update(stream, durable, tunables);
    }
  }

  private bind(): Promise<Consumer> {
    return jetstream(this.nc).consumers.get(NATS_NAMES.decisionStream, NATS_NAMES.decisionConsumer);
  }

  /**
   * Pulls in bounded fetches (up to `batchSize` events, open at most `fetchExpiresMs`) rather
   * than an endless `consume()`: when stopping, the fetch in flight simply runs out and nothing
   * is left delivered-but-unseen, so a restart or a rolling upgrade strands no event.
   */
  private async run(): Promise<void> {
    while (!this.stopping) {
      try {
        this.consumer ??= await this.bind();
        while (!this.stopping) {
          const messages = await this.consumer.fetch({
            max_messages: this.options.batchSize,
            expires: this.options.fetchExpiresMs,
          });
          if (this.state.state === 'degraded' && this.state.detail?.startsWith('not consuming'))
            this.state = { state: 'ok' };
          await this.consumeBatches(messages);
        }
      } catch (err) {
        if (this.stopping) break;
        this.state = { state: 'degraded', detail: `not consuming: ${errorMessage(err)}` };
        this.log.warn('decision subscription failed; retrying', { error: errorMessage(err) });
      }
      this.consumer = undefined;
      if (this.stopping) break;
      await this.pause(this.options.restartDelayMs);
      if (this.stopping) break;
      try {
        if (this.jsm) await this.ensureConsumer(this.jsm);
      } catch (err) {
        this.log.warn('cannot re-create the decision consumer; retrying', {
          error: errorMessage(err),
        });
      }
    }
  }

  /**
   * Groups what the subscription has already buffered into batches of up to `batchSize`, waiting
   * at most `lingerMs` for a batch to fill, and processes one batch at a time (never two
   * concurrently: ordering of writes and back-pressure stay simple).
   */
  private async consumeBatches(messages: ConsumerMessages): Promise<void> {
    const it = messages[Symbol.asyncIterator]();
    const next = (): Promise<IteratorResult<JsMsg>> => {
      const p = it.next();
      // A read left pending when we stop must not surface later as an unhandled rejection.
      p.catch(() => undefined);
      return p;
    };
    let pending = next();
    for (;;) {
      const first = await pending;
      if (first.done) return;
      const batch: JsMsg[] = [first.value];
      pending = next();
      let ended = false;
      while (batch.length < this.options.batchSize) {
        const r = await raceTimeout(pending, this.options.lingerMs);
        if (r === LINGER_EXPIRED) break;
        if (r.done) {
          ended = true;
          break;
        }
        batch.push(r.value);
        pending = next();
      }
      await this.process(batch);
      if (ended) return;
    }
  }

  private async process(batch: JsMsg[]): Promise<void> {
    const valid: Delivery[] = [];
    for (const msg of batch) {
      const event = this.parse(msg);
      if (event) valid.push({ msg, event });
    }
    if (valid.length === 0) return;
    if (await this.store(valid)) return;
    // The batch failed as a whole; one event must not hold back the others, so try each alone.
    for (const d of valid) await this.store([d]);
  }

  private parse(msg: JsMsg): DecisionEvent | null {
    let payload: unknown;
    let reason: string | undefined;
    try {
      payload = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(msg.data));
    } catch {
      // V8's JSON errors quote the input; the content must not reach the log.
      reason = 'payload is not UTF-8 JSON';
    }
    if (reason === undefined) {
      try {
        return parseDecisionEvent(payload);
      } catch (err) {
        // Contract violations name the field and the rule, never the value.
        reason = errorMessage(err);
      }
    }
    this.metrics.malformed.inc();
    this.log.warn('malformed decision event terminated', {
      subject: msg.subject,
      stream_seq: msg.seq,
      bytes: msg.data.length,
      reason,
    });
    msg.term('malformed decision event');
    return null;
  }

  /** Writes and acknowledges; on failure naks with back-off. Returns whether the write committed. */
  private async store(deliveries: Delivery[]): Promise<boolean> {
    const started = process.hrtime.bigint();
    try {
      const result = await this.decisions.record(deliveries.map((d) => d.event));
      this.metrics.storeDuration.observe(Number(process.hrtime.bigint() - started) / 1e9);
      this.metrics.batchSize.observe(deliveries.length);
      this.metrics.stored.inc(result.inserted);
      this.metrics.duplicates.inc(result.duplicates);
      for (const d of deliveries) d.msg.ack();
      if (this.state.state === 'degraded') this.state = { state: 'ok' };
      return true;
    } catch (err) {
      this.metrics.storeFailures.inc();
      this.state = { state: 'degraded', detail: `database writes failing: ${errorMessage(err)}` };
      if (deliveries.length > 1) {
        this.log.warn('decision batch write failed; retrying events one by one', {
          events: deliveries.length,
          error: errorMessage(err),
        });
        return false;
      }
      const d = deliveries[0];
      const attempt = d.msg.info.deliveryCount;
      const delay = Math.min(
        this.options.retryMaxMs,
        this.options.retryMinMs * 2 ** Math.min(attempt - 1, 30),
      );
      const lastAttempt = attempt >= this.options.maxDeliver;
      this.log[lastAttempt ? 'error' : 'warn'](
        lastAttempt
          ? 'decision event not stored after the last delivery; it stays in the stream only'
          : 'decision write failed; will retry',
        {
          decision_id: d.event.decision_id,
          delivery: attempt,
          retry_in_ms: delay,
          error: errorMessage(err),
        },
      );
      d.msg.nak(delay);
      return false;
    }
  }

  private pollLagOnce(): void {
    if (this.lagPoll || !this.jsm) return;
    const jsm = this.jsm;
    this.lagPoll = (async () => {
      try {
        const info = await jsm.consumers.info(
          NATS_NAMES.decisionStream,
          NATS_NAMES.decisionConsumer,
        );
        this.metrics.consumerLag.set(info.num_pending);
        this.metrics.ackPending.set(info.num_ack_pending);
      } catch (err) {
        if (!this.stopping)
          this.log.debug('cannot read decision consumer info', { error: errorMessage(err) });
      } finally {
        this.lagPoll = undefined;
      }
    })();
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        this.restartTimer = undefined;
        resolve();
      };
      this.restartTimer = { timer: setTimeout(wake, ms), wake };
    });
  }
}

async function consumerExists(
  jsm: JetStreamManager,
  stream: string,
  durable: string,
): Promise<boolean> {
  try {
    await jsm.consumers.info(stream, durable);
    return true;
  } catch (err) {
    if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.ConsumerNotFound)
      return false;
    throw err;
  }
}

async function raceTimeout<T>(p: Promise<T>, ms: number): Promise<T | typeof LINGER_EXPIRED> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<typeof LINGER_EXPIRED>((resolve) => {
    timer = setTimeout(() => resolve(LINGER_EXPIRED), ms);
  });
  try {
    return await Promise.race([p, expired]);
  } finally {
    clearTimeout(timer);
  }
}

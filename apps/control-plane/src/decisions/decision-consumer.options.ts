/**
 * Tuning of the decision-stream consumer. The JetStream settings (`ackWaitMs`, `maxDeliver`,
 * `maxAckPending`) belong to the durable consumer that every control-plane replica shares; the
 * replica that starts last writes them. Defaults suit one machine and a small cluster alike.
 */
export interface DecisionConsumerOptions {
  /** Most events written to the database in one statement (and pulled from NATS at a time). */
  batchSize: number;
  /**
   * How long one pull request stays open waiting for events (at least 1000 ms). It bounds how
   * long a graceful stop waits for the pull in flight to run out.
   */
  fetchExpiresMs: number;
  /** How long a partial batch waits for more events before it is written (adds at most this latency). */
  lingerMs: number;
  /**
   * JetStream `ack_wait`: an event not acknowledged within this is redelivered (to any replica).
   * It is how long the events a crashed replica held wait before another stores them; a write
   * slower than this only causes a redelivery that the primary key turns into a no-op.
   */
  ackWaitMs: number;
  /**
   * JetStream `max_deliver`. With the retry back-off below, 100 deliveries cover about 1.5 hours
   * of database outage before an event is given up (and logged with its decision_id).
   */
  maxDeliver: number;
  /** JetStream `max_ack_pending`: events in flight across all replicas; the back-pressure bound. */
  maxAckPending: number;
  /** Delay before a failed write is retried: doubles per delivery from `retryMinMs` up to `retryMaxMs`. */
  retryMinMs: number;
  retryMaxMs: number;
  /** How often `num_pending` (the lag gauge) is read from the consumer info. */
  lagPollMs: number;
  /** Pause before re-creating the subscription after the consumer or stream went away. */
  restartDelayMs: number;
}

export const DEFAULT_DECISION_CONSUMER_OPTIONS: DecisionConsumerOptions = {
  batchSize: 256,
  fetchExpiresMs: 1000,
  lingerMs: 5,
  ackWaitMs: 10_000,
  maxDeliver: 100,
  maxAckPending: 4096,
  retryMinMs: 1000,
  retryMaxMs: 60_000,
  lagPollMs: 5000,
  restartDelayMs: 1000,
};

/** Nest token of the {@link DecisionConsumerOptions} (the module provides the defaults). */
export const DECISION_CONSUMER_OPTIONS = Symbol('DECISION_CONSUMER_OPTIONS');

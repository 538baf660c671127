import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

const PREFIX = 'portcullis_control_plane_decision';

/**
 * Prometheus metrics of decision ingestion, registered on the app's registry (never the global
 * one). `consumerLag` is the durable consumer's `num_pending`: events in the stream that no
 * replica has been handed yet; a growing value means ingestion is falling behind the enforcers.
 */
export class DecisionMetrics {
  readonly stored: Counter;
  readonly duplicates: Counter;
  readonly malformed: Counter;
  readonly storeFailures: Counter;
  readonly consumerLag: Gauge;
  readonly ackPending: Gauge;
  readonly storeDuration: Histogram;
  readonly batchSize: Histogram;

  constructor(registry: Registry) {
    const registers = [registry];
    this.stored = new Counter({
      name: `${PREFIX}_events_stored_total`,
      help: 'Decision events newly stored in the database',
      registers,
    });
    this.duplicates = new Counter({
      name: `${PREFIX}_events_duplicate_total`,
      help: 'Decision events ignored because their decision_id was already stored (redeliveries)',
      registers,
    });
    this.malformed = new Counter({
      name: `${PREFIX}_events_malformed_total`,
      help: 'Messages on the decision stream that are not valid DecisionEvents (terminated, not stored)',
      registers,
    });
    this.storeFailures = new Counter({
      name: `${PREFIX}_store_failures_total`,
      help: 'Database writes of decision events that failed (the events are redelivered later)',
      registers,
    });
    this.consumerLag = new Gauge({
      name: `${PREFIX}_consumer_lag`,
      help: 'Decision events in the stream not yet delivered to any control-plane replica (num_pending)',
      registers,
    });
    this.ackPending = new Gauge({
      name: `${PREFIX}_consumer_ack_pending`,
      help: 'Decision events delivered but not yet acknowledged (num_ack_pending)',
      registers,
    });
    this.storeDuration = new Histogram({
      name: `${PREFIX}_store_duration_seconds`,
      help: 'Time to write one batch of decision events to the database',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    this.batchSize = new Histogram({
      name: `${PREFIX}_store_batch_size`,
      help: 'Decision events per database write',
      buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500],
      registers,
    });
  }
}

import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * Every Prometheus metric the enforcer exports, on a registry of its own so that several
 * enforcers in one process (tests) never share counters. Label values are bounded sets
 * (outcomes, decision codes), never caller-controlled strings.
 */
export class EnforcerMetrics {
  readonly registry = new Registry();

  readonly decisions = new Counter({
    name: 'portcullis_enforcer_decisions_total',
    help: 'Decisions by outcome (allow|deny|error) and code (policy, or the error code that decided it).',
    labelNames: ['outcome', 'code'] as const,
    registers: [this.registry],
  });

  readonly failOpen = new Counter({
    name: 'portcullis_enforcer_fail_open_total',
    help: 'Calls forwarded without a policy decision because ENFORCER_FAIL_MODE=open.',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });

  readonly evaluationSeconds = new Histogram({
    name: 'portcullis_enforcer_evaluation_seconds',
    help: 'Time spent evaluating the policy (WASM) per call.',
    buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1],
    registers: [this.registry],
  });

  readonly proxySeconds = new Histogram({
    name: 'portcullis_enforcer_proxy_seconds',
    help: 'Latency the enforcer adds: from the request arriving to the upstream request being sent (forwarded) or the response being sent (rejected).',
    labelNames: ['outcome'] as const,
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [this.registry],
  });

  readonly upstreamFailures = new Counter({
    name: 'portcullis_enforcer_upstream_failures_total',
    help: 'Allowed calls whose upstream could not be reached, timed out or broke off.',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  readonly logMaskFailures = new Counter({
    name: 'portcullis_enforcer_log_mask_failures_total',
    help: 'Decision events whose policy log_mask could not be applied (bodies and query were erased instead).',
    registers: [this.registry],
  });

  readonly maskedResponses = new Counter({
    name: 'portcullis_enforcer_masked_responses_total',
    help: 'Responses masked per the decision (result: masked, unchanged, failed).',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  readonly bundleVersion = new Gauge({
    name: 'portcullis_enforcer_bundle_version',
    help: 'Version of the active bundle (0 while no policy is loaded).',
    labelNames: ['bundle'] as const,
    registers: [this.registry],
  });

  readonly bundleInfo = new Gauge({
    name: 'portcullis_enforcer_bundle_info',
    help: 'Always 1 for the active bundle; labels carry its identity.',
    labelNames: ['bundle', 'version', 'digest'] as const,
    registers: [this.registry],
  });

  readonly bundleLoadFailures = new Counter({
    name: 'portcullis_enforcer_bundle_load_failures_total',
    help: 'Bundle versions that could not be fetched, verified or loaded (the previous policy stays active).',
    labelNames: ['bundle'] as const,
    registers: [this.registry],
  });

  readonly eventsPublished = new Counter({
    name: 'portcullis_enforcer_events_published_total',
    help: 'Decision events acknowledged by JetStream.',
    registers: [this.registry],
  });

  readonly eventsDropped = new Counter({
    name: 'portcullis_enforcer_events_dropped_total',
    help: 'Decision events lost: the in-memory queue was full, or still held events at shutdown.',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  readonly eventQueueDepth = new Gauge({
    name: 'portcullis_enforcer_event_queue_depth',
    help: 'Decision events waiting to be published.',
    registers: [this.registry],
  });

  readonly natsConnected = new Gauge({
    name: 'portcullis_enforcer_nats_connected',
    help: '1 while the enforcer is connected to NATS.',
    registers: [this.registry],
  });

  setActiveBundle(bundle: string, version: number, digest: string): void {
    this.bundleVersion.set({ bundle }, version);
    this.bundleInfo.reset();
    this.bundleInfo.set({ bundle, version: String(version), digest }, 1);
  }
}

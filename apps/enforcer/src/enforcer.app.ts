import { loadPolicy } from '@portcullis/policy-runtime';
import { DEFAULT_TOPOLOGY } from '@portcullis/contracts';
import { TokenVerifier } from '@portcullis/identity';
import { Lifecycle, Logger, type Health } from '@portcullis/platform';
import { AdminServer } from './admin/admin.server';
import { ApprovalClient } from './approvals/approval.client';
import { ApprovalEscalator } from './approvals/approval.escalator';
import { Masker } from '@portcullis/masking';
import type { EnforcerConfig } from './config/enforcer.config';
import { ConnectionRegistry } from './connections/connection.registry';
import { DecisionPublisher } from './events/decision.publisher';
import { HttpAdapter, type TokenVerifierLike } from './http/http.adapter';
import { ResponseMasker } from './http/response.masker';
import { EnforcerMetrics } from './metrics/enforcer.metrics';
import { NatsClient } from './nats/nats.client';
import { DecisionPipeline } from './pipeline/decision.pipeline';
import { BundleWatcher, type PolicyLoader } from './policy/bundle.watcher';

/** Seams tests may replace; production uses the defaults. */
export interface EnforcerOverrides {
  logger?: Logger;
  loadPolicy?: PolicyLoader;
  verifier?: TokenVerifierLike;
}

/**
 * One enforcer: NATS connection, bundle watcher, decision publisher, HTTP proxy and admin server
 * under one lifecycle. Created from a validated config; tests start it in-process on port 0.
 */
export class EnforcerApp {
  readonly metrics = new EnforcerMetrics();
  readonly nats: NatsClient;
  readonly watcher: BundleWatcher;
  readonly connections: ConnectionRegistry;
  readonly publisher: DecisionPublisher;
  readonly pipeline: DecisionPipeline;
  readonly proxy: HttpAdapter;
  readonly admin: AdminServer;
  private readonly lifecycle: Lifecycle;
  private readonly logger: Logger;

  constructor(
    readonly config: EnforcerConfig,
    overrides: EnforcerOverrides = {},
  ) {
    this.logger = overrides.logger ?? new Logger('enforcer', config.logLevel);
    this.nats = new NatsClient(
      config.natsUrl,
      `portcullis-enforcer-${config.enforcerId}`,
      this.metrics,
      this.logger.child('nats'),
      config.natsAuth,
    );
    const topology = { ...DEFAULT_TOPOLOGY, replicas: config.jetStreamReplicas };
    this.connections = new ConnectionRegistry(
      this.nats,
      {
        enforcerId: config.enforcerId,
        fileConnections: config.connections,
        ...(config.connectionServes ? { serves: config.connectionServes } : {}),
        topology,
      },
      this.logger.child('connections'),
    );
    if (config.guardrails.maskHashKeyGenerated) {
      this.logger.warn(
        'ENFORCER_MASK_HASH_KEY is not set: hashed values differ between enforcers and restarts',
      );
    }
    const masker = new Masker(config.guardrails.maskHashKey);
    this.watcher = new BundleWatcher(
      this.nats,
      overrides.loadPolicy ?? loadPolicy,
      {
        enforcerId: config.enforcerId,
        bundle: config.bundle,
        statusIntervalMs: config.statusIntervalMs,
        topology,
      },
      this.metrics,
      this.logger.child('bundles'),
    );
    this.publisher = new DecisionPublisher(
      this.nats,
      { enforcerId: config.enforcerId, queueMax: config.eventQueueMax },
      this.metrics,
      this.logger.child('events'),
    );
    this.pipeline = new DecisionPipeline({
      enforcerId: config.enforcerId,
      failMode: config.failMode,
      policies: this.watcher,
      sink: this.publisher,
      metrics: this.metrics,
      logger: this.logger.child('pipeline'),
      masker,
      recordMaxBytes: config.guardrails.recordMaxBytes,
    });
    const verifier =
      overrides.verifier ??
      new TokenVerifier({
        issuer: config.auth.issuer,
        audience: config.auth.audience,
        ...(config.auth.jwksUrl ? { jwksUrl: config.auth.jwksUrl } : {}),
      });
    this.proxy = new HttpAdapter(
      {
        host: config.host,
        port: config.port,
        connections: this.connections,
        responseMasker: new ResponseMasker(masker, {
          maxBytes: config.guardrails.maskMaxBytes,
          oversize: config.guardrails.maskOversize,
        }),
        recordMaxBytes: config.guardrails.recordMaxBytes,
        approvals: {
          escalator: new ApprovalEscalator(
            new ApprovalClient(this.nats, config.approvals.requestTimeoutMs),
            masker,
            config.enforcerId,
            this.logger.child('approvals'),
          ),
          maxWaitSeconds: config.approvals.maxWaitSeconds,
          maxHeld: config.approvals.maxHeld,
          controlPlaneUrl: config.approvals.controlPlaneUrl,
        },
        maxBodyBytes: config.maxBodyBytes,
        maxHeaderBytes: config.maxHeaderBytes,
        requestTimeoutMs: config.requestTimeoutMs,
        upstreamTimeoutMs: config.upstreamTimeoutMs,
      },
      this.pipeline,
      verifier,
      this.metrics,
      this.logger.child('http'),
    );
    this.admin = new AdminServer(
      config.host,
      config.adminPort,
      {
        components: () => this.components(),
        // Ready means "decides calls": a loaded policy. A NATS outage alone keeps an enforcer in
        // rotation (it enforces its last policy and queues events); /readyz shows NATS as degraded.
        ready: () => this.watcher.current() !== null,
      },
      this.metrics,
      this.logger.child('admin'),
    );
    // Stop order is the reverse: the proxy drains first, then events are flushed, then NATS closes.
    this.lifecycle = new Lifecycle([
      this.nats,
      this.connections,
      this.publisher,
      this.watcher,
      this.admin,
      this.proxy,
    ]);
  }

  get proxyPort(): number {
    return this.proxy.port;
  }

  get adminPort(): number {
    return this.admin.boundTo;
  }

  async start(): Promise<void> {
    await this.lifecycle.start();
    this.logger.info('listening', {
      enforcer_id: this.config.enforcerId,
      host: this.config.host,
      port: this.proxyPort,
      admin_port: this.adminPort,
      bundle: this.config.bundle,
      connections: this.connections.list().map((c) => c.name),
      fail_mode: this.config.failMode,
    });
  }

  async stop(): Promise<void> {
    await this.lifecycle.stop();
  }

  private components(): Record<string, Health> {
    return this.lifecycle.report().components;
  }
}

/** Builds an enforcer from a validated config; call `start()` and, when done, `stop()`. */
export function createEnforcer(
  config: EnforcerConfig,
  overrides: EnforcerOverrides = {},
): EnforcerApp {
  return new EnforcerApp(config, overrides);
}

import { createHash } from 'node:crypto';
import type { KV, KvWatchEntry } from '@nats-io/kv';
import type { ObjectStore } from '@nats-io/obj';
import {
  ENFORCER_STATUS_SCHEMA,
  activeBundleKey,
  bundleArtifactNames,
  ensureJetStreamTopology,
  parseBundlePointer,
  type BundlePointer,
  type EnforcerStatus,
  type JetStreamTopologyOptions,
} from '@portcullis/contracts';
import { errorMessage, type Component, type Health, type Logger } from '@portcullis/platform';
import type { EnforcerMetrics } from '../metrics/enforcer.metrics';
import { KvBucketFollower, type KvBucketRound } from '../nats/kv-bucket.follower';
import type { NatsClient } from '../nats/nats.client';
import type { ActivePolicy, EvaluablePolicy, PolicySource } from '../pipeline/decision.types';

/** Turns verified artifacts into an evaluable policy (`loadPolicy` from @portcullis/policy-runtime). */
export type PolicyLoader = (wasm: Uint8Array, data: unknown) => Promise<EvaluablePolicy>;

/**
 * Which bundle this enforcer follows, how often it reports its status, and the JetStream topology
 * options it shares with the control plane.
 */
export interface BundleWatcherOptions {
  enforcerId: string;
  bundle: string;
  statusIntervalMs: number;
  topology: JetStreamTopologyOptions;
}

/**
 * Keeps the active policy of one bundle. Watches the bundle's KV pointer (a watch delivers the
 * current value first, so a late starter gets the active version), fetches and verifies both
 * artifacts, loads them, and swaps one immutable {@link ActivePolicy} reference: calls in flight
 * keep what they picked up. A failed load keeps the previous policy and is reported as
 * `last_error` in the enforcer's status. Reconnects and re-watches forever.
 */
export class BundleWatcher implements Component, PolicySource {
  readonly name = 'bundle-watcher';
  private active: ActivePolicy | null = null;
  /**
   * KV revision of the pointer that produced the active policy; anything not newer is stale
   * (a re-delivery after a re-watch). Ordering by revision, not version number, is what lets an
   * activation of an older version (rollback) take effect. A failed load does not advance it, so
   * a load that failed on a transient NATS error is retried on the next watch.
   */
  private appliedRevision = 0;
  private lastError: EnforcerStatus['last_error'] = null;
  private stopped = false;
  private readonly startedAt = new Date().toISOString();
  private enforcersKv: KV | null = null;
  private heartbeat: NodeJS.Timeout | null = null;
  private readonly follower: KvBucketFollower;
  private readonly swapListeners: ((p: ActivePolicy) => void)[] = [];
  /** Newest pointer seen and not yet applied; only the newest is ever loaded (latest wins). */
  private pending: { entry: KvWatchEntry; artifacts: ObjectStore } | null = null;
  /** Recently loaded policies by version and digests, most recent last. */
  private readonly loaded = new Map<string, ActivePolicy['policy']>();
  private applying = false;
  private retryTimer: NodeJS.Timeout | null = null;
  private retryDelayMs = 1000;
  /** Revision whose failure was already logged and counted (retries of it are not re-counted). */
  private failedRevision = 0;
  /** Creation time of the bucket being watched: a re-created bucket restarts its revisions at 1. */
  private bucketCreated: string | null = null;

  constructor(
    private readonly nats: NatsClient,
    private readonly load: PolicyLoader,
    private readonly opts: BundleWatcherOptions,
    private readonly metrics: EnforcerMetrics,
    private readonly logger: Logger,
  ) {
    this.metrics.bundleVersion.set({ bundle: opts.bundle }, 0);
    this.follower = new KvBucketFollower(nats, 'bundle', this.rounds(), logger);
  }

  get bundleName(): string {
    return this.opts.bundle;
  }

  current(): ActivePolicy | null {
    return this.active;
  }

  /** Called after every successful swap (tests and status reporting use it). */
  onSwap(listener: (p: ActivePolicy) => void): void {
    this.swapListeners.push(listener);
  }

  async start(): Promise<void> {
    this.follower.start();
    this.heartbeat = setInterval(() => void this.reportStatus(), this.opts.statusIntervalMs);
    this.heartbeat.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    await this.follower.stop();
  }

  health(): Health {
    if (this.stopped) return { state: 'stopped' };
    const err = this.lastError
      ? `; last error (version ${this.lastError.version}): ${this.lastError.message}`
      : '';
    if (this.active)
      return { state: 'ok', detail: `${this.active.bundle} version ${this.active.version}${err}` };
    return {
      state: this.lastError ? 'failed' : 'starting',
      detail: `no policy loaded for bundle ${this.opts.bundle}${err}`,
    };
  }

  status(): EnforcerStatus {
    return {
      schema: ENFORCER_STATUS_SCHEMA,
      enforcer_id: this.opts.enforcerId,
      bundle: this.opts.bundle,
      active_version: this.active?.version ?? null,
      active_digest: this.active?.digest ?? null,
      activated_at: this.active?.activatedAt ?? null,
      last_error: this.lastError,
      started_at: this.startedAt,
      reported_at: new Date().toISOString(),
    };
  }

  /** The follower's rounds: report status on each (re)connection, then offer every pointer. */
  private rounds(): KvBucketRound {
    let artifacts: ObjectStore;
    return {
      open: async (nc) => {
        const topo = await ensureJetStreamTopology(nc, this.opts.topology, 'client');
        this.enforcersKv = topo.enforcers;
        artifacts = topo.artifacts;
        await this.reportStatus();
        return { bucket: topo.bundles, key: activeBundleKey(this.opts.bundle) };
      },
      watching: (created) => {
        if (this.bucketCreated !== null && this.bucketCreated !== created) {
          // Revisions of a re-created bucket start again at 1; without this every new
          // activation would look older than the one applied before and be ignored.
          this.appliedRevision = 0;
          this.failedRevision = 0;
          this.logger.warn('bundle bucket was re-created; following its new revisions', {
            bundle: this.opts.bundle,
          });
        }
        this.bucketCreated = created;
      },
      entry: (entry) => this.offer(entry, artifacts),
    };
  }

  /**
   * Queues a pointer for loading. Loads never overlap and only the newest pending pointer is
   * loaded, so a burst of activations ends on the last one (KV revision order) without loading
   * every version in between; a pointer that failed is retried with backoff until it loads or
   * a newer one arrives (its artifacts may still be on their way, or NATS was briefly away).
   */
  private offer(entry: KvWatchEntry, artifacts: ObjectStore): void {
    if (entry.revision <= this.appliedRevision) return;
    if (this.pending && this.pending.entry.revision > entry.revision) return;
    this.pending = { entry, artifacts };
    if (this.retryTimer) {
      clearTimeout(this.retryTimer);
      this.retryTimer = null;
    }
    void this.applyPending();
  }

  private async applyPending(): Promise<void> {
    if (this.applying) return;
    this.applying = true;
    try {
      while (this.pending && !this.stopped) {
        const job = this.pending;
        this.pending = null;
        const ok = await this.onEntry(job.entry, job.artifacts);
        if (ok) this.retryDelayMs = 1000;
        else if (this.pending === null && !this.stopped) this.scheduleRetry(job);
      }
    } finally {
      this.applying = false;
    }
  }

  private scheduleRetry(job: { entry: KvWatchEntry; artifacts: ObjectStore }): void {
    const delay = this.retryDelayMs;
    this.retryDelayMs = Math.min(this.retryDelayMs * 2, 30_000);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (this.pending === null) this.offer(job.entry, job.artifacts);
    }, delay);
    this.retryTimer.unref();
  }

  /** Applies one pointer; false when it failed and is worth retrying. */
  private async onEntry(entry: KvWatchEntry, artifacts: ObjectStore): Promise<boolean> {
    if (entry.revision <= this.appliedRevision) return true;
    if (entry.operation !== 'PUT') {
      this.appliedRevision = entry.revision;
      // Deleting the pointer is not a way to disable enforcement: keep the last good policy.
      this.logger.warn('bundle pointer removed; keeping the active policy', {
        bundle: this.opts.bundle,
      });
      return true;
    }
    let ok = true;
    let pointer: BundlePointer | null = null;
    try {
      pointer = parseBundlePointer(entry.json<unknown>());
      if (pointer.bundle !== this.opts.bundle)
        throw new WrongBundleError(`pointer names bundle "${pointer.bundle}"; ignored`);
      if (
        this.active &&
        this.active.version === pointer.version &&
        this.active.digest === pointer.digest
      ) {
        this.appliedRevision = entry.revision;
        this.lastError = null;
        return true;
      }
      const next = await this.fetchAndLoad(pointer, artifacts);
      this.active = next;
      this.appliedRevision = entry.revision;
      this.lastError = null;
      this.metrics.setActiveBundle(next.bundle, next.version, next.digest);
      this.logger.info('bundle activated', {
        bundle: next.bundle,
        version: next.version,
        digest: next.digest,
      });
      for (const l of this.swapListeners) l(next);
    } catch (err) {
      // A pointer naming another bundle will not change by retrying; everything else might.
      ok = err instanceof WrongBundleError;
      const message = errorMessage(err);
      const repeated =
        this.failedRevision === entry.revision && this.lastError?.message === message;
      this.lastError = { version: pointer?.version ?? 0, message, at: new Date().toISOString() };
      // Retries of the same failure are not counted or logged again: one failed activation, one line.
      if (!repeated) {
        this.failedRevision = entry.revision;
        this.metrics.bundleLoadFailures.inc({ bundle: this.opts.bundle });
        this.logger.error('bundle version not loaded; keeping the previous policy; retrying', {
          bundle: this.opts.bundle,
          version: pointer?.version ?? null,
          active_version: this.active?.version ?? null,
          error: message,
        });
      }
    }
    await this.reportStatus();
    return ok;
  }

  private async fetchAndLoad(
    pointer: BundlePointer,
    artifacts: ObjectStore,
  ): Promise<ActivePolicy> {
    const key = `${pointer.version}:${pointer.digest}:${pointer.data_digest}`;
    const cached = this.loaded.get(key);
    if (cached) {
      // A rollback (or a flip between two versions) needs no fetch: the artifacts are immutable
      // per version and digest, so the policy loaded from them before is the same policy.
      this.loaded.delete(key);
      this.loaded.set(key, cached);
      return this.activeFrom(pointer, cached);
    }
    const names = bundleArtifactNames(pointer.bundle, pointer.version);
    const [wasm, data] = await Promise.all([
      artifacts.getBlob(names.wasm),
      artifacts.getBlob(names.data),
    ]);
    if (wasm === null) throw new Error(`artifact ${names.wasm} not found`);
    if (data === null) throw new Error(`artifact ${names.data} not found`);
    if (sha256(wasm) !== pointer.digest) throw new Error(`digest mismatch for ${names.wasm}`);
    if (sha256(data) !== pointer.data_digest) throw new Error(`digest mismatch for ${names.data}`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(Buffer.from(data).toString('utf8'));
    } catch (err) {
      throw new Error(`${names.data} is not JSON: ${errorMessage(err)}`);
    }
    const policy = await this.load(wasm, parsed);
    this.loaded.set(key, policy);
    while (this.loaded.size > LOADED_VERSIONS_KEPT) {
      const oldest = this.loaded.keys().next().value;
      if (oldest === undefined) break;
      this.loaded.delete(oldest);
    }
    return this.activeFrom(pointer, policy);
  }

  private activeFrom(pointer: BundlePointer, policy: ActivePolicy['policy']): ActivePolicy {
    return {
      bundle: pointer.bundle,
      version: pointer.version,
      digest: pointer.digest,
      activatedAt: new Date().toISOString(),
      policy,
    };
  }

  private async reportStatus(): Promise<void> {
    const kv = this.enforcersKv;
    if (!kv || !this.nats.isConnected()) return;
    try {
      await kv.put(this.opts.enforcerId, JSON.stringify(this.status()));
    } catch (err) {
      this.logger.warn('enforcer status not reported', { error: errorMessage(err) });
    }
  }
}

class WrongBundleError extends Error {}

/** Loaded versions kept for instant rollback (each is one WASM instance, a few MiB). */
const LOADED_VERSIONS_KEPT = 4;

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

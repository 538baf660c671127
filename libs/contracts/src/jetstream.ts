import type { NatsConnection } from '@nats-io/nats-core';
import { nanos } from '@nats-io/nats-core';
import { jetstreamManager, RetentionPolicy, StorageType, DiscardPolicy } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { Objm, type ObjectStore } from '@nats-io/obj';
import { CONNECTION_NATS_NAMES, ENFORCER_KEY_TTL_MS } from './connections';
import { NATS_NAMES } from './nats';

/** Retention and replication of the JetStream resources; defaults fit one machine. */
export interface JetStreamTopologyOptions {
  /** JetStream replicas for every stream, bucket and store (3 in a production cluster). */
  replicas: number;
  /** How long decision events stay in the stream after delivery, for replay by a new consumer. */
  decisionMaxAgeMs: number;
  /** Window within which a re-published decision (same Nats-Msg-Id) is dropped by the server. */
  duplicateWindowMs: number;
  /**
   * Consumers one stream may have. nats-server 2.15 caps a stream that sets no limit at 1000,
   * and every enforcer holds watchers on the KV buckets and short-lived consumers on the object
   * store while it fetches a bundle: a fleet of enforcers (or a burst of activations) would hit
   * that. The owner sets this on every stream it owns.
   */
  maxConsumersPerStream: number;
}

export const DEFAULT_TOPOLOGY: JetStreamTopologyOptions = {
  replicas: 1,
  decisionMaxAgeMs: 7 * 24 * 3600 * 1000,
  duplicateWindowMs: 2 * 60 * 1000,
  maxConsumersPerStream: 100_000,
};

/**
 * Handles on the JetStream objects both sides share, as {@link ensureJetStreamTopology} leaves them:
 * bundle pointers (KV), bundle artifacts (object store), enforcer status reports (KV), and for
 * connection distribution the connections (KV) and the enforcers' public keys (KV).
 */
export interface JetStreamTopology {
  bundles: KV;
  artifacts: ObjectStore;
  enforcers: KV;
  connections: KV;
  enforcerKeys: KV;
}

/**
 * Who calls {@link ensureJetStreamTopology}. Either role creates what is missing, with the
 * options given (so an enforcer can start before any control plane). Only the `owner` (the
 * control plane) brings the decision stream's retention and replicas up to date; a `client`
 * (an enforcer) never rewrites what exists, so one enforcer with a stale setting cannot
 * reconfigure a cluster. KV buckets and the object store keep the configuration they were
 * created with: change their replicas with the NATS CLI (`nats stream edit KV_…`).
 */
export type TopologyRole = 'owner' | 'client';

/**
 * Creates (or opens, when they exist) every JetStream resource Portcullis uses. Idempotent, so
 * both the control plane and enforcers call it at start; whoever comes first creates.
 */
export async function ensureJetStreamTopology(
  nc: NatsConnection,
  opts: JetStreamTopologyOptions = DEFAULT_TOPOLOGY,
  role: TopologyRole = 'owner',
): Promise<JetStreamTopology> {
  const jsm = await jetstreamManager(nc);
  const stream = {
    name: NATS_NAMES.decisionStream,
    subjects: [`${NATS_NAMES.decisionSubjectPrefix}.>`],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    discard: DiscardPolicy.Old,
    num_replicas: opts.replicas,
    max_age: nanos(opts.decisionMaxAgeMs),
    duplicate_window: nanos(opts.duplicateWindowMs),
    max_consumers: opts.maxConsumersPerStream,
  };
  const streamExists = async (name: string): Promise<boolean> => {
    try {
      await jsm.streams.info(name);
      return true;
    } catch (err) {
      if (!isNotFound(err)) throw err;
      return false;
    }
  };
  const exists = await streamExists(stream.name);
  if (!exists) await jsm.streams.add(stream);
  else if (role === 'owner') await jsm.streams.update(stream.name, stream);

  const kvm = new Kvm(nc);
  const openKv = async (name: string, kvOpts: Parameters<Kvm['create']>[1]): Promise<KV> => {
    // Kvm.open binds without checking, so look for the bucket's backing stream first.
    if (role === 'client' && (await streamExists(`KV_${name}`))) return kvm.open(name);
    return kvm.create(name, kvOpts);
  };
  const bundles = await openKv(NATS_NAMES.bundlePointersBucket, {
    history: 16,
    replicas: opts.replicas,
  });
  const enforcers = await openKv(NATS_NAMES.enforcerStatusBucket, {
    history: 1,
    replicas: opts.replicas,
    // An enforcer that stops reporting disappears from the status view after a day.
    ttl: 24 * 3600 * 1000,
  });
  // History 1: an older value of a connection is only an older sealed secret; nobody needs it.
  const connections = await openKv(CONNECTION_NATS_NAMES.connectionsBucket, {
    history: 1,
    replicas: opts.replicas,
  });
  const enforcerKeys = await openKv(CONNECTION_NATS_NAMES.enforcerKeysBucket, {
    history: 1,
    replicas: opts.replicas,
    // A key that is no longer refreshed (enforcer gone) expires, and stops receiving secrets.
    ttl: ENFORCER_KEY_TTL_MS,
  });
  const objm = new Objm(nc);
  const artifacts =
    role === 'client' && (await streamExists(`OBJ_${NATS_NAMES.bundleArtifactsStore}`))
      ? await objm.open(NATS_NAMES.bundleArtifactsStore)
      : await objm.create(NATS_NAMES.bundleArtifactsStore, { replicas: opts.replicas });
  if (role === 'owner') {
    // KV buckets and the object store take no consumer limit at creation: raise it on their streams.
    for (const name of [
      `KV_${NATS_NAMES.bundlePointersBucket}`,
      `KV_${NATS_NAMES.enforcerStatusBucket}`,
      `KV_${CONNECTION_NATS_NAMES.connectionsBucket}`,
      `KV_${CONNECTION_NATS_NAMES.enforcerKeysBucket}`,
      `OBJ_${NATS_NAMES.bundleArtifactsStore}`,
    ]) {
      const info = await jsm.streams.info(name);
      if (info.config.max_consumers !== opts.maxConsumersPerStream) {
        // Editable since nats-server 2.12; the client's update type predates that.
        const raised = { ...info.config, max_consumers: opts.maxConsumersPerStream };
        await jsm.streams.update(name, raised);
      }
    }
  }
  return { bundles, artifacts, enforcers, connections, enforcerKeys };
}

function isNotFound(err: unknown): boolean {
  const e = err as { code?: unknown; api_error?: { err_code?: number }; message?: string };
  return e?.api_error?.err_code === 10059 || /stream not found/i.test(e?.message ?? '');
}

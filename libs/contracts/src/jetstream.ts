import type { NatsConnection } from '@nats-io/nats-core';
import { nanos } from '@nats-io/nats-core';
import { jetstreamManager, RetentionPolicy, StorageType, DiscardPolicy } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { Objm, type ObjectStore } from '@nats-io/obj';
import { NATS_NAMES } from './nats';

/** Retention and replication of the JetStream resources; defaults fit one machine. */
export interface JetStreamTopologyOptions {
  /** JetStream replicas for every stream, bucket and store (3 in a production cluster). */
  replicas: number;
  /** How long decision events stay in the stream after delivery, for replay by a new consumer. */
  decisionMaxAgeMs: number;
  /** Window within which a re-published decision (same Nats-Msg-Id) is dropped by the server. */
  duplicateWindowMs: number;
}

export const DEFAULT_TOPOLOGY: JetStreamTopologyOptions = {
  replicas: 1,
  decisionMaxAgeMs: 7 * 24 * 3600 * 1000,
  duplicateWindowMs: 2 * 60 * 1000,
};

export interface JetStreamTopology {
  bundles: KV;
  artifacts: ObjectStore;
  enforcers: KV;
}

/**
 * Creates (or opens, when they exist) every JetStream resource Portcullis uses. Idempotent, so
 * both the control plane and enforcers call it at start; whoever comes first creates.
 */
export async function ensureJetStreamTopology(
  nc: NatsConnection,
  opts: JetStreamTopologyOptions = DEFAULT_TOPOLOGY,
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
  };
  try {
    await jsm.streams.info(stream.name);
    await jsm.streams.update(stream.name, stream);
  } catch (err) {
    if (!isNotFound(err)) throw err;
    await jsm.streams.add(stream);
  }
  const kvm = new Kvm(nc);
  const bundles = await kvm.create(NATS_NAMES.bundlePointersBucket, { history: 16, replicas: opts.replicas });
  const enforcers = await kvm.create(NATS_NAMES.enforcerStatusBucket, {
    history: 1,
    replicas: opts.replicas,
    // An enforcer that stops reporting disappears from the status view after a day.
    ttl: 24 * 3600 * 1000,
  });
  const objm = new Objm(nc);
  const artifacts = await objm.create(NATS_NAMES.bundleArtifactsStore, { replicas: opts.replicas });
  return { bundles, artifacts, enforcers };
}

function isNotFound(err: unknown): boolean {
  const e = err as { code?: unknown; api_error?: { err_code?: number }; message?: string };
  return e?.api_error?.err_code === 10059 || /stream not found/i.test(e?.message ?? '');
}

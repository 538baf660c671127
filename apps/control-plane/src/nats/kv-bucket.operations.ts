import { JetStreamApiCodes, JetStreamApiError, jetstreamManager } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';

/**
 * A KV entry as a compare-and-set reader needs it: the parsed value (null when the key is absent,
 * deleted, purged or not a valid value) and the revision it was read at (0: never written).
 */
export interface KvRead<T> {
  value: T | null;
  revision: number;
}

/** Reads `key` for a later {@link compareAndSetKv}; a value `parse` rejects reads as null. */
export async function readKvForUpdate<T>(
  kv: KV,
  key: string,
  parse: (json: unknown) => T,
): Promise<KvRead<T>> {
  const entry = await kv.get(key);
  if (!entry) return { value: null, revision: 0 };
  if (entry.operation !== 'PUT' || entry.length === 0)
    return { value: null, revision: entry.revision };
  try {
    return { value: parse(entry.json()), revision: entry.revision };
  } catch {
    return { value: null, revision: entry.revision };
  }
}

/**
 * Writes `value` only if `key` is still at `revision` (0: create it). False when another writer
 * got there first; any other failure is thrown as NATS raised it.
 */
export async function compareAndSetKv(
  kv: KV,
  key: string,
  value: string,
  revision: number,
): Promise<boolean> {
  try {
    if (revision === 0) await kv.create(key, value);
    else await kv.update(key, value, revision);
    return true;
  } catch (err) {
    if (
      err instanceof JetStreamApiError &&
      (err.code === JetStreamApiCodes.StreamWrongLastSequence ||
        err.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown)
    )
      return false;
    throw err;
  }
}

/**
 * A bucket's keys, sorted, from its stream's subject list. Not `KV.keys()`: on an empty bucket it
 * returns without deleting the push consumer it created, so every call on an empty bucket leaked
 * one until the stream's consumer limit made the caller fail for good.
 */
export async function kvBucketKeys(nc: NatsConnection, bucket: string): Promise<string[]> {
  const prefix = `$KV.${bucket}.`;
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(`KV_${bucket}`, { subjects_filter: `${prefix}>` });
  return Object.keys(info.state.subjects ?? {})
    .filter((s) => s.startsWith(prefix))
    .map((s) => s.slice(prefix.length))
    .sort();
}
